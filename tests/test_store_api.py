"""The store's public API: collections, writes and reads, and every refused input.

Each refused input is checked three ways: the typed error, a message that names what was
expected and what arrived, and the stored data left exactly as it was. Distances are
checked against numpy (and scipy for hamming) as the oracle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    InvalidMetadataError,
    InvalidParameterError,
    UnknownKeyError,
)
from embedlab.store import Collection, Database
from store_api_helpers import ALL, DIM, names, refused, snapshot
from store_backends import embedded_only


@pytest.fixture
def db(any_db: Database) -> Database:
    """These API tests run against both backends (embedded and PostgreSQL)."""
    return any_db


# ---------------------------------------------------------------------------------------------
# Collections


def test_create_get_list_delete(db: Database) -> None:
    first = db.create_collection("one", dim=3, metric="dot", index="flat", model="m")
    db.create_collection("two", dim=16, metric="hamming", index="binary")
    first.add(["x"], [[1.0, 2.0, 3.0]])

    got = db.get_collection("one")
    assert (got.name, got.dim, got.metric, got.index, got.model) == ("one", 3, "dot", "flat", "m")
    assert got.get(["x"]).ids == ("x",)
    infos = db.list_collections()
    assert [(i.name, i.dim, i.metric, i.index, i.count) for i in infos] == [
        ("one", 3, "dot", "flat", 1),
        ("two", 16, "hamming", "binary", 0),
    ]
    assert infos[1].index_params == {
        "M": 16,
        "ef_construction": 100,
        "ef_search": 64,
        "recall": 0.98,
    }
    assert first.info() == infos[0]

    db.delete_collection("one")
    assert names(db) == ["two"]
    with pytest.raises(CollectionNotFoundError, match=r"'one'.*has 'two'"):
        db.get_collection("one")
    with pytest.raises(CollectionNotFoundError, match="unknown collection 'nope'"):
        db.delete_collection("nope")
    db.delete_collection("two")
    with pytest.raises(CollectionNotFoundError, match="no collections"):
        db.get_collection("two")


def test_collection_outlives_reopen(tmp_path: Path) -> None:
    with Database(tmp_path / "db") as db:
        col = db.create_collection("c", dim=2, metric="euclidean", index="hnsw", model="m")
        col.add(["a", "b"], [[0, 0], [3, 4]], metadata=[{"n": 1}, None], documents=["d", None])
    with Database(tmp_path / "db") as db:
        col = db.get_collection("c")
        assert (col.dim, col.metric, col.index, col.model) == (2, "euclidean", "hnsw", "m")
        got = col.get(include=ALL)
        assert got.ids == ("a", "b")
        assert got.metadata == ({"n": 1}, {})
        assert got.documents == ("d", None)
        assert float(col.query([0, 0], k=2).distances[1]) == 5.0


def test_create_existing_name_is_refused(col: Collection, db: Database) -> None:
    refused(
        lambda: db.create_collection("c", dim=8),
        CollectionExistsError,
        "'c' already exists",
        "get_or_create_collection",
        unchanged=lambda: (names(db), snapshot(col), col.dim),
    )


def test_get_or_create_creates_then_returns_the_same(db: Database) -> None:
    made = db.get_or_create_collection("g", dim=3, metric="cosine", index="flat", model="m")
    made.add(["x"], [[1.0, 0.0, 0.0]])
    again = db.get_or_create_collection("g", dim=3, metric="Cosine", index="FLAT", model="m")
    assert again.get().ids == ("x",)
    assert names(db) == ["g"]


@pytest.mark.parametrize(
    ("setting", "kwargs", "have", "asked"),
    [
        ("dim", {"dim": 5}, "dim=4", "dim=5"),
        ("metric", {"metric": "cosine"}, "metric='euclidean'", "metric='cosine'"),
        ("index", {"index": "hnsw"}, "index='flat'", "index='hnsw'"),
        ("model", {"model": "m2"}, "model='m1'", "model='m2'"),
        ("model", {"model": None}, "model='m1'", "model=None"),
    ],
)
def test_get_or_create_settings_mismatch(
    col: Collection,
    db: Database,
    setting: str,
    kwargs: dict[str, Any],
    have: str,
    asked: str,
) -> None:
    settings = {"dim": DIM, "metric": "euclidean", "index": "flat", "model": "m1", **kwargs}
    refused(
        lambda: db.get_or_create_collection("c", **settings),
        InvalidParameterError,
        f"exists with {have}",
        f"asked for {asked}",
        unchanged=lambda: (names(db), snapshot(col)),
    )


def test_get_or_create_index_params_mismatch(db: Database) -> None:
    db.create_collection("h", dim=8, index="hnsw", index_params={"M": 16})
    with pytest.raises(InvalidParameterError, match="index_params"):
        db.get_or_create_collection("h", dim=8, index="hnsw", index_params={"M": 32})


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("a/b", ["path separators", "'a/b'"]),
        ("a\\b", ["path separators", "'a\\\\b'"]),
        ("tab\there", ["control characters", "'tab\\there'"]),
        ("..", ["path separators", "'..'"]),
        ("x" * 129, ["at most 128 characters", "got 129"]),
        ("", ["non-empty str", "got ''"]),
        ("   ", ["non-empty str", "got '   '"]),
        (7, ["non-empty str", "got 7"]),
    ],
)
def test_bad_collection_names(db: Database, name: object, fragments: list[str]) -> None:
    refused(
        lambda: db.create_collection(name, dim=2),  # type: ignore[arg-type]
        InvalidParameterError,
        *fragments,
        unchanged=lambda: names(db),
    )


def test_longest_name_and_unicode_are_fine(db: Database) -> None:
    db.create_collection("x" * 128, dim=2)
    db.create_collection("névé 雪", dim=2)
    assert sorted(names(db)) == sorted(["x" * 128, "névé 雪"])


def test_unknown_metric_lists_valid_ones(db: Database) -> None:
    refused(
        lambda: db.create_collection("c", dim=2, metric="cosinus"),
        InvalidParameterError,
        "'metric'",
        "'cosine', 'dot', 'euclidean', 'manhattan', 'hamming'",
        "Got 'cosinus'",
        unchanged=lambda: names(db),
    )


def test_unknown_index_kind_lists_valid_ones(db: Database) -> None:
    refused(
        lambda: db.create_collection("c", dim=2, index="annoy"),
        InvalidParameterError,
        "'index'",
        "'binary', 'flat', 'hnsw', 'ivf', 'ivf-pq'",
        "Got 'annoy'",
        unchanged=lambda: names(db),
    )


@pytest.mark.parametrize(
    ("metric", "index", "supported"),
    [
        ("hamming", "hnsw", "cosine, dot, euclidean, manhattan"),
        ("hamming", "ivf", "cosine, dot, euclidean, manhattan"),
        ("manhattan", "ivf-pq", "cosine, dot, euclidean"),
        ("hamming", "ivf-pq", "cosine, dot, euclidean"),
        ("cosine", "binary", "hamming"),
    ],
)
def test_metric_not_supported_by_kind(
    db: Database, metric: str, index: str, supported: str
) -> None:
    refused(
        lambda: db.create_collection("c", dim=16, metric=metric, index=index),
        InvalidParameterError,
        f"index {index!r} does not support the {metric!r} metric",
        f"it supports {supported}",
        unchanged=lambda: names(db),
    )


def test_hamming_dimension_must_be_whole_bytes(db: Database) -> None:
    refused(
        lambda: db.create_collection("c", dim=12, metric="hamming", index="flat"),
        InvalidParameterError,
        "multiple of 8",
        "got 12",
        unchanged=lambda: names(db),
    )


@pytest.mark.parametrize(
    ("dim", "fragment"),
    [(0, "Got 0 instead"), (-3, "Got -3 instead"), (70_000, "Got 70000"), (2.0, "Got 2.0")],
)
def test_bad_dimension(db: Database, dim: object, fragment: str) -> None:
    refused(
        lambda: db.create_collection("c", dim=dim),  # type: ignore[arg-type]
        InvalidParameterError,
        "'dim' parameter must be an int in the range [1, 65536]",
        fragment,
        unchanged=lambda: names(db),
    )


@pytest.mark.parametrize(
    ("index", "dim", "params", "fragments"),
    [
        ("hnsw", 8, {"Q": 4}, ["no parameter 'Q'", "'M', 'ef_construction', 'ef_search'"]),
        ("flat", 8, {"M": 4}, ["no parameter 'M'", "parameters: none"]),
        ("ivf", 8, {"M": 4}, ["no parameter 'M'", "'nlist', 'nprobe'"]),
        ("hnsw", 8, {"M": 1}, ["'M' must be an int in [2, 256]", "got 1"]),
        ("hnsw", 8, {"M": 300}, ["'M' must be an int in [2, 256]", "got 300"]),
        ("ivf", 8, {"nlist": 0}, ["'nlist' must be an int in [1,", "got 0"]),
        ("ivf-pq", 8, {"nbits": 13}, ["'nbits' must be an int in [4, 12]", "got 13"]),
        ("hnsw", 8, {"M": "16"}, ["'M' must be an int", "got '16'"]),
        ("hnsw", 8, {"M": 16.0}, ["'M' must be an int", "got 16.0"]),
        ("hnsw", 8, {"M": True}, ["'M' must be an int", "got True"]),
        ("ivf-pq", 6, {"m": 4}, ["'m' to divide the dimension 6", "got m=4"]),
    ],
)
def test_bad_index_params(
    db: Database, index: str, dim: int, params: dict[str, Any], fragments: list[str]
) -> None:
    refused(
        lambda: db.create_collection("c", dim=dim, index=index, index_params=params),
        InvalidParameterError,
        *fragments,
        unchanged=lambda: names(db),
    )


def test_index_params_defaults_and_overrides(db: Database) -> None:
    hnsw = db.create_collection("h", dim=8, index="hnsw", index_params={"ef_search": 10})
    assert hnsw.index_params == {"M": 16, "ef_construction": 100, "ef_search": 10}
    embedded_only(db, "product quantisation (pgvector has none)")
    pq = db.create_collection("pq", dim=32, index="ivf-pq", index_params={"nlist": 8})
    assert pq.index_params == {
        "nlist": 8,
        "nprobe": 16,
        "m": 8,
        "nbits": 8,
        "refine": 10,
        "recall": 0.98,  # the default target; setting nprobe fixes the breadth instead
    }


def test_bad_per_query_search_params(db: Database) -> None:
    col = db.create_collection("h", dim=2, index="hnsw")
    col.add(["a"], [[1.0, 0.0]])
    with pytest.raises(
        InvalidParameterError, match=r"no parameter 'M'; its per-query.*'ef_search'"
    ):
        col.query([1.0, 0.0], search_params={"M": 8})
    with pytest.raises(InvalidParameterError, match=r"'ef_search' must be an int in \[1, 32768\]"):
        col.query([1.0, 0.0], search_params={"ef_search": 0})


def test_bad_model_name(db: Database) -> None:
    refused(
        lambda: db.create_collection("c", dim=2, model=""),
        InvalidParameterError,
        "model must be a non-empty str or None",
        "got ''",
        unchanged=lambda: names(db),
    )


def test_closed_database_is_refused(tmp_path: Path) -> None:
    db = Database(tmp_path / "db")
    db.close()
    db.close()  # twice is fine
    with pytest.raises(InvalidParameterError, match="is closed"):
        db.list_collections()


# ---------------------------------------------------------------------------------------------
# Writing


def test_add_round_trip(col: Collection) -> None:
    got = col.get(include=ALL)
    assert got.ids == ("a", "b", "c")
    assert got.metadata == ({"g": 1, "t": "x"}, {"g": 2, "t": "y"}, {"g": 1})
    assert got.documents == ("red apple", "green pear", None)
    assert got.vectors is not None
    assert got.vectors.dtype == np.float32
    np.testing.assert_array_equal(got.vectors, [[0, 0, 0, 0], [1, 0, 0, 0], [0, 3, 4, 0]])
    assert len(col) == 3


def test_upsert_replaces_vector_metadata_and_document(col: Collection) -> None:
    col.upsert(ids=["b", "d"], vectors=[[9, 9, 9, 9], [2, 0, 0, 0]], metadata=[{"new": True}, None])
    got = col.get(["b", "d"], include=ALL)
    assert got.metadata == ({"new": True}, {})
    assert got.documents == (None, None)  # replaced whole: no document given
    assert got.vectors is not None
    np.testing.assert_array_equal(got.vectors, [[9, 9, 9, 9], [2, 0, 0, 0]])
    assert len(col) == 4
    assert col.query([9, 9, 9, 9], k=1).ids == ("b",)


def test_update_merges_metadata_and_none_removes_a_key(col: Collection) -> None:
    col.update(["a", "b"], metadata=[{"t": None, "h": 5}, {"g": 7}])
    got = col.get(["a", "b"], include=ALL)
    assert got.metadata == ({"g": 1, "h": 5}, {"g": 7, "t": "y"})
    assert got.documents == ("red apple", "green pear")  # untouched
    assert got.vectors is not None
    np.testing.assert_array_equal(got.vectors, [[0, 0, 0, 0], [1, 0, 0, 0]])


def test_update_vectors_and_documents_keeps_metadata(col: Collection) -> None:
    col.update(["c"], vectors=[[5, 5, 5, 5]], documents=["blue"])
    got = col.get(["c"], include=ALL)
    assert got.metadata == ({"g": 1},)
    assert got.documents == ("blue",)
    assert got.vectors is not None
    np.testing.assert_array_equal(got.vectors, [[5, 5, 5, 5]])
    assert col.query([5, 5, 5, 5], k=1).ids == ("c",)


def test_update_unknown_id_changes_nothing(col: Collection) -> None:
    refused(
        lambda: col.update(["a", "zz"], metadata=[{"g": 9}, {"g": 9}]),
        UnknownKeyError,
        "unknown id",
        "'zz'",
        "'c'",
        unchanged=lambda: snapshot(col),
    )


def test_update_metadata_that_is_not_json_is_refused(col: Collection) -> None:
    refused(
        lambda: col.update(["a"], metadata=[{"g": {"nested": 1}}]),
        InvalidMetadataError,
        'metadata[0]["g"]',
        "got dict",
        unchanged=lambda: snapshot(col),
    )


def test_delete_by_ids_where_and_both(col: Collection) -> None:
    col.add(["d", "e"], [[1, 1, 1, 1], [2, 2, 2, 2]], metadata=[{"g": 1}, {"g": 2}])
    assert col.delete(["a", "unknown"]) == 1  # unknown ids are ignored
    assert col.get().ids == ("b", "c", "d", "e")
    assert col.delete(["b", "c", "d"], where={"g": 1}) == 2  # both: the intersection
    assert col.get().ids == ("b", "e")
    assert col.delete(where={"g": 2}) == 2
    assert col.get().ids == ()
    assert len(col) == 0
    assert col.delete(where={"g": 2}) == 0


def test_delete_by_document(col: Collection) -> None:
    assert col.delete(where_document={"$contains": "apple"}) == 1
    assert col.get().ids == ("b", "c")
    assert col.query([0, 0, 0, 0], k=3).ids == ("b", "c")


@pytest.mark.parametrize("kwargs", [{}, {"where": {}}, {"where": None, "where_document": None}])
def test_delete_with_nothing_is_refused(col: Collection, kwargs: dict[str, Any]) -> None:
    refused(
        lambda: col.delete(**kwargs),
        InvalidParameterError,
        "delete() needs ids, where or where_document",
        "delete_collection",
        unchanged=lambda: snapshot(col),
    )


def test_deleted_id_can_be_added_again(col: Collection) -> None:
    col.delete(["a"])
    col.add(["a"], [[7, 7, 7, 7]], metadata=[{"again": 1}])
    got = col.get(["a"], include=ALL)
    assert got.metadata == ({"again": 1},)
    assert col.get().ids == ("b", "c", "a")


# ---------------------------------------------------------------------------------------------
# Reading


def test_get_orders_by_ids_then_by_insertion(col: Collection) -> None:
    assert col.get(["c", "zz", "a"]).ids == ("c", "a")  # order asked, unknown skipped
    assert col.get().ids == ("a", "b", "c")
    assert col.get(where={"g": 1}).ids == ("a", "c")
    assert col.get(["c", "b", "a"], where={"g": 1}).ids == ("c", "a")
    assert col.get(where_document={"$contains": "pear"}).ids == ("b",)


def test_get_limit_and_offset(col: Collection) -> None:
    assert col.get(limit=2).ids == ("a", "b")
    assert col.get(limit=2, offset=1).ids == ("b", "c")
    assert col.get(offset=2).ids == ("c",)
    assert col.get(offset=5).ids == ()
    assert col.get(limit=0).ids == ()
    assert col.get(["c", "b", "a"], limit=1, offset=1).ids == ("b",)
    for bad, fragment in [({"limit": -1}, "'limit'"), ({"offset": -2}, "'offset'")]:
        with pytest.raises(InvalidParameterError, match=f"{fragment} parameter must be an int"):
            col.get(**bad)


@pytest.mark.parametrize(
    ("include", "present"),
    [
        ((), set()),
        ("metadata", {"metadata"}),
        (["metadatas"], {"metadata"}),
        (["embeddings"], {"vectors"}),
        (["documents", "distances"], {"documents"}),
        (["metadatas", "documents", "embeddings"], {"metadata", "documents", "vectors"}),
    ],
)
def test_include_variants(col: Collection, include: Any, present: set[str]) -> None:
    for result in (col.get(include=include), col.query([0, 0, 0, 0], k=3, include=include)):
        for field in ("metadata", "documents", "vectors"):
            assert (getattr(result, field) is not None) == (field in present), field
    assert col.get(include=ALL).to_dict()["ids"] == ["a", "b", "c"]


def test_unknown_include_lists_valid_ones(col: Collection) -> None:
    with pytest.raises(
        InvalidParameterError, match=r"'metadata', 'documents', 'vectors'\. Got 'x'"
    ):
        col.get(include=["x"])


def test_default_include_is_metadata_and_documents(col: Collection) -> None:
    got = col.get(["a"])
    assert got.metadata == ({"g": 1, "t": "x"},)
    assert got.documents == ("red apple",)
    assert got.vectors is None
