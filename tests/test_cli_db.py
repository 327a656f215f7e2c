"""`embedlab db …`: collections, adding from .npy/JSONL/Parquet, get, query (against exact
search), delete, compact, verify, import-vectors, --json contracts and one-line errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_helpers import assert_invoke_error as assert_one_line_error
from cli_helpers import assert_user_error, cli_env, run_cli
from cli_helpers import invoke as cli
from cli_helpers import invoke_json as ok_json
from embedlab.cli import db as db_cli  # noqa: F401 - registers the db commands
from embedlab.cli.app import app
from embedlab.store._readers import parquet_rows
from embedlab.vectors import WordVectors

# Eight 2-D points around the origin; euclidean distances are easy to check by hand.
POINTS = {
    "east": [1.0, 0.0],
    "northeast": [0.7, 0.7],
    "north": [0.0, 1.0],
    "northwest": [-0.7, 0.7],
    "west": [-1.0, 0.0],
    "southwest": [-0.7, -0.7],
    "south": [0.0, -1.0],
    "southeast": [0.7, -0.7],
}


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.db"


@pytest.fixture
def compass(db: Path, tmp_path: Path) -> Path:
    """A flat euclidean collection 'compass' holding POINTS, with a side and a document."""
    ok_json(
        "db",
        "create",
        "compass",
        "--dim",
        2,
        "--metric",
        "euclidean",
        "--index",
        "flat",
        "--db",
        db,
    )
    rows = [
        {
            "id": key,
            "vector": vec,
            "side": key[:5] if key[:5] in ("north", "south") else "mid",
            "document": f"the {key} wind",
        }
        for key, vec in POINTS.items()
    ]
    written = ok_json(
        "db", "add", "compass", "--jsonl", write_jsonl(tmp_path / "c.jsonl", rows), "--db", db
    )
    assert written["written"] == written["count"] == len(POINTS)
    return db


def test_create_list_info_drop(db: Path) -> None:
    created = ok_json(
        "db", "create", "docs", "--dim", 4, "--param", "M=8", "--model", "m1", "--db", db
    )
    assert created["name"] == "docs" and created["dim"] == 4 and created["metric"] == "cosine"
    assert created["index"] == "hnsw" and created["index_params"]["M"] == 8
    assert created["model"] == "m1" and created["count"] == 0
    ok_json("db", "create", "other", "--dim", 8, "--index", "flat", "--db", db)
    listed = ok_json("db", "list", "--db", db)
    assert [c["name"] for c in listed["collections"]] == ["docs", "other"]
    assert ok_json("db", "info", "docs", "--db", db) == created
    table = cli("db", "list", "--db", db)
    assert table.exit_code == 0 and "docs" in table.stdout and "m1" in table.stdout
    info = cli("db", "info", "docs", "--db", db)
    assert "ef_construction" in info.stdout and "M=8" in info.stdout
    assert ok_json("db", "drop", "docs", "--db", db) == {"dropped": "docs"}
    assert [c["name"] for c in ok_json("db", "list", "--db", db)["collections"]] == ["other"]


def test_recall_target_and_its_calibration_in_info(tmp_path: Path) -> None:
    db = tmp_path / "db"
    made = ok_json("db", "create", "r", "--dim", 8, "--param", "recall=0.9", "--db", db)
    assert made["index_params"]["recall"] == 0.9 and made["calibration"] is None
    vectors = np.random.default_rng(0).normal(size=(1500, 8)).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    ok_json("db", "add", "r", "--vectors", tmp_path / "v.npy", "--db", db)
    info = ok_json("db", "info", "r", "--db", db)
    calibration = info["calibration"]
    assert calibration["param"] == "ef_search" and calibration["rows"] == 1500
    assert calibration["recall"] >= 0.9 and calibration["target"] == 0.9
    assert "ef_search=" in cli("db", "info", "r", "--db", db).stdout
    assert_one_line_error(
        cli("db", "create", "s", "--dim", 8, "--param", "recall=high", "--db", db), "recall"
    )


def test_add_npy_with_side_files(db: Path, tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    metas = [{"n": i, "tag": None} if i != 2 else None for i in range(5)]
    write_jsonl(tmp_path / "m.jsonl", metas)
    (tmp_path / "d.txt").write_text("zero\none\n\nthree\nfour\n", encoding="utf-8")
    (tmp_path / "ids.txt").write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    ok_json("db", "create", "c", "--dim", 3, "--index", "flat", "--db", db)
    added = ok_json(
        "db",
        "add",
        "c",
        "--vectors",
        tmp_path / "v.npy",
        "--metadata",
        tmp_path / "m.jsonl",
        "--documents",
        tmp_path / "d.txt",
        "--ids",
        tmp_path / "ids.txt",
        "--batch-size",
        2,
        "--db",
        db,
    )
    assert added == {"collection": "c", "written": 5, "upsert": False, "count": 5}
    got = ok_json(
        "db", "get", "c", "--id", "e", "--id", "a", "--id", "c", "--include-vectors", "--db", db
    )
    assert got["ids"] == ["e", "a", "c"]
    assert got["metadata"] == [{"n": 4}, {"n": 0}, {}]  # nulls left out
    assert got["documents"] == ["four", "zero", ""]
    np.testing.assert_array_equal(np.array(got["vectors"], np.float32), vectors[[4, 0, 2]])


def test_add_npy_default_ids_and_jsonl_documents(db: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.eye(3, dtype=np.float32))
    write_jsonl(tmp_path / "d.jsonl", ["multi\nline", None, "third"])
    ok_json("db", "create", "c", "--dim", 3, "--db", db)
    ok_json(
        "db",
        "add",
        "c",
        "--vectors",
        tmp_path / "v.npy",
        "--documents",
        tmp_path / "d.jsonl",
        "--db",
        db,
    )
    got = ok_json("db", "get", "c", "--db", db)
    assert got["ids"] == ["0", "1", "2"]
    assert got["documents"] == ["multi\nline", None, "third"]


def test_add_jsonl_fields_metadata_and_upsert(db: Path, tmp_path: Path) -> None:
    rows = [
        {"key": "x", "emb": [1, 0], "text": "ex", "lang": "en", "year": 2020, "none": None},
        {"key": 7, "emb": [0, 1], "metadata": {"lang": "fr"}, "ignored": "yes"},
        {"key": "z", "emb": [1, 1]},
    ]
    path = write_jsonl(tmp_path / "r.jsonl", rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n")  # blank lines are skipped
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    fields = ("--vector-field", "emb", "--id-field", "key", "--document-field", "text")
    ok_json("db", "add", "c", "--jsonl", path, *fields, "--db", db)
    got = ok_json("db", "get", "c", "--db", db)
    assert got["ids"] == ["x", "7", "z"]
    assert got["metadata"] == [{"lang": "en", "year": 2020}, {"lang": "fr"}, {}]
    assert got["documents"] == ["ex", None, None]
    # the same file again: add refuses, --upsert replaces
    assert_one_line_error(cli("db", "add", "c", "--jsonl", path, *fields, "--db", db), "'x'")
    upserted = ok_json("db", "add", "c", "--jsonl", path, *fields, "--upsert", "--db", db)
    assert upserted["written"] == 3 and upserted["count"] == 3


def test_add_parquet(db: Path, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": ["p", "q", "r"],
            "vector": [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]],
            "document": ["pea", None, "are"],
            "lang": ["en", "fr", None],
        }
    )
    pq.write_table(table, tmp_path / "rows.parquet")
    ok_json("db", "create", "c", "--dim", 2, "--index", "flat", "--db", db)
    added = ok_json(
        "db", "add", "c", "--parquet", tmp_path / "rows.parquet", "--batch-size", 2, "--db", db
    )
    assert added["written"] == 3
    got = ok_json("db", "get", "c", "--include-vectors", "--db", db)
    assert got["ids"] == ["p", "q", "r"]
    assert got["metadata"] == [{"lang": "en"}, {"lang": "fr"}, {}]
    assert got["documents"] == ["pea", None, "are"]
    assert got["vectors"] == [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from embedlab.errors import MissingDependencyError

    (tmp_path / "x.parquet").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'embedlab\[parquet\]'"):
        parquet_rows(tmp_path / "x.parquet")


def _exact_ranking(query: list[float]) -> list[str]:
    """The oracle: every point by euclidean distance to the query (ties by name)."""
    q = np.array(query)
    return sorted(POINTS, key=lambda key: (float(np.linalg.norm(np.array(POINTS[key]) - q)), key))


@pytest.mark.parametrize("query", [[0.1, 0.9], [-0.8, -0.5], [0.95, -0.1]])
def test_query_matches_exact_search(compass: Path, query: list[float]) -> None:
    vector = ",".join(str(x) for x in query)
    found = ok_json("db", "query", "compass", "--vector", vector, "-k", 3, "--db", compass)
    assert found["ids"] == _exact_ranking(query)[:3]
    expected = [np.linalg.norm(np.array(POINTS[key]) - query) for key in found["ids"]]
    np.testing.assert_allclose(found["distances"], expected, rtol=1e-5)


def test_query_sources_and_filters(compass: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "q.npy", np.array([[0.1, 0.9]], np.float32))
    by_file = ok_json(
        "db", "query", "compass", "--vector-file", tmp_path / "q.npy", "-k", 1, "--db", compass
    )
    assert by_file["ids"] == ["north"]
    by_id = ok_json("db", "query", "compass", "--id", "west", "-k", 2, "--db", compass)
    assert by_id["ids"][0] == "west" and by_id["distances"][0] == 0.0
    south = ok_json(
        "db",
        "query",
        "compass",
        "--vector",
        "0.1,1",
        "--where",
        '{"side": "south"}',
        "--db",
        compass,
    )
    assert south["ids"] == ["southeast", "southwest", "south"]
    near = ok_json(
        "db",
        "query",
        "compass",
        "--vector",
        "1,0",
        "--max-distance",
        0.8,
        "--where-document",
        '{"$contains": "east"}',
        "--db",
        compass,
    )
    assert near["ids"] == ["east", "northeast", "southeast"]
    table = cli("db", "query", "compass", "--vector", "0,1", "-k", 2, "--db", compass)
    assert table.exit_code == 0
    first = next(line for line in table.stdout.splitlines() if " 1 " in line)
    assert "north" in first and "0.0000" in first and "the north wind" in first


def test_query_hnsw_search_params(db: Path, tmp_path: Path) -> None:
    vectors = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    ok_json("db", "create", "h", "--dim", 4, "--metric", "euclidean", "--db", db)
    ok_json("db", "add", "h", "--vectors", tmp_path / "v.npy", "--db", db)
    oracle = np.argsort(np.linalg.norm(vectors - vectors[3], axis=1))[:5].astype(str).tolist()
    for extra in (["--ef-search", "100"], ["--param", "ef_search=80"]):
        found = ok_json("db", "query", "h", "--id", "3", "-k", 5, *extra, "--db", db)
        assert found["ids"] == oracle


def test_get_filter_and_paging(compass: Path) -> None:
    got = ok_json(
        "db", "get", "compass", "--where", '{"side": {"$in": ["north", "south"]}}', "--db", compass
    )
    assert got["ids"] == ["northeast", "north", "northwest", "southwest", "south", "southeast"]
    page = ok_json("db", "get", "compass", "--limit", 3, "--offset", 2, "--db", compass)
    assert page["ids"] == ["north", "northwest", "west"]
    assert len(ok_json("db", "get", "compass", "--db", compass)["ids"]) == len(POINTS)
    table = cli("db", "get", "compass", "--id", "west", "--db", compass)
    assert table.exit_code == 0 and "the west wind" in table.stdout


def test_delete_compact_verify(compass: Path) -> None:
    deleted = ok_json("db", "delete", "compass", "--where", '{"side": "north"}', "--db", compass)
    assert deleted == {"collection": "compass", "deleted": 3, "count": 5}
    by_id = ok_json("db", "delete", "compass", "--id", "west", "--id", "nope", "--db", compass)
    assert by_id["deleted"] == 1
    found = ok_json("db", "query", "compass", "--vector", "0,1", "-k", 2, "--db", compass)
    assert "north" not in found["ids"] and "west" not in found["ids"]
    compacted = ok_json("db", "compact", "compass", "--db", compass)
    assert compacted["purged"] == 4 and compacted["bytes_before"] > 0
    assert compacted["bytes_after"] > 0
    report = ok_json("db", "verify", "compass", "--db", compass)
    assert report["ok"] is True and report["rows"] == 4 and report["problems"] == []
    text = cli("db", "verify", "compass", "--db", compass)
    assert text.exit_code == 0 and "ok" in text.stdout


def test_verify_exits_1_on_problems(compass: Path) -> None:
    # Damage one stored vector behind the library's back: a NaN of the right size.
    with sqlite3.connect(compass / "embedlab.sqlite") as conn:
        (dim,) = conn.execute("SELECT dim FROM collections WHERE name = 'compass'").fetchone()
        broken = np.full(dim, np.nan, dtype=np.float32).tobytes()
        conn.execute(
            "UPDATE items SET vector = ? WHERE label = (SELECT min(label) FROM items)", (broken,)
        )
    result = cli("db", "verify", "compass", "--db", compass, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any("not finite" in p for p in report["problems"])
    text = cli("db", "verify", "compass", "--db", compass)
    assert text.exit_code == 1 and "not finite" in text.stdout


@pytest.mark.parametrize("with_counts", [True, False])
def test_import_vectors_round_trip(db: Path, tmp_path: Path, with_counts: bool) -> None:
    rng = np.random.default_rng(3)
    keys = [f"w{i}" for i in range(25)] + ["café"]
    vectors = rng.normal(size=(len(keys), 6)).astype(np.float32)
    counts = np.arange(len(keys), 0, -1) * 10 if with_counts else None
    WordVectors(keys, vectors, counts=counts).save(tmp_path / "tiny-model")
    done = ok_json(
        "db",
        "import-vectors",
        tmp_path / "tiny-model",
        "--collection",
        "words",
        "--index",
        "flat",
        "--batch-size",
        10,
        "--db",
        db,
    )
    assert done["written"] == done["count"] == len(keys)
    info = ok_json("db", "info", "words", "--db", db)
    assert info["model"] == "tiny-model" and info["dim"] == 6 and info["metric"] == "cosine"
    got = ok_json("db", "get", "words", "--include-vectors", "--limit", 100, "--db", db)
    assert got["ids"] == keys
    np.testing.assert_array_equal(np.array(got["vectors"], np.float32), vectors)
    if with_counts:
        assert got["metadata"] == [{"count": int(c)} for c in counts]  # type: ignore[union-attr]
    else:
        assert got["metadata"] == [{}] * len(keys)
    found = ok_json("db", "query", "words", "--id", "café", "-k", 1, "--db", db)
    assert found["ids"] == ["café"]
    # again into the same collection: duplicates, unless --upsert
    again = cli(
        "db",
        "import-vectors",
        tmp_path / "tiny-model",
        "--collection",
        "words",
        "--index",
        "flat",
        "--db",
        db,
    )
    assert_one_line_error(again, "already stored")
    ok_json(
        "db",
        "import-vectors",
        tmp_path / "tiny-model",
        "--collection",
        "words",
        "--index",
        "flat",
        "--upsert",
        "--db",
        db,
    )


def test_embedlab_db_environment_variable(tmp_path: Path) -> None:
    env_db = tmp_path / "from-env.db"
    result = cli("db", "create", "c", "--dim", 2, env={"EMBEDLAB_DB": str(env_db)})
    assert result.exit_code == 0, result.stderr
    assert (env_db / "embedlab.sqlite").is_file()
    listed = cli("db", "list", "--json", env={"EMBEDLAB_DB": str(env_db)})
    assert [c["name"] for c in json.loads(listed.stdout)["collections"]] == ["c"]
    # --db wins over the variable
    other = tmp_path / "other.db"
    assert (
        cli(
            "db", "create", "d", "--dim", 2, "--db", other, env={"EMBEDLAB_DB": str(env_db)}
        ).exit_code
        == 0
    )
    assert (other / "embedlab.sqlite").is_file()


def test_console_script_reads_embedlab_db(tmp_path: Path) -> None:
    """The installed script, with EMBEDLAB_DB in its environment and no --db."""
    script = Path(sys.executable).parent / "embedlab"
    if not script.is_file():
        pytest.skip("the embedlab console script is not installed")
    proc = subprocess.run(
        [str(script), "db", "create", "c", "--dim", "2", "--json"],
        capture_output=True,
        text=True,
        env={**cli_env(), "EMBEDLAB_DB": str(tmp_path / "env.db")},
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "c"
    assert (tmp_path / "env.db" / "embedlab.sqlite").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.db"]


def test_default_database_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    no_env: dict[str, str | None] = {"EMBEDLAB_DB": None}
    assert CliRunner().invoke(app, ["db", "create", "c", "--dim", "2"], env=no_env).exit_code == 0
    assert (tmp_path / "embedlab.db" / "embedlab.sqlite").is_file()


def test_bad_jsonl_line_names_file_and_line(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "vector": [1, 0]}\n{"id": "b", "vector": [0, 1]\n')
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    assert_one_line_error(
        cli("db", "add", "c", "--jsonl", path, "--db", db), "bad.jsonl, line 2", "not valid JSON"
    )
    assert ok_json("db", "info", "c", "--db", db)["count"] == 0  # one batch: nothing stored
    # batches of one row: the whole file is still checked first, so nothing is stored
    result = cli("db", "add", "c", "--jsonl", path, "--batch-size", 1, "--db", db)
    assert_one_line_error(result, "line 2", "not valid JSON")
    assert ok_json("db", "info", "c", "--db", db)["count"] == 0


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        ([{"id": "a", "vec": [1, 0]}], ("line 1", "missing the 'vector' field")),
        ([{"id": "a", "vector": [1, 0, 0]}], ("line 1", "3 dimensions; expected 2")),
        ([{"id": "a", "vector": "1,0"}], ("line 1", "list of numbers")),
        ([{"id": "a", "vector": [1, 0], "x": {"y": 1}}], ("line 1", "metadata")),
        ([{"id": "a", "vector": [1, 0]}, {"id": "a", "vector": [0, 1]}], ("'a'",)),
        ([[1, 0]], ("line 1", "expected a JSON object")),
    ],
)
def test_bad_jsonl_rows(db: Path, tmp_path: Path, rows: list[Any], needles: tuple[str]) -> None:
    ok_json("db", "create", "c", "--dim", 2, "--db", db)
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    assert_one_line_error(cli("db", "add", "c", "--jsonl", path, "--db", db), *needles)


def test_user_errors(compass: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "wide.npy", np.ones((2, 3), np.float32))
    (tmp_path / "two.txt").write_text("a\nb\n")
    np.save(tmp_path / "three.npy", np.ones((3, 2), np.float32))
    cases: list[tuple[list[object], tuple[str, ...]]] = [
        (["info", "nope"], ("unknown collection 'nope'", "'compass'")),
        (["query", "nope", "--vector", "1,0"], ("unknown collection 'nope'",)),
        (["get", "compass", "--where", "{side: 1}"], ("--where", "not valid JSON")),
        (["delete", "compass", "--where", "[1]"], ("--where", "JSON object")),
        (["query", "compass", "--vector", "1,0", "--where-document", "{"], ("--where-document",)),
        (["get", "compass", "--where", '{"side": {"$bad": 1}}'], ("$bad",)),
        (["add", "compass", "--vectors", tmp_path / "wide.npy"], ("wide.npy", "3-dim", "holds 2")),
        (
            ["add", "compass", "--vectors", tmp_path / "three.npy", "--ids", tmp_path / "two.txt"],
            ("two.txt", "2 lines", "3 vectors"),
        ),
        (["add", "compass", "--vectors", tmp_path / "missing.npy"], ("missing.npy",)),
        (["add", "compass"], ("exactly one of --vectors, --jsonl, --parquet",)),
        (["query", "compass", "--vector", "1,0,0"], ("2-dimensional", "got 3")),
        (["query", "compass", "--vector", "1,x"], ("--vector", "'1,x'")),
        (["query", "compass", "--id", "nowhere"], ("unknown id 'nowhere'",)),
        (["query", "compass"], ("exactly one of --vector, --vector-file, --id",)),
        (["create", "compass", "--dim", 2], ("already exists",)),
        (["create", "x", "--dim", 2, "--param", "M"], ("--param", "KEY=INT", "'M'")),
        (["create", "x", "--dim", 2, "--metric", "cosinus"], ("metric", "'cosinus'")),
        (["delete", "compass"], ("--id, --where or --where-document",)),
        (["drop", "nope"], ("unknown collection 'nope'",)),
        (["import-vectors", tmp_path / "no-model", "--collection", "w"], ("no-model",)),
    ]
    for args, needles in cases:
        assert_one_line_error(cli("db", *args, "--db", compass), *needles)
    assert_one_line_error(cli("db", "list", "--db", tmp_path / "absent.db"), "no database at")
    assert not (tmp_path / "absent.db").exists()


def test_console_script_one_line_errors(compass: Path) -> None:
    """The installed script: exit 2, one line on stderr, no traceback."""
    result = run_cli("db", "get", "compass", "--where", "{", "--db", compass)
    assert_user_error(result, "--where is not valid JSON")
