"""Copying collections between backends: embedded -> PostgreSQL -> embedded keeps every
id, vector, metadata value, document and the model; an interrupted copy resumes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import invoke
from embedlab.cli import db as db_cli  # noqa: F401 - registers the db commands
from embedlab.errors import InvalidParameterError
from embedlab.store import Database
from embedlab.store.copy import copy_collections
from store_api_helpers import ALL
from store_backends import fresh_pg

pytest.importorskip("psycopg")


def _fill(db: Database) -> dict[str, object]:
    rng = np.random.default_rng(5)
    words = db.create_collection("words", dim=8, metric="cosine", index="hnsw", model="m1")
    words.add(
        [f"w{i}" for i in range(250)],
        rng.normal(size=(250, 8)).astype(np.float32),
        metadata=[{"n": i, "tags": ["a", str(i % 3)], "f": i / 7} for i in range(250)],
        documents=[f"document {i}" if i % 4 else None for i in range(250)],
    )
    words.delete(["w3"])
    bits = db.create_collection("bits", dim=16, metric="hamming", index="binary")
    bits.add(["b0", "b1"], rng.integers(0, 2, size=(2, 16)))
    return {name: db.get_collection(name).get(include=ALL).to_dict() for name in ("words", "bits")}


def test_round_trip_through_postgres_keeps_everything(tmp_path: Path, pg_url: str) -> None:
    url = fresh_pg(pg_url)
    with Database(tmp_path / "a") as a, Database(url) as pg, Database(tmp_path / "b") as b:
        expected = _fill(a)
        reports = copy_collections(a, pg, batch_size=100)
        assert [(r.collection, r.written) for r in reports] == [("bits", 2), ("words", 249)]
        copy_collections(pg, b)
        for db in (pg, b):
            for name, rows in expected.items():
                assert db.get_collection(name).get(include=ALL).to_dict() == rows
            words = db.get_collection("words")
            assert (words.model, words.metric, words.index, words.dim) == (
                "m1",
                "cosine",
                "hnsw",
                8,
            )


def test_an_interrupted_copy_resumes(tmp_path: Path, pg_url: str) -> None:
    url = fresh_pg(pg_url)
    with Database(tmp_path / "a") as a, Database(url) as pg:
        expected = _fill(a)["words"]

        def stop(name: str, done: int, total: int) -> None:
            if done >= 100:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            copy_collections(a, pg, ["words"], batch_size=50, progress=stop)
        assert len(pg.get_collection("words")) == 100
        (report,) = copy_collections(a, pg, ["words"], batch_size=50)
        assert (report.read, report.written, report.skipped) == (249, 149, 100)
        assert pg.get_collection("words").get(include=ALL).to_dict() == expected


def test_copy_into_a_collection_of_another_model_is_refused(tmp_path: Path) -> None:
    with Database(tmp_path / "a") as a, Database(tmp_path / "b") as b:
        a.create_collection("c", dim=2, index="flat", model="m1").add(["x"], [[1, 0]])
        b.create_collection("c", dim=2, index="flat", model="m2")
        with pytest.raises(InvalidParameterError, match=r"model='m2'.*model='m1'"):
            copy_collections(a, b)
        assert len(b.get_collection("c")) == 0


def test_cli_copy_to_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    url = fresh_pg(pg_url)
    with Database(tmp_path / "a") as a:
        expected = _fill(a)
    result = invoke("db", "copy", tmp_path / "a", url, "--collection", "words", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["collections"][0]["written"] == 249
    result = invoke("db", "copy", url, tmp_path / "c", "--json")
    assert result.exit_code == 0, result.stderr
    with Database(tmp_path / "c") as c:
        assert c.get_collection("words").get(include=ALL).to_dict() == expected["words"]
