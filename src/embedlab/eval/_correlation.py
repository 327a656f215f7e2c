"""Pearson and Spearman correlation with their two-sided p-values, in numpy alone.

The p-value is the t-test of a correlation coefficient with n - 2 degrees of freedom, the
one scipy's ``pearsonr`` and ``spearmanr`` report: ``t = r * sqrt((n - 2) / (1 - r**2))``
and ``p = I_x(df / 2, 1 / 2)`` with ``x = df / (df + t**2)`` (the regularised incomplete
beta function, evaluated by its continued fraction). Spearman's coefficient is Pearson's
on the ranks, tied values sharing their average rank.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Correlation", "pearson", "rank_average", "spearman"]


class Correlation(NamedTuple):
    """A correlation coefficient and its two-sided p-value."""

    statistic: float
    pvalue: float


def rank_average(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Ranks from 1, tied values sharing the mean of their ranks.

    >>> rank_average([10, 20, 20, 5]).tolist()
    [2.0, 3.5, 3.5, 1.0]
    """
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(x)]  # each group of equal values: [start, end)
    mean_rank = (starts + ends + 1) / 2.0  # mean of start+1 .. end
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> Correlation:
    """Pearson's r of two equal-length samples (at least 3 values) and its p-value.

    >>> round(pearson([1, 2, 3, 4], [2, 4, 5, 9]).statistic, 4)
    0.9648
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    if denominator == 0:  # a constant sample: no correlation is defined
        return Correlation(math.nan, math.nan)
    r = max(-1.0, min(1.0, float(a @ b) / denominator))
    return Correlation(r, _pvalue(r, len(a)))


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> Correlation:
    """Spearman's rho (Pearson's r of the average ranks) and its p-value.

    >>> spearman([1, 2, 3, 4], [1, 3, 2, 4]).statistic
    0.8
    """
    return pearson(rank_average(x), rank_average(y))


def _pvalue(r: float, n: int) -> float:
    """Two-sided p-value of correlation r over n pairs (t-test, n - 2 degrees of freedom)."""
    if math.isnan(r) or n < 3:
        return math.nan
    if abs(r) >= 1.0:
        return 0.0
    df = n - 2
    t_squared = r * r * df / (1.0 - r * r)
    return _betainc(df / 2.0, 0.5, df / (df + t_squared))


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (Lentz's continued fraction)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1.0) / (a + b + 2.0):  # the fraction converges fast only below this point
        return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b
    return math.exp(log_front) * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < eps:
            break
    return result
