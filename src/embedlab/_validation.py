"""Boundary checks shared by every public entry point (typed errors, no asserts)."""

from __future__ import annotations

import enum
import math
import os
from pathlib import Path
from typing import TypeVar

from embedlab.errors import InvalidParameterError, MissingFileError, shorten

E = TypeVar("E", bound="StrEnumOption")


class StrEnumOption(enum.StrEnum):
    """A string option normalised once; an unknown value lists the valid ones."""

    @classmethod
    def parse(cls: type[E], value: str | E, *, name: str) -> E:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().lower().replace("_", "-")
            for member in cls:
                if member.value == key:
                    return member
        valid = ", ".join(repr(m.value) for m in cls)
        raise InvalidParameterError(
            f"The {name!r} parameter must be one of {valid}. Got {value!r}."
        )


def check_int(name: str, value: object, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Return value as an int, or raise naming the allowed range and what arrived."""
    if isinstance(value, bool) or not isinstance(value, int | _np_integer()):
        raise InvalidParameterError(
            f"The {name!r} parameter must be an int in the range {_range(minimum, maximum)}. "
            f"Got {value!r} instead."
        )
    ivalue: int = int(value)  # type: ignore[call-overload]
    if ivalue < minimum or (maximum is not None and ivalue > maximum):
        raise InvalidParameterError(
            f"The {name!r} parameter must be an int in the range {_range(minimum, maximum)}. "
            f"Got {ivalue} instead."
        )
    return ivalue


def check_float(
    name: str,
    value: object,
    *,
    minimum: float = 0.0,
    maximum: float | None = None,
    inclusive_min: bool = True,
) -> float:
    """Return value as a finite float within bounds, or raise a typed error."""
    if isinstance(value, bool) or not isinstance(value, int | float | _np_number()):
        raise InvalidParameterError(
            f"The {name!r} parameter must be a number. Got {value!r} instead."
        )
    fvalue = float(value)  # type: ignore[arg-type]
    low_ok = fvalue >= minimum if inclusive_min else fvalue > minimum
    if not math.isfinite(fvalue) or not low_ok or (maximum is not None and fvalue > maximum):
        bracket = "[" if inclusive_min else "("
        upper = "inf)" if maximum is None else f"{maximum}]"
        raise InvalidParameterError(
            f"The {name!r} parameter must be a number in the range {bracket}{minimum}, {upper}. "
            f"Got {value!r} instead."
        )
    return fvalue


def check_utf8(
    text: str, *, where: str, error: type[InvalidParameterError] = InvalidParameterError
) -> str:
    """Return text if it can be stored as UTF-8 (no lone surrogates), else raise ``error``.

    Example:
        >>> check_utf8("café", where="ids[0]")
        'café'
        >>> check_utf8("a" + chr(0xDC80), where="ids[0]")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        embedlab.errors.InvalidParameterError: ids[0]: expected valid Unicode text; got a lone ...
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(
            f"{where}: expected valid Unicode text; got a lone surrogate "
            f"{text[exc.start]!r} at character {exc.start} of {shorten(repr(text), 80)}"
        ) from None
    return text


def check_codec_errors(name: str, value: object) -> str:
    """Return value if it names a codec error handler ('strict', 'replace', ...)."""
    import codecs

    try:
        codecs.lookup_error(value)  # type: ignore[arg-type]
    except (LookupError, TypeError):
        raise InvalidParameterError(
            f"The {name!r} parameter must name a codec error handler such as "
            f"'strict', 'replace' or 'ignore'. Got {value!r}."
        ) from None
    return str(value)


def check_readable_file(path: str | os.PathLike[str], *, what: str = "file") -> Path:
    """Return path as a Path if it is a readable file, else raise MissingFileError."""
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"{what} not found: {p}")
    if not p.is_file():
        raise MissingFileError(f"{what} is not a regular file: {p}")
    if not os.access(p, os.R_OK):
        raise MissingFileError(f"{what} is not readable: {p}")
    return p


def _range(minimum: int, maximum: int | None) -> str:
    return f"[{minimum}, {'inf)' if maximum is None else str(maximum) + ']'}"


def _np_integer() -> type:
    import numpy as np

    return np.integer


def _np_number() -> type:
    import numpy as np

    return np.number
