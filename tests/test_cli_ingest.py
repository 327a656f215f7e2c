"""`embedlab index` and `embedlab embed`: --json contracts, incremental runs, outputs and
one-line errors, with a tiny static encoder (and one run of the installed console script)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import assert_invoke_error as assert_one_line_error
from cli_helpers import invoke as cli
from cli_helpers import invoke_json as ok_json
from cli_helpers import run_cli
from embedlab.cli import ingest as ingest_cli  # noqa: F401 - registers index and embed
from embedlab.encoders import load
from embedlab.store import Database
from test_ingest import make_docs, static_spec


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    return static_spec(tmp_path_factory.mktemp("static"))


# -- index ------------------------------------------------------------------------------------
def test_index_json_then_an_incremental_rerun(tmp_path: Path, spec: str) -> None:
    docs = make_docs(tmp_path / "docs")
    (docs / "binary.txt").write_bytes(b"\x00\x01 binary")
    db = tmp_path / "db"
    args = ("index", docs, "--collection", "docs", "--model", spec, "--db", db)
    first = ok_json(*args, "--chunk-tokens", 24, "--overlap", 4)
    assert first["database"] == str(db) and first["collection"] == "docs"
    assert first["model"] == load(spec).name
    assert (first["files_seen"], first["files_indexed"], first["files_failed"]) == (4, 3, 1)
    assert first["failed"][0]["path"].endswith("binary.txt")
    assert first["failed"][0]["reason"].startswith("binary file")
    assert (first["chunk_tokens"], first["overlap"], first["interrupted"]) == (24, 4, False)
    assert 0 <= first["encode_share"] <= 1 and first["seconds"] > 0
    with Database(db) as database:
        assert database.get_collection("docs").count() == first["chunks_added"]

    (docs / "guide.md").write_text("# Changed\n\nThe moon and the stars.", encoding="utf-8")
    second = ok_json(*args, "--chunk-tokens", 24, "--overlap", 4)
    assert (second["files_indexed"], second["files_unchanged"], second["chunks_added"]) == (
        1,
        2,
        1,
    )


def test_index_prints_a_summary(tmp_path: Path, spec: str) -> None:
    docs = make_docs(tmp_path / "docs")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 nothing")
    env = {"EMBEDLAB_DB": str(tmp_path / "db")}
    result = cli("index", docs, "-c", "docs", "--model", spec, env=env)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "db" / "embedlab.sqlite").is_file()
    assert "indexed into docs" in result.stdout
    assert "files seen" in result.stdout and "encoding" in result.stdout
    assert "failed files" in result.stdout and "broken.pdf" in result.stdout


def test_index_errors_are_one_line(tmp_path: Path, spec: str) -> None:
    db = tmp_path / "db"
    missing = cli("index", tmp_path / "nope", "-c", "docs", "--model", spec, "--db", db)
    assert_one_line_error(missing, "nope", "matches nothing")
    docs = make_docs(tmp_path / "docs")
    ok_json("index", docs, "-c", "docs", "--model", spec, "--db", db)
    other = static_spec(tmp_path, seed=3, name="other.txt")
    mismatch = cli("index", docs, "-c", "docs", "--model", other, "--db", db)
    assert_one_line_error(mismatch, load(spec).name, load(other).name)
    overlap = cli("index", docs, "-c", "docs", "--model", spec, "--db", db, "--overlap", 200)
    assert_one_line_error(overlap, "'overlap'")


def test_index_through_the_console_script_into_the_default_db(tmp_path: Path, spec: str) -> None:
    docs = make_docs(tmp_path / "docs")
    result = run_cli("index", docs, "-c", "docs", "--model", spec, "--json", cwd=tmp_path)
    assert result.json()["files_indexed"] == 3
    assert (tmp_path / "embedlab.db" / "embedlab.sqlite").is_file()  # the default --db


# -- embed ------------------------------------------------------------------------------------
def test_embed_texts_json_reports_speed_and_vectors(spec: str) -> None:
    doc = ok_json("embed", "--model", spec, "the river bank", "a loan of money", "--normalize")
    assert doc["count"] == 2 and doc["dim"] == 16 and doc["output"] is None
    assert doc["seconds"] >= 0 and doc["texts_per_second"] >= 0
    vectors = np.array(doc["vectors"], dtype=np.float32)
    expected = load(spec).encode(["the river bank", "a loan of money"], normalize=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-5, atol=1e-6)


def test_embed_input_file_to_npy_and_parquet(tmp_path: Path, spec: str) -> None:
    lines = ["the cat sat", "river water", "", "money and credit"]
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = load(spec).encode(lines)
    doc = ok_json("embed", "--model", spec, "--input", source, "-o", tmp_path / "out.npy")
    assert doc["count"] == 4 and doc["output"] == str(tmp_path / "out.npy")
    assert "vectors" not in doc
    saved = np.load(tmp_path / "out.npy")
    assert saved.dtype == np.float32 and saved.shape == (4, 16)
    np.testing.assert_allclose(saved, expected, rtol=1e-6)

    pq = pytest.importorskip("pyarrow.parquet")
    ok_json("embed", "--model", spec, "-i", source, "-o", tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet").to_pydict()
    assert table["document"] == lines
    np.testing.assert_allclose(np.array(table["vector"]), expected, rtol=1e-6)


def test_embed_prints_one_vector_a_line(spec: str) -> None:
    result = cli("embed", "--model", spec, "cat", "dog")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert np.array(rows).shape == (2, 16)
    assert "embedded 2 texts" in result.stderr


def test_embed_errors_are_one_line(tmp_path: Path, spec: str) -> None:
    assert_one_line_error(cli("embed", "--model", spec), "--input")
    source = tmp_path / "t.txt"
    source.write_text("x\n", encoding="utf-8")
    assert_one_line_error(cli("embed", "--model", spec, "a", "--input", source), "one of them")
    assert_one_line_error(cli("embed", "--model", spec, "a", "-o", tmp_path / "x.csv"), ".npy")
    backend = cli("embed", "--model", spec, "a", "--backend", "onnx")
    assert_one_line_error(backend, "backend 'onnx' runs transformer models")
    assert_one_line_error(cli("embed", "--model", "no-such-model", "a"), "unknown encoder")


def test_index_a_glob_that_matches_nothing_is_an_error(tmp_path: Path, spec: str) -> None:
    docs = make_docs(tmp_path / "docs")
    db = tmp_path / "db"
    result = cli("index", f"{docs}/*.nothing", "-c", "docs", "--model", spec, "--db", db)
    assert_one_line_error(result, "*.nothing", "matches nothing")
    assert not (db / "embedlab.sqlite").exists()  # refused before anything was created


def test_index_lists_each_failed_file_on_a_line_with_its_reason(tmp_path: Path, spec: str) -> None:
    docs = make_docs(tmp_path / "docs")
    broken = [docs / f"broken-{i}-{'x' * 40}.pdf" for i in range(9)]
    for path in broken:
        path.write_bytes(b"%PDF-1.4 nothing")
    result = cli("index", docs, "-c", "docs", "--model", spec, "--db", tmp_path / "db")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split() == ["failed", "9"] for line in lines)
    for path in broken:
        (line,) = [line for line in lines if str(path) in line]
        assert "the PDF could not be parsed" in line
