"""Interchange formats: round trips, gensim compatibility, detection, malformed files."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError, InvalidParameterError, MissingFileError
from embedlab.io import (
    VectorFormat,
    detect_format,
    load_folder,
    load_vectors,
    load_word2vec_format,
    save_folder,
    save_glove_format,
    save_vectors,
    save_word2vec_format,
)
from embedlab.vectors import WordVectors

gensim_models = pytest.importorskip("gensim.models")
KeyedVectors = gensim_models.KeyedVectors

KEYS = ["the", "of", "naïve", "日本", "x-ray", "Zürich", "a.b", "42"]
DIM = 5


@pytest.fixture
def wv() -> WordVectors:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(KEYS), DIM)).astype(np.float32)
    counts = np.arange(len(KEYS), 0, -1) * 10
    return WordVectors(KEYS, vectors, counts=counts, config={"kind": "test", "window": 5})


def _assert_same(a: WordVectors, b: WordVectors, *, exact: bool = True) -> None:
    assert a.keys == b.keys
    assert a.vectors.dtype == np.float32
    if exact:
        np.testing.assert_array_equal(a.vectors, b.vectors)
    else:
        np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-5, atol=1e-6)


def _gensim(wv: WordVectors) -> object:
    kv = KeyedVectors(wv.dim)
    kv.add_vectors(wv.keys, wv.vectors)
    return kv


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [f for f in VectorFormat if f is not VectorFormat.FASTTEXT_BIN])
def test_round_trip_every_format(wv: WordVectors, tmp_path: Path, fmt: VectorFormat) -> None:
    path = tmp_path / ("model" if fmt is VectorFormat.EMBEDLAB else "vectors.out")
    save_vectors(wv, path, format=fmt)
    assert detect_format(path) is fmt
    loaded = load_vectors(path)
    _assert_same(wv, loaded)
    assert load_vectors(path, format=fmt.value).keys == wv.keys


def test_folder_restores_counts_and_config(wv: WordVectors, tmp_path: Path) -> None:
    wv.config["nested"] = {"list": [1, 2.5, None, True], "text": "é"}
    save_folder(wv, tmp_path / "m")
    loaded = load_folder(tmp_path / "m")
    _assert_same(wv, loaded)
    assert loaded.counts is not None and wv.counts is not None
    np.testing.assert_array_equal(loaded.counts, wv.counts)
    assert loaded.config == wv.config
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["format"] == "embedlab-vectors"
    assert config["format_version"] == 1
    assert (config["count"], config["dim"]) == (len(KEYS), DIM)
    assert isinstance(config["library_version"], str)
    assert (tmp_path / "m" / "vocab.txt").read_text().splitlines()[0] == "the\t80"


def test_folder_without_counts_and_mmap(tmp_path: Path) -> None:
    wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
    save_folder(wv, tmp_path / "m")
    loaded = load_folder(tmp_path / "m", mmap=True)
    assert loaded.counts is None and loaded.config == {}
    _assert_same(wv, loaded)


def test_folder_overwrite_replaces_content(wv: WordVectors, tmp_path: Path) -> None:
    save_folder(wv, tmp_path / "m")
    small = WordVectors(["z"], np.ones((1, 3), dtype=np.float32))
    save_folder(small, tmp_path / "m")
    _assert_same(small, load_folder(tmp_path / "m"))
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folders left


def test_folder_refuses_to_clobber_other_folders(wv: WordVectors, tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    with pytest.raises(InvalidParameterError, match="not an embedlab folder"):
        save_folder(wv, tmp_path / "photos")


@pytest.mark.parametrize("bad", ["tab\there", "new\nline"])
def test_folder_rejects_keys_with_tabs_or_newlines(tmp_path: Path, bad: str) -> None:
    wv = WordVectors(["ok", bad], np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(InvalidParameterError, match="key 1"):
        save_folder(wv, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_folder_rejects_config_that_json_would_change(tmp_path: Path) -> None:
    wv = WordVectors(["a"], np.zeros((1, 2), dtype=np.float32), config={"sizes": (1, 2)})
    with pytest.raises(InvalidParameterError, match="tuple"):
        save_folder(wv, tmp_path / "m")


def test_word2vec_text_is_lossless_and_gz(wv: WordVectors, tmp_path: Path) -> None:
    save_word2vec_format(wv, tmp_path / "v.txt.gz")
    assert (tmp_path / "v.txt.gz").read_bytes()[:2] == b"\x1f\x8b"
    _assert_same(wv, load_word2vec_format(tmp_path / "v.txt.gz"))


def test_glove_wrapper_writes_no_header(wv: WordVectors, tmp_path: Path) -> None:
    save_glove_format(wv, tmp_path / "g.txt")
    first = (tmp_path / "g.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first.split()[0] == "the" and len(first.split()) == DIM + 1
    assert detect_format(tmp_path / "g.txt") is VectorFormat.GLOVE
    _assert_same(wv, load_word2vec_format(tmp_path / "g.txt"))


def test_limit(wv: WordVectors, tmp_path: Path) -> None:
    for fmt, name in [("word2vec", "t.txt"), ("word2vec-bin", "b.bin"), ("glove", "g.txt")]:
        save_vectors(wv, tmp_path / name, format=fmt)
        loaded = load_vectors(tmp_path / name, limit=3)
        assert loaded.keys == KEYS[:3]
        np.testing.assert_array_equal(loaded.vectors, wv.vectors[:3])
    save_vectors(wv, tmp_path / "m")
    loaded = load_vectors(tmp_path / "m", limit=3)
    assert loaded.keys == KEYS[:3] and loaded.counts is not None and len(loaded.counts) == 3
    assert len(load_vectors(tmp_path / "t.txt", limit=100)) == len(KEYS)


def test_fasttext_vec_with_trailing_spaces_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "wiki.vec"
    path.write_bytes(b"2 3\r\n</s> 0.1 0.2 0.3 \r\nhello -1 2e-3 4 \r\n")
    loaded = load_word2vec_format(path)
    assert loaded.keys == ["</s>", "hello"]
    np.testing.assert_allclose(loaded.vectors, [[0.1, 0.2, 0.3], [-1, 2e-3, 4]])


def test_many_lines_span_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    wv = WordVectors([f"w{i}" for i in range(20_000)], rng.standard_normal((20_000, 4)))
    save_word2vec_format(wv, tmp_path / "big.txt")
    save_word2vec_format(wv, tmp_path / "big.bin", binary=True)
    _assert_same(wv, load_word2vec_format(tmp_path / "big.txt"))
    _assert_same(wv, load_word2vec_format(tmp_path / "big.bin"))


# -- gensim compatibility ---------------------------------------------------------------------


@pytest.mark.parametrize("binary", [False, True])
def test_reads_files_written_by_gensim(wv: WordVectors, tmp_path: Path, binary: bool) -> None:
    path = tmp_path / "gensim.out"
    _gensim(wv).save_word2vec_format(str(path), binary=binary)  # type: ignore[attr-defined]
    loaded = load_word2vec_format(path)
    _assert_same(wv, loaded)
    assert detect_format(path) is (VectorFormat.WORD2VEC_BIN if binary else VectorFormat.WORD2VEC)


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_our_files(wv: WordVectors, tmp_path: Path, binary: bool) -> None:
    path = tmp_path / "ours.out"
    save_word2vec_format(wv, path, binary=binary)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert list(kv.index_to_key) == wv.keys
    np.testing.assert_array_equal(kv.vectors, wv.vectors)


def test_gensim_reads_our_glove(wv: WordVectors, tmp_path: Path) -> None:
    save_glove_format(wv, tmp_path / "g.txt")
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "g.txt"), no_header=True)
    assert list(kv.index_to_key) == wv.keys
    np.testing.assert_array_equal(kv.vectors, wv.vectors)


def test_reads_word2vec_c_binary_layout(wv: WordVectors, tmp_path: Path) -> None:
    body = b"".join(
        k.encode() + b" " + v.astype("<f4").tobytes() + b"\n"
        for k, v in zip(wv.keys, wv.vectors, strict=True)
    )
    path = tmp_path / "c.bin"
    path.write_bytes(f"{len(wv)} {wv.dim}\n".encode() + body)
    _assert_same(wv, load_word2vec_format(path))
    _assert_same(wv, load_word2vec_format(path, binary=True))
    gz = tmp_path / "c.bin.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    _assert_same(wv, load_vectors(gz))


# -- malformed input --------------------------------------------------------------------------


def _write(tmp_path: Path, content: bytes, name: str = "bad.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (b"2 3\na 1 2 3\nb 1 2\n", 3, "expected 3 values after the key, found 2"),
        (b"2 3\na 1 2 3\nb 1 2 3 4\n", 3, "expected 3 values after the key, found 4"),
        (b"2 3\na 1 2 3\nb\n", 3, "expected 3 values after the key, found 0"),
        (b"2 3\na 1 2 3\nb 1 zwei 3\n", 3, "non-numeric value 'zwei'"),
        (b"3 3\na 1 2 3\nb 1 2 3\n", 4, "declares 3 vectors but the file holds only 2"),
        (b"1 3\na 1 2 3\nb 1 2 3\n", 3, "declares 1 vectors but there are more lines"),
        (b"a 1 2 3\nb 1 2\nc 1 2 3\n", 2, "expected 3 values after the key, found 2"),
        (b"2 3\na 1 2 3\n\nb 1 2 3\n", 3, "blank line"),
        (b"2 3\na 1 2 3\n\xff\xfe 1 2 3\n", 3, "not valid UTF-8"),
    ],
)
def test_malformed_text_names_the_line(
    tmp_path: Path, content: bytes, line: int, fragment: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(FormatError) as info:
        load_word2vec_format(path)
    message = str(info.value)
    assert f"line {line}" in message and fragment in message and str(path) in message
    assert info.value.line == line


def test_malformed_line_deep_in_a_large_file(tmp_path: Path) -> None:
    lines = [b"%d %d\n" % (10_000, 2)] + [b"w%d 0.5 1.5\n" % i for i in range(10_000)]
    lines[9_001] = b"w9000 0.5\n"
    path = _write(tmp_path, b"".join(lines))
    with pytest.raises(FormatError, match=r"line 9002.*expected 2 values after the key, found 1"):
        load_word2vec_format(path)


def test_truncated_binary(wv: WordVectors, tmp_path: Path) -> None:
    save_word2vec_format(wv, tmp_path / "v.bin", binary=True)
    data = (tmp_path / "v.bin").read_bytes()
    path = _write(tmp_path, data[:-10], "cut.bin")
    with pytest.raises(FormatError, match=f"truncated file.*ends in vector {len(KEYS)}"):
        load_word2vec_format(path, binary=True)


def test_binary_with_extra_data(wv: WordVectors, tmp_path: Path) -> None:
    save_word2vec_format(wv, tmp_path / "v.bin", binary=True)
    path = _write(tmp_path, (tmp_path / "v.bin").read_bytes() + b"extra 1234", "x.bin")
    with pytest.raises(FormatError, match="more data follows"):
        load_word2vec_format(path)


def test_binary_requires_header(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a 1 2 3\n")
    with pytest.raises(FormatError, match="line 1"):
        load_word2vec_format(path, binary=True)


def test_duplicate_keys_keep_the_first(tmp_path: Path) -> None:
    path = _write(tmp_path, b"3 2\na 1 2\nb 3 4\na 5 6\n")
    with pytest.warns(UserWarning, match="'a' at line 4"):
        loaded = load_word2vec_format(path)
    assert loaded.keys == ["a", "b"]
    np.testing.assert_array_equal(loaded.vectors, [[1, 2], [3, 4]])


def test_unicode_errors_replace(tmp_path: Path) -> None:
    path = _write(tmp_path, b"1 2\n\xffab 1 2\n")
    assert load_word2vec_format(path, unicode_errors="replace").keys == ["\ufffdab"]
    with pytest.raises(InvalidParameterError, match="unicode_errors"):
        load_word2vec_format(path, unicode_errors="nonsense")


def test_folder_inconsistencies(wv: WordVectors, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    save_folder(wv, folder)
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    (folder / "vocab.txt").write_text("\n".join(vocab[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"number of keys \(7\) does not match .*\(8\)"):
        load_folder(folder)
    (folder / "vocab.txt").write_text("\n".join([*vocab[:2], "no-count", *vocab[3:]]) + "\n")
    with pytest.raises(FormatError, match="line 3"):
        load_folder(folder)
    save_folder(wv, folder)
    np.save(folder / "vectors.npy", np.zeros((len(KEYS), DIM + 1), dtype=np.float32))
    with pytest.raises(FormatError, match=r"shape \(8, 5\).*\(8, 6\)"):
        load_folder(folder)
    (folder / "config.json").write_text('{"format": "embedlab-vectors",\n "dim": }')
    with pytest.raises(FormatError, match="line 2"):
        load_folder(folder)


def test_unsaveable_word2vec_keys(tmp_path: Path) -> None:
    wv = WordVectors(["ok", "two words"], np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(InvalidParameterError, match="two words"):
        save_word2vec_format(wv, tmp_path / "v.txt")
    assert list(tmp_path.iterdir()) == []


def test_missing_paths(tmp_path: Path) -> None:
    for call in (
        lambda: load_vectors(tmp_path / "nope"),
        lambda: load_word2vec_format(tmp_path / "nope.txt"),
        lambda: load_folder(tmp_path / "nope"),
    ):
        with pytest.raises(MissingFileError) as info:
            call()
        assert isinstance(info.value, FileNotFoundError)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match=r"config\.json"):
        load_vectors(tmp_path / "empty")


def test_unknown_format_lists_valid_ones(wv: WordVectors, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="'word2vec-bin'"):
        save_vectors(wv, tmp_path / "x", format="parquet")
    assert VectorFormat.parse("WORD2VEC_BIN", name="format") is VectorFormat.WORD2VEC_BIN


def test_no_warnings_on_clean_files(wv: WordVectors, tmp_path: Path) -> None:
    save_word2vec_format(wv, tmp_path / "v.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_word2vec_format(tmp_path / "v.txt")
