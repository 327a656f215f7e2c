"""Metadata validation and filters: the columnar evaluator and SQL against the Python oracle."""

from __future__ import annotations

import itertools
import math
import sqlite3
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlab.errors import InvalidFilterError, InvalidMetadataError, InvalidParameterError
from embedlab.store._columns import MetadataColumns
from embedlab.store.filters import (
    document_filter_sql,
    document_matches,
    matches,
    parse_where,
    parse_where_document,
)
from embedlab.store.metadata import (
    MAX_SAFE_INT,
    check_metadata,
    metadata_from_json,
    metadata_to_json,
)

# ---------------------------------------------------------------------------------------------
# Strategies

KEYS = ["a", "b", "c"]
SCALARS = st.sampled_from(["x", "y", "", "1", 0, 1, -2, 7, 1.0, 2.5, -0.0, 1e15, True, False])
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
ROWS = st.lists(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3), max_size=30)
NUMBERS = st.sampled_from([0, 1, -2, 7, 1.0, 2.5, -0.0, 1e15, 3])
OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"]


def operand_for(op: str) -> st.SearchStrategy[Any]:
    """A valid operand for one field operator."""
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return NUMBERS
    if op in ("$in", "$nin"):
        return st.lists(SCALARS, min_size=1, max_size=4)
    if op == "$exists":
        return st.booleans()
    return SCALARS


FIELD_OPS = st.sampled_from([*OPERATORS, "$contains", "$not_contains"]).flatmap(
    lambda op: operand_for(op).map(lambda operand: {op: operand})
)
FIELD = st.builds(
    lambda key, cond, short: {key: cond["$eq"]} if short and "$eq" in cond else {key: cond},
    st.sampled_from([*KEYS, "zz"]),
    st.one_of(FIELD_OPS, st.builds(lambda x, y: {**x, **y}, FIELD_OPS, FIELD_OPS)),
    st.booleans(),
)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """One logical level over child filters."""
    listed = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        listed.map(lambda c: {"$and": c}),
        listed.map(lambda c: {"$or": c}),
        children.map(lambda c: {"$not": c}),
        st.builds(lambda x, y: {**x, **y}, children, FIELD),
    )


WHERES = st.one_of(st.just({}), st.recursive(FIELD, _extend, max_leaves=8))

DOC_TEXT = st.text(alphabet="abcAB \x00é", max_size=8)
NEEDLES = st.text(alphabet="abcAB \x00é", min_size=1, max_size=3)
DOC_LEAF = st.builds(lambda k, t: {k: t}, st.sampled_from(["$contains", "$not_contains"]), NEEDLES)
DOC_FILTERS = st.recursive(
    DOC_LEAF,
    lambda c: st.one_of(
        st.lists(c, min_size=1, max_size=3).map(lambda x: {"$and": x}),
        st.lists(c, min_size=1, max_size=3).map(lambda x: {"$or": x}),
        c.map(lambda x: {"$not": x}),
    ),
    max_leaves=6,
)


def oracle(where: object, rows: list[dict[str, Any]]) -> list[bool]:
    """The pure-Python evaluator, row by row."""
    parsed = parse_where(where)
    return [matches(parsed, r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Columnar evaluator == oracle


@settings(max_examples=300, deadline=None)
@given(rows=ROWS, where=WHERES)
def test_columns_agree_with_oracle(rows: list[dict[str, Any]], where: dict[str, Any]) -> None:
    mask = MetadataColumns.from_rows(rows).mask(parse_where(where))
    assert mask.dtype == np.bool_
    assert mask.tolist() == oracle(where, rows)


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, where=WHERES, cuts=st.lists(st.integers(0, 30), max_size=4))
def test_columns_built_by_appends_agree(
    rows: list[dict[str, Any]], where: dict[str, Any], cuts: list[int]
) -> None:
    columns = MetadataColumns()
    bounds = [0, *sorted(min(c, len(rows)) for c in cuts), len(rows)]
    parsed = parse_where(where)
    for lo, hi in itertools.pairwise(bounds):
        columns.append(rows[lo:hi])
        assert len(columns) == hi
        assert columns.mask(parsed).tolist() == oracle(where, rows[:hi])


def test_columns_grow_across_many_appends() -> None:
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    columns = MetadataColumns()
    for _ in range(40):
        batch = [
            {"n": int(rng.integers(10)), "s": str(rng.integers(3)), "l": [int(rng.integers(4))]}
            if rng.random() < 0.7
            else {}
            for _ in range(int(rng.integers(1, 60)))
        ]
        rows.extend(batch)
        columns.append(batch)
    for where in [{"n": {"$gte": 5}}, {"s": {"$in": ["1", "2"]}}, {"l": {"$contains": 3}}]:
        assert columns.mask(parse_where(where)).tolist() == oracle(where, rows)


def test_key_first_seen_late_and_unknown_key() -> None:
    rows: list[dict[str, Any]] = [{}, {}, {"late": 1}, {}]
    columns = MetadataColumns.from_rows(rows)
    for where in [{"late": 1}, {"late": {"$ne": 1}}, {"late": {"$exists": False}}, {"nope": 1}]:
        assert columns.mask(parse_where(where)).tolist() == oracle(where, rows)
    assert columns.mask(parse_where({"nope": {"$nin": [1]}})).tolist() == [True] * 4


def test_empty_columns_and_match_all() -> None:
    assert MetadataColumns().mask(parse_where({"a": 1})).shape == (0,)
    assert MetadataColumns.from_rows([{}, {"a": 1}]).mask(parse_where(None)).tolist() == [
        True,
        True,
    ]


# ---------------------------------------------------------------------------------------------
# Operator semantics, by hand

ROWS_BY_HAND: list[dict[str, Any]] = [
    {"v": 1},  # 0
    {"v": 1.0},  # 1
    {"v": True},  # 2
    {"v": "1"},  # 3
    {"v": [1, "x"]},  # 4
    {},  # 5
    {"v": 2.5},  # 6
    {"v": False},  # 7
    {"v": 0},  # 8
]


def hits(where: dict[str, Any]) -> list[int]:
    """Row numbers of ROWS_BY_HAND that match, checked against both evaluators."""
    expected = [i for i, ok in enumerate(oracle(where, ROWS_BY_HAND)) if ok]
    mask = MetadataColumns.from_rows(ROWS_BY_HAND).mask(parse_where(where))
    assert np.flatnonzero(mask).tolist() == expected
    return expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"v": 1}, [0, 1]),  # 1 == 1.0, but not True, "1" or [1]
        ({"v": 1.0}, [0, 1]),
        ({"v": True}, [2]),
        ({"v": False}, [7]),
        ({"v": 0}, [8]),
        ({"v": "1"}, [3]),
        ({"v": {"$ne": 1}}, [2, 3, 4, 5, 6, 7, 8]),  # missing and list rows included
        ({"v": {"$gt": 0}}, [0, 1, 6]),  # bools are not numbers
        ({"v": {"$gte": 1}}, [0, 1, 6]),
        ({"v": {"$lt": 1}}, [8]),
        ({"v": {"$lte": 1.0}}, [0, 1, 8]),
        ({"v": {"$gt": 0, "$lt": 2}}, [0, 1]),
        ({"v": {"$in": [True, "1", 2.5]}}, [2, 3, 6]),
        ({"v": {"$nin": [1, False]}}, [2, 3, 4, 5, 6, 8]),
        ({"v": {"$exists": True}}, [0, 1, 2, 3, 4, 6, 7, 8]),
        ({"v": {"$exists": False}}, [5]),
        ({"v": {"$contains": 1}}, [4]),
        ({"v": {"$contains": 1.0}}, [4]),
        ({"v": {"$contains": True}}, []),
        ({"v": {"$contains": "x"}}, [4]),
        ({"v": {"$not_contains": "x"}}, [0, 1, 2, 3, 5, 6, 7, 8]),
        ({"$not": {"v": 1}}, [2, 3, 4, 5, 6, 7, 8]),
        ({"$or": [{"v": True}, {"v": "1"}]}, [2, 3]),
        (
            {"$and": [{"v": {"$exists": True}}, {"v": {"$ne": 0}}], "$not": {"v": 1}},
            [2, 3, 4, 6, 7],
        ),
        ({}, list(range(9))),
    ],
)
def test_operator_semantics(where: dict[str, Any], expected: list[int]) -> None:
    assert hits(where) == expected


def test_contains_never_matches_a_scalar_field() -> None:
    w = parse_where({"t": {"$contains": "ab"}})
    assert not matches(w, {"t": "ab"})
    assert not matches(w, {"t": "abc"})
    assert matches(w, {"t": ["ab"]})
    assert matches(parse_where({"t": {"$not_contains": "ab"}}), {"t": "ab"})


def test_matches_accepts_none_metadata() -> None:
    assert matches(parse_where({"a": {"$exists": False}}), None)
    assert not matches(parse_where({"a": 1}), None)


def test_parsed_filters_are_hashable_and_equal() -> None:
    w = {"a": {"$in": [1, 2]}, "$or": [{"b": "x"}, {"c": {"$gt": 1}}]}
    assert parse_where(w) == parse_where(w)
    assert hash(parse_where(w)) == hash(parse_where(w))
    assert parse_where({}).is_all() and parse_where(None).is_all()
    assert not parse_where({"a": 1}).is_all()


def test_numpy_operands_are_accepted() -> None:
    w = parse_where({"a": {"$gt": np.float32(1.5)}, "b": np.int64(3), "c": np.bool_(True)})
    assert matches(w, {"a": 2, "b": 3.0, "c": True})


# ---------------------------------------------------------------------------------------------
# Filter errors point at the bad part


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ([{"a": 1}], r"^where: expected a dict, got list$"),
        ("a", r"^where: expected a dict, got 'a' \(str\)$"),
        (
            {"$and": [{"a": 1}, {"age": {"$gtt": 3}}]},
            r'^where\["\$and"\]\[1\]\["age"\]: unknown '
            r"operator '\$gtt'; expected one of \$eq, \$ne, \$gt, ",
        ),
        (
            {"age": {"$gt": "abc"}},
            r'^where\["age"\]\["\$gt"\]: expected a number, got \'abc\' \(str\)',
        ),
        (
            {"age": {"$lte": True}},
            r'where\["age"\]\["\$lte"\]: expected a number, got True \(bool\)',
        ),
        ({"age": {"$gt": math.nan}}, r'where\["age"\]\["\$gt"\]: expected a finite float'),
        ({"age": 2**60}, r'where\["age"\]: expected an int in the range'),
        ({"age": None}, r'where\["age"\]: expected a str, int, float or bool, got None'),
        ({"age": [1, 2]}, r'where\["age"\]: expected a scalar or a dict of operators'),
        ({"age": {}}, r'where\["age"\]: expected at least one operator'),
        ({"$and": []}, r'where\["\$and"\]: expected a non-empty list, got \[\]'),
        ({"$or": {"a": 1}}, r'where\["\$or"\]: expected a non-empty list, got dict'),
        ({"$or": [1]}, r'where\["\$or"\]\[0\]: expected a dict, got 1 \(int\)'),
        ({"$not": [{"a": 1}]}, r'where\["\$not"\]: expected a dict, got list'),
        (
            {"$nor": []},
            r"where\[\"\$nor\"\]: unknown logical operator '\$nor'; expected one of "
            r"\$and, \$or, \$not",
        ),
        ({"": 1}, r'where\[""\]: field names must be non-empty'),
        ({1: 1}, r"where: expected str keys, got 1 \(int\)"),
        ({"a": {"$in": []}}, r'where\["a"\]\["\$in"\]: expected a non-empty list'),
        ({"a": {"$in": "xy"}}, r'where\["a"\]\["\$in"\]: expected a non-empty list, got \'xy\''),
        ({"a": {"$nin": [1, None]}}, r'where\["a"\]\["\$nin"\]\[1\]: expected a str, int, float'),
        ({"a": {"$exists": 1}}, r'where\["a"\]\["\$exists"\]: expected True or False, got 1'),
        ({"a": {"$contains": ["x"]}}, r'where\["a"\]\["\$contains"\]: expected a str, int, float'),
    ],
)
def test_filter_errors_name_the_path(where: object, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        parse_where(where)


def test_filter_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_where({"a": {"$bad": 1}})


# ---------------------------------------------------------------------------------------------
# where_document


@settings(max_examples=200, deadline=None)
@given(docs=st.lists(st.one_of(st.none(), DOC_TEXT), max_size=12), where=DOC_FILTERS)
def test_document_sql_agrees_with_python(docs: list[str | None], where: dict[str, Any]) -> None:
    f = parse_where_document(where)
    sql, params = document_filter_sql(f)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, document TEXT)")
    db.executemany("INSERT INTO t (id, document) VALUES (?, ?)", enumerate(docs))
    got = [r[0] for r in db.execute(f"SELECT id FROM t WHERE {sql} ORDER BY id", params)]
    db.close()
    assert got == [i for i, d in enumerate(docs) if document_matches(f, d)]


def test_document_semantics() -> None:
    f = parse_where_document({"$contains": "Cat"})
    assert document_matches(f, "a Cat")
    assert not document_matches(f, "a cat")
    assert not document_matches(f, None)
    assert document_matches(parse_where_document({"$not_contains": "x"}), None)
    both = parse_where_document({"$contains": "a", "$not_contains": "b"})
    assert document_matches(both, "a") and not document_matches(both, "ab")
    assert parse_where_document(None).is_all() and parse_where_document({}).is_all()
    assert document_filter_sql(parse_where_document({})) == ("1", [])


def test_document_sql_shape_and_column() -> None:
    f = parse_where_document({"$or": [{"$contains": "a"}, {"$not": {"$not_contains": "b"}}]})
    sql, params = document_filter_sql(f, "d.body")
    assert sql == "(instr(coalesce(d.body, ''), ?) > 0 OR NOT (instr(coalesce(d.body, ''), ?) = 0))"
    assert params == ["a", "b"]
    with pytest.raises(InvalidParameterError, match="SQL identifier"):
        document_filter_sql(f, "document; DROP TABLE t")


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"$contains": ""}, r'where_document\["\$contains"\]: expected a non-empty str, got \'\''),
        ({"$contains": 3}, r'where_document\["\$contains"\]: expected a non-empty str, got 3'),
        ({"$regex": "a"}, r"where_document\[\"\$regex\"\]: unknown where_document operator"),
        ({"$and": [{"$contains": "a"}, "b"]}, r'where_document\["\$and"\]\[1\]: expected a dict'),
        ({"$or": []}, r'where_document\["\$or"\]: expected a non-empty list'),
        (["a"], r"^where_document: expected a dict, got list$"),
    ],
)
def test_document_filter_errors(where: object, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        parse_where_document(where)


# ---------------------------------------------------------------------------------------------
# Metadata validation


def test_check_metadata_copies_and_converts() -> None:
    tags = ["a"]
    raw = {
        "i": np.int64(3),
        "f": np.float32(0.5),
        "b": np.bool_(True),
        "s": np.str_("x"),
        "t": ("a", np.int8(2)),
        "tags": tags,
        "big": MAX_SAFE_INT,
    }
    out = check_metadata(raw)
    assert out == {
        "i": 3,
        "f": 0.5,
        "b": True,
        "s": "x",
        "t": ["a", 2],
        "tags": ["a"],
        "big": MAX_SAFE_INT,
    }
    assert [type(out[k]) for k in ("i", "f", "b", "s")] == [int, float, bool, str]
    assert type(out["t"][1]) is int  # type: ignore[index]
    assert out["tags"] is not tags
    assert check_metadata(None) == {}
    assert check_metadata({"empty": []}) == {"empty": []}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"x": math.nan}, r'^metadata\[3\]\["x"\]: expected a finite float, got nan \(float\)$'),
        ({"x": math.inf}, r'metadata\[3\]\["x"\]: expected a finite float'),
        ({"x": 2**53}, r'metadata\[3\]\["x"\]: expected an int in the range'),
        ({"x": np.int64(-(2**60))}, r'metadata\[3\]\["x"\]: expected an int in the range'),
        ({"x": {"y": 1}}, r'metadata\[3\]\["x"\]: .*got dict \(metadata is flat'),
        ({"x": [1, [2]]}, r'metadata\[3\]\["x"\]\[1\]: .*got list \(lists hold scalars only'),
        ({"tags": ["a", None]}, r'metadata\[3\]\["tags"\]\[1\]: expected a str.*got None'),
        ({"tags": [1.0, math.nan]}, r'metadata\[3\]\["tags"\]\[1\]: expected a finite float'),
        ({"x": None}, r'metadata\[3\]\["x"\]: .*got None; .*omit the key.*\$exists'),
        ({"$x": 1}, r"metadata\[3\]\[\"\$x\"\]: keys must not start with '\$'"),
        ({"": 1}, r'metadata\[3\]\[""\]: keys must be non-empty'),
        ({1: 1}, r"metadata\[3\]: expected str keys, got 1 \(int\)"),
        ([("a", 1)], r"metadata\[3\]: expected a dict of str keys to scalar values, got list"),
        ({"x": b"raw"}, r'metadata\[3\]\["x"\]: .*got bytes'),
    ],
)
def test_check_metadata_errors(value: object, message: str) -> None:
    with pytest.raises(InvalidMetadataError, match=message):
        check_metadata(value, where="metadata[3]")


def test_metadata_json_round_trip() -> None:
    m = check_metadata({"s": "é", "n": 1, "f": 0.1, "b": False, "l": ["x", 2, True]})
    text = metadata_to_json(m)
    assert text == '{"s":"é","n":1,"f":0.1,"b":false,"l":["x",2,true]}'
    assert metadata_from_json(text) == m
    assert metadata_from_json(None) == {} and metadata_from_json("") == {}
    with pytest.raises(InvalidMetadataError, match="expected a JSON object"):
        metadata_from_json("[1]")


@settings(max_examples=100, deadline=None)
@given(rows=ROWS)
def test_validated_metadata_round_trips_and_keeps_filter_results(
    rows: list[dict[str, Any]],
) -> None:
    checked = [metadata_from_json(metadata_to_json(check_metadata(r))) for r in rows]
    assert checked == rows
    where = {"a": {"$gte": 1}}
    assert oracle(where, checked) == oracle(where, rows)


def test_unvalidated_values_count_as_present() -> None:
    rows: list[dict[str, Any]] = [{"a": None}, {"a": {"x": 1}}, {"a": [None, 1]}, {}]
    columns = MetadataColumns.from_rows(rows)
    for where in [{"a": {"$exists": True}}, {"a": {"$ne": 1}}, {"a": {"$contains": 1}}]:
        assert columns.mask(parse_where(where)).tolist() == oracle(where, rows)


def test_long_in_lists_agree() -> None:
    rng = np.random.default_rng(1)
    rows: list[dict[str, Any]] = [
        {"s": f"w{rng.integers(30)}", "n": int(rng.integers(30))} if i % 5 else {"s": 1}
        for i in range(300)
    ]
    columns = MetadataColumns.from_rows(rows)
    wanted_s: list[Any] = [f"w{i}" for i in range(0, 30, 3)] + ["absent", 1]
    wanted_n: list[Any] = [*range(0, 30, 2), True, "w3"]
    for where in [{"s": {"$in": wanted_s}}, {"n": {"$nin": wanted_n}}, {"s": {"$nin": wanted_s}}]:
        assert columns.mask(parse_where(where)).tolist() == oracle(where, rows)
