"""gensim's online training on Word2Vec and FastText, written as gensim's docs write it:
``build_vocab(more, update=True)`` then ``train(more, total_examples=model.corpus_count,
epochs=model.epochs)``; and ``train`` again on the same vocabulary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import PlantedCorpus, make_planted_corpus
from embedlab.errors import InvalidParameterError, UnsupportedOptionError
from embedlab.train import FastText, Word2Vec


def _tokens(corpus: PlantedCorpus) -> list[list[str]]:
    return [line.split() for line in corpus.lines]


def _more(first: PlantedCorpus) -> list[list[str]]:
    """Sentences of the first corpus's clusters, where cluster 0 now also holds 'newcomer'
    (a word the first corpus never had) and cluster 1 'stranger' (seen once: below
    min_count)."""
    rng = np.random.default_rng(5)
    out = []
    for _ in range(1500):
        c = int(rng.integers(len(first.clusters)))
        words = rng.choice(first.clusters[c], size=int(rng.integers(8, 12))).tolist()
        if c == 0:
            words.insert(int(rng.integers(len(words))), "newcomer")
        out.append(words)
    out[1].append("stranger")
    return out


@pytest.mark.parametrize("kind", [Word2Vec, FastText])
def test_update_adds_new_words_near_their_neighbours(kind: type[Word2Vec]) -> None:
    first = make_planted_corpus(sentences=1500)
    model = kind(_tokens(first), vector_size=24, min_count=5, workers=1, sg=1, epochs=5, seed=3)
    old_keys = list(model.wv.index_to_key)
    old_vectors = model.wv.vectors.copy()
    old_counts = model.wv.counts.copy()  # type: ignore[union-attr]
    before = model.wv
    more = _more(first)
    model.build_vocab(more, update=True)
    model.train(more, total_examples=model.corpus_count, epochs=model.epochs)
    wv = model.wv
    assert wv.index_to_key[: len(old_keys)] == old_keys  # old words keep their places
    assert wv.index_to_key[len(old_keys) :] == ["newcomer"]  # 'stranger' is below min_count
    assert model.corpus_count == 1500
    # counts: old + new
    added = {k: sum(s.count(k) for s in more) for k in old_keys}
    np.testing.assert_array_equal(
        wv.counts[: len(old_keys)],
        old_counts + [added[k] for k in old_keys],  # type: ignore[index]
    )
    assert wv.counts[-1] == sum(s.count("newcomer") for s in more)  # type: ignore[index]
    # the new word sits with its planted cluster
    near = [key for key, _ in wv.most_similar("newcomer", topn=8)]
    assert sum(key in first.clusters[0] for key in near) >= 7, near
    # old vectors survived (trained further: close to where they were, not re-initialised)
    cos = np.sum(_unit(wv.vectors[: len(old_keys)]) * _unit(old_vectors), axis=1)
    assert np.median(cos) > 0.5, np.median(cos)
    assert not np.array_equal(wv.vectors[: len(old_keys)], old_vectors)  # trained further
    for cluster in first.clusters:
        near = [k for k, _ in wv.most_similar(cluster[0], topn=5) if k != "newcomer"]
        assert all(k in cluster for k in near), (cluster[0], near)
    np.testing.assert_array_equal(before.vectors, old_vectors)  # the old object is untouched


@pytest.mark.parametrize("kind", [Word2Vec, FastText])
def test_update_keeps_old_weights_exactly_where_they_were(kind: type[Word2Vec]) -> None:
    first = make_planted_corpus(sentences=300)
    model = kind(_tokens(first), vector_size=12, min_count=5, workers=1, epochs=2, seed=4)
    old = model.wv.vectors.copy()
    old_out = model.output_vectors.copy()  # type: ignore[union-attr]
    more = _more(first)[:300]
    model.build_vocab(more, update=True)
    # a learning rate of ~0: what comes out is what was carried over
    model.train(more, total_examples=300, epochs=1, start_alpha=1e-9, end_alpha=1e-10)
    np.testing.assert_allclose(model.wv.vectors[: len(old)], old, atol=1e-6)
    np.testing.assert_allclose(model.output_vectors[: len(old)], old_out, atol=1e-6)  # type: ignore[index]
    fresh = model.wv.vectors[len(old)]  # 'newcomer': a new row (and, for FastText, n-grams)
    assert np.linalg.norm(fresh) > 0 and not np.isin(fresh, old).all()


def test_train_again_on_the_same_vocabulary_continues() -> None:
    first = make_planted_corpus(sentences=600)
    model = Word2Vec(_tokens(first), vector_size=16, min_count=5, workers=1, sg=1, epochs=1)
    once = model.wv.vectors.copy()
    loss_once = model.stats.losses[-1]  # type: ignore[union-attr]
    more = [*_tokens(make_planted_corpus(sentences=600, seed=9)), ["unknown", "alpha1"]]
    model.train(more, total_examples=len(more), epochs=3)
    assert model.wv.index_to_key == model.vocab.keys and "unknown" not in model.wv  # type: ignore[union-attr]
    assert model.wv.vectors.shape == once.shape and not np.array_equal(model.wv.vectors, once)
    assert model.stats.losses[-1] < loss_once  # type: ignore[union-attr]
    assert model.epochs == 3


def test_online_training_refusals(tmp_path: Path) -> None:
    tokens = [["a", "b", "c", "a"]] * 30
    fresh = Word2Vec(vector_size=8, min_count=1, workers=1)
    with pytest.raises(InvalidParameterError, match="not been trained yet"):
        fresh.build_vocab(tokens, update=True)
    model = Word2Vec(tokens, vector_size=8, min_count=1, workers=1)
    with pytest.raises(InvalidParameterError, match="update must be a bool"):
        model.build_vocab(tokens, update="yes")  # type: ignore[arg-type]
    model.save(tmp_path / "m")
    loaded = Word2Vec.load(tmp_path / "m")  # a saved Word2Vec keeps its output weights
    np.testing.assert_array_equal(loaded.output_vectors, model.output_vectors)  # type: ignore[arg-type]
    loaded.train([["hello", "world"]], total_examples=1, epochs=1)  # gensim's quick-start line
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)  # unknown words: no-op
    loaded.build_vocab([["a", "new", "b"]] * 10, update=True)
    loaded.train([["a", "new", "b"]] * 10, total_examples=10, epochs=1)
    assert loaded.wv.index_to_key[-1] == "new"
    ft = FastText(tokens, vector_size=8, min_count=1, workers=1, bucket=100)
    ft.save(tmp_path / "ft")
    with pytest.raises(UnsupportedOptionError, match="output weights"):
        FastText.load(tmp_path / "ft").train(tokens)
    # build_vocab without update starts over, as gensim does
    model.build_vocab([["x", "y"]] * 30)
    model.train()
    assert sorted(model.wv.index_to_key) == ["x", "y"]


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=1, keepdims=True)
