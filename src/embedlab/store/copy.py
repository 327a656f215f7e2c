"""Copying collections between databases of any backend (embedded <-> PostgreSQL).

A copy keeps each row's id, vector, metadata and document, and the collection's settings
and model (its provenance). It is resumable: rows whose id the destination already holds
are skipped, so running the same copy again after an interruption finishes it (a row
changed in the source after it was copied is not copied again; copy into an empty
destination for an exact snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from embedlab._validation import check_int
from embedlab.errors import CollectionNotFoundError, InvalidParameterError
from embedlab.store.collection import Collection
from embedlab.store.database import Database

__all__ = ["CopyReport", "copy_collections"]

_ALL = ("metadata", "documents", "vectors")


@dataclass(frozen=True)
class CopyReport:
    """What one collection's copy did: rows read, written, and skipped as already there."""

    collection: str
    read: int
    written: int
    skipped: int


def copy_collections(
    source: Database,
    destination: Database,
    names: Sequence[str] | None = None,
    *,
    index: str | None = None,
    batch_size: int = 1000,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[CopyReport]:
    """Copy collections (all, or those named) from ``source`` into ``destination``.

    A collection missing in the destination is created with the source's dimension,
    metric, index kind and parameters and model (``index`` picks another kind, for one the
    destination lacks, such as ``ivf-pq`` on PostgreSQL); an existing one must have the
    same dimension, metric and model. ``progress(name, done, total)`` is called after each
    batch.

    Example:
        >>> import tempfile, embedlab
        >>> from embedlab.store.copy import copy_collections
        >>> src, dst = embedlab.Database(tempfile.mkdtemp()), embedlab.Database(tempfile.mkdtemp())
        >>> src.create_collection("c", dim=2, index="flat", model="m").add(["a"], [[1, 0]])
        >>> copy_collections(src, dst)
        [CopyReport(collection='c', read=1, written=1, skipped=0)]
        >>> dst.get_collection("c").model, copy_collections(src, dst)[0].skipped
        ('m', 1)
        >>> src.close(); dst.close()
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    available = [info.name for info in source.list_collections()]
    wanted = list(available if names is None else names)
    for name in wanted:
        if name not in available:
            raise CollectionNotFoundError(name, available)
    return [
        _copy_one(source.get_collection(name), destination, index, batch_size, progress)
        for name in wanted
    ]


def _copy_one(
    src: Collection,
    destination: Database,
    index: str | None,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None,
) -> CopyReport:
    dst = _target(src, destination, index)
    total = src.count()
    read = written = 0
    offset = 0
    while True:
        page = src.get(limit=batch_size, offset=offset, include=_ALL)
        if not page.ids:
            break
        offset += len(page.ids)
        read += len(page.ids)
        present = set(dst.get(list(page.ids), include=()).ids)
        keep = [i for i, key in enumerate(page.ids) if key not in present]
        if keep:
            assert page.vectors is not None and page.metadata is not None
            assert page.documents is not None
            dst.add(
                [page.ids[i] for i in keep],
                page.vectors[keep],
                metadata=[page.metadata[i] for i in keep],
                documents=[page.documents[i] for i in keep],
            )
            written += len(keep)
        if progress is not None:
            progress(src.name, read, total)
    return CopyReport(src.name, read=read, written=written, skipped=read - written)


def _target(src: Collection, destination: Database, index: str | None) -> Collection:
    """The destination collection: created like the source, or checked against it."""
    try:
        dst = destination.get_collection(src.name)
    except CollectionNotFoundError:
        kind = src.index if index is None else index
        params = src.index_params if kind == src.index else None
        return destination.create_collection(
            src.name,
            dim=src.dim,
            metric=src.metric,
            index=kind,
            index_params=params,
            model=src.model,
        )
    for setting in ("dim", "metric", "model"):
        have, want = getattr(dst, setting), getattr(src, setting)
        if have != want:
            raise InvalidParameterError(
                f"collection {src.name!r} exists in the destination with {setting}={have!r}; "
                f"the source has {setting}={want!r}"
            )
    return dst
