"""Checks at the store's boundary: ids, vectors, documents, metadata lists, k and include.

Everything a call receives is validated before anything is written, so a bad batch is
refused whole and the stored data stays as it was.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_int, check_utf8
from embedlab.errors import (
    DimensionMismatchError,
    DuplicateIdError,
    InvalidParameterError,
)
from embedlab.store._state import Spec
from embedlab.store.index._faiss import squared_norm
from embedlab.store.metadata import Metadata, check_metadata

__all__ = [
    "MAX_K",
    "MAX_NAME",
    "Batch",
    "Include",
    "check_documents",
    "check_ids",
    "check_include",
    "check_k",
    "check_keyword_terms",
    "check_metadata_list",
    "check_metadata_patches",
    "check_name",
    "check_queries",
    "check_vectors",
    "show_values",
]

MAX_K = 10_000
MAX_NAME = 128
_SHOWN = 5


class Include(StrEnumOption):
    """What a get or query returns besides ids (and distances)."""

    METADATA = "metadata"
    DOCUMENTS = "documents"
    VECTORS = "vectors"


_WORD = re.compile(r"\w+")
_PARSED: dict[tuple[object, ...], frozenset[Include]] = {}
_ALIASES = {"metadatas": "metadata", "embeddings": "vectors", "document": "documents"}


class Batch:
    """A validated write: ids, vectors in stored form, metadata, documents."""

    __slots__ = ("documents", "ids", "metadata", "vectors")

    def __init__(
        self,
        ids: list[str],
        vectors: npt.NDArray[Any],
        metadata: list[Metadata],
        documents: list[str | None],
    ) -> None:
        self.ids = ids
        self.vectors = vectors
        self.metadata = metadata
        self.documents = documents


def check_include(include: Iterable[str] | str) -> frozenset[Include]:
    """Parse ``include`` (a str or several); Chroma's names metadatas/embeddings also work."""
    if isinstance(include, tuple) and include in _PARSED:
        return _PARSED[include]
    if isinstance(include, str):
        items: list[Any] = [include]
    elif isinstance(include, Iterable) and not isinstance(include, Mapping):
        items = list(include)
    else:  # found by schemathesis through the server: None or 0 raised a bare TypeError
        raise InvalidParameterError(
            f"include must be a str or a list of 'metadata', 'documents', 'vectors'; "
            f"got {include!r}"
        )
    out = set()
    for item in items:
        if item == "distances":
            continue
        name = _ALIASES.get(item, item) if isinstance(item, str) else item
        out.add(Include.parse(name, name="include"))
    parsed = frozenset(out)
    if isinstance(include, tuple) and len(_PARSED) < 64:
        _PARSED[include] = parsed
    return parsed


def check_name(name: object) -> str:
    """A collection name: 1-128 characters, no path separators or control characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(f"a collection name must be a non-empty str; got {name!r}")
    if len(name) > MAX_NAME:
        raise InvalidParameterError(
            f"a collection name must be at most {MAX_NAME} characters; got {len(name)}"
        )
    check_utf8(name, where="a collection name")
    bad = [c for c in name if c in "/\\" or ord(c) < 32 or c == "\x7f"]
    if bad or name in (".", ".."):
        raise InvalidParameterError(
            f"a collection name must not contain path separators or control characters; "
            f"got {name!r}"
        )
    return name


def check_ids(ids: object, *, what: str = "ids") -> list[str]:
    """A list of distinct, non-empty str ids."""
    if isinstance(ids, str) or not isinstance(ids, Sequence | np.ndarray):
        raise InvalidParameterError(f"{what} must be a list of str; got {type(ids).__name__}")
    out = list(ids)
    for i, key in enumerate(out):
        if not isinstance(key, str) or not key:
            raise InvalidParameterError(f"{what}[{i}] must be a non-empty str; got {key!r}")
        if not key.isascii():
            check_utf8(key, where=f"{what}[{i}]")
    if len(set(out)) != len(out):
        repeated = [k for k, c in Counter(out).items() if c > 1]
        raise DuplicateIdError(
            f"{what} repeat {len(repeated)} id(s) inside one batch: {show_values(repeated)}"
        )
    return out


def check_vectors(spec: Spec, vectors: object, count: int) -> npt.NDArray[Any]:
    """``count`` vectors of the collection's dimension, as stored.

    Float metrics: finite float32 rows. Hamming: 0/1 (or bool) rows packed 8 bits a byte.
    """
    array = _as_matrix(vectors, count, spec.dim)
    if spec.binary:
        if not np.isin(array, (0, 1)).all():
            raise InvalidParameterError(
                "vectors of a hamming collection must hold only 0/1 (or bool) components"
            )
        return np.packbits(array.astype(bool), axis=1)
    try:
        out = np.ascontiguousarray(array, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"vectors must be numbers; got an array of {array.dtype}"
        ) from None
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InvalidParameterError(
            f"vectors must be finite; {len(rows)} row(s) hold NaN or infinity "
            f"(rows {show_values(rows.tolist())})"
        )
    _check_norms(out)
    return out


MAX_NORM = float(np.sqrt(np.finfo(np.float32).max) / 2)
"""The largest vector norm stored (about 9.2e18): distances and dot products between any
two such vectors stay finite in float32."""
_FAST_SQUARED_NORM = (0.999 * MAX_NORM) ** 2  # below this a float32 sum of squares is sure


def _check_norms(vectors: npt.NDArray[np.float32]) -> None:
    """Refuse rows whose norm is too large for float32 distances (checked in float64)."""
    if not len(vectors) or float(np.abs(vectors).max()) * np.sqrt(vectors.shape[1]) <= MAX_NORM:
        return  # the common case: no row can be that long
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    rows = np.flatnonzero(norms > MAX_NORM)
    if len(rows):
        raise InvalidParameterError(
            f"vectors must have a norm of at most {MAX_NORM:.3g} (distances between longer "
            f"ones overflow float32); {len(rows)} row(s) are longer (rows "
            f"{show_values(rows.tolist())}, norm {norms[rows[0]]:.3g}); scale them down"
        )


def check_queries(spec: Spec, queries: object) -> tuple[npt.NDArray[Any], bool]:
    """Query vectors as a 2-D stored-form array, and whether one 1-D vector was given."""
    array = np.asarray(queries) if not isinstance(queries, np.ndarray) else queries
    if (
        array.ndim == 1
        and array.dtype == np.float32
        and array.flags.c_contiguous
        and not spec.binary
        and array.shape[0] == spec.dim
        # One C pass: NaN, infinity and overflow all fail the comparison, and the margin
        # covers float32 rounding; anything else takes the exact checks below.
        and squared_norm(array) <= _FAST_SQUARED_NORM
    ):
        return array[None, :], True  # the common case: one finite float32 vector
    single = array.ndim == 1
    if single:
        array = array[None, :]
    return check_vectors(spec, array, len(array) if array.ndim == 2 else -1), single


def _as_matrix(vectors: object, count: int, dim: int) -> npt.NDArray[Any]:
    try:
        array = vectors if isinstance(vectors, np.ndarray) else np.asarray(vectors)
    except (TypeError, ValueError):
        raise InvalidParameterError("vectors must be a 2-D array of numbers") from None
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise InvalidParameterError(f"vectors must be numbers; got an array of {array.dtype}")
    if array.ndim == 1 and count == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InvalidParameterError(
            f"vectors must be a 2-D array (rows x {dim}); got {array.ndim} dimension(s)"
        )
    if array.shape[1] != dim:
        raise DimensionMismatchError(
            f"the collection holds {dim}-dimensional vectors; got {array.shape[1]} dimensions"
        )
    if count >= 0 and array.shape[0] != count:
        raise InvalidParameterError(f"got {count} ids but {array.shape[0]} vectors")
    return array


def check_documents(documents: object, count: int) -> list[str | None]:
    """``count`` documents: str or None each."""
    if documents is None:
        return [None] * count
    if isinstance(documents, str) or not isinstance(documents, Sequence):
        raise InvalidParameterError(
            f"documents must be a list of str; got {type(documents).__name__}"
        )
    if len(documents) != count:
        raise InvalidParameterError(f"got {count} ids but {len(documents)} documents")
    for i, doc in enumerate(documents):
        if doc is not None and not isinstance(doc, str):
            raise InvalidParameterError(
                f"documents[{i}] must be a str or None; got {type(doc).__name__}"
            )
        if doc is not None:
            check_utf8(doc, where=f"documents[{i}]")
    return list(documents)


def check_metadata_list(metadata: object, count: int) -> list[Metadata]:
    """``count`` validated metadata dicts (None allowed for each, or for all)."""
    if metadata is None:
        return [{} for _ in range(count)]
    if isinstance(metadata, dict) or not isinstance(metadata, Sequence):
        raise InvalidParameterError(
            f"metadata must be a list of dicts, one per id; got {type(metadata).__name__}"
        )
    if len(metadata) != count:
        raise InvalidParameterError(f"got {count} ids but {len(metadata)} metadata entries")
    return [check_metadata(m, where=f"metadata[{i}]") for i, m in enumerate(metadata)]


def check_k(k: object) -> int:
    """The number of results: an int in [1, MAX_K]."""
    return check_int("k", k, minimum=1, maximum=MAX_K)


def check_keyword_terms(text: object) -> list[str]:
    """The words of a keyword query (letters and digits only, so that no backend's query
    syntax is ever interpreted); any of them may match.

    >>> check_keyword_terms("river-bank's loans")
    ['river', 'bank', 's', 'loans']
    """
    if not isinstance(text, str):
        raise InvalidParameterError(f"a keyword query must be a str; got {type(text).__name__}")
    terms: list[str] = _WORD.findall(text)
    if not terms:
        raise InvalidParameterError(f"a keyword query needs at least one word; got {text!r}")
    return terms


def check_metadata_patches(
    metadata: Sequence[Mapping[str, Any] | None] | None, count: int
) -> list[tuple[set[str], Metadata]] | None:
    """``update``'s metadata, per row: the keys to remove (given as None) and values to set."""
    if metadata is None:
        return None
    if isinstance(metadata, Mapping) or not isinstance(metadata, Sequence):
        raise InvalidParameterError(
            f"metadata must be a list of dicts, one per id; got {type(metadata).__name__}"
        )
    if len(metadata) != count:
        raise InvalidParameterError(f"got {count} ids but {len(metadata)} metadata entries")
    out = []
    for i, patch in enumerate(metadata):
        patch = patch or {}
        if not isinstance(patch, Mapping):
            check_metadata(patch, where=f"metadata[{i}]")  # raises with the right message
        removed = {str(k) for k, v in patch.items() if v is None}
        values = check_metadata(
            {k: v for k, v in patch.items() if v is not None}, where=f"metadata[{i}]"
        )
        out.append((removed, values))
    return out


def show_values(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")
