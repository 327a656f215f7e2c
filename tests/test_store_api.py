"""The store's public API: collections, writes, reads and queries, and every refused input.

Each refused input is checked three ways: the typed error, a message that names what was
expected and what arrived, and the stored data left exactly as it was. Distances are
checked against numpy (and scipy for hamming) as the oracle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from embedlab.errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    DimensionMismatchError,
    DuplicateIdError,
    EmbedlabError,
    InvalidFilterError,
    InvalidMetadataError,
    InvalidParameterError,
    ModelMismatchError,
    UnknownKeyError,
)
from embedlab.store import Collection, CollectionInfo, Database, GetResult, Match, QueryResult

DIM = 4
ALL = ("metadata", "documents", "vectors")


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database(tmp_path / "db") as database:
        yield database


@pytest.fixture
def col(db: Database) -> Collection:
    """Three rows with metadata and documents in a flat euclidean collection of model m1."""
    collection = db.create_collection("c", dim=DIM, metric="euclidean", index="flat", model="m1")
    collection.add(
        ids=["a", "b", "c"],
        vectors=[[0, 0, 0, 0], [1, 0, 0, 0], [0, 3, 4, 0]],
        metadata=[{"g": 1, "t": "x"}, {"g": 2, "t": "y"}, {"g": 1}],
        documents=["red apple", "green pear", None],
    )
    return collection


def snapshot(collection: Collection) -> dict[str, Any]:
    """Everything stored, as plain lists (vectors included)."""
    return collection.get(include=ALL).to_dict()


def names(db: Database) -> list[str]:
    return [info.name for info in db.list_collections()]


def refused(
    call: Callable[[], object],
    error: type[BaseException],
    *fragments: str,
    unchanged: Callable[[], object],
) -> None:
    """``call`` raises ``error`` with every fragment in its message, and changes nothing."""
    before = unchanged()
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert unchanged() == before


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
    assert infos[1].index_params == {"M": 16, "ef_construction": 100, "ef_search": 64}
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
    pq = db.create_collection("pq", dim=32, index="ivf-pq", index_params={"nlist": 8})
    assert pq.index_params == {"nlist": 8, "nprobe": 16, "m": 8, "nbits": 8, "refine": 10}
    hnsw = db.create_collection("h", dim=8, index="hnsw", index_params={"ef_search": 10})
    assert hnsw.index_params == {"M": 16, "ef_construction": 100, "ef_search": 10}


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


# ---------------------------------------------------------------------------------------------
# Querying


def test_query_shapes(col: Collection) -> None:
    one = col.query([0, 0, 0, 0], k=2)
    assert isinstance(one, QueryResult)
    assert one.ids == ("a", "b")
    assert one.distances.dtype == np.float32
    several = col.query(np.array([[0, 0, 0, 0], [0, 3, 4, 0]]), k=1)
    assert isinstance(several, list)
    assert [r.ids for r in several] == [("a",), ("c",)]
    single_row = col.query([[1, 0, 0, 0]], k=1)
    assert isinstance(single_row, list)
    assert len(single_row) == 1


@pytest.mark.parametrize(
    ("k", "fragment"), [(0, "Got 0 instead"), (-1, "Got -1 instead"), (10_001, "Got 10001")]
)
def test_bad_k(col: Collection, k: int, fragment: str) -> None:
    refused(
        lambda: col.query([0, 0, 0, 0], k=k),
        InvalidParameterError,
        "'k' parameter must be an int in the range [1, 10000]",
        fragment,
        unchanged=lambda: snapshot(col),
    )


def test_k_larger_than_count_returns_all(col: Collection) -> None:
    result = col.query([0, 0, 0, 0], k=10_000)
    assert result.ids == ("a", "b", "c")
    np.testing.assert_allclose(result.distances, [0.0, 1.0, 5.0])


@pytest.mark.parametrize("index", ["flat", "hnsw", "ivf", "ivf-pq"])
def test_query_on_empty_collection_is_refused(db: Database, index: str) -> None:
    col = db.create_collection("e", dim=8, index=index)
    with pytest.raises(InvalidParameterError, match="'e' is empty; add vectors"):
        col.query(np.ones(8))
    col.add(["x"], [np.ones(8)])
    col.delete(["x"])
    with pytest.raises(InvalidParameterError, match="is empty"):
        col.query(np.ones(8))


def test_max_distance_keeps_only_within(col: Collection) -> None:
    assert col.query([0, 0, 0, 0], k=3, max_distance=1.0).ids == ("a", "b")
    assert col.query([0, 0, 0, 0], k=3, max_distance=0.5).ids == ("a",)
    assert col.query([9, 9, 9, 9], k=3, max_distance=0.5).ids == ()
    assert col.query([0, 0, 0, 0], k=1, max_distance=10.0).ids == ("a",)
    with pytest.raises(InvalidParameterError, match="'max_distance' parameter must be a number"):
        col.query([0, 0, 0, 0], max_distance=float("nan"))


def test_where_and_where_document_together(col: Collection) -> None:
    col.add(["d"], [[0, 0, 0, 1]], metadata=[{"g": 1}], documents=["red wine"])
    assert col.query([0, 0, 0, 0], k=5, where={"g": 1}).ids == ("a", "d", "c")
    assert col.query([0, 0, 0, 0], k=5, where_document={"$contains": "red"}).ids == ("a", "d")
    both = col.query([0, 0, 0, 0], k=5, where={"g": 1}, where_document={"$not_contains": "apple"})
    assert both.ids == ("d", "c")  # a missing document reads as ""
    assert col.query([0, 0, 0, 0], k=5, where={"g": 99}).ids == ()


def test_bad_filters_are_typed(col: Collection) -> None:
    with pytest.raises(InvalidFilterError, match=r"\$regex"):
        col.query([0, 0, 0, 0], where={"g": {"$regex": "x"}})
    with pytest.raises(InvalidFilterError, match="expected a non-empty str"):
        col.get(where_document={"$contains": ""})


def test_model_mismatch_on_writes_and_queries(col: Collection) -> None:
    for call, what in [
        (lambda: col.add(["z"], [[1, 1, 1, 1]], model="m2"), "vectors"),
        (lambda: col.upsert(["a"], [[1, 1, 1, 1]], model="m2"), "vectors"),
        (lambda: col.update(["a"], vectors=[[1, 1, 1, 1]], model="m2"), "vectors"),
        (lambda: col.query([1, 1, 1, 1], model="m2"), "a query"),
    ]:
        refused(
            call,
            ModelMismatchError,
            "model 'm1'",
            f"got {what} from model 'm2'",
            unchanged=lambda: snapshot(col),
        )
    col.add(["z"], [[1, 1, 1, 1]], model="m1")
    assert col.query([1, 1, 1, 1], k=1, model="m1").ids == ("z",)


@pytest.mark.parametrize("width", [3, 5])
def test_wrong_dimension(col: Collection, width: int) -> None:
    expected = ["holds 4-dimensional vectors", f"got {width} dimensions"]
    for call in (
        lambda: col.add(["z"], np.ones((1, width))),
        lambda: col.upsert(["a"], np.ones((1, width))),
        lambda: col.update(["a"], vectors=np.ones((1, width))),
        lambda: col.query(np.ones(width)),
        lambda: col.query(np.ones((2, width))),
    ):
        refused(call, DimensionMismatchError, *expected, unchanged=lambda: snapshot(col))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_vectors(col: Collection, bad: float) -> None:
    rows = np.ones((3, DIM))
    rows[1, 2] = bad
    refused(
        lambda: col.add(["x", "y", "z"], rows),
        InvalidParameterError,
        "vectors must be finite",
        "1 row(s) hold NaN or infinity (rows 1)",
        unchanged=lambda: snapshot(col),
    )
    refused(
        lambda: col.query(rows[1]),
        InvalidParameterError,
        "must be finite",
        unchanged=lambda: snapshot(col),
    )


def test_vectors_of_wrong_type_or_shape(col: Collection) -> None:
    cases: list[tuple[Callable[[], object], list[str]]] = [
        (lambda: col.add(["x"], [["a", "b", "c", "d"]]), ["must be numbers", "<U1"]),
        (lambda: col.add(["x", "y"], np.ones((3, DIM))), ["got 2 ids but 3 vectors"]),
        (lambda: col.add(["x"], np.ones((1, 1, DIM))), ["2-D array", "got 3 dimension(s)"]),
        (lambda: col.query(np.float32(1.0)), ["2-D array", "got 0 dimension(s)"]),
    ]
    for call, fragments in cases:
        refused(call, InvalidParameterError, *fragments, unchanged=lambda: snapshot(col))


def test_duplicate_ids_in_one_batch(col: Collection) -> None:
    for call in (
        lambda: col.add(["x", "y", "x"], np.ones((3, DIM))),
        lambda: col.upsert(["x", "y", "x"], np.ones((3, DIM))),
    ):
        refused(
            call,
            DuplicateIdError,
            "repeat 1 id(s) inside one batch: 'x'",
            unchanged=lambda: snapshot(col),
        )


def test_add_of_existing_ids_names_them_and_adds_nothing(col: Collection) -> None:
    refused(
        lambda: col.add(["new", "a", "c"], np.ones((3, DIM))),
        DuplicateIdError,
        "already has 2 of these ids: 'a', 'c'",
        "upsert",
        unchanged=lambda: snapshot(col),
    )


@pytest.mark.parametrize(
    ("ids", "fragments"),
    [
        ("abc", ["ids must be a list of str", "got str"]),
        ([1], ["ids[0] must be a non-empty str", "got 1"]),
        (["ok", ""], ["ids[1] must be a non-empty str", "got ''"]),
    ],
)
def test_bad_ids(col: Collection, ids: Any, fragments: list[str]) -> None:
    refused(
        lambda: col.add(ids, np.ones((len(ids), DIM))),
        InvalidParameterError,
        *fragments,
        unchanged=lambda: snapshot(col),
    )


@pytest.mark.parametrize(
    ("meta", "fragments"),
    [
        ({"k": {"a": 1}}, ['metadata[1]["k"]', "no nested dicts"]),
        ({"k": None}, ['metadata[1]["k"]', "got None"]),
        ({"k": float("nan")}, ['metadata[1]["k"]', "expected a finite float, got nan"]),
        ({"k": 2**60}, ['metadata[1]["k"]', "2**53 - 1", str(2**60)]),
        ({"k": {1, 2}}, ['metadata[1]["k"]', "got set"]),
        ({"k": [[1]]}, ['metadata[1]["k"][0]', "no nesting"]),
        ({"$k": 1}, ['metadata[1]["$k"]', "must not start with '$'"]),
        ({3: 1}, ["metadata[1]", "expected str keys, got 3 (int)"]),
        ("text", ["metadata[1]", "expected a dict", "'text' (str)"]),
    ],
)
def test_metadata_that_is_not_json(col: Collection, meta: Any, fragments: list[str]) -> None:
    refused(
        lambda: col.add(["x", "y"], np.ones((2, DIM)), metadata=[{"fine": 1}, meta]),
        InvalidMetadataError,
        *fragments,
        unchanged=lambda: snapshot(col),
    )


def test_batch_lengths_must_agree(col: Collection) -> None:
    vectors = np.ones((2, DIM))
    for call, fragment in [
        (lambda: col.add(["x", "y"], vectors, metadata=[{}]), "got 2 ids but 1 metadata entries"),
        (lambda: col.add(["x", "y"], vectors, documents=["d"]), "got 2 ids but 1 documents"),
        (lambda: col.add(["x", "y"], vectors, documents=["d", 3]), "documents[1] must be a str"),
        (lambda: col.add(["x", "y"], vectors, metadata={"a": 1}), "a list of dicts, one per id"),
    ]:
        refused(call, InvalidParameterError, fragment, unchanged=lambda: snapshot(col))


def test_errors_are_embedlab_and_builtin() -> None:
    assert issubclass(DimensionMismatchError, EmbedlabError)
    assert issubclass(DimensionMismatchError, ValueError)
    assert issubclass(UnknownKeyError, KeyError)
    assert issubclass(CollectionNotFoundError, UnknownKeyError)
    assert issubclass(ModelMismatchError, InvalidParameterError)
    assert issubclass(InvalidMetadataError, ValueError)


# ---------------------------------------------------------------------------------------------
# Distances against numpy / scipy


def _float_oracle(metric: str, queries: np.ndarray, data: np.ndarray) -> np.ndarray:
    q = queries.astype(np.float64)
    x = data.astype(np.float64)
    if metric == "cosine":
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        return 1.0 - qn @ xn.T
    if metric == "dot":
        return 1.0 - q @ x.T
    if metric == "euclidean":
        return cdist(q, x, "euclidean")
    return cdist(q, x, "cityblock")


@pytest.mark.parametrize(
    ("metric", "index"),
    [
        ("cosine", "flat"),
        ("dot", "flat"),
        ("euclidean", "flat"),
        ("manhattan", "flat"),
        ("cosine", "hnsw"),
        ("dot", "hnsw"),
        ("euclidean", "hnsw"),
        ("manhattan", "hnsw"),
        ("euclidean", "ivf"),
        ("cosine", "ivf-pq"),
    ],
)
def test_float_distances_equal_numpy(db: Database, metric: str, index: str) -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(size=(40, 8)).astype(np.float32)
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    col = db.create_collection("d", dim=8, metric=metric, index=index)
    col.add([f"r{i}" for i in range(40)], data)
    expected = _float_oracle(metric, queries, data)
    results = col.query(queries, k=40)
    for row, result in zip(expected, results, strict=True):
        positions = [int(key[1:]) for key in result.ids]
        assert sorted(positions) == list(range(40))
        np.testing.assert_allclose(result.distances, row[positions], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(result.distances, np.sort(row), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("index", ["flat", "binary"])
def test_hamming_distances_count_bits(db: Database, index: str) -> None:
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2, size=(50, 64), dtype=np.uint8)
    queries = rng.integers(0, 2, size=(4, 64), dtype=np.uint8)
    col = db.create_collection("h", dim=64, metric="hamming", index=index)
    col.add([f"r{i}" for i in range(50)], bits.astype(bool))  # bool works as 0/1
    expected = np.rint(cdist(queries, bits, "hamming") * 64)
    for row, result in zip(expected, col.query(queries, k=50), strict=True):
        positions = [int(key[1:]) for key in result.ids]
        np.testing.assert_array_equal(result.distances, row[positions])
        np.testing.assert_array_equal(result.distances, np.sort(row))
    got = col.get(["r3"], include="vectors").vectors
    assert got is not None
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, bits[3:4])
    with pytest.raises(InvalidParameterError, match="only 0/1"):
        col.add(["bad"], np.full((1, 64), 2))


# ---------------------------------------------------------------------------------------------
# Results


def test_results_are_frozen(col: Collection, db: Database) -> None:
    query = col.query([0, 0, 0, 0], k=2)
    got = col.get()
    info = db.list_collections()[0]
    for result, attribute in [(query, "ids"), (query, "distances"), (got, "ids"), (info, "count")]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, attribute, None)
    assert isinstance(info, CollectionInfo)


def test_len_follows_writes(col: Collection) -> None:
    assert len(col) == col.count() == 3
    col.upsert(["a", "z"], np.ones((2, DIM)))
    assert len(col) == 4
    col.delete(["a", "b"])
    assert len(col) == 2
    col.compact()
    assert len(col) == 2


def test_match_iteration(col: Collection) -> None:
    result = col.query([0, 0, 0, 0], k=2, include=ALL)
    matches = list(result)
    assert all(isinstance(m, Match) for m in matches)
    assert [(m.id, m.distance, m.metadata, m.document) for m in matches] == [
        ("a", 0.0, {"g": 1, "t": "x"}, "red apple"),
        ("b", 1.0, {"g": 2, "t": "y"}, "green pear"),
    ]
    assert matches[1].vector is not None
    np.testing.assert_array_equal(matches[1].vector, [1, 0, 0, 0])
    assert result[1].id == "b"
    assert result[1].distance == 1.0
    assert len(result) == 2

    got = col.get(include=())
    assert isinstance(got, GetResult)
    assert [tuple(m) for m in got] == [
        ("a", None, None, None, None),
        ("b", None, None, None, None),
        ("c", None, None, None, None),
    ]
    assert got.to_dict() == {"ids": ["a", "b", "c"]}
    assert result.to_dict()["distances"] == [0.0, 1.0]
