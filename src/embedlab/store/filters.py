"""The ``where`` and ``where_document`` filter languages: parsing and a pure-Python evaluator.

A ``where`` filter is a dict. Several entries are ANDed; ``{"key": scalar}`` is short for
``{"key": {"$eq": scalar}}``; ``{"key": {"$op": operand, ...}}`` ANDs its operators;
``$and`` / ``$or`` take non-empty lists of filters and ``$not`` one filter. Operators:

- ``$eq`` / ``$ne``: equality within one type class (bool only equals bool, int and float
  compare numerically, str equals str) on a scalar field; ``$ne`` is exactly ``not $eq``.
- ``$gt`` ``$gte`` ``$lt`` ``$lte``: a numeric (not bool) scalar field against a number.
- ``$in`` / ``$nin``: ``$eq`` one of a non-empty list of scalars / exactly ``not $in``.
- ``$exists``: the key is present (``True``) or missing (``False``).
- ``$contains`` / ``$not_contains``: a list field holding an element that ``$eq`` the
  operand / exactly ``not $contains``.

A ``where_document`` filter is ``{"$contains": text}`` or ``{"$not_contains": text}``,
combined with ``$and``, ``$or`` and ``$not``; a missing document reads as ``""``.

:func:`matches` is the reference evaluator; the columnar one in
:mod:`embedlab.store._columns` must agree with it row for row.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from embedlab.errors import InvalidFilterError, InvalidParameterError
from embedlab.store.metadata import (
    MetaScalar,
    describe_value,
    explain_bad_scalar,
    key_path,
    to_scalar,
)

__all__ = [
    "MATCH_ALL",
    "MAX_DEPTH",
    "And",
    "Condition",
    "DocumentAnd",
    "DocumentFilter",
    "DocumentNot",
    "DocumentOr",
    "MatchAll",
    "Not",
    "Operator",
    "Or",
    "TextCondition",
    "Where",
    "document_filter_sql",
    "document_matches",
    "matches",
    "parse_where",
    "parse_where_document",
]


class Operator(enum.StrEnum):
    """A field operator of the ``where`` language."""

    EQ = "$eq"
    NE = "$ne"
    GT = "$gt"
    GTE = "$gte"
    LT = "$lt"
    LTE = "$lte"
    IN = "$in"
    NIN = "$nin"
    EXISTS = "$exists"
    CONTAINS = "$contains"
    NOT_CONTAINS = "$not_contains"


COMPARISONS = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE})
_OPERATORS = ", ".join(op.value for op in Operator)
_LOGICAL = "$and, $or, $not"
MAX_DEPTH = 32
"""How deep $and / $or / $not may nest in one filter."""
_DOCUMENT_KEYS = "$contains, $not_contains, $and, $or, $not"

Operand = MetaScalar | tuple[MetaScalar, ...]


# ---------------------------------------------------------------------------------------------
# The where AST


class Where:
    """A parsed ``where`` filter (immutable, hashable); build one with :func:`parse_where`."""

    __slots__ = ()

    def is_all(self) -> bool:
        """True when the filter matches every row (it was ``None`` or ``{}``)."""
        return False


@dataclass(frozen=True, slots=True)
class MatchAll(Where):
    """The filter that matches every row."""

    def is_all(self) -> bool:
        return True


MATCH_ALL = MatchAll()


@dataclass(frozen=True, slots=True)
class Condition(Where):
    """One field test: ``key`` ``op`` ``operand`` (a tuple for ``$in`` / ``$nin``)."""

    key: str
    op: Operator
    operand: Operand


@dataclass(frozen=True, slots=True)
class And(Where):
    """Every child matches."""

    children: tuple[Where, ...]


@dataclass(frozen=True, slots=True)
class Or(Where):
    """At least one child matches."""

    children: tuple[Where, ...]


@dataclass(frozen=True, slots=True)
class Not(Where):
    """The child does not match."""

    child: Where


def _all_of(children: list[Where]) -> Where:
    """AND of children, dropping match-all parts and collapsing a single child."""
    kept = tuple(c for c in children if not c.is_all())
    if not kept:
        return MATCH_ALL
    return kept[0] if len(kept) == 1 else And(kept)


def _any_of(children: list[Where]) -> Where:
    """OR of children; one match-all child makes the whole OR match all."""
    if any(c.is_all() for c in children):
        return MATCH_ALL
    return children[0] if len(children) == 1 else Or(tuple(children))


# ---------------------------------------------------------------------------------------------
# Parsing where


def parse_where(where: object) -> Where:
    """Check a ``where`` filter and turn it into an immutable :class:`Where`.

    >>> parse_where({"lang": "en", "year": {"$gte": 2020}})
    And(children=(Condition(key='lang', op=<Operator.EQ: '$eq'>, operand='en'), \
Condition(key='year', op=<Operator.GTE: '$gte'>, operand=2020)))
    >>> parse_where(None).is_all()
    True
    >>> parse_where({"year": {"$gt": "2020"}})
    Traceback (most recent call last):
    ...
    embedlab.errors.InvalidFilterError: where["year"]["$gt"]: expected a number, got '2020' (str)
    """
    if where is None:
        return MATCH_ALL
    return _parse_dict(where, "where", 0)


def _check_depth(depth: int, path: str) -> None:
    """Refuse filters nested deeper than MAX_DEPTH (they would exhaust Python's stack)."""
    if depth > MAX_DEPTH:
        raise InvalidFilterError(
            f"{path}: filters may nest $and / $or / $not at most {MAX_DEPTH} deep; "
            f"got deeper than that"
        )


def _parse_dict(where: object, path: str, depth: int) -> Where:
    """A filter dict: field entries and logical operators, all ANDed."""
    _check_depth(depth, path)
    if not isinstance(where, Mapping):
        raise InvalidFilterError(f"{path}: expected a dict, got {describe_value(where)}")
    parts: list[Where] = []
    for key, value in where.items():
        if not isinstance(key, str):
            raise InvalidFilterError(f"{path}: expected str keys, got {describe_value(key)}")
        here = key_path(path, key)
        if key in ("$and", "$or"):
            children = [
                _parse_dict(c, f"{here}[{i}]", depth + 1) for i, c in enumerate(_list(value, here))
            ]
            parts.append(_all_of(children) if key == "$and" else _any_of(children))
        elif key == "$not":
            parts.append(Not(_parse_dict(value, here, depth + 1)))
        elif key.startswith("$"):
            raise InvalidFilterError(
                f"{here}: unknown logical operator {key!r}; expected one of {_LOGICAL} "
                f"(field operators such as $eq go inside a field: {{'field': {{'$eq': ...}}}})"
            )
        elif not key:
            raise InvalidFilterError(f"{here}: field names must be non-empty strings")
        elif key[0] == "#":  # Chroma's "#document": matched nothing before; now named
            from embedlab.store._chroma_forms import check_filter_key

            check_filter_key(key, here)
        else:
            parts.append(_parse_field(key, value, here))
    return _all_of(parts)


def _list(value: object, here: str) -> list[object]:
    """The operand of $and / $or / $in / $nin: a non-empty list (or tuple)."""
    if not isinstance(value, list | tuple):
        raise InvalidFilterError(f"{here}: expected a non-empty list, got {describe_value(value)}")
    if not value:
        raise InvalidFilterError(f"{here}: expected a non-empty list, got []")
    return list(value)


def _parse_field(key: str, value: object, here: str) -> Where:
    """``{"key": scalar}`` or ``{"key": {"$op": operand, ...}}``."""
    if not isinstance(value, Mapping):
        scalar = to_scalar(value)
        if isinstance(value, list | tuple):
            raise InvalidFilterError(
                f"{here}: expected a scalar or a dict of operators such as {{'$in': [...]}}, "
                f"got {describe_value(value)}"
            )
        if scalar is None:
            raise InvalidFilterError(f"{here}: {explain_bad_scalar(value)}")
        return Condition(key, Operator.EQ, scalar)
    if not value:
        raise InvalidFilterError(
            f"{here}: expected at least one operator (one of {_OPERATORS}), got an empty dict"
        )
    parts: list[Where] = []
    for name, operand in value.items():
        at = key_path(here, name)
        try:
            op = Operator(name)
        except ValueError:
            raise InvalidFilterError(
                f"{here}: unknown operator {name!r}; expected one of {_OPERATORS}"
            ) from None
        parts.append(Condition(key, op, _parse_operand(op, operand, at)))
    return _all_of(parts)


def _parse_operand(op: Operator, operand: object, at: str) -> Operand:
    """Check and normalise one operator's operand."""
    if op in COMPARISONS:
        number = to_scalar(operand)
        if number is None or isinstance(number, bool | str):
            got = describe_value(operand)
            if number is None and isinstance(operand, int | float | np.number):
                raise InvalidFilterError(f"{at}: {explain_bad_scalar(operand)}")
            raise InvalidFilterError(f"{at}: expected a number, got {got}")
        return number
    if op is Operator.EXISTS:
        if not isinstance(operand, bool | np.bool_):
            raise InvalidFilterError(f"{at}: expected True or False, got {describe_value(operand)}")
        return bool(operand)
    if op in (Operator.IN, Operator.NIN):
        items = _list(operand, at)
        return tuple(_scalar(item, f"{at}[{i}]") for i, item in enumerate(items))
    return _scalar(operand, at)


def _scalar(value: object, at: str) -> MetaScalar:
    """A scalar operand, or an error saying what arrived."""
    scalar = to_scalar(value)
    if scalar is None:
        raise InvalidFilterError(f"{at}: {explain_bad_scalar(value)}")
    return scalar


# ---------------------------------------------------------------------------------------------
# The reference evaluator

_MISSING = object()
STR, NUMBER, BOOL = 1, 2, 3


def scalar_class(value: object) -> int:
    """The type class of a value: STR, NUMBER, BOOL, or 0 for lists and anything else."""
    if isinstance(value, bool | np.bool_):
        return BOOL
    if isinstance(value, str):
        return STR
    if isinstance(value, int | float | np.integer | np.floating):
        return NUMBER
    return 0


def _equal(value: object, operand: MetaScalar) -> bool:
    """``$eq``: same type class and equal (numbers compare numerically)."""
    kind = scalar_class(value)
    return kind != 0 and kind == scalar_class(operand) and bool(value == operand)


def matches(where: Where, metadata: Mapping[str, object] | None) -> bool:
    """Whether one row's metadata satisfies a parsed filter (the reference semantics).

    >>> w = parse_where({"n": {"$gt": 1}, "tags": {"$contains": "x"}})
    >>> matches(w, {"n": 2.5, "tags": ["x", "y"]}), matches(w, {"n": True, "tags": ["x"]})
    (True, False)
    """
    row: Mapping[str, object] = metadata if metadata is not None else {}
    if isinstance(where, Condition):
        return _condition(where, row.get(where.key, _MISSING))
    if isinstance(where, And):
        return all(matches(c, row) for c in where.children)
    if isinstance(where, Or):
        return any(matches(c, row) for c in where.children)
    if isinstance(where, Not):
        return not matches(where.child, row)
    if isinstance(where, MatchAll):
        return True
    raise InvalidFilterError(f"expected a parsed filter (see parse_where), got {where!r}")


def _condition(c: Condition, value: object) -> bool:
    """One field test against the field's value (``_MISSING`` when the key is absent)."""
    op, operand = c.op, c.operand
    if op is Operator.EXISTS:
        return (value is not _MISSING) == operand
    if op is Operator.EQ:
        return _equal(value, operand)  # type: ignore[arg-type]
    if op is Operator.NE:
        return not _equal(value, operand)  # type: ignore[arg-type]
    if op in COMPARISONS:
        if scalar_class(value) != NUMBER:
            return False
        x, y = float(value), float(operand)  # type: ignore[arg-type]
        if op is Operator.GT:
            return x > y
        if op is Operator.GTE:
            return x >= y
        if op is Operator.LT:
            return x < y
        return x <= y
    if op in (Operator.IN, Operator.NIN):
        found = any(_equal(value, o) for o in operand)  # type: ignore[union-attr]
        return found if op is Operator.IN else not found
    found = isinstance(value, list | tuple) and any(_equal(v, operand) for v in value)  # type: ignore[arg-type]
    return found if op is Operator.CONTAINS else not found


# ---------------------------------------------------------------------------------------------
# where_document


class DocumentFilter:
    """A parsed ``where_document`` filter; build one with :func:`parse_where_document`."""

    __slots__ = ()

    def is_all(self) -> bool:
        """True when the filter matches every document (it was ``None`` or ``{}``)."""
        return False


@dataclass(frozen=True, slots=True)
class DocumentAll(DocumentFilter):
    """Matches every document."""

    def is_all(self) -> bool:
        return True


DOCUMENT_ALL = DocumentAll()


@dataclass(frozen=True, slots=True)
class TextCondition(DocumentFilter):
    """The document contains ``text`` (or, when ``negated``, does not)."""

    text: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class DocumentAnd(DocumentFilter):
    """Every child matches."""

    children: tuple[DocumentFilter, ...]


@dataclass(frozen=True, slots=True)
class DocumentOr(DocumentFilter):
    """At least one child matches."""

    children: tuple[DocumentFilter, ...]


@dataclass(frozen=True, slots=True)
class DocumentNot(DocumentFilter):
    """The child does not match."""

    child: DocumentFilter


def parse_where_document(where_document: object) -> DocumentFilter:
    """Check a ``where_document`` filter and turn it into an immutable :class:`DocumentFilter`.

    >>> parse_where_document({"$or": [{"$contains": "cat"}, {"$contains": "dog"}]})
    DocumentOr(children=(TextCondition(text='cat', negated=False), \
TextCondition(text='dog', negated=False)))
    """
    if where_document is None:
        return DOCUMENT_ALL
    return _parse_document(where_document, "where_document", 0)


def _parse_document(value: object, path: str, depth: int) -> DocumentFilter:
    """One where_document dict; several entries are ANDed."""
    _check_depth(depth, path)
    if not isinstance(value, Mapping):
        raise InvalidFilterError(f"{path}: expected a dict, got {describe_value(value)}")
    parts: list[DocumentFilter] = []
    for key, operand in value.items():
        here = key_path(path, key)
        if key in ("$contains", "$not_contains"):
            if not isinstance(operand, str) or not operand:
                raise InvalidFilterError(
                    f"{here}: expected a non-empty str, got {describe_value(operand)}"
                )
            parts.append(TextCondition(str(operand), negated=key == "$not_contains"))
        elif key in ("$and", "$or"):
            kids = [
                _parse_document(c, f"{here}[{i}]", depth + 1)
                for i, c in enumerate(_list(operand, here))
            ]
            if key == "$and":
                parts.append(_document_all_of(kids))
            elif any(k.is_all() for k in kids):
                parts.append(DOCUMENT_ALL)
            else:
                parts.append(kids[0] if len(kids) == 1 else DocumentOr(tuple(kids)))
        elif key == "$not":
            parts.append(DocumentNot(_parse_document(operand, here, depth + 1)))
        else:
            raise InvalidFilterError(
                f"{here}: unknown where_document operator {key!r}; expected one of {_DOCUMENT_KEYS}"
            )
    return _document_all_of(parts)


def _document_all_of(children: list[DocumentFilter]) -> DocumentFilter:
    """AND of document filters, dropping match-all parts."""
    kept = tuple(c for c in children if not c.is_all())
    if not kept:
        return DOCUMENT_ALL
    return kept[0] if len(kept) == 1 else DocumentAnd(kept)


def document_matches(f: DocumentFilter, document: str | None) -> bool:
    """Whether a document satisfies a parsed filter (case-sensitive substring tests).

    >>> document_matches(parse_where_document({"$not_contains": "Cat"}), "a cat")
    True
    """
    text = document or ""
    if isinstance(f, TextCondition):
        return (f.text in text) != f.negated
    if isinstance(f, DocumentAnd):
        return all(document_matches(c, text) for c in f.children)
    if isinstance(f, DocumentOr):
        return any(document_matches(c, text) for c in f.children)
    if isinstance(f, DocumentNot):
        return not document_matches(f.child, text)
    if isinstance(f, DocumentAll):
        return True
    raise InvalidFilterError(f"expected a parsed document filter, got {f!r}")


_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


def document_filter_sql(f: DocumentFilter, column: str = "document") -> tuple[str, list[str]]:
    """An SQLite boolean expression with the same meaning as :func:`document_matches`.

    >>> document_filter_sql(parse_where_document({"$contains": "cat"}))
    ("instr(coalesce(document, ''), ?) > 0", ['cat'])
    """
    if not _COLUMN.fullmatch(column):
        raise InvalidParameterError(
            f"The 'column' parameter must be an SQL identifier (optionally table.column). "
            f"Got {column!r} instead."
        )
    params: list[str] = []
    return _sql(f, f"coalesce({column}, '')", params), params


def _sql(f: DocumentFilter, text: str, params: list[str]) -> str:
    """Append f's parameters to params and return its SQL expression."""
    if isinstance(f, TextCondition):
        params.append(f.text)
        return f"instr({text}, ?) {'=' if f.negated else '>'} 0"
    if isinstance(f, DocumentAnd | DocumentOr):
        joiner = " AND " if isinstance(f, DocumentAnd) else " OR "
        return "(" + joiner.join(_sql(c, text, params) for c in f.children) + ")"
    if isinstance(f, DocumentNot):
        return f"NOT ({_sql(f.child, text, params)})"
    if isinstance(f, DocumentAll):
        return "1"
    raise InvalidFilterError(f"expected a parsed document filter, got {f!r}")
