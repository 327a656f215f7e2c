"""Compaction, index rebuilds and the consistency check of a collection."""

from __future__ import annotations

import json

import numpy as np

from embedlab.errors import EmbedlabError, StoreIOError
from embedlab.store._indexfile import UnusableIndexFile, read_index_file
from embedlab.store._loading import build_state
from embedlab.store._state import CollectionState, decode_vectors
from embedlab.store._storage import Storage
from embedlab.store.metadata import check_metadata
from embedlab.store.results import VerifyReport

__all__ = ["rebuild", "verify"]


def rebuild(
    storage: Storage, state: CollectionState, *, purge: bool
) -> tuple[int, CollectionState]:
    """A new index from the live rows (after dropping tombstones when ``purge``), saved.

    Runs under the write lock. The new generation, the index file and the purge are one
    transaction as far as other processes can tell: they see the new generation only after
    the file stamped with it is in place.
    """
    spec = state.spec
    with storage.write():
        purged = storage.purge_tombstones(spec.id) if purge else 0
        storage.next_seq(spec.id, new_generation=True)
        row = storage.collection_by_id(spec.id)
        if row is None:  # pragma: no cover - dropped under our write lock is impossible
            raise RuntimeError("collection vanished during rebuild")
        fresh = build_state(storage, row, state.index_path)
        try:
            fresh.save()
        except OSError as exc:  # rolls the transaction back: nothing changed
            raise StoreIOError(
                f"could not write the index file {state.index_path}: {exc.strerror or exc}"
            ) from None
    if purge:
        storage.vacuum()
    return purged, fresh


def verify(storage: Storage, state: CollectionState) -> VerifyReport:
    """Check SQLite, every stored row, the index file and the in-memory view."""
    spec = state.spec
    problems = storage.integrity_problems()
    with storage.read():
        row = storage.collection_by_id(spec.id)
        rows = storage.rows_since(spec.id, -1)
        pending = len(storage.tombstones_since(spec.id, -1))
        changed = storage.checksum_mismatches(spec.id)
    if changed:
        problems.append(
            f"{len(changed)} stored rows no longer match their checksum (a changed vector, "
            f"document or metadata), e.g. {changed[0]!r}"
        )
    seq = row.seq if row else -1
    size = spec.width * np.dtype(spec.dtype).itemsize
    bad_blobs = [key for key, blob in zip(rows.ids, rows.blobs, strict=True) if len(blob) != size]
    if bad_blobs:
        problems.append(
            f"{len(bad_blobs)} stored vectors have the wrong size, e.g. {bad_blobs[0]!r}"
        )
    elif not spec.binary and len(rows.blobs):
        finite = np.isfinite(decode_vectors(spec, rows.blobs)).all(axis=1)
        if not finite.all():
            first = rows.ids[int(np.flatnonzero(~finite)[0])]
            problems.append(f"{int((~finite).sum())} stored vectors are not finite, e.g. {first!r}")
    for key, text in zip(rows.ids, rows.metadata, strict=True):
        try:
            check_metadata(json.loads(text) if text else None)
        except (ValueError, EmbedlabError):
            problems.append(f"row {key!r} has unreadable metadata")
            break
    if len(set(rows.ids)) != len(rows.ids):
        problems.append("some ids are stored twice as live rows")
    live_in_view = state.labels[state.alive]
    if not np.array_equal(np.sort(live_in_view), rows.labels):
        problems.append(
            f"the in-memory view has {len(live_in_view)} live rows, the database {len(rows.labels)}"
        )
    with state.index_lock:
        ntotal, indexed = state.index.ntotal, state.indexed
    if ntotal != indexed:
        problems.append(f"the ANN index holds {ntotal} vectors for {indexed} indexed positions")
    try:
        entry = read_index_file(state.index_path)
        lag = seq - entry.seq
        index_file = "current" if lag == 0 else f"{lag} change(s) behind (caught up in memory)"
    except UnusableIndexFile as exc:
        index_file = f"unusable: {exc} (rebuilt in memory)"
    return VerifyReport(
        collection=spec.name,
        rows=len(rows.labels),
        deleted_pending=pending,
        index_vectors=ntotal,
        index_file=index_file,
        problems=tuple(problems),
    )
