"""Results and collections as Arrow tables and pandas / polars DataFrames, and DataFrames
(or Arrow tables) as rows to add.

One table layout, both ways, the same as a JSONL or Parquet row file:

- ``id`` (string), then ``distance`` (float32, query results only), ``document`` (string,
  null where none) and ``vector`` (a fixed-size list of float32) when they were included;
- every metadata key as its own column, nulls where a row lacks the key. When a metadata
  key is one of the names above, or a key's values mix types that one column cannot hold,
  the metadata is one ``metadata`` column of JSON text instead, so nothing is lost.

Going in (``Collection.add(df)``), ``vector`` or ``embedding`` holds the vectors, ``id`` the
ids (row numbers from 0 as strings when there is no ``id`` column), ``document`` the
documents; a ``distance`` column (a query result's) is left out; a ``metadata`` column of
objects (or JSON text) is the metadata, and otherwise every other column is: a null or NaN
value means the row lacks that key.

pandas and polars are optional (``pip install 'embedlab[frames]'``); pyarrow is needed for
either direction of the table forms (``embedlab[parquet]`` or ``frames``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import InvalidParameterError, MissingDependencyError

if TYPE_CHECKING:
    from embedlab.store.collection import Collection
    from embedlab.store.results import GetResult

__all__ = ["frame_batch", "is_frame", "to_arrow", "to_pandas", "to_polars"]

FRAMES_PIP = "pip install 'embedlab[frames]'"
_RESERVED = ("id", "distance", "document", "vector", "metadata")
_VECTOR_COLUMNS = ("vector", "embedding")


def _import(name: str, what: str) -> Any:
    """The optional module ``name``, or a MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise MissingDependencyError(f"{what} needs {name}: {FRAMES_PIP}") from None


# -- results out ------------------------------------------------------------------------
def to_arrow(source: GetResult | Collection) -> Any:
    """A ``pyarrow.Table`` of a result (or of a whole collection, every field included).

    Example:
        >>> import tempfile, embedlab
        >>> db = embedlab.Database(tempfile.mkdtemp())
        >>> col = db.create_collection("t", dim=2, index="flat")
        >>> col.add(["a"], [[1, 0]], [{"lang": "en"}], ["hi"])
        >>> col.get().to_arrow().column_names
        ['id', 'document', 'lang']
        >>> db.close()
    """
    return _table(_import("pyarrow", "to_arrow()"), _whole(source))


def _table(pa: Any, result: GetResult) -> Any:
    columns: dict[str, Any] = {"id": pa.array(result.ids, pa.string())}
    distances = getattr(result, "distances", None)
    if distances is not None:
        columns["distance"] = pa.array(np.asarray(distances, np.float32))
    if result.documents is not None:
        columns["document"] = pa.array(result.documents, pa.string())
    if result.vectors is not None:
        columns["vector"] = _vector_column(pa, result.vectors)
    if result.metadata is not None:
        columns.update(_metadata_columns(pa, result.metadata))
    return pa.table(columns)


def to_pandas(source: GetResult | Collection) -> Any:
    """A ``pandas.DataFrame`` of a result (or a whole collection): one row per match,
    vectors as float32 arrays, metadata ints kept as ints (``None`` where missing).

    Example:
        >>> import tempfile, embedlab
        >>> db = embedlab.Database(tempfile.mkdtemp())
        >>> col = db.create_collection("t", dim=2, index="flat")
        >>> col.add(["a", "b"], [[1, 0], [0, 1]], [{"n": 1}, {}])
        >>> col.query([1, 0], k=2).to_pandas()[["id", "n"]].values.tolist()
        [['a', 1], ['b', None]]
        >>> db.close()
    """
    _import("pandas", "to_pandas()")
    result = _whole(source)
    frame = _table(_import("pyarrow", "to_pandas()"), result).to_pandas(integer_object_nulls=True)
    if result.vectors is not None:  # one float32 array per row, not a list of Python floats
        frame["vector"] = list(np.asarray(result.vectors))
    return frame


def to_polars(source: GetResult | Collection) -> Any:
    """A ``polars.DataFrame`` of a result (or a whole collection); vectors are an
    ``Array(Float32, dim)`` column.

    Example:
        >>> import tempfile, embedlab
        >>> db = embedlab.Database(tempfile.mkdtemp())
        >>> col = db.create_collection("t", dim=2, index="flat")
        >>> col.add(["a"], [[1, 0]])
        >>> col.to_polars().columns
        ['id', 'document', 'vector']
        >>> db.close()
    """
    pl = _import("polars", "to_polars()")
    return pl.from_arrow(to_arrow(source))


def _whole(source: GetResult | Collection) -> GetResult:
    """A result as is; a collection as one result of all its live rows, everything included."""
    from embedlab.store.collection import Collection

    if isinstance(source, Collection):
        return source.get(include=("metadata", "documents", "vectors"))
    return source


def _vector_column(pa: Any, vectors: npt.NDArray[Any]) -> Any:
    matrix = np.ascontiguousarray(vectors)
    width = matrix.shape[1] if matrix.ndim == 2 else 0
    values = pa.array(matrix.reshape(-1))
    return pa.FixedSizeListArray.from_arrays(values, width)


def _metadata_columns(pa: Any, metadata: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One column per key (first-seen order), or one JSON column when keys or types clash."""
    keys: dict[str, None] = {}
    for meta in metadata:
        keys.update(dict.fromkeys(meta))
    if not keys:
        return {}
    if not any(key in _RESERVED for key in keys):
        try:
            return {key: _column(pa, [meta.get(key) for meta in metadata], key) for key in keys}
        except _Mixed:
            pass
    texts = [json.dumps(meta, ensure_ascii=False) if meta else None for meta in metadata]
    return {"metadata": pa.array(texts, pa.string())}


class _Mixed(Exception):
    """A metadata key whose values one Arrow column cannot hold."""


def _column(pa: Any, values: list[Any], key: str) -> Any:
    kinds = {_kind(v) for v in values if v is not None}
    if len(kinds) > 1:
        raise _Mixed(key)
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise _Mixed(key) from None


def _kind(value: object) -> str:
    """bool, int and float are kept apart: one column must not turn 1 into 1.0 or True."""
    if isinstance(value, list):
        return "list:" + ",".join(sorted({_kind(v) for v in value}))
    return type(value).__name__


# -- frames in --------------------------------------------------------------------------
def is_frame(value: object) -> bool:
    """True for a pandas or polars DataFrame or a pyarrow Table / RecordBatch."""
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__
    return (module, name) in {
        ("pandas", "DataFrame"),
        ("polars", "DataFrame"),
        ("pyarrow", "Table"),
        ("pyarrow", "RecordBatch"),
    }


def frame_batch(
    frame: Any,
    vectors: object,
    metadata: object,
    documents: object,
) -> tuple[list[str], npt.NDArray[Any], list[dict[str, Any]] | None, list[str | None] | None]:
    """``(ids, vectors, metadata, documents)`` from a DataFrame or Arrow table given as
    ``add``'s first argument (the other arguments must then be left out)."""
    if not is_frame(frame):
        raise InvalidParameterError(
            "add() and upsert() need vectors, unless the first argument is a DataFrame or "
            f"an Arrow table with a 'vector' column; got ids of type {type(frame).__name__} "
            "and no vectors"
        )
    given = [
        name
        for name, value in (("vectors", vectors), ("metadata", metadata), ("documents", documents))
        if value is not None
    ]
    if given:
        raise InvalidParameterError(
            f"with a DataFrame or Arrow table, the rows come from its columns; got "
            f"{', '.join(given)} as well"
        )
    table = _as_arrow(frame)
    names = list(table.column_names)
    vector_names = [name for name in _VECTOR_COLUMNS if name in names]
    if len(vector_names) != 1:
        found = "both" if vector_names else "neither"
        raise InvalidParameterError(
            f"a DataFrame or Arrow table to add needs one vector column, 'vector' or "
            f"'embedding'; it has {found} (its columns are {', '.join(map(str, names))})"
        )
    vector_name = vector_names[0]
    n = table.num_rows
    ids = _ids(table, n)
    matrix = _matrix(table.column(vector_name), n, vector_name)
    docs = _documents(table) if "document" in names else None
    rest = [name for name in names if name not in ("id", "document", "distance", vector_name)]
    metas = _metadata_rows(table, rest, n) if rest else None
    return ids, matrix, metas, docs


def _as_arrow(frame: Any) -> Any:
    pa = _import("pyarrow", "adding a DataFrame or Arrow table")
    module = type(frame).__module__.split(".")[0]
    if module == "pyarrow":
        return frame if isinstance(frame, pa.Table) else pa.Table.from_batches([frame])
    if module == "polars":
        return frame.to_arrow()
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise InvalidParameterError(f"the DataFrame repeats column names: {columns}")
    data = {}
    for name, column in zip(columns, frame.columns, strict=True):
        values = frame[column].tolist()
        if name in _VECTOR_COLUMNS:
            data[name] = values
            continue
        data[name] = [None if _missing(v) else v for v in values]
    return _PyTable(data, len(frame))


class _PyTable:
    """A pandas frame's columns as Python lists (pandas object columns do not always
    convert to Arrow, and the rows go through Python anyway)."""

    def __init__(self, data: dict[str, list[Any]], rows: int) -> None:
        self.data = data
        self.num_rows = rows
        self.column_names = list(data)

    def column(self, name: str) -> list[Any]:
        return self.data[name]


def _values(column: Any) -> list[Any]:
    return column if isinstance(column, list) else column.to_pylist()


def _missing(value: object) -> bool:
    """None, NaN, pandas' NA / NaT: the row lacks this key."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _ids(table: Any, n: int) -> list[str]:
    if "id" not in table.column_names:
        return [str(i) for i in range(n)]
    out = []
    for i, key in enumerate(_values(table.column("id"))):
        if isinstance(key, int | np.integer) and not isinstance(key, bool | np.bool_):
            out.append(str(int(key)))
        elif isinstance(key, str) and key:
            out.append(key)
        else:
            raise InvalidParameterError(
                f"row {i}: the 'id' column must hold non-empty strings or ints; got {key!r}"
            )
    return out


def _matrix(column: Any, n: int, name: str) -> npt.NDArray[Any]:
    """The vector column as an (n, dim) array: Arrow list columns without Python rows."""
    if not isinstance(column, list):
        import pyarrow as pa  # type: ignore[import-untyped]

        chunks = column.chunks
        kinds = (pa.ListType, pa.LargeListType, pa.FixedSizeListType)
        if chunks and all(isinstance(c.type, kinds) for c in chunks) and column.null_count == 0:
            flat = [np.asarray(c.flatten().to_numpy(zero_copy_only=False)) for c in chunks]
            values = np.concatenate(flat) if flat else np.zeros(0)
            lengths = np.concatenate([_lengths(c) for c in chunks])
            if n and (lengths == lengths[0]).all() and values.dtype.kind in "fiub":
                return values.reshape(n, int(lengths[0]))
        column = column.to_pylist()
    rows = []
    for i, value in enumerate(column):
        if value is None or isinstance(value, str | bytes) or not hasattr(value, "__len__"):
            raise InvalidParameterError(
                f"row {i}: the {name!r} column must hold lists or arrays of numbers; "
                f"got {type(value).__name__}"
            )
        rows.append(np.asarray(value))
    if not rows:
        return np.zeros((0, 0), np.float32)
    widths = {len(r) for r in rows}
    if len(widths) != 1 or rows[0].ndim != 1:
        raise InvalidParameterError(
            f"the {name!r} column's vectors must all have one length; got lengths "
            f"{sorted(widths)[:5]}"
        )
    return np.stack(rows)


def _lengths(chunk: Any) -> npt.NDArray[np.int64]:
    import pyarrow as pa

    if isinstance(chunk.type, pa.FixedSizeListType):
        return np.full(len(chunk), chunk.type.list_size, np.int64)
    offsets = np.asarray(chunk.offsets.to_numpy(zero_copy_only=False), np.int64)
    return np.diff(offsets)


def _documents(table: Any) -> list[str | None]:
    docs = _values(table.column("document"))
    for i, doc in enumerate(docs):
        if doc is not None and not isinstance(doc, str):
            raise InvalidParameterError(
                f"row {i}: the 'document' column must hold strings (or nulls); "
                f"got {type(doc).__name__}"
            )
    return docs


def _metadata_rows(table: Any, names: list[str], n: int) -> list[dict[str, Any]]:
    """Each row's metadata: the ``metadata`` column's objects, else the other columns."""
    if "metadata" in names:
        out = []
        for i, value in enumerate(_values(table.column("metadata"))):
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise InvalidParameterError(
                        f"row {i}: the 'metadata' column's text is not JSON: {value[:40]!r}"
                    ) from None
            if value is not None and not isinstance(value, Mapping):
                raise InvalidParameterError(
                    f"row {i}: the 'metadata' column must hold objects (or JSON text); "
                    f"got {type(value).__name__}"
                )
            out.append({k: v for k, v in (value or {}).items() if not _missing(v)})
        return out
    columns = [_values(table.column(name)) for name in names]
    return [
        {name: _plain(v) for name, v in zip(names, row, strict=True) if not _missing(v)}
        for row in zip(*columns, strict=True)
    ] or [{} for _ in range(n)]


def _plain(value: Any) -> Any:
    """numpy scalars and arrays (as pandas holds them) as Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
