"""Rows to store, read from files: ``.npy`` (with JSONL metadata, documents and ids beside
it), JSONL with a vector field, Parquet, and trained word vectors.

Every reader checks what it can before the first batch (the files exist, the side files
have one line per vector) and then yields :class:`RowBatch` objects of at most
``batch_size`` rows; ``RowStream.total`` says how many rows to expect, for a progress bar.
A malformed row raises :class:`~embedlab.errors.FormatError` naming the file and the line
(JSONL) or row (Parquet). Ids come from the id field; only when no row has one (and the
field was not named explicitly, ``RowFields.id_required``) are they the row number (from 0)
as a string. A null id, or an id missing from some rows only, is an error.

Example:
    >>> stream = jsonl_rows("rows.jsonl", batch_size=500)  # doctest: +SKIP
    >>> for batch in stream.batches:  # doctest: +SKIP
    ...     collection.add(batch.ids, batch.vectors, batch.metadata, batch.documents)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.errors import (
    DimensionMismatchError,
    FormatError,
    MissingDependencyError,
    MissingFileError,
)
from embedlab.store.metadata import Metadata, check_metadata

if TYPE_CHECKING:
    from embedlab.vectors import WordVectors

__all__ = [
    "RowBatch",
    "RowFields",
    "RowStream",
    "jsonl_rows",
    "npy_rows",
    "npy_vector",
    "parquet_rows",
    "word_vector_rows",
]

PARQUET_PIP = "pip install 'embedlab[parquet]'"


def _json_loads() -> Callable[[str], Any]:
    """orjson's loads when installed (several times faster; its errors are
    json.JSONDecodeError too), else the standard library's."""
    try:
        from orjson import loads
    except ImportError:  # pragma: no cover - orjson is optional
        return json.loads
    return loads


_loads = _json_loads()


@dataclass(frozen=True)
class RowBatch:
    """Rows ready for ``Collection.add``: ids, a float32 matrix, metadata and documents."""

    ids: list[str]
    vectors: npt.NDArray[np.float32]
    metadata: list[Metadata] | None
    documents: list[str | None] | None


@dataclass(frozen=True)
class RowStream:
    """How many rows a source holds, and its batches (read lazily, once)."""

    total: int
    batches: Iterator[RowBatch]


@dataclass(frozen=True)
class RowFields:
    """Which fields of a JSONL or Parquet row hold the id, vector and document.

    Every other field is metadata, unless the row has an object field named ``metadata``,
    which is then the metadata. Null values are left out.
    """

    id: str = "id"
    vector: str = "vector"
    document: str = "document"
    metadata: str = "metadata"
    id_required: bool = False
    """True when the user named the id field: a row without it is then an error."""


# -- .npy with side files -----------------------------------------------------------------
def npy_rows(
    vectors: str | PathLike[str],
    *,
    metadata: str | PathLike[str] | None = None,
    documents: str | PathLike[str] | None = None,
    ids: str | PathLike[str] | None = None,
    dim: int | None = None,
    batch_size: int = 1000,
) -> RowStream:
    """Rows of a 2-D ``.npy`` matrix (of ``dim`` columns, when given), with optional side
    files of one line per row: ``metadata`` (JSONL objects or null), ``documents`` (plain
    text lines, or JSON strings in a ``.jsonl`` file) and ``ids`` (one per line)."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    path = _existing(vectors)
    matrix = _load_npy(path, mmap=True)
    if matrix.ndim != 2:
        raise FormatError(
            f"expected a 2-D matrix (rows x dimensions); got shape {matrix.shape}", path=str(path)
        )
    if dim is not None and matrix.shape[1] != dim:
        raise DimensionMismatchError(
            f"{path} holds {matrix.shape[1]}-dimensional vectors; the collection holds {dim}"
        )
    rows = int(matrix.shape[0])
    sides = {"metadata": metadata, "documents": documents, "ids": ids}
    for side in [_existing(p) for p in sides.values() if p is not None]:
        lines = _count_lines(side, blank=True)
        if lines != rows:
            raise FormatError(f"has {lines} lines but {path} has {rows} vectors", path=str(side))
    return RowStream(rows, _npy_batches(matrix, sides, batch_size))


def npy_vector(path: str | PathLike[str]) -> npt.NDArray[Any]:
    """The one vector in a ``.npy`` file (1-D, or a matrix of one row)."""
    file = _existing(path)
    array = _load_npy(file, mmap=False)
    if array.ndim == 2 and len(array) == 1:
        array = array[0]
    if array.ndim != 1:
        raise FormatError(
            f"expected one vector; got an array of shape {array.shape}", path=str(file)
        )
    return array


def _load_npy(path: Path, *, mmap: bool) -> npt.NDArray[Any]:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)  # type: ignore[no-any-return]
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(f"not a readable .npy file ({exc})", path=str(path)) from None


def _npy_batches(
    matrix: npt.NDArray[Any],
    sides: Mapping[str, str | PathLike[str] | None],
    batch_size: int,
) -> Iterator[RowBatch]:
    meta_path, doc_path, id_path = sides["metadata"], sides["documents"], sides["ids"]
    metas = _side_lines(meta_path, _metadata_line) if meta_path else None
    docs_reader = _document_line if doc_path and Path(doc_path).suffix == ".jsonl" else _text_line
    docs = _side_lines(doc_path, docs_reader) if doc_path else None
    keys = _side_lines(id_path, _id_line) if id_path else None
    for start in range(0, len(matrix), batch_size):
        stop = min(start + batch_size, len(matrix))
        count = stop - start
        yield RowBatch(
            ids=_take(keys, count) if keys is not None else [str(i) for i in range(start, stop)],
            vectors=np.asarray(matrix[start:stop]),
            metadata=_take(metas, count) if metas is not None else None,
            documents=_take(docs, count) if docs is not None else None,
        )


def _side_lines(path: str | PathLike[str], parse: Callable[[str, Path, int], Any]) -> Iterator[Any]:
    """Each line of a side file, parsed (the caller checked the line count)."""
    file = Path(path)
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(_lines(handle, file), start=1):
            yield parse(line.rstrip("\r\n"), file, number)


def _metadata_line(line: str, path: Path, number: int) -> Metadata:
    value = _json(line, path, number)
    if value is not None and not isinstance(value, dict):
        raise FormatError(
            f"expected a JSON object (or null); got {type(value).__name__}",
            path=str(path),
            line=number,
        )
    return _metadata(value or {}, f"{path}, line {number}: metadata")


def _document_line(line: str, path: Path, number: int) -> str | None:
    value = _json(line, path, number)
    if value is not None and not isinstance(value, str):
        raise FormatError(
            f"expected a JSON string (or null); got {type(value).__name__}",
            path=str(path),
            line=number,
        )
    return value


def _text_line(line: str, path: Path, number: int) -> str:
    return line


def _id_line(line: str, path: Path, number: int) -> str:
    key = line.strip()
    if not key:
        raise FormatError("empty id", path=str(path), line=number)
    return key


# -- JSONL and Parquet ----------------------------------------------------------------------
def jsonl_rows(
    path: str | PathLike[str],
    *,
    fields: RowFields = RowFields(),
    dim: int | None = None,
    batch_size: int = 1000,
) -> RowStream:
    """Rows of a JSONL file, one JSON object per line (blank lines are skipped).

    ``dim``, when given, is the vector length every row must have."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    file = _existing(path)
    total = _count_lines(file, blank=False)
    return RowStream(total, _batched(_jsonl_records(file, fields, dim), batch_size))


def _jsonl_records(path: Path, fields: RowFields, dim: int | None) -> Iterator[_Row]:
    parser = _RowParser(fields, dim)
    with path.open(encoding="utf-8") as handle:
        index = 0
        for number, line in enumerate(_lines(handle, path), start=1):
            if not line.strip():
                continue
            record = _json(line, path, number)
            yield parser.row(record, index, f"{path}, line {number}")
            index += 1


def parquet_rows(
    path: str | PathLike[str],
    *,
    fields: RowFields = RowFields(),
    dim: int | None = None,
    batch_size: int = 1000,
) -> RowStream:
    """Rows of a Parquet file (needs pyarrow); the vector column holds lists of numbers.

    Record batches are read by column (see ``_arrow_rows``); batches may be shorter than
    ``batch_size`` where the file's row groups end."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    file = _existing(path)
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError(f"reading Parquet needs pyarrow: {PARQUET_PIP}") from None
    try:
        table = pq.ParquetFile(file)
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"not a readable Parquet file ({exc})", path=str(file)) from None
    names = table.schema_arrow.names
    if fields.vector not in names:
        raise FormatError(
            f"has no {fields.vector!r} column; its columns are {', '.join(names)}", path=str(file)
        )

    from embedlab.store._arrow_rows import parquet_batches

    batches = parquet_batches(table, file, fields, dim, batch_size)
    return RowStream(int(table.metadata.num_rows), batches)


@dataclass(frozen=True)
class _Row:
    id: str
    vector: npt.NDArray[np.float32]
    metadata: Metadata
    document: str | None


class _RowParser:
    """Turns one JSON-like record into a row, keeping the vector length of the first."""

    def __init__(self, fields: RowFields, dim: int | None) -> None:
        self.fields = fields
        self.width = dim
        self.numbered: bool | None = None  # ids are row numbers (decided by the first row)

    def row(self, record: object, index: int, where: str) -> _Row:
        f = self.fields
        if not isinstance(record, dict):
            raise FormatError(f"{where}: expected a JSON object; got {type(record).__name__}")
        if record.get(f.vector) is None:
            raise FormatError(f"{where}: missing the {f.vector!r} field")
        vector = self._vector(record[f.vector], where)
        key = self._key(record, index, where)
        document = record.get(f.document)
        if document is not None and not isinstance(document, str):
            raise FormatError(
                f"{where}: the {f.document!r} field must be a string; got {type(document).__name__}"
            )
        nested = record.get(f.metadata)
        if isinstance(nested, dict):
            meta = nested
        else:
            meta = {k: v for k, v in record.items() if k not in (f.id, f.vector, f.document)}
        return _Row(key, vector, _metadata(meta, f"{where}: metadata"), document)

    def _key(self, record: dict[str, Any], index: int, where: str) -> str:
        """The row's id; row numbers only when the first row has no id field (and no row does)."""
        f = self.fields
        has_id = f.id in record
        if self.numbered is None:
            self.numbered = not has_id and not f.id_required
        if self.numbered:
            if has_id:
                raise FormatError(
                    f"{where}: has an {f.id!r} field but the first row had none (its ids are "
                    "row numbers); give every row an id, or none"
                )
            return str(index)
        if not has_id:
            fields = ", ".join(repr(k) for k in list(record)[:10])
            raise FormatError(
                f"{where}: missing the id field {f.id!r}; the row's fields are {fields}"
            )
        key = record[f.id]
        if isinstance(key, int) and not isinstance(key, bool):
            return str(key)
        if not isinstance(key, str) or not key:
            raise FormatError(
                f"{where}: the {f.id!r} field must be a non-empty string or an int; "
                f"got {_describe(key)}"
            )
        return key

    def _vector(self, value: object, where: str) -> npt.NDArray[np.float32]:
        try:
            vector = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            vector = np.zeros((0, 0), dtype=np.float32)
        if vector.ndim != 1 or not isinstance(value, list | tuple):
            raise FormatError(
                f"{where}: the {self.fields.vector!r} field must be a list of numbers; "
                f"got {_describe(value)}"
            )
        if self.width is None:
            self.width = len(vector)
        elif len(vector) != self.width:
            raise FormatError(
                f"{where}: the vector has {len(vector)} dimensions; expected {self.width}"
            )
        return vector


def _batched(rows: Iterable[_Row], batch_size: int) -> Iterator[RowBatch]:
    """Group rows into batches; documents are None for a batch that has none."""
    chunk: list[_Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == batch_size:
            yield _batch(chunk)
            chunk = []
    if chunk:
        yield _batch(chunk)


def _batch(rows: list[_Row]) -> RowBatch:
    documents = [r.document for r in rows]
    return RowBatch(
        ids=[r.id for r in rows],
        vectors=np.stack([r.vector for r in rows]),
        metadata=[r.metadata for r in rows],
        documents=documents if any(d is not None for d in documents) else None,
    )


# -- word vectors ---------------------------------------------------------------------------
def word_vector_rows(wv: WordVectors, *, batch_size: int = 1000) -> RowStream:
    """Every word as a row: the word is the id, ``{"count": n}`` the metadata when known."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    keys, vectors, counts = wv.keys, wv.vectors, wv.counts

    def batches() -> Iterator[RowBatch]:
        for start in range(0, len(keys), batch_size):
            stop = start + batch_size
            metadata = None
            if counts is not None:
                metadata = [{"count": int(c)} for c in counts[start:stop].tolist()]
            yield RowBatch(keys[start:stop], vectors[start:stop], metadata, None)  # type: ignore[arg-type]

    return RowStream(len(keys), batches())


# -- helpers --------------------------------------------------------------------------------
def _existing(path: str | PathLike[str]) -> Path:
    file = Path(path)
    if not file.is_file():
        raise MissingFileError(f"no such file: {file}")
    return file


def _lines(handle: Iterable[str], path: Path) -> Iterator[str]:
    """The file's lines, turning a decoding failure into a FormatError."""
    try:
        yield from handle
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", path=str(path)) from None


def _count_lines(path: Path, *, blank: bool) -> int:
    """Lines in a text file (blank ones too, or not)."""
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in _lines(handle, path) if blank or line.strip())


def _json(line: str, path: Path, number: int) -> Any:
    try:
        return _loads(line)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=number
        ) from None
    except RecursionError:
        raise FormatError("JSON nested too deeply to read", path=str(path), line=number) from None


def _metadata(value: Mapping[str, Any], where: str) -> Metadata:
    """Validated metadata with null values left out (a missing value is simply absent)."""
    return check_metadata({k: v for k, v in value.items() if v is not None}, where=where)


def _describe(value: object) -> str:
    """A short JSON rendering of a bad value, for an error message."""
    text = json.dumps(value, default=lambda v: type(v).__name__)
    return text if len(text) <= 40 else text[:37] + "..."


def _take(items: Iterator[Any], count: int) -> list[Any]:
    return [next(items) for _ in range(count)]
