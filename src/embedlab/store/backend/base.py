"""The store's seam: what a backend does for :class:`~embedlab.store.Database` and
:class:`~embedlab.store.Collection`.

The public classes validate every argument (ids, vectors, metadata, filters, ``k``,
``include``) and then call a backend with checked values only. A backend owns everything
below that line: the rows, their metadata and documents, the keyword index, the sequence
numbers and the locking that keeps writers apart. Two implement it:

- ``embedded``: SQLite + faiss in a folder (the default; ``Database("./folder")``);
- ``postgres``: PostgreSQL + pgvector on a server (``Database("postgresql://...")``).

Both promise the same things: a call that returns has committed, a call that raises has
changed nothing, every read sees one snapshot, and filters mean exactly what
:func:`embedlab.store.filters.matches` says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from embedlab.store._inputs import Batch, Include
from embedlab.store._state import Spec
from embedlab.store.filters import DocumentFilter, Where
from embedlab.store.metadata import Metadata
from embedlab.store.results import CollectionInfo, GetResult, QueryResult, VerifyReport

__all__ = ["CollectionBackend", "DatabaseBackend", "Patches"]

Patches = list[tuple[set[str], Metadata]]
"""``update``'s metadata per row: the keys to remove and the values to set."""


class CollectionBackend(Protocol):
    """One collection's rows on one backend (every argument already validated)."""

    @property
    def spec(self) -> Spec: ...

    @property
    def pending(self) -> int: ...

    def count(self) -> int: ...

    def info(self) -> CollectionInfo: ...

    def sequence(self) -> int: ...

    def add(self, batch: Batch) -> None: ...

    def upsert(self, batch: Batch) -> None: ...

    def update(
        self,
        keys: list[str],
        *,
        vectors: npt.NDArray[Any] | None,
        patches: Patches | None,
        documents: list[str | None] | None,
    ) -> None: ...

    def delete(
        self, keys: list[str] | None, where: Where, where_document: DocumentFilter
    ) -> int: ...

    def get(
        self,
        keys: list[str] | None,
        where: Where,
        where_document: DocumentFilter,
        *,
        offset: int,
        limit: int | None,
        include: frozenset[Include],
    ) -> GetResult: ...

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
    ) -> list[QueryResult]: ...

    def keyword_query(
        self,
        terms: Sequence[str],
        k: int,
        where: Where,
        where_document: DocumentFilter,
        *,
        include: frozenset[Include],
    ) -> QueryResult: ...

    def compact(self) -> int: ...

    def rebuild_index(self) -> None: ...

    def verify(self) -> VerifyReport: ...

    def save_index(self) -> None: ...

    def wait_for_index(self) -> None: ...

    def renamed(self, name: str) -> None: ...


class DatabaseBackend(Protocol):
    """A place that holds named collections (a folder, or a PostgreSQL database)."""

    read_only: bool

    def create_collection(
        self,
        name: str,
        *,
        dim: int,
        metric: str,
        kind: str,
        params: dict[str, float],
        model: str | None,
    ) -> CollectionBackend: ...

    def get_collection(self, name: str) -> CollectionBackend: ...

    def list_collections(self) -> list[CollectionInfo]: ...

    def delete_collection(self, name: str) -> None: ...

    def rename_collection(self, name: str, new_name: str) -> None: ...

    # versions (store/versions.py): a lineage record per collection, and the switch
    def lineage(self, name: str) -> dict[str, Any] | None: ...

    def set_lineage(self, name: str, record: dict[str, Any]) -> None: ...

    def switch_version(
        self,
        live: str,
        staged: str,
        retired: str,
        *,
        expect_sequence: int,
        records: dict[str, dict[str, Any]],
    ) -> bool:
        """In one transaction: if ``live`` is at ``expect_sequence``, rename it ``retired``
        and ``staged`` to ``live``, store ``records`` (by new name); else change nothing."""
        ...

    def close(self) -> None: ...


def empty_hits(count: int) -> list[tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]]:
    """``count`` empty (distances, positions) pairs."""
    return [(np.zeros(0, np.float32), np.zeros(0, np.int64)) for _ in range(count)]
