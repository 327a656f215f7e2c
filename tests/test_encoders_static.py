"""StaticEncoder: mean and SIF pooling checked against hand computations, OOV handling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import PlantedCorpus
from embedlab.encoders.static import StaticEncoder
from embedlab.errors import CorpusError, InvalidParameterError
from embedlab.io import save_vectors
from embedlab.subword_vectors import FastTextVectors
from embedlab.text.subwords import ngram_buckets
from embedlab.vectors import WordVectors

KEYS = ["the", "cat", "sat", "dog"]
MATRIX = np.array(
    [[1.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 4.0]], dtype=np.float32
)
COUNTS = np.array([600, 200, 150, 50])


@pytest.fixture
def wv() -> WordVectors:
    return WordVectors(KEYS, MATRIX, counts=COUNTS)


def test_mean_pooling_matches_hand_computation(wv: WordVectors) -> None:
    enc = StaticEncoder(wv)
    out = enc.encode(["The cat SAT.", "dog", "cat, unicorn!"])
    assert out.dtype == np.float32 and out.shape == (3, 3)
    np.testing.assert_allclose(out[0], (MATRIX[0] + MATRIX[1] + MATRIX[2]) / 3, rtol=1e-6)
    np.testing.assert_allclose(out[1], MATRIX[3])
    np.testing.assert_allclose(out[2], MATRIX[1])  # "unicorn" is skipped, not averaged as 0
    assert enc.dim == 3 and enc.max_tokens is None and isinstance(enc.name, str)


def test_text_without_known_words_is_the_zero_vector(wv: WordVectors) -> None:
    out = StaticEncoder(wv).encode(["", "!!!", "unicorn zebra"], normalize=True)
    assert out.shape == (3, 3)
    assert not out.any()


def test_normalize_and_prompt(wv: WordVectors) -> None:
    enc = StaticEncoder(wv)
    out = enc.encode(["cat sat"], normalize=True)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    with_prompt = enc.encode(["sat"], prompt="the cat ")
    np.testing.assert_allclose(with_prompt[0], enc.encode(["the cat sat"])[0])


def test_sif_weights_match_hand_computation(wv: WordVectors) -> None:
    a = 0.05
    enc = StaticEncoder(wv, pooling="sif", sif_a=a)
    p = COUNTS / COUNTS.sum()
    w = a / (a + p)
    expected = (w[0] * MATRIX[0] + w[3] * MATRIX[3]) / 2
    np.testing.assert_allclose(enc.encode(["the dog"])[0], expected, rtol=1e-5)


def test_sif_without_counts_uses_zipf_over_rank() -> None:
    wv = WordVectors(KEYS, MATRIX)  # no counts: rows are taken as most frequent first
    a = 0.05
    ranks = np.arange(1, 5)
    p = (1 / ranks) / np.sum(1 / ranks)
    w = a / (a + p)
    out = StaticEncoder(wv, pooling="SIF", sif_a=a).encode(["cat"])[0]
    np.testing.assert_allclose(out, w[1] * MATRIX[1], rtol=1e-5)


def test_fit_removes_the_first_principal_component(wv: WordVectors) -> None:
    texts = ["the cat", "the sat", "the dog", "cat sat", "the cat sat dog"]
    enc = StaticEncoder(wv, pooling="sif", sif_a=0.05)
    before = enc.encode(texts)
    assert enc.component is None  # without fit: weights only
    enc.fit([*texts, "unicorn"])  # a text with no known word takes no part
    u = np.linalg.svd(before.astype(np.float64), full_matrices=False)[2][0]
    np.testing.assert_allclose(np.abs(enc.component), np.abs(u), atol=1e-5)
    after = enc.encode(texts)
    np.testing.assert_allclose(after, before - np.outer(before @ u, u), atol=1e-5)
    np.testing.assert_allclose(after @ enc.component, 0.0, atol=1e-5)
    assert not enc.encode(["unicorn"]).any()  # still the zero vector


def test_fit_with_no_known_word_is_an_error(wv: WordVectors) -> None:
    with pytest.raises(CorpusError, match="none of the 2 texts"):
        StaticEncoder(wv).fit(["unicorn", ""])


def test_fasttext_composes_oov_words() -> None:
    rng = np.random.default_rng(0)
    buckets = 50
    ft = FastTextVectors(
        ["cat", "dog"],
        rng.normal(size=(2, 4)),
        rng.normal(size=(buckets, 4)),
        min_n=3,
        max_n=4,
        buckets=buckets,
        counts=[10, 5],
    )
    enc = StaticEncoder(ft)
    assert len(ngram_buckets("cats", 3, 4, buckets)) > 0
    out = enc.encode(["cat cats", "cats"])
    np.testing.assert_allclose(out[0], (ft["cat"] + ft["cats"]) / 2, rtol=1e-5)
    np.testing.assert_allclose(out[1], ft["cats"], rtol=1e-5)
    assert out[1].any()
    sif = StaticEncoder(ft, pooling="sif", sif_a=0.1)
    w_cat = 0.1 / (0.1 + 10 / 15)
    expected = (w_cat * ft["cat"] + 1.0 * ft["cats"]) / 2  # unseen: p(w) = 0, weight 1
    np.testing.assert_allclose(sif.encode(["cat cats"])[0], expected, rtol=1e-5)


def test_trained_fasttext_groups_planted_topics(planted_corpus: PlantedCorpus) -> None:
    from embedlab.train import FastText

    lines = planted_corpus.lines[:1500]
    ft = FastText(dim=16, min_count=1, epochs=2, threads=1, seed=1).train(lines)
    enc = StaticEncoder(ft)
    out = enc.encode(["alpha1 alpha2 alpha3", "alpha4 alpha5", "beta1 beta2 beta3"], normalize=True)
    assert out[0] @ out[1] > out[0] @ out[2]
    assert enc.encode(["alpha77"]).any()  # an unseen word composed from n-grams


def test_load_uses_embedlab_io(tmp_path: Path, wv: WordVectors) -> None:
    path = tmp_path / "model"
    save_vectors(wv, path)
    enc = StaticEncoder.load(path, pooling="sif")
    assert enc.name == f"static:{path}:sif"
    expected = StaticEncoder(wv, pooling="sif").encode(["the cat"])
    np.testing.assert_allclose(enc.encode(["the cat"]), expected, rtol=1e-6)


def test_bad_input_is_refused(wv: WordVectors) -> None:
    enc = StaticEncoder(wv)
    with pytest.raises(InvalidParameterError, match="not a single str"):
        enc.encode("the cat")
    with pytest.raises(InvalidParameterError, match="item 1 is int"):
        enc.encode(["the", 3])  # type: ignore[list-item]
    with pytest.raises(InvalidParameterError, match=r"'pooling'.*'mean', 'sif'"):
        StaticEncoder(wv, pooling="max")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        enc.encode(["the"], batch_size=0)
    assert enc.encode([]).shape == (0, 3)
