"""Parquet record batches as rows, read by column (Arrow) instead of row by row.

The per-row reader (``_readers._RowParser``) is the reference: this module produces
exactly the batch it would for the common shapes of a row file (a list-of-numbers vector
column without nulls, string or integer ids, a string document column, plain metadata
columns) and hands every other chunk to it unchanged, so unusual files and every error
message (with its row number) come from one place. Reading the vector column as one
flat array, not a Python list per row, is most of the gain (benchmarks/ingest_rows.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.errors import EmbedlabError
from embedlab.store.metadata import Metadata, check_metadata

if TYPE_CHECKING:
    from embedlab.store._readers import RowBatch, RowFields, _RowParser

__all__ = ["parquet_batches"]


def parquet_batches(
    table: Any, file: Path, fields: RowFields, dim: int | None, batch_size: int
) -> Iterator[RowBatch]:
    """Batches of a ``pyarrow.parquet.ParquetFile``, column-wise where the chunk allows."""
    from embedlab.store._readers import _batch, _RowParser

    parser = _RowParser(fields, dim)
    index = 0
    for chunk in table.iter_batches(batch_size=batch_size):
        batch = _columnar(chunk, parser, index)
        if batch is None:  # the reference reader: same rows, or the error with its row
            rows = [
                parser.row(record, index + i, f"{file}, row {index + i}")
                for i, record in enumerate(chunk.to_pylist())
            ]
            batch = _batch(rows)
        index += chunk.num_rows
        yield batch


def _columnar(chunk: Any, parser: _RowParser, start: int) -> RowBatch | None:
    """The chunk as a batch read by column, or None when the per-row reader must decide."""
    import pyarrow as pa  # type: ignore[import-untyped]

    from embedlab.store._readers import RowBatch

    f = parser.fields
    names = chunk.schema.names
    n = chunk.num_rows
    if n == 0 or f.vector not in names or len(set(names)) != len(names):
        return None
    if f.metadata in names and pa.types.is_struct(chunk.schema.field(f.metadata).type):
        return None  # nested metadata objects: per row
    vectors = _vectors(chunk.column(f.vector), parser.width)
    if vectors is None:
        return None
    has_id = f.id in names
    numbered = parser.numbered if parser.numbered is not None else not has_id and not f.id_required
    if numbered:
        if has_id:
            return None
        ids = [str(i) for i in range(start, start + n)]
    else:
        if not has_id:
            return None
        found = _ids(chunk.column(f.id))
        if found is None:
            return None
        ids = found
    documents: list[str | None] | None = None
    if f.document in names:
        column = chunk.column(f.document)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            if not pa.types.is_null(column.type):
                return None
        elif column.null_count < n:
            documents = column.to_pylist()
    rest = [name for name in names if name not in (f.id, f.vector, f.document)]
    try:
        metadata = _metadata(chunk, rest, n)
    except EmbedlabError:
        return None
    parser.numbered = numbered
    parser.width = vectors.shape[1]
    return RowBatch(ids=ids, vectors=vectors, metadata=metadata, documents=documents)


def _vectors(column: Any, width: int | None) -> Any:
    """The list column as an (n, width) float32 matrix, or None if a row is unusual."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    kind = column.type
    lists = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)
    if not any(is_kind(kind) for is_kind in lists):
        return None
    if column.null_count:
        return None
    values = column.flatten()
    if values.null_count or not (
        pa.types.is_floating(values.type) or pa.types.is_integer(values.type)
    ):
        return None
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    first = int(lengths[0])
    if first == 0 or (width is not None and first != width) or (lengths != first).any():
        return None
    flat = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return flat.reshape(len(column), first)


def _ids(column: Any) -> list[str] | None:
    """String ids (none empty) or integer ids as strings; None for anything else."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        return None
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if pc.any(pc.equal(pc.utf8_length(column), 0)).as_py():
            return None
        out: list[str] = column.to_pylist()
        return out
    if pa.types.is_integer(kind):
        return [str(v) for v in column.to_pylist()]
    return None


def _metadata(chunk: Any, names: list[str], n: int) -> list[Metadata]:
    """Each row's other columns as checked metadata, nulls left out."""
    if not names:
        return [{} for _ in range(n)]
    columns = [chunk.column(name).to_pylist() for name in names]
    return [
        check_metadata(
            {k: v for k, v in zip(names, row, strict=True) if v is not None}, where="metadata"
        )
        for row in zip(*columns, strict=True)
    ]
