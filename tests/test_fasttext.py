"""FastText: n-gram hashing against gensim, OOV composition, planted topics, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PlantedCorpus
from embedlab.errors import InvalidParameterError, UnknownKeyError
from embedlab.subword_vectors import FastTextVectors
from embedlab.text.subwords import char_ngrams, fasttext_hash, ngram_buckets, ngram_buckets_many
from embedlab.train import FastText, Word2Vec

FAST = {"dim": 20, "window": 5, "min_count": 1, "sample": 0.0, "epochs": 4}
WORDS = ["cat", "café", "naïve", "日本語", "a", "😀x", "unseeable", "ÿþ", "it's"]


@pytest.mark.parametrize("word", WORDS)
def test_ngrams_and_hashes_match_gensim(word: str) -> None:
    """gensim reproduces Facebook's hashing; so must we, or .bin models would not load."""
    fasttext_inner = pytest.importorskip("gensim.models.fasttext_inner")
    expected = fasttext_inner.compute_ngrams_bytes(word, 3, 6)
    assert [g.encode("utf-8") for g in char_ngrams(word, 3, 6)] == expected
    assert [fasttext_hash(g) for g in expected] == [
        fasttext_inner.ft_hash_bytes(g) for g in expected
    ]
    assert ngram_buckets(word, 3, 6, 2_000_000).tolist() == [
        fasttext_inner.ft_hash_bytes(g) % 2_000_000 for g in expected
    ]


def test_compiled_bucket_hashing_matches_the_python_one() -> None:
    offsets, ids = ngram_buckets_many(WORDS, 2, 5, 1_000)
    for i, word in enumerate(WORDS):
        assert (
            ids[offsets[i] : offsets[i + 1]].tolist() == ngram_buckets(word, 2, 5, 1_000).tolist()
        )


def test_oov_vector_is_the_mean_of_its_ngram_vectors(planted_corpus: PlantedCorpus) -> None:
    ft = FastText(threads=1, seed=2, **FAST).train(planted_corpus.lines)
    assert isinstance(ft, FastTextVectors)
    word = "alphabet"
    assert word not in ft.vocab and word not in ft
    buckets = ngram_buckets(word, ft.min_n, ft.max_n, ft.buckets)
    rows = []
    for b in buckets.tolist():
        hit = np.flatnonzero(ft.ngram_buckets == b)
        rows.append(ft.vectors_ngrams[hit[0]] if len(hit) else np.zeros(ft.dim, np.float32))
    np.testing.assert_allclose(ft[word], np.mean(rows, axis=0), rtol=1e-5, atol=1e-7)
    # an in-vocabulary word is the mean of its own row and its n-gram rows
    index = ft.get_index("alpha3")
    grams = [
        ft.vectors_ngrams[np.flatnonzero(ft.ngram_buckets == b)[0]]
        for b in ngram_buckets("alpha3", ft.min_n, ft.max_n, ft.buckets).tolist()
    ]
    expected = np.mean([ft.vectors_vocab[index], *grams], axis=0)
    np.testing.assert_allclose(ft["alpha3"], expected, rtol=1e-5, atol=1e-7)


def test_only_buckets_of_vocabulary_ngrams_get_rows(planted_corpus: PlantedCorpus) -> None:
    ft = FastText(threads=1, **FAST).train(planted_corpus.lines)
    used = set()
    for word in ft.keys:
        used.update(ngram_buckets(word, ft.min_n, ft.max_n, ft.buckets).tolist())
    assert ft.ngram_buckets is not None
    assert ft.ngram_buckets.tolist() == sorted(used)
    assert ft.vectors_ngrams.shape == (len(used), ft.dim)


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_planted_clusters_are_recovered(planted_corpus: PlantedCorpus, sg: bool) -> None:
    ft = FastText(sg=sg, threads=1, seed=3, **FAST).train(planted_corpus.lines)
    own = []
    for cluster in planted_corpus.clusters:
        for word in cluster:
            own.append(sum(n.key in cluster for n in ft.most_similar(word, k=5)))
    assert np.mean(own) >= 4.0
    # an unseen member of a cluster's spelling family lands next to that cluster
    nearest = ft.most_similar("gamma42", k=5)
    assert sum(n.key.startswith("gamma") for n in nearest) >= 4


def test_one_thread_and_a_seed_reproduce_bit_for_bit(planted_corpus: PlantedCorpus) -> None:
    a = FastText(threads=1, seed=9, **FAST).train(planted_corpus.lines)
    b = FastText(threads=1, seed=9, **FAST).train(planted_corpus.lines)
    c = FastText(threads=1, seed=10, **FAST).train(planted_corpus.lines)
    assert np.array_equal(a.vectors_ngrams, b.vectors_ngrams)
    assert np.array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)


def test_config_and_losses(planted_corpus: PlantedCorpus) -> None:
    model = FastText(threads=2, min_n=2, max_n=4, buckets=50_000, **FAST)
    ft = model.train(planted_corpus.lines)
    assert ft.config["kind"] == "fasttext"
    assert ft.config["params"]["min_n"] == 2 and ft.config["params"]["buckets"] == 50_000
    assert (ft.min_n, ft.max_n, ft.buckets) == (2, 4, 50_000)
    assert model.stats is not None
    losses = model.stats.losses
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_subwords_differ_from_word2vec_on_the_same_seed(planted_corpus: PlantedCorpus) -> None:
    """The n-gram rows take part in training: the vocabulary rows are not word2vec's."""
    ft = FastText(threads=1, seed=4, **FAST).train(planted_corpus.lines)
    wv = Word2Vec(threads=1, seed=4, **FAST).train(planted_corpus.lines)
    assert ft.keys == wv.keys
    assert not np.allclose(ft.vectors, wv.vectors)


@pytest.mark.parametrize(
    "params",
    [{"min_n": 4, "max_n": 3}, {"buckets": 0}, {"min_n": 0}, {"max_n": -1}],
)
def test_invalid_subword_parameters(params: dict[str, int]) -> None:
    with pytest.raises(InvalidParameterError):
        FastText(**params)


def test_a_word_without_ngrams_is_unknown() -> None:
    ft = FastTextVectors(["cat"], np.ones((1, 2)), np.zeros((10, 2)), min_n=6, max_n=6, buckets=10)
    with pytest.raises(UnknownKeyError, match="'ox'"):
        ft["ox"]  # "<ox>" has 4 characters: no 6-gram
