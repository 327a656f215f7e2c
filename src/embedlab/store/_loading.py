"""Loading a collection's view: from SQLite's rows, reusing the index file when it provably
matches them, or with an index rebuilt from the rows."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from embedlab.errors import IndexRebuiltWarning
from embedlab.store._indexfile import UnusableIndexFile, read_index_file
from embedlab.store._records import CollectionRow, Rows
from embedlab.store._state import CollectionState, Spec, decode_vectors, prepare
from embedlab.store._storage import Storage
from embedlab.store.index import INDEX_KINDS
from embedlab.store.metadata import Metadata

__all__ = ["build_state", "load_state"]


def load_state(storage: Storage, row: CollectionRow, index_path: Path) -> CollectionState:
    """Build a collection's view from SQLite and its index file (inside a read transaction).

    A usable index file is reused and caught up; a missing, corrupt or inconsistent one is
    replaced by an index rebuilt from the rows, with an :class:`IndexRebuiltWarning`.
    """
    spec = Spec.from_row(row)
    rows = storage.rows_since(spec.id, -1)
    try:
        state = _from_file(spec, row, rows, index_path, storage.database_id)
    except Exception as exc:  # any damage or mismatch of the derived file: rebuild it
        if not isinstance(exc, UnusableIndexFile):
            exc = UnusableIndexFile(f"the index file is corrupt ({type(exc).__name__}: {exc})")
        rebuilt = build_state(storage, row, index_path, rows=rows)
        if len(rows.labels) or index_path.exists():
            warnings.warn(
                f"collection {spec.name!r}: {exc}; rebuilt it from the database "
                f"({len(rows.labels)} vectors)",
                IndexRebuiltWarning,
                stacklevel=4,
            )
            rebuilt.stale_file = True
        return rebuilt
    state.applied_seq = row.seq
    return state


def build_state(
    storage: Storage, row: CollectionRow, index_path: Path, *, rows: Rows | None = None
) -> CollectionState:
    """A view with a new index built from the collection's live rows."""
    spec = Spec.from_row(row)
    state = CollectionState(
        spec,
        spec.new_index(),
        generation=row.generation,
        index_path=index_path,
        database_id=storage.database_id,
    )
    state.apply_rows(storage.rows_since(spec.id, -1) if rows is None else rows)
    state.applied_seq = row.seq
    return state


def _from_file(
    spec: Spec, row: CollectionRow, rows: Rows, path: Path, database_id: str
) -> CollectionState:
    """Reuse the index file if it provably matches the rows; raise UnusableIndexFile if not."""
    entry = read_index_file(path)
    if entry.database_id != database_id:
        raise UnusableIndexFile("the index file belongs to another database")
    expected = (spec.id, row.generation, spec.kind, spec.dim, spec.metric.value, spec.params)
    found = (entry.collection_id, entry.generation, entry.kind, entry.dim, entry.metric)
    if (*found, entry.params) != expected:
        raise UnusableIndexFile("the index file belongs to other settings or an older compaction")
    if entry.seq > row.seq:
        raise UnusableIndexFile("the index file is newer than the database")
    file_labels = entry.labels
    if len(file_labels) > 1 and not bool(np.all(np.diff(file_labels) > 0)):
        raise UnusableIndexFile("the index file's labels are out of order")
    try:
        index = INDEX_KINDS[spec.kind].from_bytes(entry.payload, spec.dim, spec.metric, spec.params)
    except Exception as exc:  # whatever faiss makes of damaged bytes: rebuild
        raise UnusableIndexFile(f"the index file does not load ({exc})") from None
    if index.ntotal != len(file_labels):
        raise UnusableIndexFile("the index file's vector count disagrees with its labels")
    pos = np.searchsorted(file_labels, rows.labels)
    in_file = np.zeros(len(rows.labels), dtype=bool)
    inside = pos < len(file_labels)
    in_file[inside] = file_labels[pos[inside]] == rows.labels[inside]
    # The file holds a prefix of the positions, so every live row up to its last label.
    old = rows.labels <= (file_labels[-1] if len(file_labels) else -1)
    if not bool(np.array_equal(in_file, old)):
        raise UnusableIndexFile("the index file does not match the database's rows")

    state = CollectionState(
        spec, index, generation=row.generation, index_path=path, database_id=database_id
    )
    # Positions 0..len(file_labels)-1 come from the file; rows deleted since are dead.
    width = len(file_labels)
    vectors = np.zeros((width, spec.width), dtype=spec.dtype)
    ids = [""] * width
    meta: list[Metadata] = [{} for _ in range(width)]
    olds = np.flatnonzero(old)
    stored = prepare(spec, decode_vectors(spec, [rows.blobs[i] for i in olds]))
    vectors[pos[olds]] = stored
    for i, p in zip(olds.tolist(), pos[olds].tolist(), strict=True):
        ids[p] = rows.ids[i]
        text = rows.metadata[i]
        if text:
            meta[p] = json.loads(text)
    state.append(file_labels, ids, vectors, meta, in_index=True, documents=rows.any_document)
    alive = np.zeros(width, dtype=bool)
    alive[pos[olds]] = True
    state.kill(np.flatnonzero(~alive).astype(np.int64))
    lag = len(rows.labels) - len(olds)
    news = np.flatnonzero(~old)
    state.apply_rows(
        Rows(
            labels=rows.labels[news],
            ids=[rows.ids[i] for i in news],
            blobs=[rows.blobs[i] for i in news],
            metadata=[rows.metadata[i] for i in news],
            seqs=rows.seqs[news],
            any_document=rows.any_document,
        )
    )
    state.saved_seq = entry.seq
    state.unsaved = lag + int((~alive).sum())
    if state.needs_save():
        warnings.warn(
            f"collection {spec.name!r}: the index file lacked {lag} of the stored vectors "
            f"({row.seq - entry.seq} changes came after its stamp, and it holds only the "
            f"rows indexed when it was saved); caught up from the database",
            IndexRebuiltWarning,
            stacklevel=5,
        )
        state.stale_file = True
    return state
