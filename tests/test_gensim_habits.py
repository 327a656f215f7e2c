"""gensim habits: KeyedVectors' names answer as gensim's own do, and Word2Vec / FastText
take gensim's constructor (checked against gensim 4 on the same vectors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from embedlab import WordVectors
from embedlab.errors import InvalidParameterError, UnknownKeyError, UnsupportedOptionError
from embedlab.text import Corpus
from embedlab.text.encode import scan_corpus
from embedlab.train import FastText, Word2Vec

KEYS = [f"w{i}" for i in range(60)]


@pytest.fixture(scope="module")
def pair() -> tuple[WordVectors, KeyedVectors]:
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(len(KEYS), 12)).astype(np.float32)
    kv = KeyedVectors(vector_size=12)
    kv.add_vectors(KEYS, matrix)
    return WordVectors(KEYS, matrix), kv


def same_neighbours(ours: list[tuple[str, float]], theirs: list[tuple[str, float]]) -> None:
    assert [k for k, _ in ours] == [k for k, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings(
    "ignore:Call to deprecated:DeprecationWarning"
)  # gensim's own init_sims
def test_keyed_vectors_answers_match_gensim(pair: tuple[WordVectors, KeyedVectors]) -> None:
    wv, kv = pair
    same_neighbours(wv.most_similar("w1", topn=7), kv.most_similar("w1", topn=7))
    same_neighbours(
        wv.most_similar(positive=["w1", "w2"], negative=["w3"], topn=5),
        kv.most_similar(positive=["w1", "w2"], negative=["w3"], topn=5),
    )
    same_neighbours(
        wv.most_similar_cosmul(positive=["w1", "w2"], negative=["w3"], topn=5),
        kv.most_similar_cosmul(positive=["w1", "w2"], negative=["w3"], topn=5),
    )
    same_neighbours(wv.most_similar_cosmul("w4", topn=3), kv.most_similar_cosmul("w4", topn=3))
    same_neighbours(wv.similar_by_word("w5", topn=4), kv.similar_by_word("w5", topn=4))
    vector = wv["w6"] + wv["w7"]
    same_neighbours(wv.similar_by_vector(vector, topn=4), kv.similar_by_vector(vector, topn=4))
    assert wv.n_similarity(["w1", "w2"], ["w3", "w9"]) == pytest.approx(
        kv.n_similarity(["w1", "w2"], ["w3", "w9"]), abs=1e-5
    )
    assert wv.distance("w1", "w2") == pytest.approx(kv.distance("w1", "w2"), abs=1e-5)
    np.testing.assert_allclose(wv.distances("w1"), kv.distances("w1"), atol=1e-5)
    np.testing.assert_allclose(
        wv.distances("w1", ["w2", "w8"]), kv.distances("w1", ["w2", "w8"]), atol=1e-5
    )
    for other in ("w2", "w30", "w59"):
        assert wv.rank("w1", other) == kv.rank("w1", other)
        assert wv.closer_than("w1", other) == kv.closer_than("w1", other)
    np.testing.assert_allclose(wv.get_vector("w3", norm=True), kv.get_vector("w3", norm=True))
    np.testing.assert_allclose(wv.get_mean_vector(["w1", "w2"]), kv.get_mean_vector(["w1", "w2"]))
    assert wv.index_to_key == kv.index_to_key
    assert dict(wv.key_to_index) == kv.key_to_index
    assert wv.vector_size == kv.vector_size and wv.has_index_for("w0")
    np.testing.assert_allclose(wv.norms, kv.norms, rtol=1e-6)


def test_topn_and_k_are_one_option(pair: tuple[WordVectors, KeyedVectors]) -> None:
    wv, _ = pair
    assert len(wv.most_similar("w1")) == 10
    assert wv.most_similar("w1", topn=3) == wv.most_similar("w1", k=3)
    with pytest.raises(InvalidParameterError, match="k or topn"):
        wv.most_similar("w1", k=3, topn=4)
    with pytest.raises(InvalidParameterError, match="not both"):
        wv.most_similar("w1", k=3, topn=None)
    with pytest.raises(UnknownKeyError):
        wv.get_vector("nope")


@pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")
def test_topn_none_is_every_score_in_key_order(pair: tuple[WordVectors, KeyedVectors]) -> None:
    wv, kv = pair
    cases = [
        ("w1", ()),
        (["w1", "w2"], ["w3"]),
        ([wv["w6"] + wv["w7"]], ()),
    ]
    for positive, negative in cases:
        ours = wv.most_similar(positive, negative, topn=None)
        theirs = kv.most_similar(positive=positive, negative=list(negative), topn=None)
        assert isinstance(ours, np.ndarray) and ours.shape == (len(KEYS),)
        assert ours.dtype == theirs.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
        if not isinstance(positive[0], str):
            continue  # cosmul: gensim leaves raw vectors unnormalised (cosines past [-1, 1])
        ours = wv.most_similar_cosmul(positive, list(negative), topn=None)
        theirs = kv.most_similar_cosmul(positive=positive, negative=list(negative), topn=None)
        assert ours.shape == theirs.shape == (len(KEYS),)  # gensim: float32 or float64
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    limited = wv.most_similar("w1", topn=None, restrict_vocab=20)
    np.testing.assert_allclose(
        limited, kv.most_similar("w1", topn=None, restrict_vocab=20), atol=1e-5
    )
    assert limited.shape == (20,) and limited[1] == pytest.approx(1.0)  # its own key kept


def test_word2vec_format_classmethods_round_trip(
    pair: tuple[WordVectors, KeyedVectors], tmp_path: Path
) -> None:
    wv, kv = pair
    kv.save_word2vec_format(str(tmp_path / "g.bin"), binary=True)
    ours = WordVectors.load_word2vec_format(tmp_path / "g.bin", binary=True)
    assert ours.index_to_key == KEYS
    np.testing.assert_allclose(ours.vectors, wv.vectors)
    wv.save(tmp_path / "folder")
    mapped = WordVectors.load(tmp_path / "folder", mmap="r")
    np.testing.assert_array_equal(mapped.vectors, wv.vectors)


TOKENS = [["C++", "New_York", "python", "code"], ["python", "C++", "code", "New_York"]] * 40


def test_token_lists_are_taken_as_they_are() -> None:
    scan = scan_corpus(TOKENS)
    assert scan.raw_keys == ["C++", "New_York", "python", "code"]
    assert scan.lines == 80 and scan.words == 320
    assert list(Corpus([["A", "b"]])) == [["A", "b"]]
    with pytest.raises(InvalidParameterError, match="contains a space"):
        scan_corpus([["new york", "x"]])
    with pytest.raises(InvalidParameterError, match="sentence 1 is str"):
        scan_corpus([["a"], "b c"])
    with pytest.raises(InvalidParameterError, match="tokens must be str"):
        scan_corpus([["a", 3]])


def test_word2vec_takes_gensims_constructor_and_trains_at_once(tmp_path: Path) -> None:
    model = Word2Vec(
        sentences=TOKENS, vector_size=16, window=2, min_count=1, workers=1, sg=1, hs=0, epochs=3
    )
    assert model.params.dim == 16 and model.params.sg is True and model.params.threads == 1
    assert sorted(model.wv.index_to_key) == sorted(["C++", "New_York", "python", "code"])
    assert model.wv["C++"].shape == (16,) and model.corpus_count == 80
    assert model.wv.most_similar("C++", topn=2)[0].key in {"New_York", "python", "code"}
    model.save(tmp_path / "w2v.model")
    again = Word2Vec.load(tmp_path / "w2v.model")
    np.testing.assert_array_equal(again.wv.vectors, model.wv.vectors)
    assert again.params.dim == 16 and again.params.sg is True


def test_word2vec_two_step_form_and_refusals() -> None:
    model = Word2Vec(vector_size=8, min_count=1, workers=1, seed=2)
    with pytest.raises(InvalidParameterError, match="not been trained"):
        _ = model.wv
    model.build_vocab(TOKENS)
    model.train(TOKENS, total_examples=80, epochs=2)
    assert model.params.epochs == 2 and len(model.wv) == 4
    with pytest.raises(UnsupportedOptionError, match="different corpora"):
        model.build_vocab(TOKENS, update=True)
        model.train(TOKENS[:10], total_examples=10, epochs=1)
    with pytest.raises(UnsupportedOptionError, match="hs=1"):
        Word2Vec(vector_size=8, hs=1)
    with pytest.raises(UnsupportedOptionError, match="cbow_mean=0"):
        Word2Vec(cbow_mean=0)
    with pytest.raises(InvalidParameterError, match="given twice"):
        Word2Vec(vector_size=8, dim=8)
    with pytest.raises(InvalidParameterError, match="valid parameters"):
        Word2Vec(vector_sise=8)


def test_fasttext_gensim_form_gives_oov_vectors() -> None:
    model = FastText(
        sentences=TOKENS, vector_size=8, min_count=1, workers=1, epochs=2, bucket=1000, min_n=2
    )
    assert model.params.buckets == 1000
    oov = model.wv.get_vector("pythonic", norm=True)
    assert oov.shape == (8,) and np.linalg.norm(oov) == pytest.approx(1.0, abs=1e-5)
    assert "pythonic" not in model.wv.key_to_index
