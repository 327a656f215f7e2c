"""embedlab.analysis.align: Procrustes against scipy, planted rotations recovered."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes

from embedlab.analysis.align import Alignment, align, procrustes
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.vectors import WordVectors


def test_procrustes_equals_scipy() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6)), rng.normal(size=(40, 6))
    expected, _ = orthogonal_procrustes(x, y)
    np.testing.assert_allclose(procrustes(x, y), expected, atol=1e-5)


def _spaces(noise: float) -> tuple[WordVectors, WordVectors, list[str]]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 16))
    r, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    y = x @ r + noise * rng.normal(size=x.shape)
    src = [f"en{i}" for i in range(300)]
    dst = [f"fr{i}" for i in range(300)]
    return WordVectors(src, x), WordVectors(dst, y), [str(i) for i in range(300)]


def test_planted_rotation_translates_and_beats_identity() -> None:
    src, dst, ids = _spaces(0.3)
    seed = [(f"en{i}", f"fr{i}") for i in ids[:40]]
    test = [(f"en{i}", f"fr{i}") for i in ids[40:]]
    aligned = align(src, dst, seed)
    identity = Alignment(src, dst, np.eye(16, dtype=np.float32), ())
    assert aligned.precision_at_1(test) > 0.95
    assert identity.precision_at_1(test) < 0.1  # the baseline the issue names
    assert aligned.translate(["en100"], k=3)[0][0] == "fr100"


def test_refinement_recovers_from_a_tiny_seed() -> None:
    src, dst, ids = _spaces(0.2)
    seed = [(f"en{i}", f"fr{i}") for i in ids[:16]]  # just enough for 16-D
    test = [(f"en{i}", f"fr{i}") for i in ids[16:]]
    plain = align(src, dst, seed).precision_at_1(test)
    refined = align(src, dst, seed, iterations=3)
    assert refined.precision_at_1(test) >= plain
    assert len(refined.pairs) > 16


def test_bad_input() -> None:
    src, dst, _ = _spaces(0.0)
    with pytest.raises(InvalidParameterError, match="at least 2 seed pairs"):
        align(src, dst, [("en1", "nope")])
    with pytest.raises(DimensionMismatchError, match="16 and 2"):
        align(src, WordVectors(["a"], np.ones((1, 2))))


def test_precision_at_k_counts_a_target_among_the_k_nearest() -> None:
    src, dst, ids = _spaces(0.3)
    test = [(f"en{i}", f"fr{i}") for i in ids[40:]]
    identity = Alignment(src, dst, np.eye(16, dtype=np.float32), ())
    p1, p5 = identity.precision_at(test, 1), identity.precision_at(test, 5)
    assert p1 == identity.precision_at_1(test) and p1 <= p5 < 0.2
    by_hand = np.mean([f"fr{i}" in identity.translate([f"en{i}"], 5)[0] for i in ids[40:]])
    assert p5 == pytest.approx(by_hand)
    assert align(src, dst, test[:40]).precision_at(test[40:], 5) == 1.0
    with pytest.raises(InvalidParameterError):
        identity.precision_at(test, 0)
