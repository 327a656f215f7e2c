"""Metadata attached to stored vectors: a flat JSON object of scalars and lists of scalars.

A value is a ``str``, a ``bool``, an ``int`` with ``|x| <= 2**53 - 1`` (so that every int is
exactly a float64 and compares exactly), a finite ``float``, or a list of those. ``None``,
nested lists and dicts are rejected; a key that has no value is simply left out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np

from embedlab._validation import check_utf8
from embedlab.errors import InvalidMetadataError

__all__ = [
    "MAX_SAFE_INT",
    "MetaScalar",
    "MetaValue",
    "Metadata",
    "check_metadata",
    "metadata_from_json",
    "metadata_to_json",
]

MetaScalar = str | int | float | bool
MetaValue = MetaScalar | list[MetaScalar]
Metadata = dict[str, MetaValue]

MAX_SAFE_INT = 2**53 - 1
"""The largest int a metadata value or filter operand may hold (exact as a float64)."""


def describe_value(value: object) -> str:
    """Say what arrived, for an error message: ``'abc' (str)``, ``None`` or ``list``."""
    if value is None:
        return "None"
    if isinstance(value, str | int | float | np.generic):
        text = repr(value.item() if isinstance(value, np.generic) else value)
        if len(text) > 60:
            text = text[:57] + "..."
        return f"{text} ({type(value).__name__})"
    return type(value).__name__


def key_path(path: str, key: object) -> str:
    """Extend an error location with a mapping key: ``where["age"]``."""
    if isinstance(key, str):
        return f"{path}[{json.dumps(key, ensure_ascii=False)}]"
    return f"{path}[{key!r}]"


def to_scalar(value: object) -> MetaScalar | None:
    """Return value as a plain Python str, bool, int or float, or None if it is not one."""
    kind = type(value)
    if kind is str or kind is bool:
        return value  # type: ignore[return-value]
    if kind is int:
        return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else None  # type: ignore[operator,return-value]
    if kind is float:
        return value if math.isfinite(value) else None  # type: ignore[arg-type,return-value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        number = int(value)
        return number if -MAX_SAFE_INT <= number <= MAX_SAFE_INT else None
    if isinstance(value, float | np.floating):
        real = float(value)
        return real if math.isfinite(real) else None
    return None


def explain_bad_scalar(value: object) -> str:
    """Say why :func:`to_scalar` refused value: ``expected ..., got ...``."""
    got = describe_value(value)
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return (
            f"expected an int in the range [-(2**53 - 1), 2**53 - 1] (larger ints cannot be "
            f"compared exactly), got {got}"
        )
    if isinstance(value, float | np.floating):
        return f"expected a finite float, got {got}"
    return f"expected a str, int, float or bool, got {got}"


def check_metadata(value: object, *, where: str = "metadata") -> Metadata:
    """Return a validated copy of one metadata dict, or raise naming the bad part.

    Tuples become lists and numpy scalars become Python scalars; ``None`` becomes ``{}``.

    >>> check_metadata({"lang": "en", "year": np.int64(2024), "tags": ("a", "b")})
    {'lang': 'en', 'year': 2024, 'tags': ['a', 'b']}
    >>> check_metadata({"x": float("nan")}, where="m[3]")
    Traceback (most recent call last):
    ...
    embedlab.errors.InvalidMetadataError: m[3]["x"]: expected a finite float, got nan (float)
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidMetadataError(
            f"{where}: expected a dict of str keys to scalar values, got {describe_value(value)}"
        )
    out: Metadata = {}
    for key, item in value.items():
        kind = type(item)
        if (
            type(key) is str
            and key
            and key.isascii()
            and key[0] != "$"
            and (
                (kind is str and item.isascii())
                or kind is bool
                or (kind is int and -MAX_SAFE_INT <= item <= MAX_SAFE_INT)
                or (kind is float and math.isfinite(item))
            )
        ):
            out[key] = item  # the common case, checked inline
            continue
        if not isinstance(key, str):
            raise InvalidMetadataError(f"{where}: expected str keys, got {describe_value(key)}")
        here = key_path(where, key)
        if not key:
            raise InvalidMetadataError(f"{here}: keys must be non-empty strings")
        if key.startswith("$"):
            raise InvalidMetadataError(
                f"{here}: keys must not start with '$' (reserved for filter operators)"
            )
        check_utf8(key, where=here, error=InvalidMetadataError)
        out[str(key)] = _check_value(item, here)
    return out


def _check_value(item: object, here: str) -> MetaValue:
    """One metadata value: a scalar or a flat list of scalars."""
    scalar = to_scalar(item)
    if isinstance(scalar, str):
        return check_utf8(scalar, where=here, error=InvalidMetadataError)
    if scalar is not None:
        return scalar
    if item is None:
        raise InvalidMetadataError(
            f"{here}: expected a str, int, float, bool or a list of those, got None; "
            "to leave a value unset omit the key (filters can test it with $exists)"
        )
    if isinstance(item, list | tuple):
        elements: list[MetaScalar] = []
        for i, element in enumerate(item):
            element_scalar = to_scalar(element)
            if element_scalar is None:
                reason = explain_bad_scalar(element)
                if isinstance(element, list | tuple | Mapping):
                    reason += " (lists hold scalars only, no nesting)"
                raise InvalidMetadataError(f"{here}[{i}]: {reason}")
            if isinstance(element_scalar, str):
                check_utf8(element_scalar, where=f"{here}[{i}]", error=InvalidMetadataError)
            elements.append(element_scalar)
        return elements
    if isinstance(item, str | int | float | np.generic):
        raise InvalidMetadataError(f"{here}: {explain_bad_scalar(item)}")
    raise InvalidMetadataError(
        f"{here}: expected a str, int, float, bool or a list of those, got "
        f"{describe_value(item)} (metadata is flat: no nested dicts)"
    )


def metadata_to_json(m: Metadata) -> str:
    """Compact JSON text of validated metadata, for storage.

    >>> metadata_to_json({"lang": "é", "n": 1})
    '{"lang":"é","n":1}'
    """
    return json.dumps(m, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def metadata_from_json(s: str | None) -> Metadata:
    """Read metadata written by :func:`metadata_to_json`; ``None`` or ``""`` gives ``{}``.

    >>> metadata_from_json('{"lang":"en","tags":["a"]}')
    {'lang': 'en', 'tags': ['a']}
    """
    if not s:
        return {}
    value = json.loads(s)
    if not isinstance(value, dict):
        raise InvalidMetadataError(
            f"stored metadata: expected a JSON object, got {describe_value(value)}"
        )
    return value
