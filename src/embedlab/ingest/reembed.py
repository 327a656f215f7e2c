"""Changing a collection's model without downtime: re-encode its stored documents into a
new version, catch up with the writes made meanwhile, and switch in one transaction.

The steps (see :mod:`embedlab.store.versions` for versions and the switch):

1. Every live row must have a document (it is what gets encoded): rows without one are a
   :class:`~embedlab.errors.MissingDocumentsError` before anything is written.
2. The next version ``NAME@v(N+1)`` is created (or found again: a rerun resumes it) with
   the new model, the same metric and index kind.
3. A pass reads the live rows page by page and brings the staged version in line: a row
   missing there or whose document changed is encoded and upserted, a row whose metadata
   alone changed is rewritten with its staged vector, and staged rows no longer live are
   deleted. Rows already in line cost a read, not an encoding: that is what makes an
   interrupted run resumable and later passes cheap.
4. A pass during which the live collection did not change (its sequence number stayed
   put) ends in the switch, which succeeds only if still nothing changed; otherwise
   another pass catches up.

Queries keep being answered by the live (old) version throughout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError, MissingDocumentsError, StoreLockedError
from embedlab.store.versions import stage_version, switch_version

if TYPE_CHECKING:
    from embedlab.encoders import Encoder
    from embedlab.store import Collection, Database

__all__ = ["ReembedReport", "reembed"]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage ``encode`` (the first pass), ``catch-up`` (later
passes) or ``switch``; ``done`` / ``total`` count live rows read in this pass."""

_FIELDS = ("metadata", "documents")


@dataclass(frozen=True)
class ReembedReport:
    """What a re-embedding did.

    ``encoded`` rows were encoded by this run, ``kept`` were already in the staged version
    (a resumed run), ``metadata_updated`` had only new metadata, ``removed`` were deleted
    from it because they left the live collection; ``passes`` over the live rows were
    needed, and ``retired_as`` names where the old version is kept.
    """

    collection: str
    version: int
    model: str
    previous_model: str | None
    rows: int
    encoded: int
    kept: int
    metadata_updated: int
    removed: int
    passes: int
    retired_as: str
    seconds: float
    executor: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Tally:
    encoded: int = 0
    kept: int = 0
    metadata_updated: int = 0
    removed: int = 0


def reembed(
    db: Database,
    name: str,
    model: str | Encoder,
    *,
    batch_size: int = 256,
    encode_batch_size: int = 32,
    progress: Progress | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    max_passes: int = 20,
) -> ReembedReport:
    """Re-encode collection ``name``'s documents with ``model`` (a spec for
    :func:`embedlab.encoders.load`, or an encoder) into a new version and make it live.

    Resumable: after an interruption, the same call continues (rows already re-encoded
    are kept). Incremental: rows added, changed or deleted in the live collection while
    it runs are caught up before the switch. ``executor="ray"`` encodes on a pool of Ray
    actors (``workers``, at ``ray_address`` or a local cluster); the calling process
    writes. Gives up with :class:`~embedlab.errors.StoreLockedError` (the staged version
    kept) if writes keep arriving for ``max_passes`` passes.

    Example:
        >>> from embedlab.ingest.reembed import reembed
        >>> report = reembed(db, "docs", "minilm")  # doctest: +SKIP
        >>> report.retired_as, db.get_collection("docs").model  # doctest: +SKIP
        ('docs@v1', 'minilm')
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    encode_batch_size = check_int("encode_batch_size", encode_batch_size, minimum=1)
    max_passes = check_int("max_passes", max_passes, minimum=1)
    if executor not in ("local", "ray"):
        raise InvalidParameterError(f"executor must be 'local' or 'ray'; got {executor!r}")
    began = time.perf_counter()
    _check_documents(db.get_collection(name), batch_size)
    encoder = _encoder(model)
    encode, close = _encode_function(
        encoder, model, executor, ray_address, workers, encode_batch_size
    )
    try:
        live, staged, version = stage_version(db, name, model=encoder.name, dim=encoder.dim)
        tally = _Tally()
        for number in range(1, max_passes + 1):
            seq = live.sequence
            stage = "encode" if number == 1 else "catch-up"
            _sync(live, staged, encode, batch_size, tally, stage, progress)
            if live.sequence != seq:
                continue  # writes came in during the pass: catch up with them first
            if progress is not None:
                progress("switch", 0, 1)
            retired = switch_version(db, name, live, staged, expect_sequence=seq)
            if retired is not None:
                if progress is not None:
                    progress("switch", 1, 1)
                break
        else:
            raise StoreLockedError(
                f"collection {name!r} kept changing during {max_passes} passes; the new "
                f"version is kept staged as {staged.name!r}: run again to finish"
            )
    finally:
        close()
    return ReembedReport(
        collection=name,
        version=version,
        model=encoder.name,
        previous_model=live.model,
        rows=staged.count(),
        encoded=tally.encoded,
        kept=tally.kept,
        metadata_updated=tally.metadata_updated,
        removed=tally.removed,
        passes=number,
        retired_as=retired,
        seconds=time.perf_counter() - began,
        executor=executor,
    )


def _check_documents(live: Collection, batch_size: int) -> None:
    """Refuse a collection with rows that have no document (nothing is written)."""
    missing: list[str] = []
    total = offset = 0
    while True:
        page = live.get(limit=max(batch_size, 1000), offset=offset, include=["documents"])
        if not page.ids:
            break
        offset += len(page.ids)
        docs: list[str | None] = list(page.documents or [])
        for key, doc in zip(page.ids, docs, strict=True):
            if doc is None:
                total += 1
                if len(missing) < 5:
                    missing.append(key)
    if total:
        raise MissingDocumentsError(_missing_message(live.name, total, missing))


def _missing_message(name: str, total: int, ids: Sequence[str]) -> str:
    return (
        f"collection {name!r} has {total:,} rows without a document (ids "
        f"{', '.join(map(repr, ids))}{', ...' if total > len(ids) else ''}); re-embedding "
        "encodes each row's document: give them documents or delete them first"
    )


def _sync(
    live: Collection,
    staged: Collection,
    encode: Callable[[list[str]], npt.NDArray[np.float32]],
    batch_size: int,
    tally: _Tally,
    stage: str,
    progress: Progress | None,
) -> None:
    """One pass: bring the staged version in line with the live rows."""
    total, offset, seen = live.count(), 0, set()
    while True:
        page = live.get(limit=batch_size, offset=offset, include=_FIELDS)
        if not page.ids:
            break
        offset += len(page.ids)
        ids, metas, docs = list(page.ids), list(page.metadata or []), list(page.documents or [])
        seen.update(ids)
        lacking = [key for key, doc in zip(ids, docs, strict=True) if doc is None]
        if lacking:  # written to the live collection after the first check
            raise MissingDocumentsError(_missing_message(live.name, len(lacking), lacking[:5]))
        have = staged.get(ids, include=_FIELDS)
        known = {
            key: (meta or {}, doc)
            for key, meta, doc in zip(
                have.ids, have.metadata or [], have.documents or [], strict=True
            )
        }
        fresh = [i for i, key in enumerate(ids) if key not in known or known[key][1] != docs[i]]
        relabel = [
            i
            for i, key in enumerate(ids)
            if key in known and known[key][1] == docs[i] and known[key][0] != (metas[i] or {})
        ]
        if fresh:
            vectors = encode([str(docs[i]) for i in fresh])
            _upsert(staged, fresh, ids, vectors, metas, docs)
        if relabel:
            kept = staged.get([ids[i] for i in relabel], include=["vectors"])
            by_id = dict(zip(kept.ids, np.asarray(kept.vectors), strict=True))
            _upsert(staged, relabel, ids, np.stack([by_id[ids[i]] for i in relabel]), metas, docs)
        tally.encoded += len(fresh)
        tally.metadata_updated += len(relabel)
        tally.kept += len(ids) - len(fresh) - len(relabel) if stage == "encode" else 0
        if progress is not None:
            progress(stage, offset, max(total, offset))
    gone: list[str] = []
    offset = 0
    while True:
        page = staged.get(limit=max(batch_size, 1000), offset=offset, include=[])
        if not page.ids:
            break
        offset += len(page.ids)
        gone.extend(key for key in page.ids if key not in seen)
    if gone:
        # A row may have been added to the live collection after this pass read past it:
        # delete only those that are really gone (the next pass catches up the rest).
        present = set(live.get(gone, include=[]).ids)
        gone = [key for key in gone if key not in present]
        if gone:
            tally.removed += staged.delete(gone)


def _upsert(
    staged: Collection,
    rows: list[int],
    ids: list[str],
    vectors: npt.NDArray[Any],
    metas: list[Any],
    docs: list[str | None],
) -> None:
    staged.upsert(
        [ids[i] for i in rows],
        vectors,
        metadata=[metas[i] or None for i in rows],
        documents=[docs[i] for i in rows],
    )


def _encoder(model: str | Encoder) -> Encoder:
    if isinstance(model, str):
        from embedlab.encoders import load

        return load(model)
    from embedlab.encoders import Encoder

    if not isinstance(model, Encoder):
        raise InvalidParameterError(
            f"model must be an encoder spec (str) or an Encoder; got {type(model).__name__}"
        )
    return model


def _encode_function(
    encoder: Encoder,
    model: str | Encoder,
    executor: str,
    address: str | None,
    workers: int | None,
    batch_size: int,
) -> tuple[Callable[[list[str]], npt.NDArray[np.float32]], Callable[[], None]]:
    """How texts are encoded (here, or split over Ray actors) and how that is shut down."""
    if executor == "local":

        def local(texts: list[str]) -> npt.NDArray[np.float32]:
            return np.asarray(encoder.encode(texts, batch_size=batch_size), dtype=np.float32)

        return local, lambda: None
    from embedlab.ingest._reembed_ray import ray_encoder

    return ray_encoder(model, address=address, workers=workers, batch_size=batch_size)
