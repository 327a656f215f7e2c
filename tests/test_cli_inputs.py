"""Issue 10, the input half: every bad CLI input is one `error:` line and exit 2, and a
refused `db add` / `db import-vectors` changes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_helpers import assert_invoke_error as assert_one_line_error
from cli_helpers import assert_user_error, cli_env, run_cli
from cli_helpers import invoke as cli
from cli_helpers import invoke_json as ok_json
from embedlab.vectors import WordVectors


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def stored(db: Path, name: str = "c") -> dict[str, Any]:
    got: dict[str, Any] = ok_json(
        "db", "get", name, "--limit", 100_000, "--include-vectors", "--db", db
    )
    return got


# -- usage errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["db", "create", "x", "--dim", "abc"], "--dim"),
        (["db", "create", "x", "--dim", "3", "--bogus"], "--bogus"),
        (["db", "add"], "name"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    assert_one_line_error(cli(*args), needle)
    assert_user_error(run_cli(*args, cwd=tmp_path), needle)


def test_huge_inputs_are_not_echoed_whole(tmp_path: Path) -> None:
    ok_json("db", "create", "c", "--dim", 2, "--db", tmp_path / "db")
    huge = "x" * 100_000
    result = cli("db", "get", "c", "--where", huge, "--db", tmp_path / "db")
    assert_one_line_error(result, "--where", "characters left out")
    assert len(result.stderr) < 600


# -- db add: all or nothing -----------------------------------------------------------------
def _rows(
    n: int, *, bad_line: int | None = None, shift: float = 0.0, prefix: str = "r"
) -> list[dict[str, Any]]:
    rows = [{"id": f"{prefix}{i}", "vector": [1.0, float(i) + shift], "n": i} for i in range(n)]
    if bad_line is not None:
        rows[bad_line - 1]["vector"] = [1.0]
    return rows


@pytest.mark.parametrize("upsert", [False, True])
def test_refused_jsonl_import_changes_nothing(tmp_path: Path, upsert: bool) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    ok_json("db", "add", "c", "--jsonl", write_jsonl(tmp_path / "a.jsonl", _rows(50)), "--db", db)
    before = stored(db)
    prefix = "r" if upsert else "new"  # with --upsert the first 50 rows would replace
    bad = write_jsonl(tmp_path / "bad.jsonl", _rows(2500, bad_line=2401, shift=0.5, prefix=prefix))
    flags = ["--upsert"] if upsert else []
    result = cli("db", "add", "c", "--jsonl", bad, *flags, "--db", db)
    assert_one_line_error(result, "line 2401", "1 dimensions; expected 2")
    assert stored(db) == before  # no row added, none replaced


def test_refused_npy_import_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    vectors = np.ones((2500, 2), np.float32)
    vectors[2400, 1] = np.nan
    np.save(tmp_path / "x.npy", vectors)
    result = cli("db", "add", "c", "--vectors", tmp_path / "x.npy", "--db", db)
    assert_one_line_error(result, "finite")
    assert stored(db)["ids"] == []


def test_ids_repeated_across_batches_are_refused_first(tmp_path: Path) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    rows = [*_rows(30), {"id": "r3", "vector": [0.0, 1.0]}]
    path = write_jsonl(tmp_path / "dup.jsonl", rows)
    result = cli("db", "add", "c", "--jsonl", path, "--batch-size", 10, "--db", db)
    assert_one_line_error(result, "repeats", "'r3'")
    assert stored(db)["ids"] == []


def test_upsert_reports_replaced_rows(tmp_path: Path) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    ok_json("db", "add", "c", "--jsonl", write_jsonl(tmp_path / "a.jsonl", _rows(5)), "--db", db)
    path = write_jsonl(tmp_path / "b.jsonl", _rows(8, shift=0.5))
    done = ok_json("db", "add", "c", "--jsonl", path, "--upsert", "--db", db)
    assert (done["written"], done["replaced"], done["count"]) == (8, 5, 8)


def test_a_mistyped_id_field_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    path = write_jsonl(tmp_path / "k.jsonl", [{"key": "a", "vector": [1, 0]}])
    result = cli("db", "add", "c", "--jsonl", path, "--id-field", "kye", "--db", db)
    assert_one_line_error(result, "line 1", "'kye'", "'key'")
    assert stored(db)["ids"] == []


@pytest.mark.parametrize(
    "rows",
    [
        [{"id": "a", "vector": [1, 0]}, {"id": None, "vector": [0, 1]}],
        [{"id": "a", "vector": [1, 0]}, {"vector": [0, 1]}],
        [{"vector": [1, 0]}, {"id": "b", "vector": [0, 1]}],
    ],
)
def test_null_or_missing_ids_are_errors(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    result = cli("db", "add", "c", "--jsonl", write_jsonl(tmp_path / "r.jsonl", rows), "--db", db)
    assert_one_line_error(result, "line 2", "'id'")
    assert stored(db)["ids"] == []


def test_rows_without_any_id_field_are_numbered(tmp_path: Path) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    path = write_jsonl(tmp_path / "r.jsonl", [{"vector": [1, 0]}, {"vector": [0, 1]}])
    ok_json("db", "add", "c", "--jsonl", path, "--db", db)
    assert stored(db)["ids"] == ["0", "1"]


# -- db import-vectors ------------------------------------------------------------------------
def _model(tmp_path: Path, dim: int = 4) -> Path:
    rng = np.random.default_rng(0)
    keys = [f"w{i}" for i in range(20)]
    WordVectors(keys, rng.normal(size=(20, dim)).astype(np.float32)).save(tmp_path / "m")
    return tmp_path / "m"


def test_failed_import_vectors_leaves_no_collection(tmp_path: Path) -> None:
    db = tmp_path / "db"
    result = cli(
        "db", "import-vectors", _model(tmp_path, dim=8), "--collection", "w",
        "--metric", "hamming", "--index", "binary", "--db", db,
    )  # fmt: skip
    assert_one_line_error(result, "0/1")
    assert ok_json("db", "list", "--db", db)["collections"] == []


def test_import_vectors_adopts_an_existing_collections_settings(tmp_path: Path) -> None:
    db = tmp_path / "db"
    ok_json(
        "db", "create", "w", "--dim", 4, "--metric", "dot", "--index", "flat",
        "--model", "my-w2v", "--db", db,
    )  # fmt: skip
    done = ok_json("db", "import-vectors", _model(tmp_path), "--collection", "w", "--db", db)
    assert done["count"] == 20
    info = ok_json("db", "info", "w", "--db", db)
    assert (info["metric"], info["index"], info["model"]) == ("dot", "flat", "my-w2v")
    # a setting the user does give must agree
    result = cli(
        "db", "import-vectors", _model(tmp_path), "--collection", "w", "--metric", "cosine",
        "--upsert", "--db", db,
    )  # fmt: skip
    assert_one_line_error(result, "--metric", "dot", "'cosine'")


# -- Ctrl-C ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_ctrl_c_during_add_says_how_many_rows_were_stored(tmp_path: Path) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 8, "--index", "flat", "--db", db)
    np.save(
        tmp_path / "x.npy", np.random.default_rng(0).normal(size=(1_000_000, 8)).astype(np.float32)
    )  # enough batches that the add is still running when SIGINT comes
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedlab", "db", "add", "c", "--vectors", tmp_path / "x.npy",
         "--batch-size", "1000", "--db", db],
        env=cli_env(), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        # A job started in the background (`cmd &`) inherits SIGINT ignored, and Python
        # then keeps ignoring it: give the child the default, as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    count = 0
    deadline = time.monotonic() + 60
    while count == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        count = ok_json("db", "info", "c", "--db", db)["count"]
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    stored_now = ok_json("db", "info", "c", "--db", db)["count"]
    assert f"{stored_now:,} of 1,000,000 rows were stored" in err, err


# -- tracebacks that became one line ---------------------------------------------------------
def _nested(depth: int) -> str:
    return '{"$not": ' * depth + '{"a": 1}' + "}" * depth


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
def test_deeply_nested_filters_are_refused(tmp_path: Path, depth: int) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    assert_one_line_error(cli("db", "get", "c", "--where", _nested(depth), "--db", db), "32")


def test_deeply_nested_filters_are_refused_by_the_api(tmp_path: Path) -> None:
    from embedlab.errors import InvalidFilterError
    from embedlab.store.filters import MAX_DEPTH, parse_where, parse_where_document

    where: dict[str, Any] = {"a": 1}
    document: dict[str, Any] = {"$contains": "x"}
    for _ in range(5000):
        where, document = {"$not": where}, {"$not": document}
    with pytest.raises(InvalidFilterError, match=str(MAX_DEPTH)):
        parse_where(where)
    with pytest.raises(InvalidFilterError, match=str(MAX_DEPTH)):
        parse_where_document(document)
    ok: dict[str, Any] = {"a": 1}
    for _ in range(MAX_DEPTH):
        ok = {"$not": ok}
    parse_where(ok)  # the limit itself is fine


@pytest.fixture
def afile(tmp_path: Path) -> Path:
    path = tmp_path / "afile"
    path.write_text("not a folder\n")
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    WordVectors(["a", "b", "c"], np.eye(3, dtype=np.float32)).save(folder / "m")
    return folder / "m"


def test_a_database_under_a_file(afile: Path) -> None:
    assert_one_line_error(cli("db", "create", "c", "--dim", 2, "--db", afile / "x"), "afile")
    assert_user_error(run_cli("db", "create", "c", "--dim", 2, "--db", afile / "x"), "afile")


def test_train_checks_its_output_before_training(tmp_path: Path, afile: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n" * 10)
    started = time.perf_counter()
    for kind in ("word2vec", "fasttext", "glove"):
        result = cli("train", kind, corpus, "-o", afile / "x", "--min-count", 1)
        assert_one_line_error(result, "afile", "is a file")
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("target", ["", ".", "..", "/"])
@pytest.mark.parametrize("fmt", ["embedlab", "word2vec"])
def test_convert_never_writes_over_the_working_directory(
    tiny_model: Path, tmp_path: Path, target: str, fmt: str
) -> None:
    result = run_cli("convert", tiny_model, target, "--to", fmt, cwd=tmp_path)
    assert_user_error(result, "working directory")
    assert list(tmp_path.iterdir()) == []


def test_convert_under_a_file(tiny_model: Path, afile: Path) -> None:
    for fmt in ("embedlab", "word2vec"):
        assert_one_line_error(cli("convert", tiny_model, afile / "x", "--to", fmt), "afile")
    assert_one_line_error(cli("convert", tiny_model, afile, "--to", "embedlab"), "a file is there")


def test_embed_checks_its_output_before_encoding(afile: Path) -> None:
    result = cli("embed", "--model", "minilm", "-o", afile / "x.npy", "hello")
    assert_one_line_error(result, "afile", "is a file")


def test_save_under_a_file_is_a_typed_error(tiny_model: Path, afile: Path) -> None:
    from embedlab.errors import InvalidParameterError
    from embedlab.io import load_vectors, save_vectors

    wv = load_vectors(tiny_model)
    with pytest.raises(InvalidParameterError, match="afile"):
        wv.save(afile / "x")
    with pytest.raises(InvalidParameterError, match="afile"):
        save_vectors(wv, afile / "x.txt", format="word2vec")


def _planted_corpus(path: Path, words: int = 800) -> Path:
    rng = np.random.default_rng(1)
    vocab = [f"w{i}" for i in range(words)]
    lines = [" ".join(rng.choice(vocab, size=10)) for _ in range(2000)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("kind", ["word2vec", "fasttext", "glove"])
def test_train_refuses_a_dim_that_memory_cannot_hold(tmp_path: Path, kind: str) -> None:
    corpus = _planted_corpus(tmp_path / "c.txt")
    started = time.perf_counter()
    big = ("--min-count", 1, "--dim", 100_000_000)
    result = run_cli("train", kind, corpus, "-o", tmp_path / "m", *big)
    assert_user_error(result, "GiB", "memory", "dim")
    assert time.perf_counter() - started < 60


def test_diverging_training_is_a_typed_error(tmp_path: Path) -> None:
    corpus = _planted_corpus(tmp_path / "c.txt", words=50)
    result = run_cli("train", "word2vec", corpus, "-o", tmp_path / "m", "--min-count", 1,
                     "--alpha", 1000, "--epochs", 3, "--threads", 1)  # fmt: skip
    assert_user_error(result, "diverged", "alpha")
    assert not (tmp_path / "m").exists()


def test_diverging_training_is_caught_by_the_api(tmp_path: Path) -> None:
    from embedlab.errors import TrainingDivergedError
    from embedlab.train import Word2Vec

    corpus = _planted_corpus(tmp_path / "c.txt", words=50)
    with pytest.raises(TrainingDivergedError, match="alpha"):
        Word2Vec(min_count=1, alpha=1000.0, epochs=3, threads=1, dim=16).train(corpus)


def test_a_binary_queries_file(tmp_path: Path) -> None:
    db = tmp_path / "db"
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    path = tmp_path / "queries.bin"
    path.write_bytes(bytes(range(128, 256)) * 20)
    result = cli("search", "--collection", "c", "--queries", path, "--db", db)
    assert_one_line_error(result, "queries.bin", "not UTF-8")
