"""Filters as PostgreSQL: the ``where`` language over a JSONB column, ``where_document``
over a text column; every value is a bound parameter, never part of the SQL text.

Each condition is written so that it is never NULL (a missing key is false, and so ``$ne``
of a missing key is true, as :func:`embedlab.store.filters.matches` says):

- ``$eq``: ``metadata -> key = value::jsonb``. JSONB equality already has the store's type
  classes: a bool never equals a number, ``1`` equals ``1.0``, a list never equals a scalar.
- ``$gt`` and friends: only where ``jsonb_typeof`` is ``number`` (inside ``CASE``, since
  PostgreSQL does not promise the order in which ``AND`` evaluates its sides).
- ``$in``: ``= ANY(values::jsonb[])``; ``$contains``: the key holds an array and
  ``@>`` a one-element array of the operand.
- ``$exists``: the ``?`` key-exists operator; ``$not_contains``, ``$ne``, ``$nin``: ``NOT``
  of the positive form, whose NULLs were turned into false first.
"""

from __future__ import annotations

import json
from typing import Any

from embedlab.errors import InvalidFilterError
from embedlab.store.filters import (
    COMPARISONS,
    And,
    Condition,
    DocumentAll,
    DocumentAnd,
    DocumentFilter,
    DocumentNot,
    DocumentOr,
    MatchAll,
    Not,
    Operator,
    Or,
    TextCondition,
    Where,
)

__all__ = ["document_sql", "where_sql"]

_COMPARE = {Operator.GT: ">", Operator.GTE: ">=", Operator.LT: "<", Operator.LTE: "<="}


def where_sql(where: Where, params: list[Any], column: str = "metadata") -> str:
    """A boolean SQL expression for ``where`` (its values appended to ``params``).

    >>> from embedlab.store.filters import parse_where
    >>> params = []
    >>> where_sql(parse_where({"lang": "en"}), params), params
    ('coalesce((metadata -> %s) = %s::jsonb, false)', ['lang', '"en"'])
    """
    if isinstance(where, MatchAll):
        return "true"
    if isinstance(where, Condition):
        return _condition(where, params, column)
    if isinstance(where, And | Or):
        joiner = " AND " if isinstance(where, And) else " OR "
        return "(" + joiner.join(where_sql(c, params, column) for c in where.children) + ")"
    if isinstance(where, Not):
        return f"NOT ({where_sql(where.child, params, column)})"
    raise InvalidFilterError(f"expected a parsed filter (see parse_where), got {where!r}")


def _condition(c: Condition, params: list[Any], column: str) -> str:
    op, operand = c.op, c.operand
    field = f"({column} -> %s)"
    if op is Operator.EXISTS:
        params.append(c.key)
        return f"({column} ? %s)" if operand else f"NOT ({column} ? %s)"
    if op in (Operator.EQ, Operator.NE):
        params.extend([c.key, _json(operand)])
        test = f"coalesce({field} = %s::jsonb, false)"
        return test if op is Operator.EQ else f"NOT {test}"
    if op in COMPARISONS:
        params.extend([c.key, c.key, _json(operand)])
        return (
            f"(CASE WHEN jsonb_typeof({field}) = 'number' "
            f"THEN {field} {_COMPARE[op]} %s::jsonb ELSE false END)"
        )
    if op in (Operator.IN, Operator.NIN):
        values = [_json(v) for v in operand]  # type: ignore[union-attr]
        params.extend([c.key, values])
        test = f"coalesce({field} = ANY(%s::jsonb[]), false)"
        return test if op is Operator.IN else f"NOT {test}"
    params.extend([c.key, c.key, _json([operand])])
    test = f"(CASE WHEN jsonb_typeof({field}) = 'array' THEN {field} @> %s::jsonb ELSE false END)"
    return test if op is Operator.CONTAINS else f"NOT {test}"


def document_sql(f: DocumentFilter, params: list[Any], column: str = "document") -> str:
    """A boolean SQL expression for ``where_document``: case-sensitive substring tests, a
    missing document reading as ``''``.

    >>> from embedlab.store.filters import parse_where_document
    >>> params = []
    >>> document_sql(parse_where_document({"$contains": "cat"}), params), params
    ("(strpos(coalesce(document, ''), %s) > 0)", ['cat'])
    """
    if isinstance(f, DocumentAll):
        return "true"
    if isinstance(f, TextCondition):
        params.append(f.text)
        return f"(strpos(coalesce({column}, ''), %s) {'=' if f.negated else '>'} 0)"
    if isinstance(f, DocumentAnd | DocumentOr):
        joiner = " AND " if isinstance(f, DocumentAnd) else " OR "
        return "(" + joiner.join(document_sql(c, params, column) for c in f.children) + ")"
    if isinstance(f, DocumentNot):
        return f"NOT ({document_sql(f.child, params, column)})"
    raise InvalidFilterError(f"expected a parsed document filter, got {f!r}")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)
