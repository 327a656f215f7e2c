"""Every `embedlab db` command takes a postgresql:// URL where it takes a folder (--db),
and `db reembed | versions | drop-version` work on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import assert_invoke_error, invoke, invoke_json
from embedlab import WordVectors, encoders
from store_backends import BACKENDS, fresh_pg

WORDS = ["red", "green", "blue", "apple", "pear", "sky"]


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database location of each backend, given to --db."""
    if request.param == "embedded":
        return str(tmp_path / "db")
    return fresh_pg(request.getfixturevalue("pg_url"))


def _model(folder: Path, dim: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    WordVectors(WORDS, rng.normal(size=(len(WORDS), dim)).astype(np.float32)).save(folder)
    return f"static:{folder}"


def test_every_db_command_on_a_folder_or_a_url(location: str, tmp_path: Path) -> None:
    old, new = _model(tmp_path / "m3", 3, 1), _model(tmp_path / "m5", 5, 2)
    enc = encoders.load(old)
    docs = ["red apple", "green pear", "blue sky", "red sky"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(
            json.dumps(
                {"id": f"r{i}", "vector": enc.encode([d])[0].tolist(), "document": d, "g": i % 2}
            )
            + "\n"
            for i, d in enumerate(docs)
        )
    )
    db = ["--db", location]
    created = invoke_json(
        "db",
        "create",
        "c",
        "--dim",
        "3",
        "--metric",
        "euclidean",
        "--index",
        "flat",
        "--model",
        enc.name,
        *db,
    )
    assert created["name"] == "c"
    assert invoke("db", "add", "c", "--jsonl", rows, *db).exit_code == 0
    listed = invoke_json("db", "list", *db)
    assert [(c["name"], c["count"]) for c in listed["collections"]] == [("c", 4)]
    assert invoke_json("db", "info", "c", *db)["model"] == enc.name
    got = invoke_json("db", "get", "c", "--where", '{"g": 1}', *db)
    assert got["ids"] == ["r1", "r3"]
    hits = invoke_json("db", "query", "c", "--id", "r2", "-k", "2", *db)
    assert hits["ids"][0] == "r2"
    assert invoke_json("db", "delete", "c", "--id", "r3", *db)["count"] == 3
    assert invoke_json("db", "compact", "c", *db)["collection"] == "c"
    assert invoke_json("db", "verify", "c", *db)["ok"] is True
    # a new model: version 2 live, version 1 kept until dropped
    report = invoke_json("db", "reembed", "c", "--model", new, *db)
    assert (report["version"], report["retired_as"], report["encoded"]) == (2, "c@v1", 3)
    versions = invoke_json("db", "versions", "c", *db)["versions"]
    assert [(v["version"], v["state"], v["model"]) for v in versions] == [
        (1, "retired", enc.name),
        (2, "live", encoders.load(new).name),
    ]
    assert invoke_json("db", "info", "c", *db)["dim"] == 5
    assert_invoke_error(invoke("db", "drop-version", "c", "2", *db), "live version")
    assert invoke_json("db", "drop-version", "c", "1", *db)["dropped"] == "c@v1"
    assert invoke_json("db", "drop", "c", *db) == {"dropped": "c"}
    assert invoke_json("db", "list", *db)["collections"] == []


def test_reembed_of_rows_without_documents_is_a_user_error(location: str, tmp_path: Path) -> None:
    db = ["--db", location]
    invoke_json("db", "create", "c", "--dim", "2", "--index", "flat", *db)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "a", "vector": [1, 0]}\n')
    assert invoke("db", "add", "c", "--jsonl", rows, *db).exit_code == 0
    result = invoke("db", "reembed", "c", "--model", _model(tmp_path / "m", 2, 0), *db)
    assert_invoke_error(result, "1 rows without a document", "'a'")
    assert [c["name"] for c in invoke_json("db", "list", *db)["collections"]] == ["c"]


def test_a_missing_folder_and_an_unreachable_url_are_user_errors(tmp_path: Path) -> None:
    assert_invoke_error(invoke("db", "list", "--db", tmp_path / "none"), "no database at")
    result = invoke("db", "list", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert_invoke_error(result, "could not connect")
