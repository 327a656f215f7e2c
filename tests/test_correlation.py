"""embedlab.eval._correlation (scipy is no longer a dependency) against scipy as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from embedlab.eval._correlation import pearson, rank_average, spearman


@pytest.mark.parametrize("n", [3, 4, 7, 30, 353, 2000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pearson_and_spearman_equal_scipy(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 0.3 * x + rng.normal(size=n)
    y[: n // 3] = np.round(y[: n // 3])  # ties, which Spearman ranks by their average
    for ours, theirs in (
        (pearson(x, y), stats.pearsonr(x, y)),
        (spearman(x, y), stats.spearmanr(x, y)),
    ):
        assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
        assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("r_target", [0.0, 0.05, 0.5, 0.9, 0.999])
def test_pvalues_across_the_range_equal_scipy(r_target: float) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=50)
    y = r_target * x + np.sqrt(1 - r_target**2) * rng.normal(size=50)
    assert pearson(x, y).pvalue == pytest.approx(stats.pearsonr(x, y).pvalue, rel=1e-9)


def test_perfect_and_constant_inputs() -> None:
    perfect = pearson([1, 2, 3], [2, 4, 6])
    assert perfect.statistic == pytest.approx(1.0) and perfect.pvalue == pytest.approx(0.0)
    assert np.isnan(pearson([1, 1, 1], [1, 2, 3]).statistic)
    assert rank_average([3, 3, 3]).tolist() == [2.0, 2.0, 2.0]
