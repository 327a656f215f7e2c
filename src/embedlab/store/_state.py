"""A collection's in-memory view: positions, vectors, ids, metadata columns and the ANN index.

Everything here is derived from SQLite. Positions 0..n-1 follow row labels in increasing
order (labels only grow, so a catch-up appends); a deleted row's position stays until the
index is rebuilt, marked dead in ``alive``. The view knows the sequence number it has
applied; :meth:`CollectionState.refresh` replays what other processes committed since.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from embedlab.errors import CollectionNotFoundError
from embedlab.metrics import Metric, normalize
from embedlab.store import _calibrate
from embedlab.store._calibrate import RECALL, Calibration
from embedlab.store._columns import MetadataColumns
from embedlab.store._indexfile import (
    IndexFile,
    write_index_file,
)
from embedlab.store._records import CollectionRow, Rows
from embedlab.store._storage import Storage
from embedlab.store.index import INDEX_KINDS, AnnIndex
from embedlab.store.index._faiss import unit_rows
from embedlab.store.metadata import Metadata

_F32 = np.dtype(np.float32)
T = TypeVar("T")

__all__ = [
    "CollectionState",
    "Spec",
    "decode_vectors",
    "encode_vectors",
    "prepare",
    "unpack_vectors",
]

# Save the index file once this many changes are unsaved: max(floor, share of the size).
_AUTOSAVE_FLOOR = 5000
_AUTOSAVE_SHARE = 0.2


class Indexing(Protocol):
    """Whoever adds pending rows to ANN indexes in the background (see ``_indexer``)."""

    def request(self, state: CollectionState) -> None: ...


@dataclass(frozen=True)
class Spec:
    """The settings a collection was created with; fixed for its life."""

    id: int
    name: str
    dim: int
    metric: Metric
    kind: str
    params: dict[str, int]  # the index kind's own parameters
    model: str | None
    recall: float | None = None  # a recall@10 target the search breadth is calibrated to

    @classmethod
    def from_row(cls, row: CollectionRow) -> Spec:
        params = {k: int(v) for k, v in row.index_params.items() if k != RECALL}
        recall = row.index_params.get(RECALL)
        return cls(
            id=row.id,
            name=row.name,
            dim=row.dim,
            metric=Metric(row.metric),
            kind=row.index_kind,
            params=params,
            model=row.model,
            recall=None if recall is None else float(recall),
        )

    @property
    def index_params(self) -> dict[str, float]:
        """The parameters as created: the kind's own, and ``recall`` if there is a target."""
        out: dict[str, float] = dict(self.params)
        if self.recall is not None:
            out[RECALL] = self.recall
        return out

    @property
    def binary(self) -> bool:
        """Hamming collections keep packed bit codes, 8 dimensions a byte."""
        return self.metric is Metric.HAMMING

    @property
    def width(self) -> int:
        """Columns of the stored matrix: dim floats, or dim/8 bytes of bits."""
        return self.dim // 8 if self.binary else self.dim

    @property
    def dtype(self) -> type[np.generic]:
        return np.uint8 if self.binary else np.float32

    def new_index(self) -> AnnIndex:
        return INDEX_KINDS[self.kind](self.dim, self.metric, self.params)


def encode_vectors(vectors: npt.NDArray[Any]) -> list[bytes]:
    """One blob per row: raw little-endian float32, or the packed bits."""
    data = np.ascontiguousarray(vectors)
    return [row.tobytes() for row in data]


def decode_vectors(spec: Spec, blobs: list[bytes]) -> npt.NDArray[Any]:
    """Blobs back into a (rows, width) array."""
    if not blobs:
        return np.zeros((0, spec.width), dtype=spec.dtype)
    return np.frombuffer(b"".join(blobs), dtype=spec.dtype).reshape(len(blobs), spec.width)


def unpack_vectors(spec: Spec, blobs: list[bytes]) -> npt.NDArray[Any]:
    """Stored blobs as the vectors the user gave: float32 rows, or 0/1 uint8 bits."""
    if not blobs:
        return np.zeros((0, spec.dim), dtype=np.uint8 if spec.binary else np.float32)
    data = np.frombuffer(b"".join(blobs), dtype=spec.dtype).reshape(len(blobs), spec.width)
    if spec.binary:
        return np.unpackbits(data, axis=1)[:, : spec.dim]
    return data.copy()


def prepare(spec: Spec, vectors: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Stored vectors in the form the index searches: unit rows for cosine."""
    if spec.metric is Metric.COSINE:
        if len(vectors) == 1 and vectors.dtype is _F32 and vectors.flags.c_contiguous:
            return unit_rows(vectors)  # one query: a copy and one C call
        return normalize(vectors)
    return np.ascontiguousarray(vectors, dtype=spec.dtype)


class CollectionState:
    """The derived, in-memory side of one collection."""

    def __init__(
        self,
        spec: Spec,
        index: AnnIndex,
        *,
        generation: int,
        index_path: Path,
        database_id: str,
    ) -> None:
        self.database_id = database_id
        self.spec = spec
        self.index = index
        # Positions [0, indexed) are in the ANN index; later ones wait for the indexer
        # (a background thread, or the writer itself when there is none) and are found by
        # an exact scan meanwhile. index_lock serialises index additions and searches.
        self.indexed = 0
        self.index_lock = threading.Lock()
        self.indexer: Indexing | None = None
        self.retired = False
        self.generation = generation
        self.index_path = index_path
        self.n = 0
        self.n_alive = 0
        self._labels = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._matrix = np.zeros((0, spec.width), dtype=spec.dtype)
        self._lists = np.zeros(0, dtype=bool)  # rows whose metadata holds a list
        self.any_lists = False
        # False while no row ever added to this view had a document: queries asking for
        # documents then answer None for each without reading SQLite.
        self.documents_seen = False
        self.ids: list[str] = []
        self.metadata: list[Metadata] = []  # decoded once; results get copies
        self.columns = MetadataColumns()
        self.id_pos: dict[str, int] = {}
        self.applied_seq = 0
        self.saved_seq = -1
        self.unsaved = 0
        self.seen_version = -1
        self.broken = False
        # The index file was rebuilt or caught up on load: save it, so that warns once.
        self.stale_file = False
        self._save_backoff = 0  # after a failed save, wait for this many more changes
        self._alive_bits: npt.NDArray[np.uint8] | None = None
        self.calibration: Calibration | None = None
        self.last_query = 0.0  # time.monotonic() of the latest search (the indexer yields)
        # What the exact scan of the unindexed tail has cost queries (seconds) since the
        # indexer last caught up, and what indexing costs per row (measured): while queries
        # arrive, the indexer adds rows only once the scans have cost as much as that.
        self.scan_credit = 0.0
        self.seconds_per_row = 1e-4

    # -- views ------------------------------------------------------------------------
    @property
    def labels(self) -> npt.NDArray[np.int64]:
        return self._labels[: self.n]

    @property
    def alive(self) -> npt.NDArray[np.bool_]:
        return self._alive[: self.n]

    @property
    def matrix(self) -> npt.NDArray[Any]:
        """Prepared vectors by position (unit rows for cosine; packed bits for hamming)."""
        return self._matrix[: self.n]

    @property
    def dead(self) -> int:
        return self.n - self.n_alive

    def alive_bitmap(self) -> npt.NDArray[np.uint8]:
        """``alive`` as a little-endian bitmap (cached until the next change)."""
        if self._alive_bits is None:
            self._alive_bits = np.packbits(self.alive, bitorder="little")
        return self._alive_bits

    def metadata_at(self, pos: int) -> Metadata:
        """A fresh copy of one row's metadata (lists copied too, so callers may mutate it)."""
        return self.metadata_of([pos])[0]

    def ids_of(self, positions: list[int]) -> tuple[str, ...]:
        """The ids at these positions."""
        return _take(self.ids, positions)

    def metadata_of(self, positions: list[int]) -> tuple[Metadata, ...]:
        """Fresh copies of these rows' metadata (lists copied too, so callers may mutate)."""
        rows = _take(self.metadata, positions)
        if not self.any_lists or not self._lists[positions].any():
            return tuple(map(dict.copy, rows))  # copy(): twice as fast as dict(m)
        return tuple({k: list(v) if type(v) is list else v for k, v in m.items()} for m in rows)

    def lookup(
        self, labels: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Positions of the labels found in the view (in the given order) and which were."""
        pos = np.searchsorted(self.labels, labels)
        found = pos < self.n
        found[found] = self.labels[pos[found]] == labels[found]
        return pos[found].astype(np.int64), found

    def positions_of(self, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Positions of labels that are in the view (labels not there are dropped)."""
        pos = np.searchsorted(self.labels, labels)
        inside = pos < self.n
        pos, labels = pos[inside], labels[inside]
        found: npt.NDArray[np.int64] = pos[self.labels[pos] == labels].astype(np.int64)
        return found

    # -- changes ----------------------------------------------------------------------
    def append(
        self,
        labels: npt.NDArray[np.int64],
        ids: list[str],
        vectors: npt.NDArray[Any],
        metadata: list[Metadata],
        *,
        in_index: bool = False,
        documents: bool = True,
    ) -> None:
        """Add live rows at the next positions (vectors prepared, metadata validated).

        ``in_index``: the rows are already in the ANN index (loaded from its file);
        ``documents``: whether any of them may have a document.
        """
        count = len(labels)
        if count == 0:
            return
        self.documents_seen = self.documents_seen or documents
        end = self.n + count
        if end > len(self._labels):
            capacity = max(end, 2 * len(self._labels), 1024)
            self._labels = _grow(self._labels, capacity)
            self._alive = _grow(self._alive, capacity)
            self._matrix = _grow(self._matrix, capacity)
            self._lists = _grow(self._lists, capacity)
        self._labels[self.n : end] = labels
        self._alive[self.n : end] = True
        self._matrix[self.n : end] = vectors
        for offset, key in enumerate(ids):
            self.id_pos[key] = self.n + offset
        self.ids.extend(ids)
        flags = [any(type(v) is list for v in m.values()) for m in metadata]
        self._lists[self.n : end] = flags
        self.any_lists = self.any_lists or any(flags)
        self.metadata.extend(metadata)
        self.columns.append(metadata)
        self.n = end
        self.n_alive += count
        self.unsaved += count
        self._alive_bits = None
        if in_index:
            self.indexed = end
        elif self.indexer is not None:
            self.indexer.request(self)
        else:
            self.index_pending()
            self.calibrate_if_due()

    @property
    def pending(self) -> int:
        """Positions not in the ANN index yet."""
        return self.n - self.indexed

    def index_pending(self, limit: int | None = None) -> int:
        """Add up to ``limit`` pending positions (all when None) to the index; return how many."""
        with self.index_lock:
            start, end = self.indexed, self.n  # read n before the matrix: rows below n exist
            if limit is not None:
                end = min(end, start + limit)
            if end <= start:
                return 0
            began = time.perf_counter()
            self.index.add(self._matrix[start:end])
            spent = time.perf_counter() - began
            self.indexed = end
            self.seconds_per_row = 0.8 * self.seconds_per_row + 0.2 * spent / (end - start)
            self.scan_credit = 0.0 if end == self.n else max(0.0, self.scan_credit - spent)
            return end - start

    def limit_backlog(self, most: int, chunk: int) -> None:
        """Index pending rows in this thread, ``chunk`` at a time, until ``most`` are left."""
        while self.pending > most and self.index_pending(min(chunk, self.pending - most)):
            pass

    def queried_within(self, seconds: float) -> bool:
        """True if a query came in the last ``seconds``."""
        return time.monotonic() - self.last_query < seconds

    def scans_paid(self) -> bool:
        """True once queries have spent on scanning the unindexed rows exactly what
        indexing them would take (then the indexer may hold them up as long)."""
        return self.scan_credit >= self.pending * self.seconds_per_row

    def wait_for_pause(self, quiet: float, most: float) -> bool:
        """Wait (at most ``most`` seconds) until no query came for ``quiet`` seconds; True
        if queries are still arriving (background work then takes a small step anyway)."""
        give_up = time.monotonic() + most
        while True:
            now = time.monotonic()
            if now - self.last_query >= quiet:
                return False
            if now >= give_up:
                return True
            time.sleep(quiet / 2)

    def calibrate_if_due(self) -> None:
        """Measure the search breadth for the recall target when the index has grown by half."""
        if _calibrate.due(self):
            self.calibration = _calibrate.calibrate(self)

    def kill(self, positions: npt.NDArray[np.int64]) -> None:
        """Mark positions dead (their rows were deleted or replaced)."""
        for pos in positions.tolist():
            if self._alive[pos]:
                self._alive[pos] = False
                key = self.ids[pos]
                if self.id_pos.get(key) == pos:
                    del self.id_pos[key]
                self.n_alive -= 1
                self.unsaved += 1
        self._alive_bits = None

    def apply_rows(self, rows: Rows) -> None:
        """Append rows read from SQLite."""
        vectors = prepare(self.spec, decode_vectors(self.spec, rows.blobs))
        metadata = _decode_metadata(rows.metadata)
        self.append(rows.labels, rows.ids, vectors, metadata, documents=rows.any_document)

    @contextmanager
    def following(self, seq: int) -> Iterator[None]:
        """Apply a change this process just committed as ``seq``.

        If applying it fails half-way, the view is marked broken and the next refresh
        loads it again from SQLite, which already holds the change.
        """
        try:
            yield
        except BaseException:
            self.broken = True
            self.seen_version = -1
            raise
        self.applied_seq = seq

    # -- keeping up with SQLite -------------------------------------------------------
    def refresh(self, storage: Storage) -> CollectionState:
        """Replay what other connections committed; return the state to use from now on.

        Returns ``self`` when caught up in place, or a freshly loaded state when the
        collection was compacted elsewhere. Raises CollectionNotFoundError if it was dropped.
        """
        version = storage.data_version()
        if version == self.seen_version:
            return self
        with storage.read():
            row = storage.collection_by_id(self.spec.id)
            if row is None:
                names = [c.name for c in storage.collections()]
                raise CollectionNotFoundError(self.spec.name, names)
            if row.name != self.spec.name:  # renamed by another handle or process
                self.renamed(row.name)
            if self.broken or row.generation != self.generation:
                from embedlab.store._loading import load_state  # it builds views

                fresh = load_state(storage, row, self.index_path)
                fresh.seen_version = version
                return fresh
            if row.seq != self.applied_seq:
                self._catch_up(storage, row.seq)
        self.seen_version = version
        return self

    def renamed(self, name: str) -> None:
        """Take a new name (the settings are otherwise fixed)."""
        self.spec = replace(self.spec, name=name)

    def _catch_up(self, storage: Storage, seq: int) -> None:
        rows = storage.rows_since(self.spec.id, self.applied_seq)
        dead = storage.tombstones_since(self.spec.id, self.applied_seq)
        self.apply_rows(rows)
        self.kill(self.positions_of(dead))
        self.applied_seq = seq

    # -- the index file ---------------------------------------------------------------
    def needs_save(self) -> bool:
        """True once enough changes are unsaved that replaying them would cost too much."""
        threshold = max(_AUTOSAVE_FLOOR, int(_AUTOSAVE_SHARE * self.n))
        return self.unsaved >= threshold + self._save_backoff

    def save_failed(self) -> None:
        """Note a failed save: the next attempt waits for as many changes again."""
        self._save_backoff = self.unsaved

    def save(self) -> None:
        """Write the index file stamped with the sequence applied (caller holds the lock).

        The file holds the positions indexed so far; later rows are indexed again on open.
        """
        with self.index_lock:
            self._write_file()
            lacking = self.n - self.indexed  # rows not in the file: indexed later, unsaved
        self.saved_seq = self.applied_seq
        # Rows still pending when the file was written are not in it: they count as unsaved
        # until the next save, so close() saves again even if the indexer has caught up.
        self.unsaved = lacking
        self._save_backoff = 0
        self.stale_file = False

    def _write_file(self) -> None:
        write_index_file(
            self.index_path,
            IndexFile(
                database_id=self.database_id,
                collection_id=self.spec.id,
                generation=self.generation,
                seq=self.applied_seq,
                kind=self.spec.kind,
                dim=self.spec.dim,
                metric=self.spec.metric.value,
                params=self.spec.params,
                labels=self._labels[: self.indexed].copy(),
                payload=self.index.to_bytes(),
            ),
        )


def _take(items: list[T], positions: list[int]) -> tuple[T, ...]:
    """The items at these positions, as a tuple (one C call for several)."""
    if len(positions) == 1:
        return (items[positions[0]],)
    return itemgetter(*positions)(items) if positions else ()


def _decode_metadata(texts: list[str | None]) -> list[Metadata]:
    return [json.loads(text) if text else {} for text in texts]


def _grow(array: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    out = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out
