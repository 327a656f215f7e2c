"""Compression: int8 / binary quantization and Matryoshka truncation, against exact search."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.encoders.compression import (
    dequantize,
    quantize_binary,
    quantize_int8,
    recall_kept,
    truncate_matryoshka,
)
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.metrics import hamming, top_k


def clustered(
    seed: int = 0, n: int = 2000, dim: int = 128, clusters: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points around random centres: (vectors, their labels, queries, their labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    labels = rng.integers(clusters, size=n)
    q_labels = rng.integers(clusters, size=100)
    x = centres[labels] + 0.6 * rng.normal(size=(n, dim))
    q = centres[q_labels] + 0.6 * rng.normal(size=(100, dim))
    return x.astype(np.float32), labels, q.astype(np.float32), q_labels


def test_int8_round_trip_error_is_within_half_a_step() -> None:
    x = np.random.default_rng(1).normal(size=(500, 64)).astype(np.float32)
    codes, scale, offset = quantize_int8(x)
    assert codes.dtype == np.int8 and codes.shape == x.shape
    assert scale.shape == offset.shape == (64,)
    assert codes.min() == -128 and codes.max() == 127  # the full range is used
    error = np.abs(dequantize(codes, scale, offset) - x)
    assert np.all(error <= scale / 2 + 1e-6)
    assert error.mean() < 0.01 * x.std()


def test_int8_calibration_clips_values_out_of_range() -> None:
    corpus = np.array([[0.0, 0.0], [1.0, 2.0]], dtype=np.float32)
    codes, scale, offset = quantize_int8([[2.0, -1.0], [0.2, 0.4]], calibration=corpus)
    assert codes.tolist() == [[127, -128], [-77, -77]]  # 0.2 * 255 - 128 = -77
    np.testing.assert_allclose(scale, [1 / 255, 2 / 255], rtol=1e-6)
    np.testing.assert_allclose(offset, [0.0, 0.0])


def test_int8_constant_dimension_round_trips() -> None:
    x = np.array([[1.5, 0.0], [1.5, 1.0]], dtype=np.float32)
    codes, scale, offset = quantize_int8(x)
    np.testing.assert_allclose(dequantize(codes, scale, offset), x, atol=1 / 510)


def test_binary_codes_are_packed_sign_bits() -> None:
    x = np.array([[1.0, -1.0, 0.5, -0.5, 0.0, 2.0, -2.0, 3.0, 1.0, -1.0]])
    codes = quantize_binary(x)
    assert codes.dtype == np.uint8 and codes.shape == (1, 2)
    np.testing.assert_array_equal(np.unpackbits(codes, axis=1)[:, :10], x > 0)
    np.testing.assert_array_equal(quantize_binary(x[0]), codes[0])


def test_binary_search_finds_the_right_cluster_and_keeps_recall() -> None:
    x, labels, q, q_labels = clustered()
    codes, q_codes = quantize_binary(x), quantize_binary(q)
    found, _ = top_k(hamming(q_codes, codes), 10, largest=False)
    purity = np.mean(labels[found] == q_labels[:, None])
    assert purity > 0.95
    recall = recall_kept(x, q, method="binary")
    assert 0.2 < recall < 1.0  # 40x the 0.005 of a random pick; binary loses fine ranking


def test_int8_keeps_recall_on_clustered_data() -> None:
    x, _, q, _ = clustered(seed=2)
    assert recall_kept(x, q, method="int8") >= 0.95
    assert recall_kept(x, q, method="int8", metric="dot") >= 0.95


def test_matryoshka_keeps_recall_when_the_spectrum_decays() -> None:
    rng = np.random.default_rng(3)
    dim = 64
    decaying = np.exp(-np.arange(dim) / 8)  # leading dimensions carry most of the signal
    x = rng.normal(size=(2000, dim)) * decaying
    q = rng.normal(size=(100, dim)) * decaying
    assert recall_kept(x, q, method=("matryoshka", 32)) >= 0.95
    flat_x, flat_q = rng.normal(size=(2000, dim)), rng.normal(size=(100, dim))
    assert recall_kept(flat_x, flat_q, method=("matryoshka", 32)) < 0.5  # no such structure


def test_identity_keeps_everything() -> None:
    x, _, q, _ = clustered(seed=4, n=500)
    assert recall_kept(x, q, method=("matryoshka", x.shape[1])) == 1.0
    assert recall_kept(x, q, method=("MATRYOSHKA", x.shape[1]), metric="dot", k=3) == 1.0
    assert recall_kept(x[:5], q, k=10, method=("matryoshka", 128)) == 1.0  # k clipped to n


def test_truncate_matryoshka() -> None:
    x = np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(truncate_matryoshka(x, 2), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(truncate_matryoshka(x, 2, renormalize=False), x[:, :2])
    assert truncate_matryoshka(x[0], 1).tolist() == [1.0]
    with pytest.raises(InvalidParameterError, match=r"'dim'.*\[1, 3\]"):
        truncate_matryoshka(x, 4)


def test_bad_arguments() -> None:
    x = np.ones((4, 8), dtype=np.float32)
    with pytest.raises(InvalidParameterError, match="needs the dimension"):
        recall_kept(x, x, method="matryoshka")
    with pytest.raises(InvalidParameterError, match="'int8', 'binary', 'matryoshka'"):
        recall_kept(x, x, method="pq")
    with pytest.raises(InvalidParameterError, match="Only 'matryoshka' takes a dimension"):
        recall_kept(x, x, method=("int8", 4))
    with pytest.raises(InvalidParameterError, match="'cosine', 'dot'"):
        recall_kept(x, x, metric="euclidean")
    with pytest.raises(DimensionMismatchError, match="queries have 4 dimensions"):
        recall_kept(x, x[:, :4])
    with pytest.raises(DimensionMismatchError, match="calibration has 4 dimensions"):
        quantize_int8(x, calibration=x[:, :4])
    with pytest.raises(InvalidParameterError, match="NaN"):
        quantize_int8([[np.nan, 1.0]])
