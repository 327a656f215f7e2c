"""Issue 10, the API half: bad inputs to the library are typed errors, never raw
UnicodeEncodeError / TypeError / sqlite3 errors, and remote misconfiguration is said at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab import encoders
from embedlab.errors import (
    EmbedlabError,
    FormatError,
    InvalidMetadataError,
    InvalidParameterError,
    RemoteEncoderError,
)
from embedlab.store import Database
from embedlab.vectors import WordVectors

LONE = "\udc80"  # a lone surrogate: what os.fsdecode makes of an undecodable byte


@pytest.fixture
def collection(tmp_path: Path) -> Any:
    with Database(tmp_path / "db") as db:
        yield db.create_collection("c", dim=2)


@pytest.mark.parametrize(
    ("call", "error", "needle"),
    [
        (lambda c: c.add([f"a{LONE}"], [[1.0, 0.0]]), InvalidParameterError, "ids[0]"),
        (
            lambda c: c.add(["a"], [[1.0, 0.0]], documents=[LONE]),
            InvalidParameterError,
            "documents[0]",
        ),
        (lambda c: c.add(["a"], [[1.0, 0.0]], [{"k": LONE}]), InvalidMetadataError, "metadata[0]"),
        (lambda c: c.add(["a"], [[1.0, 0.0]], [{LONE: 1}]), InvalidMetadataError, "metadata[0]"),
        (lambda c: c.add(["a"], [[1.0, 0.0]], [{"k": ["x", LONE]}]), InvalidMetadataError, "[1]"),
        (lambda c: c.upsert([LONE], [[1.0, 0.0]]), InvalidParameterError, "ids[0]"),
    ],
)
def test_lone_surrogates_are_refused_before_storing(
    collection: Any, call: Any, error: type[Exception], needle: str
) -> None:
    with pytest.raises(error, match="lone surrogate") as info:
        call(collection)
    message = str(info.value)
    assert needle in message
    message.encode("utf-8")  # the message itself can be printed
    assert collection.count() == 0


def test_lone_surrogates_in_collection_names(tmp_path: Path) -> None:
    with Database(tmp_path / "db") as db, pytest.raises(InvalidParameterError, match="surrogate"):
        db.create_collection(f"n{LONE}", dim=2)


def test_lone_surrogates_in_texts_to_encode(tmp_path: Path) -> None:
    WordVectors(["a", "b"], np.eye(2, dtype=np.float32)).save(tmp_path / "m")
    enc = encoders.load(f"static:{tmp_path / 'm'}")
    with pytest.raises(InvalidParameterError, match=r"texts\[1\].*surrogate"):
        enc.encode(["a", f"b{LONE}"])


@pytest.mark.parametrize("bad", [None, 5, {"a"}])
def test_most_similar_of_a_non_key(bad: object) -> None:
    wv = WordVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    with pytest.raises(InvalidParameterError, match="positive must be a key"):
        wv.most_similar(bad)  # type: ignore[arg-type]
    assert wv.most_similar("a", negative=None, k=1)[0].key in ("b", "c")


def test_an_encoder_cache_that_is_not_sqlite(tmp_path: Path) -> None:
    WordVectors(["a", "b"], np.eye(2, dtype=np.float32)).save(tmp_path / "m")
    text = tmp_path / "notes.txt"
    text.write_text("these are not the droids\n" * 100)
    with pytest.raises(FormatError, match=r"notes\.txt.*not an embedlab encoder cache"):
        encoders.load(f"static:{tmp_path / 'm'}", cache=text)
    assert text.read_text().startswith("these are")  # left as it was
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InvalidParameterError, match="afile"):
        encoders.load(f"static:{tmp_path / 'm'}", cache=tmp_path / "afile" / "c.sqlite")


def test_unknown_keyword_arguments_to_load(tmp_path: Path) -> None:
    WordVectors(["a", "b"], np.eye(2, dtype=np.float32)).save(tmp_path / "m")
    with pytest.raises(InvalidParameterError, match="unknown option 'colour'"):
        encoders.load(f"static:{tmp_path / 'm'}", colour="red")
    with pytest.raises(InvalidParameterError, match="unknown option 'colour'"):
        encoders.load("minilm", colour="red")


@pytest.mark.parametrize(
    "spec",
    [
        "remote:notaurl",
        "remote:m@notaurl",
        "openai:m@ftp://x/v1",
        "remote:m@http://",
        "remote:m@http://a b/v1",
    ],
)
def test_remote_specs_without_a_usable_url(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(InvalidParameterError, match=r"URL|endpoint"):
        encoders.load(spec)


def test_missing_api_key_is_said_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    enc = encoders.load("openai:text-embedding-3-small")
    started = time.perf_counter()
    with pytest.raises(RemoteEncoderError, match="OPENAI_API_KEY is not set") as info:
        enc.encode(["hello"])
    assert time.perf_counter() - started < 1
    assert info.value.attempts == 0 and enc.requests_sent == 0  # type: ignore[attr-defined]


def test_error_messages_are_cut_short() -> None:
    wv = WordVectors(["a"], np.ones((1, 2), np.float32))
    with pytest.raises(EmbedlabError) as info:
        wv["x" * 100_000]
    assert len(str(info.value)) < 500 and "characters left out" in str(info.value)


# -- silently wrong before: huge vectors, non-finite files ------------------------------------
def test_huge_vectors_are_refused_at_the_store_boundary(collection: Any) -> None:
    import warnings

    collection.add(["ok"], [[1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        with pytest.raises(InvalidParameterError, match="norm of at most"):
            collection.add(["big"], np.array([[1e38, 1e38]], np.float32))
        with pytest.raises(InvalidParameterError, match="norm of at most"):
            collection.query(np.array([1e38, 1.0], np.float32))
        assert collection.count() == 1
        near = collection.query(np.array([1e18, 0.0], np.float32), k=1)  # long but fine
        assert list(near.ids) == ["ok"]
        assert near.distances[0] == pytest.approx(0.0, abs=1e-6)


def test_metrics_handle_huge_and_tiny_components_exactly() -> None:
    import warnings

    from embedlab import metrics

    rows = np.array([[1e38, 1e38], [1e-40, 1e-40], [3.0, 4.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unit = metrics.normalize(rows)
        np.testing.assert_allclose(unit[:2], np.full((2, 2), np.sqrt(0.5)), rtol=1e-6)
        np.testing.assert_allclose(metrics.cosine(rows[0], rows[:2]), [1.0, 1.0], rtol=1e-6)
        far = metrics.euclidean([[1e38, 0.0]], [[0.0, 1e38]])
        assert far[0, 0] == pytest.approx(np.sqrt(2) * 1e38, rel=1e-6)
        with pytest.raises(InvalidParameterError, match="overflow float32"):
            metrics.dot(rows[0], rows)
    ones = np.ones(3, np.float32)
    assert float(np.dot(ones, ones)) == 3.0  # nothing left in a warning state


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"3 2\na 1 2\nb nan 1\nc 1 2\n", "line 3"),
        (b"a 1 2\nb 1 inf\n", "line 2"),
        (b"a 1 2\nb 1 1e39\n", "line 2"),
        (b"2 2\na 1 2\nb -Infinity 2\n", "line 3"),
    ],
)
def test_non_finite_values_in_text_files(tmp_path: Path, content: bytes, needle: str) -> None:
    from embedlab.io import load_vectors

    path = tmp_path / "v.vec"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=rf"v\.vec, {needle}: value \d+ is"):
        load_vectors(path)


def test_non_finite_values_in_binary_files_and_folders(tmp_path: Path) -> None:
    from embedlab.io import load_vectors, save_vectors

    wv = WordVectors(["a", "b"], np.array([[1, 2], [np.nan, 1]], np.float32))
    save_vectors(wv, tmp_path / "v.bin", format="word2vec-bin")
    with pytest.raises(FormatError, match=r"v\.bin: vector 2 \('b'\): value 1 is nan"):
        load_vectors(tmp_path / "v.bin")
    wv.save(tmp_path / "folder")
    with pytest.raises(FormatError, match=r"vectors\.npy: vector 2 \('b'\)"):
        load_vectors(tmp_path / "folder")


# -- corpus encodings -------------------------------------------------------------------------
def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.txt"
    path.write_bytes(("café résumé naïve café\n" * 50).encode("latin-1"))
    return path


def test_a_latin1_corpus_read_as_utf8_is_reported(tmp_path: Path) -> None:
    from embedlab.text import Corpus
    from embedlab.text.encode import scan_corpus

    with pytest.warns(UnicodeWarning, match=r"250 bytes were not valid utf-8.*--encoding"):
        scan = scan_corpus(_latin1(tmp_path))
    assert scan.replaced_bytes == 250
    corpus = Corpus(_latin1(tmp_path), encoding="latin-1")
    assert next(iter(corpus)) == ["café", "résumé", "naïve", "café"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scan_corpus(corpus).replaced_bytes == 0
    with pytest.raises(InvalidParameterError, match=r"'encoding'.*'nope'"):
        Corpus(_latin1(tmp_path), encoding="nope")


def test_train_cli_encoding_option(tmp_path: Path) -> None:
    from cli_helpers import run_cli

    corpus = _latin1(tmp_path)
    plain = run_cli(
        "train", "word2vec", corpus, "-o", tmp_path / "a", "--min-count", 1, "--epochs", 1
    )
    assert plain.code == 0, plain.stderr
    assert "warning:" in plain.stderr and "--encoding" in plain.stderr
    fixed = run_cli(
        "train", "word2vec", corpus, "-o", tmp_path / "b", "--min-count", 1, "--epochs", 1,
        "--encoding", "latin-1", "--json",
    )  # fmt: skip
    assert fixed.code == 0 and fixed.stderr == "", fixed.stderr
    assert fixed.json()["vocab_size"] == 3 and fixed.json()["replaced_bytes"] == 0
