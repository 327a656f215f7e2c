"""The store's queries: result shapes, k, max_distance, filters, bad input, distances
against numpy and scipy for every metric, and frozen result objects."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from embedlab.errors import (
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
from store_api_helpers import ALL, DIM, refused, snapshot
from store_backends import embedded_only


@pytest.fixture
def db(any_db: Database) -> Database:
    """These API tests run against both backends (embedded and PostgreSQL)."""
    return any_db


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
    if index == "ivf-pq":
        embedded_only(db, "product quantisation (pgvector has none)")
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


def test_one_float32_query_vector_is_checked_like_any_other(db: Database) -> None:
    """A 1-D float32 query takes a one-pass check (a sum of squares in C): NaN, infinity,
    overflow and a norm just past the limit still get the typed errors, strided views and
    other dtypes answer as their contiguous float32 copy, and a long vector is fine."""
    from embedlab.store._inputs import MAX_NORM

    col = db.create_collection("cos", dim=DIM, metric="cosine", index="hnsw")
    rng = np.random.default_rng(0)
    col.add([f"r{i}" for i in range(50)], rng.standard_normal((50, DIM)).astype(np.float32))
    for bad in (np.nan, np.inf, -np.inf):
        vector = np.ones(DIM, np.float32)
        vector[2] = bad
        refused(
            lambda v=vector: col.query(v),
            InvalidParameterError,
            "must be finite",
            unchanged=lambda: snapshot(col),
        )
    huge = np.full(DIM, 1e30, np.float32)  # finite, but its sum of squares overflows
    past = np.zeros(DIM, np.float32)
    past[0] = np.nextafter(np.float32(MAX_NORM), np.float32(np.inf))
    for long in (huge, past):
        refused(
            lambda v=long: col.query(v),
            InvalidParameterError,
            "norm of at most",
            unchanged=lambda: snapshot(col),
        )
    within = np.zeros(DIM, np.float32)
    within[1] = np.float32(MAX_NORM * 0.99)
    assert col.query(within, k=3).ids == col.query([0.0, 1.0, 0.0, 0.0], k=3).ids
    wide = rng.standard_normal(2 * DIM).astype(np.float32)
    strided = wide[::2]  # 1-D, float32, not contiguous
    expected = col.query(np.ascontiguousarray(strided), k=5)
    for form in (strided, strided.astype(np.float64), strided.tolist()):
        got = col.query(form, k=5)
        assert got.ids == expected.ids
        np.testing.assert_allclose(got.distances, expected.distances, rtol=1e-5, atol=1e-6)


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
        ("abc", ["got 1 ids but 3 vectors"]),  # one str is one id, as in Chroma
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
    if index == "ivf-pq":
        embedded_only(db, "product quantisation (pgvector has none)")
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
