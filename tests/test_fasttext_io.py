"""FastTextVectors in the embedlab folder (with its subword parts) and as a .vec export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError
from embedlab.io import load_folder, load_vectors, save_folder, save_vectors
from embedlab.subword_vectors import FastTextVectors
from embedlab.text.subwords import ngram_buckets
from embedlab.vectors import WordVectors

KEYS = ["the", "cat", "naïve", "日本", "x-ray", "cats"]
DIM = 4
BUCKETS = 64
OOV = ["unseeable", "dog", "Zürich", "naïveté"]


def _model(*, sparse: bool, counts: bool = True) -> FastTextVectors:
    rng = np.random.default_rng(11)
    vocab = rng.standard_normal((len(KEYS), DIM)).astype(np.float32)
    if sparse:
        ids = np.sort(rng.choice(BUCKETS, size=40, replace=False)).astype(np.int64)
        ngrams = rng.standard_normal((len(ids), DIM)).astype(np.float32)
    else:
        ids = None
        ngrams = rng.standard_normal((BUCKETS, DIM)).astype(np.float32)
    return FastTextVectors(
        KEYS,
        vocab,
        ngrams,
        min_n=2,
        max_n=4,
        buckets=BUCKETS,
        ngram_buckets=ids,
        counts=np.arange(len(KEYS), 0, -1) * 7 if counts else None,
        config={"kind": "fasttext", "args": {"minn": 2, "t": 1e-4}},
    )


def _assert_same_model(a: FastTextVectors, b: WordVectors) -> None:
    assert isinstance(b, FastTextVectors)
    assert b.keys == a.keys
    assert (b.min_n, b.max_n, b.buckets) == (a.min_n, a.max_n, a.buckets)
    np.testing.assert_array_equal(b.vectors_vocab, a.vectors_vocab)
    np.testing.assert_array_equal(b.vectors_ngrams, a.vectors_ngrams)
    if a.ngram_buckets is None:
        assert b.ngram_buckets is None
    else:
        assert b.ngram_buckets is not None
        np.testing.assert_array_equal(b.ngram_buckets, a.ngram_buckets)
    if a.counts is None:
        assert b.counts is None
    else:
        assert b.counts is not None
        np.testing.assert_array_equal(b.counts, a.counts)
    assert b.config == a.config
    np.testing.assert_array_equal(b.vectors, a.vectors)
    for word in OOV:
        np.testing.assert_array_equal(b[word], a[word])


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("mmap", [False, True])
def test_folder_round_trip(tmp_path: Path, sparse: bool, mmap: bool) -> None:
    ft = _model(sparse=sparse)
    save_folder(ft, tmp_path / "m")
    _assert_same_model(ft, load_folder(tmp_path / "m", mmap=mmap))
    _assert_same_model(ft, load_vectors(tmp_path / "m"))
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert ("ngram_buckets.npy" in files) is sparse
    assert {"vectors.npy", "vectors_vocab.npy", "ngrams.npy", "vocab.txt"} <= files
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["subwords"] == {
        "min_n": 2,
        "max_n": 4,
        "buckets": BUCKETS,
        "ngram_buckets": sparse,
    }


def test_round_trip_without_counts(tmp_path: Path) -> None:
    ft = _model(sparse=True, counts=False)
    ft.save(tmp_path / "m")
    _assert_same_model(ft, WordVectors.load(tmp_path / "m"))


def test_vectors_npy_holds_the_composed_vectors(tmp_path: Path) -> None:
    ft = _model(sparse=True)
    save_folder(ft, tmp_path / "m")
    np.testing.assert_array_equal(np.load(tmp_path / "m" / "vectors.npy"), ft.vectors)
    # A reader that ignores the subwords section still gets the composed vectors.
    config_path = tmp_path / "m" / "config.json"
    config = json.loads(config_path.read_text())
    del config["subwords"]
    config_path.write_text(json.dumps(config))
    plain = load_folder(tmp_path / "m")
    assert type(plain) is WordVectors
    np.testing.assert_array_equal(plain.vectors, ft.vectors)


def test_limit_keeps_subwords(tmp_path: Path) -> None:
    ft = _model(sparse=False)
    save_folder(ft, tmp_path / "m")
    head = load_vectors(tmp_path / "m", limit=3)
    assert isinstance(head, FastTextVectors)
    assert head.keys == KEYS[:3]
    np.testing.assert_array_equal(head.vectors, ft.vectors[:3])
    assert "cats" not in head.vocab  # cut off: now composed from its n-grams alone
    ids = ngram_buckets("cats", ft.min_n, ft.max_n, ft.buckets)
    np.testing.assert_allclose(head["cats"], ft.vectors_ngrams[ids].mean(axis=0), rtol=1e-6)
    for word in OOV:
        np.testing.assert_array_equal(head[word], ft[word])


def test_vec_export_loads_as_word_vectors(tmp_path: Path) -> None:
    ft = _model(sparse=True)
    save_vectors(ft, tmp_path / "model.vec", format="word2vec")
    wv = load_vectors(tmp_path / "model.vec")
    assert type(wv) is WordVectors
    assert wv.keys == ft.keys
    np.testing.assert_allclose(wv.vectors, ft.vectors, rtol=1e-6, atol=1e-7)


def _saved(tmp_path: Path) -> Path:
    save_folder(_model(sparse=True), tmp_path / "m")
    return tmp_path / "m"


@pytest.mark.parametrize("name", ["ngrams.npy", "vectors_vocab.npy", "ngram_buckets.npy"])
def test_missing_subword_file(tmp_path: Path, name: str) -> None:
    folder = _saved(tmp_path)
    (folder / name).unlink()
    with pytest.raises(FormatError, match=f"{name} is missing"):
        load_folder(folder)


@pytest.mark.parametrize(
    ("name", "array", "message"),
    [
        ("ngrams.npy", np.zeros((40, DIM + 1), np.float32), "with 4 columns"),
        ("ngrams.npy", np.zeros((39, DIM), np.float32), "expected 40 n-gram rows; got 39"),
        ("ngrams.npy", np.zeros((40, DIM), np.float64), "expected a float32 matrix"),
        ("ngrams.npy", np.zeros(40 * DIM, np.float32), "expected a float32 matrix"),
        ("vectors_vocab.npy", np.zeros((len(KEYS) + 1, DIM), np.float32), "number of keys"),
        ("ngram_buckets.npy", np.arange(40, dtype=np.float32), "1-D integer"),
        ("ngram_buckets.npy", np.arange(40)[::-1].copy(), "sorted, distinct"),
        ("ngram_buckets.npy", np.arange(41), "expected 41 n-gram rows; got 40"),
    ],
)
def test_mis_shaped_subword_file(
    tmp_path: Path, name: str, array: np.ndarray, message: str
) -> None:
    folder = _saved(tmp_path)
    np.save(folder / name, array)
    with pytest.raises(FormatError, match=message):
        load_folder(folder)


def test_unreadable_subword_file(tmp_path: Path) -> None:
    folder = _saved(tmp_path)
    (folder / "ngrams.npy").write_bytes(b"not numpy")
    with pytest.raises(FormatError, match=r"not a readable \.npy file"):
        load_folder(folder)


@pytest.mark.parametrize(
    "subwords",
    [
        [3, 6],
        {"min_n": 3, "max_n": 6},
        {"min_n": "3", "max_n": 6, "buckets": 64, "ngram_buckets": True},
    ],
)
def test_bad_subwords_section(tmp_path: Path, subwords: object) -> None:
    folder = _saved(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["subwords"] = subwords
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(FormatError, match="'subwords' must be an object"):
        load_folder(folder)


def test_inconsistent_subword_settings(tmp_path: Path) -> None:
    folder = _saved(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["subwords"]["min_n"] = 9
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(FormatError, match="min_n must not exceed max_n"):
        load_folder(folder)


def test_fasttext_bin_to_folder_round_trip(tmp_path: Path) -> None:
    gensim_test = pytest.importorskip("gensim.test")
    source = Path(gensim_test.__file__).parent / "test_data" / "toy-model.bin"
    if not source.is_file():
        pytest.skip("gensim's toy-model.bin is not installed")
    ft = load_vectors(source)
    assert isinstance(ft, FastTextVectors)
    save_vectors(ft, tmp_path / "m")
    _assert_same_model(ft, load_vectors(tmp_path / "m"))
