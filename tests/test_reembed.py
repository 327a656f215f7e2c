"""Re-embedding a collection with a new model (ingest/reembed.py, store/versions.py), on
both backends: the switch, the kept old version, resumption after an interruption, writes
caught up, a reader during the switch, rows without documents."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab import WordVectors, encoders
from embedlab.errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    InvalidParameterError,
    MissingDocumentsError,
    StoreLockedError,
)
from embedlab.ingest.reembed import reembed
from embedlab.store import Database
from embedlab.store.versions import drop_version, list_versions

WORDS = ["red", "green", "blue", "apple", "pear", "sky", "sea", "tree", "stone", "rain"]


def _model(folder: Path, dim: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    WordVectors(WORDS, rng.normal(size=(len(WORDS), dim)).astype(np.float32)).save(folder)
    return f"static:{folder}"


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Any]:
    specs = {"old": _model(tmp_path / "m4", 4, 1), "new": _model(tmp_path / "m6", 6, 2)}
    return {key: encoders.load(spec) for key, spec in specs.items()} | {"specs": specs}


def _doc(i: int) -> str:
    return f"{WORDS[i % 10]} {WORDS[(i * 3 + 1) % 10]} {WORDS[(i * 7 + 2) % 10]}"


def _fill(db: Database, old: Any, n: int = 30) -> None:
    col = db.create_collection(
        "docs", dim=old.dim, metric="euclidean", index="flat", model=old.name
    )
    docs = [_doc(i) for i in range(n)]
    col.add(
        [f"d{i}" for i in range(n)],
        old.encode(docs),
        metadata=[{"n": i} for i in range(n)],
        documents=docs,
    )


def _check_version(db: Database, name: str, encoder: Any) -> dict[str, Any]:
    """Every row's vector is ``encoder``'s encoding of its document; the rows by id."""
    col = db.get_collection(name)
    got = col.get(include=["vectors", "documents", "metadata"])
    assert col.model == encoder.name and col.dim == encoder.dim
    np.testing.assert_allclose(got.vectors, encoder.encode(list(got.documents)), rtol=1e-5)
    rows = zip(got.ids, got.documents, got.metadata, strict=True)
    return {key: (doc, meta) for key, doc, meta in rows}


def test_reembed_switches_and_keeps_the_old_version(any_db: Database, models: Any) -> None:
    old, new = models["old"], models["new"]
    _fill(any_db, old)
    before = _check_version(any_db, "docs", old)
    report = reembed(any_db, "docs", models["specs"]["new"], batch_size=7)
    assert (report.version, report.retired_as, report.encoded, report.passes) == (
        2,
        "docs@v1",
        30,
        1,
    )
    assert report.previous_model == old.name and report.model == new.name
    assert _check_version(any_db, "docs", new) == before
    assert _check_version(any_db, "docs@v1", old) == before  # kept until dropped
    versions = [
        (v.collection, v.version, v.state, v.model, v.previous_model)
        for v in list_versions(any_db, "docs")
    ]
    assert versions == [
        ("docs@v1", 1, "retired", old.name, None),
        ("docs", 2, "live", new.name, old.name),
    ]
    with pytest.raises(InvalidParameterError, match="live version"):
        drop_version(any_db, "docs", 2)
    # back to the first model: version 3, version 2 retired beside version 1
    third = reembed(any_db, "docs", old)
    assert (third.version, third.retired_as) == (3, "docs@v2")
    assert [v.state for v in list_versions(any_db, "docs")] == ["retired", "retired", "live"]
    assert drop_version(any_db, "docs", 1) == "docs@v1"
    assert [v.version for v in list_versions(any_db, "docs")] == [2, 3]
    with pytest.raises(CollectionNotFoundError):
        any_db.get_collection("docs@v1")
    assert _check_version(any_db, "docs", old) == before


def test_rows_without_documents_are_refused_before_anything_is_written(
    any_db: Database, models: Any
) -> None:
    _fill(any_db, models["old"])
    col = any_db.get_collection("docs")
    col.add(["bare", "bare2"], np.ones((2, 4), np.float32))
    with pytest.raises(MissingDocumentsError, match=r"2 rows without a document.*'bare'"):
        reembed(any_db, "docs", models["new"])
    assert [info.name for info in any_db.list_collections()] == ["docs"]
    assert isinstance(MissingDocumentsError("x"), ValueError)


def test_an_interrupted_reembed_resumes_and_catches_up(any_db: Database, models: Any) -> None:
    old, new = models["old"], models["new"]
    _fill(any_db, old)

    def stop(stage: str, done: int, total: int) -> None:
        if done >= 10:
            raise KeyboardInterrupt  # Ctrl-C midway through the first pass

    with pytest.raises(KeyboardInterrupt):
        reembed(any_db, "docs", new, batch_size=5, progress=stop)
    assert any_db.get_collection("docs").model == old.name  # still answering with the old
    assert any_db.get_collection("docs@v2").count() == 10  # what was written is kept
    # meanwhile the live collection changes: a new row, a new document, new metadata,
    # a deleted row (one of those already staged)
    live = any_db.get_collection("docs")
    live.add(["d99"], old.encode(["rain stone"]), metadata=[{"n": 99}], documents=["rain stone"])
    live.update(["d1"], vectors=old.encode(["sea sky"]), documents=["sea sky"])
    live.update(["d2"], metadata=[{"n": -2}])
    live.delete(["d3"])
    expected = _check_version(any_db, "docs", old)
    report = reembed(any_db, "docs", new, batch_size=5)
    assert report.kept == 7  # d0, d4..d9 were staged and unchanged
    assert report.metadata_updated == 1 and report.removed == 1
    assert report.encoded == len(expected) - 8  # everything else, d1 included
    assert _check_version(any_db, "docs", new) == expected


def test_writes_during_a_reembed_are_caught_up_before_the_switch(
    any_db: Database, models: Any
) -> None:
    old, new = models["old"], models["new"]
    _fill(any_db, old)
    location = any_db.url or any_db.path
    assert location is not None
    with Database(location) as other:  # another writer, with its own connection
        writer = other.get_collection("docs")
        writes = iter(range(3))

        def meanwhile(stage: str, done: int, total: int) -> None:
            if stage == "switch":
                return
            n = next(writes, None)
            if n is not None:  # a write in each of the first three pages
                writer.upsert([f"w{n}"], old.encode(["tree"]), documents=["tree"])
                writer.delete([f"d{10 + n}"])

        report = reembed(any_db, "docs", new, batch_size=10, progress=meanwhile)
    assert report.passes >= 2
    got = _check_version(any_db, "docs", new)
    assert {"w0", "w1", "w2"} <= set(got) and not {"d10", "d11", "d12"} & set(got)
    assert got == _check_version(any_db, "docs@v1", old)


def test_a_collection_that_keeps_changing_leaves_the_version_staged(
    any_db: Database, models: Any
) -> None:
    old = models["old"]
    _fill(any_db, old, n=4)
    live = any_db.get_collection("docs")

    def busy(stage: str, done: int, total: int) -> None:
        live.update(["d0"], metadata=[{"n": done}])

    with pytest.raises(StoreLockedError, match="kept changing during 2 passes"):
        reembed(any_db, "docs", models["new"], progress=busy, max_passes=2)
    assert any_db.get_collection("docs").model == old.name
    assert [v.state for v in list_versions(any_db, "docs")] == ["live", "staged"]
    with pytest.raises(InvalidParameterError, match="being re-embedded with model"):
        reembed(any_db, "docs", old)  # another model while one is staged
    reembed(any_db, "docs", models["new"])  # finishes it
    assert [v.state for v in list_versions(any_db, "docs")] == ["retired", "live"]


def test_readers_see_one_version_or_the_other_during_the_switch(
    any_db: Database, models: Any
) -> None:
    old, new = models["old"], models["new"]
    _fill(any_db, old, n=60)
    by_name = {old.name: old, new.name: new}
    location = any_db.url or any_db.path
    assert location is not None
    seen: list[str] = []
    problems: list[str] = []
    done, ready = threading.Event(), threading.Event()

    def reader() -> None:
        with Database(location) as db:
            while True:
                finished = done.is_set()
                col = db.get_collection("docs")
                got = col.get(include=["vectors", "documents"])
                want = by_name[str(col.model)].encode(list(got.documents))
                if len(got) != 60 or not np.allclose(got.vectors, want, rtol=1e-5):
                    problems.append(f"{col.model}: {len(got)} rows, mixed vectors")
                hit = col.query(want[0], k=1)
                if hit.ids[0] != got.ids[0] and hit.distances[0] > 1e-4:
                    problems.append(f"{col.model}: a query found {hit.ids[0]}")
                seen.append(str(col.model))
                ready.set()
                if finished:
                    return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert ready.wait(60)
        reembed(any_db, "docs", new, batch_size=4)
    finally:
        done.set()
        thread.join(60)
    assert not problems, problems[:3]
    assert seen[-1] == new.name and old.name in seen  # it read both versions


def test_a_staged_collection_left_without_its_record_is_taken_over_or_refused(
    any_db: Database, models: Any
) -> None:
    old, new = models["old"], models["new"]
    _fill(any_db, old, n=5)
    # a run stopped between creating the version and recording it: empty, the new model
    any_db.create_collection("docs@v2", dim=new.dim, metric="euclidean", model=new.name)
    assert reembed(any_db, "docs", new).retired_as == "docs@v1"
    # a collection of the user's that merely has the next version's name is left alone
    any_db.create_collection("docs@v3", dim=2, model="mine").add(["x"], [[1, 0]])
    with pytest.raises(CollectionExistsError, match="not a staged version"):
        reembed(any_db, "docs", old)
    assert any_db.get_collection("docs@v3").count() == 1


def test_a_collection_with_kept_versions_is_not_renamed(any_db: Database, models: Any) -> None:
    """Versions are found by their collection's name: renaming it alone would orphan them."""
    _fill(any_db, models["old"])
    reembed(any_db, "docs", models["specs"]["new"], batch_size=7)
    with pytest.raises(InvalidParameterError, match=r"kept versions \['docs@v1'\]"):
        any_db.rename_collection("docs", "articles")
    assert [v.collection for v in list_versions(any_db, "docs")] == ["docs@v1", "docs"]
    drop_version(any_db, "docs", 1)
    any_db.rename_collection("docs", "articles")
    assert [v.collection for v in list_versions(any_db, "articles")] == ["articles"]
