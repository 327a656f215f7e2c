"""embedlab.metrics against scipy / scikit-learn / plain loops as oracles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics.pairwise import cosine_similarity

from embedlab import metrics
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.metrics import (
    Metric,
    cosine,
    dot,
    euclidean,
    hamming,
    manhattan,
    normalize,
    pairwise,
    top_k,
)

FLOAT_METRICS = [cosine, dot, euclidean, manhattan]


@pytest.fixture
def ab() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 7)).astype(np.float32)
    b = rng.normal(size=(11, 7)).astype(np.float32)
    return a, b


def oracle(name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The expected (m, n) result in float64, from scipy."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if name == "cosine":
        return 1.0 - cdist(a64, b64, "cosine")
    if name == "dot":
        return a64 @ b64.T
    if name == "euclidean":
        return cdist(a64, b64, "euclidean")
    return cdist(a64, b64, "cityblock")


@pytest.mark.parametrize("fn", FLOAT_METRICS, ids=lambda f: f.__name__)
def test_many_vs_many_matches_scipy(fn, ab) -> None:
    a, b = ab
    out = fn(a, b)
    assert out.shape == (5, 11)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, oracle(fn.__name__, a, b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn", FLOAT_METRICS, ids=lambda f: f.__name__)
def test_one_vs_many_and_one_vs_one_shapes(fn, ab) -> None:
    a, b = ab
    full = oracle(fn.__name__, a, b)
    one_vs_many = fn(a[2], b)
    assert one_vs_many.shape == (11,)
    assert one_vs_many.dtype == np.float32
    np.testing.assert_allclose(one_vs_many, full[2], rtol=1e-5, atol=1e-5)
    many_vs_one = fn(a, b[4])
    assert many_vs_one.shape == (5,)
    np.testing.assert_allclose(many_vs_one, full[:, 4], rtol=1e-5, atol=1e-5)
    one = fn(a[1], b[3])
    assert one.shape == ()
    assert one.dtype == np.float32
    assert float(one) == pytest.approx(full[1, 3], rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("fn", FLOAT_METRICS, ids=lambda f: f.__name__)
def test_float64_and_list_inputs_give_float32(fn, ab) -> None:
    a, b = ab
    out = fn(a.astype(np.float64).tolist(), b.astype(np.float64))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, oracle(fn.__name__, a, b), rtol=1e-5, atol=1e-5)


def test_cosine_of_zero_vector_is_zero_not_nan(ab) -> None:
    _, b = ab
    zero = np.zeros(7, dtype=np.float32)
    assert np.array_equal(cosine(zero, b), np.zeros(11, dtype=np.float32))
    assert float(cosine(zero, zero)) == 0.0
    rows = np.vstack([b[:3], zero])
    out = cosine(rows, rows)
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out, cosine_similarity(rows, rows), atol=1e-6)


def test_cosine_stays_within_unit_interval() -> None:
    x = np.random.default_rng(1).normal(size=(20, 3)).astype(np.float32) * 1e3
    out = cosine(x, np.vstack([x, -x]))
    assert out.max() <= 1.0
    assert out.min() >= -1.0
    np.testing.assert_allclose(np.diag(out[:, :20]), 1.0, atol=1e-6)


def test_euclidean_of_identical_rows_is_zero_not_nan() -> None:
    x = np.random.default_rng(2).normal(size=(30, 16)).astype(np.float32) * 100 + 1000
    out = euclidean(x, x)
    assert not np.isnan(out).any()
    assert (out >= 0).all()
    # The |a|^2 - 2ab + |b|^2 expansion leaves an error of about 1e-3 * |a| here.
    assert np.abs(np.diag(out)).max() < 1e-3 * np.linalg.norm(x, axis=1).max()


@pytest.mark.parametrize("block", [1, 7, 50])
def test_manhattan_in_small_blocks_matches_scipy(block, ab, monkeypatch) -> None:
    monkeypatch.setattr(metrics, "_BLOCK_ELEMENTS", block)
    a, b = ab
    out = manhattan(a, b)
    np.testing.assert_allclose(out, cdist(a, b, "cityblock"), rtol=1e-5)
    np.testing.assert_allclose(manhattan(a[0], b), cdist(a[:1], b, "cityblock")[0], rtol=1e-5)


def test_empty_operands() -> None:
    b = np.ones((0, 4), dtype=np.float32)
    for fn in FLOAT_METRICS:
        assert fn(np.ones(4), b).shape == (0,)
        assert fn(np.ones((3, 4)), b).shape == (3, 0)


def bits_differing(x: np.ndarray, y: np.ndarray) -> int:
    """Count differing bits one bit at a time (the oracle for hamming)."""
    total = 0
    for byte_x, byte_y in zip(x.tolist(), y.tolist(), strict=True):
        for bit in range(8):
            total += ((byte_x >> bit) & 1) != ((byte_y >> bit) & 1)
    return total


@pytest.mark.parametrize("block", [None, 3])
def test_hamming_matches_bit_by_bit_count(block, monkeypatch) -> None:
    if block is not None:
        monkeypatch.setattr(metrics, "_BLOCK_ELEMENTS", block)
    rng = np.random.default_rng(3)
    bits_a = rng.integers(0, 2, size=(4, 21))
    bits_b = rng.integers(0, 2, size=(6, 21))
    a, b = np.packbits(bits_a, axis=1), np.packbits(bits_b, axis=1)
    out = hamming(a, b)
    assert out.dtype == np.int32
    assert out.shape == (4, 6)
    expected = [[bits_differing(x, y) for y in b] for x in a]
    assert out.tolist() == expected
    # the same counts from scipy, on the unpacked bits
    assert np.array_equal(out, np.rint(cdist(bits_a, bits_b, "hamming") * 21).astype(int))
    assert hamming(a[1], b).tolist() == expected[1]
    assert int(hamming(a[2], b[5])) == expected[2][5]


def test_hamming_rejects_non_uint8_codes() -> None:
    codes = np.zeros((2, 3), dtype=np.uint8)
    with pytest.raises(InvalidParameterError, match="uint8"):
        hamming(codes.astype(np.int64), codes)
    with pytest.raises(InvalidParameterError, match="dtype float32"):
        hamming(codes, codes.astype(np.float32))


def test_dimension_mismatch_names_both_shapes() -> None:
    with pytest.raises(DimensionMismatchError, match=r"\(3, 4\).*\(5, 6\)"):
        cosine(np.ones((3, 4)), np.ones((5, 6)))
    with pytest.raises(DimensionMismatchError, match=r"\(4,\).*\(2, 3\)"):
        euclidean(np.ones(4), np.ones((2, 3)))
    with pytest.raises(DimensionMismatchError):
        hamming(np.zeros(2, dtype=np.uint8), np.zeros((2, 3), dtype=np.uint8))


@pytest.mark.parametrize("bad", [np.ones((2, 2, 2)), np.float32(1.0)], ids=["3-D", "0-D"])
def test_wrong_ndim_is_rejected(bad) -> None:
    for fn in FLOAT_METRICS:
        with pytest.raises(DimensionMismatchError, match="vector"):
            fn(bad, np.ones((2, 2)))
        with pytest.raises(DimensionMismatchError):
            fn(np.ones((2, 2)), bad)


def test_non_numeric_input_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="real numbers"):
        dot(np.array(["a", "b"]), np.ones((2, 2)))


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        cosine(np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        top_k([1.0], 0)


def test_normalize() -> None:
    x = np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]])
    before = x.copy()
    out = normalize(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], rtol=1e-6)
    assert np.array_equal(x, before)  # the input is left alone
    rows = np.random.default_rng(4).normal(size=(10, 5)).astype(np.float32)
    assert normalize(rows) is not rows
    np.testing.assert_allclose(np.linalg.norm(normalize(rows), axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(normalize(np.array([0.0, 2.0])), [0.0, 1.0])
    assert normalize(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [1, 4, 30, 40])
def test_top_k_matches_full_argsort(largest, k) -> None:
    scores = np.random.default_rng(5).normal(size=(6, 30)).astype(np.float32)
    order = np.argsort(-scores if largest else scores, axis=1)[:, :k]
    idx, val = top_k(scores, k, largest=largest)
    assert idx.shape == order.shape
    assert np.array_equal(idx, order)
    assert np.array_equal(val, np.take_along_axis(scores, order, axis=1))
    assert val.dtype == np.float32
    idx1, val1 = top_k(scores[2], k, largest=largest)
    assert np.array_equal(idx1, order[2])
    assert np.array_equal(val1, scores[2][order[2]])


def test_top_k_integer_scores_keep_their_dtype() -> None:
    scores = np.array([5, 1, 9, 3], dtype=np.int32)
    idx, val = top_k(scores, 2, largest=False)
    assert idx.tolist() == [1, 3]
    assert val.dtype == np.int32
    idx, val = top_k(scores.astype(np.uint8), 2)
    assert idx.tolist() == [2, 0]
    assert val.tolist() == [9, 5]


def test_top_k_ranks_nan_last() -> None:
    scores = np.array([0.5, np.nan, 0.9, 0.1])
    assert top_k(scores, 3)[0].tolist() == [2, 0, 3]
    assert top_k(scores, 3, largest=False)[0].tolist() == [3, 0, 2]


@pytest.mark.parametrize("k", [0, -1, True, 2.0, "3"])
def test_top_k_rejects_bad_k(k) -> None:
    with pytest.raises(InvalidParameterError, match="'k'"):
        top_k([1.0, 2.0], k)


def test_top_k_rejects_bad_scores() -> None:
    with pytest.raises(DimensionMismatchError):
        top_k(np.ones((2, 2, 2)), 1)
    with pytest.raises(InvalidParameterError):
        top_k(np.array(["a", "b"]), 1)


def test_metric_enum() -> None:
    assert Metric.parse("Cosine", name="metric") is Metric.COSINE
    assert Metric.parse(Metric.HAMMING, name="metric") is Metric.HAMMING
    assert [m.value for m in Metric if m.higher_is_better] == ["cosine", "dot"]
    with pytest.raises(InvalidParameterError, match=r"'cosine'.*'hamming'.*'jaccard'"):
        Metric.parse("jaccard", name="metric")


@pytest.mark.parametrize("metric", list(Metric))
def test_pairwise_dispatches(metric, ab) -> None:
    a, b = ab
    if metric is Metric.HAMMING:
        a, b = np.packbits(a > 0, axis=1), np.packbits(b > 0, axis=1)
    direct = getattr(metrics, metric.value)(a, b)
    assert np.array_equal(pairwise(metric, a, b), direct)
    assert np.array_equal(pairwise(metric.value.upper(), a, b), direct)


def test_pairwise_rejects_unknown_metric() -> None:
    with pytest.raises(InvalidParameterError, match="metric"):
        pairwise("cosine-ish", np.ones(2), np.ones(2))
