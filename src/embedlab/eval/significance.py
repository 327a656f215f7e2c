"""Paired significance tests between two systems' per-query scores.

- ``randomization`` (Fisher's paired randomisation / permutation test, two-sided): under
  the null hypothesis each query's difference is as likely to have either sign; the
  p-value is the share of sign assignments whose mean difference is at least as large in
  absolute value as the observed one. With at most ``max_exact`` (65,536, i.e. 16
  queries) assignments all are enumerated ("exact"); otherwise ``samples`` random ones
  are drawn with ``seed`` and p = (hits + 1) / (samples + 1) ("sampled").
- ``bootstrap`` (paired bootstrap, two-sided, the shift method of Efron and Tibshirani /
  Sakai 2014): queries are resampled with replacement ``samples`` times; the p-value is
  the share of resampled mean differences, shifted to mean zero, at least as large in
  absolute value as the observed one, as (hits + 1) / (samples + 1). The result also
  carries the 95% percentile interval of the mean difference.

Example:
    >>> r = paired_test([0.5, 0.6, 0.7, 0.8], [0.4, 0.5, 0.6, 0.7])
    >>> r.method, r.p_value  # all four differences positive: 2 of 16 sign sets as extreme
    ('randomization (exact)', 0.125)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlab._validation import StrEnumOption, check_int
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.eval.retrieval import DEFAULT_MEASURES, evaluate_run

__all__ = ["PairedTest", "SignificanceResult", "compare_runs", "paired_test"]

_TIE = 1e-12


class PairedTest(StrEnumOption):
    """Which paired test :func:`paired_test` runs."""

    RANDOMIZATION = "randomization"
    BOOTSTRAP = "bootstrap"


@dataclass(frozen=True)
class SignificanceResult:
    """A paired test of system A against system B on the same queries."""

    measure: str
    mean_a: float
    mean_b: float
    difference: float  # mean_a - mean_b
    p_value: float
    method: str
    samples: int
    queries: int
    ci_low: float | None = None
    ci_high: float | None = None

    def describe(self) -> str:
        """The difference and what the p-value says, in plain words."""
        text = (
            f"{self.measure}: A {self.mean_a:.4f} vs B {self.mean_b:.4f}, difference "
            f"{self.difference:+.4f} over {self.queries} queries; two-sided p = "
            f"{self.p_value:.4g} ({self.method}, {self.samples:,} "
            f"{'assignments' if 'random' in self.method else 'resamples'}). "
        )
        if self.ci_low is not None and self.ci_high is not None:
            text += f"95% interval of the difference [{self.ci_low:+.4f}, {self.ci_high:+.4f}]. "
        text += (
            "Small p (say below 0.05) means a difference this large would be unlikely if the "
            "two systems were equally good on these queries."
        )
        return text


def paired_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    method: str | PairedTest = PairedTest.RANDOMIZATION,
    samples: int = 10_000,
    max_exact: int = 1 << 16,
    seed: int = 0,
    measure: str = "score",
) -> SignificanceResult:
    """Paired test of per-query scores ``a`` against ``b`` (see the module docstring).

    Example:
        >>> paired_test([1, 0, 1, 1] * 5, [0, 0, 1, 0] * 5, method="bootstrap").p_value < 0.01
        True
    """
    test = PairedTest.parse(method, name="method")
    samples = check_int("samples", samples, minimum=1, maximum=10_000_000)
    max_exact = check_int("max_exact", max_exact, minimum=0)
    xa, xb = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if xa.shape != xb.shape or xa.ndim != 1:
        raise DimensionMismatchError(
            f"paired scores need one value per query on both sides; got {xa.shape} and {xb.shape}"
        )
    if len(xa) < 2:
        raise InvalidParameterError(f"a paired test needs at least 2 queries; got {len(xa)}")
    diff = xa - xb
    observed = abs(float(diff.mean()))
    threshold = observed - _TIE * max(1.0, float(np.abs(diff).sum()))
    rng = np.random.default_rng(seed)
    n = len(diff)
    ci: tuple[float | None, float | None] = (None, None)
    if test is PairedTest.RANDOMIZATION and 2**n <= max_exact:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        means = np.abs(signs @ diff) / n
        p, label, count = float(np.mean(means >= threshold)), "randomization (exact)", len(signs)
    elif test is PairedTest.RANDOMIZATION:
        hits = 0
        for start in range(0, samples, 4096):
            m = min(4096, samples - start)
            signs = rng.choice((-1.0, 1.0), size=(m, n))
            hits += int(np.count_nonzero(np.abs(signs @ diff) / n >= threshold))
        p, label, count = (hits + 1) / (samples + 1), "randomization (sampled)", samples
    else:
        boot = np.empty(samples)
        for start in range(0, samples, 4096):
            m = min(4096, samples - start)
            boot[start : start + m] = diff[rng.integers(0, n, size=(m, n))].mean(axis=1)
        shifted = np.abs(boot - diff.mean())
        hits = int(np.count_nonzero(shifted >= threshold))
        p, label, count = (hits + 1) / (samples + 1), "paired bootstrap", samples
        low, high = np.percentile(boot, [2.5, 97.5])
        ci = (float(low), float(high))
    return SignificanceResult(
        measure=measure,
        mean_a=float(xa.mean()),
        mean_b=float(xb.mean()),
        difference=float(diff.mean()),
        p_value=min(1.0, p),
        method=label,
        samples=count,
        queries=n,
        ci_low=ci[0],
        ci_high=ci[1],
    )


def compare_runs(
    qrels: Mapping[str, Mapping[str, int]],
    run_a: Mapping[str, Mapping[str, float]],
    run_b: Mapping[str, Mapping[str, float]],
    measures: Iterable[str] = DEFAULT_MEASURES,
    **options: Any,
) -> list[SignificanceResult]:
    """:func:`paired_test` of two runs on each measure, over the same judged queries
    (a query one run did not answer counts 0 for it, as in :func:`evaluate_run`).

    Example:
        >>> qrels = {f"q{i}": {"d": 1} for i in range(6)}
        >>> a = {q: {"d": 1.0} for q in qrels}
        >>> b = {q: {"x": 1.0, "d": 0.5} for q in qrels}
        >>> [round(r.difference, 2) for r in compare_runs(qrels, a, b, ["MRR"])]
        [0.5]
    """
    names = list(measures)
    ra = evaluate_run(qrels, run_a, names)
    rb = evaluate_run(qrels, run_b, names)
    return [
        paired_test(ra.values(m), rb.values(m), measure=name, **options)
        for m, name in zip(names, ra.measures, strict=True)
    ]
