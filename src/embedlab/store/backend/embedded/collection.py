"""One collection of the embedded backend: SQLite rows, an in-memory view and a faiss index.

Writes go to SQLite first, under the database's write lock; the in-memory view (ANN index,
metadata columns) follows after the commit. Reads first replay whatever other processes
committed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from embedlab.errors import (
    CollectionNotFoundError,
    DuplicateIdError,
    InvalidParameterError,
    StoreIOError,
    UnknownKeyError,
)
from embedlab.store import _maintenance
from embedlab.store._calibrate import due as calibration_due
from embedlab.store._indexer import CHUNK, MAX_BACKLOG
from embedlab.store._inputs import Batch, Include, show_values
from embedlab.store._search import search
from embedlab.store._state import CollectionState, Spec, encode_vectors, prepare, unpack_vectors
from embedlab.store.backend.base import Patches
from embedlab.store.filters import DocumentFilter, Where, document_filter_sql
from embedlab.store.metadata import check_metadata, metadata_to_json
from embedlab.store.results import CollectionInfo, GetResult, QueryResult, VerifyReport

if TYPE_CHECKING:
    from embedlab.store.backend.embedded.database import EmbeddedDatabase

__all__ = ["EmbeddedCollection"]

R = TypeVar("R", bound=GetResult)
_METADATA, _DOCUMENTS, _VECTORS = Include.METADATA, Include.DOCUMENTS, Include.VECTORS
_FROM_SQL = frozenset((_DOCUMENTS, _VECTORS))  # read from SQLite, not the view


class EmbeddedCollection:
    """A collection held in the database folder's SQLite file and its index file."""

    def __init__(self, db: EmbeddedDatabase, state: CollectionState) -> None:
        self._db = db
        self._state = state
        self._use(state)

    @property
    def spec(self) -> Spec:
        return self._state.spec

    @property
    def name(self) -> str:
        return self._state.spec.name

    @property
    def state(self) -> CollectionState:
        """The in-memory view as it is now (not caught up)."""
        return self._state

    def count(self) -> int:
        with self._db.lock:
            return self._current().n_alive

    def info(self) -> CollectionInfo:
        with self._reading() as state:
            row = self._db.storage.collection_by_id(state.spec.id)
            spec = state.spec
            return CollectionInfo(
                name=spec.name,
                dim=spec.dim,
                metric=spec.metric.value,
                index=spec.kind,
                index_params=spec.index_params,
                model=spec.model,
                count=state.n_alive,
                created=row.created if row else 0.0,
                calibration=state.calibration,
            )

    # -- writing ----------------------------------------------------------------------
    def add(self, batch: Batch) -> None:
        with self._writing() as state:
            existing = [key for key in batch.ids if key in state.id_pos]
            if existing:
                raise DuplicateIdError(
                    f"collection {self.name!r} already has {len(existing)} of these ids: "
                    f"{show_values(existing)}; upsert replaces them"
                )
            self._commit(state, batch, replaced=np.zeros(0, dtype=np.int64))
        state.limit_backlog(MAX_BACKLOG, CHUNK)

    def upsert(self, batch: Batch) -> None:
        with self._writing() as state:
            replaced = [state.id_pos[key] for key in batch.ids if key in state.id_pos]
            self._commit(state, batch, replaced=np.array(replaced, dtype=np.int64))
        state.limit_backlog(MAX_BACKLOG, CHUNK)

    def update(
        self,
        keys: list[str],
        *,
        vectors: npt.NDArray[Any] | None,
        patches: Patches | None,
        documents: list[str | None] | None,
    ) -> None:
        with self._writing() as state:
            missing = [key for key in keys if key not in state.id_pos]
            if missing:
                raise UnknownKeyError(missing[0], what=f"id in collection {self.name!r}")
            positions = np.array([state.id_pos[key] for key in keys], dtype=np.int64)
            labels = state.labels[positions].tolist()
            storage = self._db.storage
            old_vectors = storage.fetch(labels, "vector") if vectors is None else {}
            old_docs = storage.fetch(labels, "document") if documents is None else {}
            merged = []
            for i, pos in enumerate(positions.tolist()):
                meta = state.metadata_at(pos)
                if patches is not None:
                    removed, changes = patches[i]
                    meta = {k: v for k, v in meta.items() if k not in removed}
                    meta.update(changes)
                merged.append(check_metadata(meta))
            if vectors is None:
                blobs = [old_vectors[label] for label in labels]
                stored = np.frombuffer(b"".join(blobs), dtype=self.spec.dtype)
                vectors = stored.reshape(len(keys), self.spec.width)
            batch = Batch(
                keys,
                vectors,
                merged,
                documents if documents is not None else [old_docs[label] for label in labels],
            )
            self._commit(state, batch, replaced=positions)
        state.limit_backlog(MAX_BACKLOG, CHUNK)

    def delete(self, keys: list[str] | None, where: Where, where_document: DocumentFilter) -> int:
        with self._writing() as state:
            selected = self._select(state, keys, where, where_document)
            if len(selected) == 0:
                return 0
            storage = self._db.storage
            with storage.write():
                seq = storage.next_seq(self.spec.id)
                storage.tombstone(self.spec.id, seq, state.labels[selected].tolist())
            with state.following(seq):
                state.kill(selected)
            return len(selected)

    # -- reading ----------------------------------------------------------------------
    def get(
        self,
        keys: list[str] | None,
        where: Where,
        where_document: DocumentFilter,
        *,
        offset: int,
        limit: int | None,
        include: frozenset[Include],
    ) -> GetResult:
        with self._reading() as state:
            selected = self._select(state, keys, where, where_document)
            end = None if limit is None else offset + limit
            return self._rows(state, selected[offset:end], include, GetResult)

    def query(
        self,
        queries: npt.NDArray[Any],
        k: int,
        where: Where,
        where_document: DocumentFilter,
        *,
        include: frozenset[Include],
        overrides: Mapping[str, int] | None,
        exact_threshold: int,
        max_distance: float | None,
    ) -> list[QueryResult]:
        if where_document.is_all() and _VECTORS not in include:
            # Answered from the view alone (ids, distances, metadata; documents only when
            # the view has never held one): caught up to the latest commit (the catch-up
            # reads in a transaction of its own), no transaction held.
            with self._db.lock:
                state = self._current()
                if _DOCUMENTS not in include or not state.documents_seen:
                    return self._answer(
                        state,
                        queries,
                        k,
                        where,
                        where_document,
                        include,
                        overrides,
                        exact_threshold,
                        max_distance,
                    )
        with self._reading() as state:  # one snapshot for the view and the SQL reads
            return self._answer(
                state,
                queries,
                k,
                where,
                where_document,
                include,
                overrides,
                exact_threshold,
                max_distance,
            )

    def _answer(
        self,
        state: CollectionState,
        queries: npt.NDArray[Any],
        k: int,
        where: Where,
        where_document: DocumentFilter,
        include: frozenset[Include],
        overrides: Mapping[str, int] | None,
        exact_threshold: int,
        max_distance: float | None,
    ) -> list[QueryResult]:
        """The results of a query on a caught-up view (the caller holds the lock)."""
        if state.n_alive == 0:
            raise InvalidParameterError(
                f"collection {self.name!r} is empty; add vectors before querying it"
            )
        allowed = None
        if not where.is_all() or not where_document.is_all():
            allowed = self._mask(state, where, where_document)
        hits = search(
            state,
            prepare(self.spec, queries),
            k,
            allowed=allowed,
            overrides=overrides,
            exact_threshold=exact_threshold,
            max_distance=max_distance,
        )
        if len(hits) == 1:
            distances, positions = hits[0]
            return [self._rows(state, positions, include, QueryResult, distances=distances)]
        return [
            self._rows(state, positions, include, QueryResult, distances=distances)
            for distances, positions in hits
        ]

    def keyword_query(
        self,
        terms: Sequence[str],
        k: int,
        where: Where,
        where_document: DocumentFilter,
        *,
        include: frozenset[Include],
    ) -> QueryResult:
        fts = " OR ".join(f'"{term}"' for term in terms)
        filtered = not where.is_all() or not where_document.is_all()
        with self._reading() as state:
            labels, scores = self._db.storage.keyword_matches(
                self.spec.id, fts, None if filtered else k
            )
            positions, found = state.lookup(labels)
            scores = scores[found]
            keep = state.alive[positions]
            if filtered:
                keep &= self._mask(state, where, where_document)[positions]
            positions, scores = positions[keep][:k], scores[keep][:k]
            return self._rows(state, positions, include, QueryResult, distances=scores)

    # -- maintenance ------------------------------------------------------------------
    def compact(self) -> int:
        with self._writing(autosave=False) as state:
            purged, fresh = _maintenance.rebuild(self._db.storage, state, purge=True)
            self._use(fresh)
            return purged

    def rebuild_index(self) -> None:
        with self._writing(autosave=False) as state:
            _, fresh = _maintenance.rebuild(self._db.storage, state, purge=False)
            self._use(fresh)

    def verify(self) -> VerifyReport:
        with self._db.lock, self._db.storage.guard():
            return _maintenance.verify(self._db.storage, self._current())

    def save_index(self) -> None:
        with self._writing(autosave=False) as state:
            state.index_pending()
            try:
                state.save()
            except OSError as exc:
                raise StoreIOError(
                    f"could not write the index file {state.index_path}: {exc.strerror or exc}"
                ) from None

    def save_quietly(self) -> None:
        """Catch up and save the index file, letting errors out (the caller warns)."""
        state = self._current()
        state.index_pending()
        state.save()

    def wait_for_index(self) -> None:
        with self._db.lock:
            state = self._current()
        state.index_pending()
        state.calibrate_if_due()

    @property
    def pending(self) -> int:
        return self._state.pending

    def sequence(self) -> int:
        with self._db.lock:
            return self._current().applied_seq

    # -- internals --------------------------------------------------------------------
    def _current(self) -> CollectionState:
        """The view, caught up with what other connections committed (caller holds lock)."""
        self._db.check_open()
        if self.spec.id in self._db.dropped:
            names = [c.name for c in self._db.storage.collections()]
            raise CollectionNotFoundError(self.name, names)
        fresh = self._state.refresh(self._db.storage)
        if fresh is not self._state:
            self._use(fresh)
        return fresh

    def _use(self, state: CollectionState) -> None:
        """Adopt a view: retire the one it replaces and hand it to the background indexer."""
        if state is not self._state:
            self._state.retired = True
            self._state = state
        state.indexer = self._db.indexer
        if (state.pending or calibration_due(state)) and state.indexer is not None:
            state.indexer.request(state)

    def renamed(self, name: str) -> None:
        """Take the name the collection now has (it was renamed, here or elsewhere)."""
        self._state.renamed(name)

    def retire(self) -> None:
        """Stop indexing this collection's view (it was dropped)."""
        self._state.retired = True

    @contextmanager
    def _reading(self) -> Iterator[CollectionState]:
        """Hold the thread lock and one read transaction, with the view caught up to it.

        Everything read inside (the view, then documents and vectors by label) comes from
        that one snapshot, so a compaction committed meanwhile elsewhere is not half seen.
        (A query answered from the view alone needs no snapshot: see ``query``.)
        """
        with self._db.lock:
            self._db.check_open()
            with self._db.storage.read():
                yield self._current()

    @contextmanager
    def _writing(self, *, autosave: bool = True) -> Iterator[CollectionState]:
        """Hold the thread lock and the write lock, with the view caught up.

        A failed autosave of the index file only warns: the write is committed, and the
        file (derived data) is saved again later.
        """
        self._db.check_open(write=True)
        with self._db.lock, self._db.write_lock.hold(), self._db.storage.guard():
            self._db.check_open()
            yield self._current()
            if autosave and self._state.needs_save():
                try:
                    self._state.save()
                except OSError as exc:
                    self._state.save_failed()
                    warnings.warn(
                        f"collection {self.name!r}: the write is stored, but its index file "
                        f"could not be saved ({exc}); it is saved again later",
                        RuntimeWarning,
                        stacklevel=4,
                    )

    def _commit(
        self, state: CollectionState, batch: Batch, *, replaced: npt.NDArray[np.int64]
    ) -> None:
        """One transaction: tombstone replaced rows, insert the batch; then update the view."""
        if not batch.ids:
            return
        storage = self._db.storage
        with storage.write():
            seq = storage.next_seq(self.spec.id)
            if len(replaced):
                storage.tombstone(self.spec.id, seq, state.labels[replaced].tolist())
            labels = storage.insert_items(
                self.spec.id,
                seq,
                batch.ids,
                encode_vectors(batch.vectors),
                [metadata_to_json(m) if m else None for m in batch.metadata],
                batch.documents,
            )
        with state.following(seq):
            state.kill(replaced)
            vectors = prepare(self.spec, batch.vectors)
            documents = any(d is not None for d in batch.documents)
            state.append(labels, batch.ids, vectors, batch.metadata, documents=documents)

    def _mask(
        self, state: CollectionState, where: Where, where_document: DocumentFilter
    ) -> npt.NDArray[np.bool_]:
        """Positions that satisfy both filters (liveness not applied)."""
        mask = np.ones(state.n, dtype=bool) if where.is_all() else state.columns.mask(where)
        if not where_document.is_all():
            sql, params = document_filter_sql(where_document)
            labels = self._db.storage.labels_matching_document(self.spec.id, sql, params)
            by_document = np.zeros(state.n, dtype=bool)
            by_document[state.positions_of(labels)] = True
            mask &= by_document
        return mask

    def _select(
        self,
        state: CollectionState,
        keys: list[str] | None,
        where: Where,
        where_document: DocumentFilter,
    ) -> npt.NDArray[np.int64]:
        """Live positions chosen by ids (in their order) and filters (in insertion order)."""
        filtered = not where.is_all() or not where_document.is_all()
        mask = self._mask(state, where, where_document) if filtered else None
        if keys is not None:
            found = [state.id_pos[key] for key in keys if key in state.id_pos]
            positions = np.array(found, dtype=np.int64)
            if mask is not None and len(positions):
                positions = positions[mask[positions]]
            return positions
        live = state.alive if mask is None else state.alive & mask
        return np.flatnonzero(live).astype(np.int64)

    def _rows(
        self,
        state: CollectionState,
        positions: npt.NDArray[np.int64],
        wanted: frozenset[Include],
        kind: type[R],
        **extra: Any,
    ) -> R:
        """A result object for these positions with what ``include`` asks for."""
        plist = positions.tolist()
        fields: dict[str, Any] = extra  # a fresh dict (keyword arguments)
        fields["ids"] = state.ids_of(plist)
        if _METADATA in wanted:
            fields["metadata"] = state.metadata_of(plist)
        if not wanted.isdisjoint(_FROM_SQL):
            labels = state.labels[positions].tolist()
            storage = self._db.storage
            if _DOCUMENTS in wanted:
                docs = storage.fetch(labels, "document") if labels and state.documents_seen else {}
                fields["documents"] = tuple([docs.get(label) for label in labels])
            if _VECTORS in wanted:
                blobs = storage.fetch(labels, "vector") if labels else {}
                fields["vectors"] = unpack_vectors(self.spec, [blobs[label] for label in labels])
        return kind._make(**fields)
