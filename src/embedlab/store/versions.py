"""Versions of a collection: the live one answers under the collection's name, others are
kept beside it as ``NAME@vN`` until dropped.

A new version is *staged* as the collection ``NAME@v(N+1)`` (filled by
:func:`embedlab.ingest.reembed.reembed`), then *switched*: in one transaction of the
backend, the live collection is renamed ``NAME@vN`` and the staged one ``NAME``, but only
if the live collection's sequence number is still the one the caller last caught up with
(so no write is left behind). Readers that open ``NAME`` see the old version or the new
one, never a mix. Each version carries a lineage record (its version number, model, the
model it was re-embedded from, its state), stored by the backend with the collection's id
so it follows renames.

A :class:`~embedlab.store.Collection` handle is bound to the version it opened: one held
from before a switch keeps reading (and writing) that version, now ``NAME@vN``; open the
collection by name again to use the new one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from embedlab.errors import CollectionExistsError, CollectionNotFoundError, InvalidParameterError
from embedlab.store.collection import Collection
from embedlab.store.database import Database

__all__ = [
    "VersionInfo",
    "drop_version",
    "list_versions",
    "stage_version",
    "switch_version",
    "version_name",
]

LIVE, RETIRED, STAGED = "live", "retired", "staged"


@dataclass(frozen=True)
class VersionInfo:
    """One version of a collection: where it is stored, its model and its state.

    ``state`` is ``live`` (answers under the collection's name), ``staged`` (being
    filled, not switched yet) or ``retired`` (kept until dropped). ``previous_model`` and
    ``reembedded_from`` say what the version was re-embedded from (None for an original).
    """

    collection: str
    version: int
    state: str
    model: str | None
    dim: int
    count: int
    previous_model: str | None
    reembedded_from: int | None
    created: float


def version_name(name: str, version: int) -> str:
    """The collection that keeps version ``version`` of ``name`` when it is not live.

    Example:
        >>> version_name("docs", 2)
        'docs@v2'
    """
    return f"{name}@v{version}"


def list_versions(db: Database, name: str) -> list[VersionInfo]:
    """Every version of collection ``name``, oldest first (the live one included).

    Example:
        >>> import tempfile, embedlab
        >>> from embedlab.store.versions import list_versions
        >>> db = embedlab.Database(tempfile.mkdtemp())
        >>> _ = db.create_collection("docs", dim=2, model="m1")
        >>> [(v.version, v.state, v.model) for v in list_versions(db, "docs")]
        [(1, 'live', 'm1')]
        >>> db.close()
    """
    infos = {info.name: info for info in db.list_collections()}
    if name not in infos:
        raise CollectionNotFoundError(name, sorted(infos))
    pattern = re.compile(re.escape(name) + r"@v(\d+)")
    out = []
    for stored, info in infos.items():
        if stored != name and not pattern.fullmatch(stored):
            continue
        record = _lineage(db, stored)
        if stored != name and record.get("version_of") != name:
            continue  # a collection that merely looks like a version
        out.append(
            VersionInfo(
                collection=stored,
                version=int(record.get("version", 1)),
                state=LIVE if stored == name else str(record.get("state", RETIRED)),
                model=info.model,
                dim=info.dim,
                count=info.count,
                previous_model=record.get("previous_model"),
                reembedded_from=record.get("reembedded_from"),
                created=info.created,
            )
        )
    return sorted(out, key=lambda v: v.version)


def drop_version(db: Database, name: str, version: int) -> str:
    """Delete a retired or staged version of ``name`` (never the live one); returns the
    collection it dropped.

    Example:
        >>> drop_version(db, "docs", 1)  # doctest: +SKIP
        'docs@v1'
    """
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidParameterError(f"version must be an int; got {version!r}")
    found = {v.version: v for v in list_versions(db, name)}
    if version not in found:
        raise InvalidParameterError(
            f"collection {name!r} has no version {version}; it has "
            + ", ".join(f"{v} ({found[v].state})" for v in sorted(found))
        )
    if found[version].state == LIVE:
        raise InvalidParameterError(
            f"version {version} is the live version of {name!r}; re-embed to replace it, or "
            "drop the whole collection with delete_collection"
        )
    db.delete_collection(found[version].collection)
    return found[version].collection


def stage_version(
    db: Database, name: str, *, model: str, dim: int
) -> tuple[Collection, Collection, int]:
    """The live collection, the staged next version (created, or found again to resume)
    and that version's number. A staged version for another model is refused.

    Example:
        >>> live, staged, number = stage_version(db, "docs", model="m2", dim=8)  # doctest: +SKIP
    """
    live = db.get_collection(name)
    record = _lineage(db, name)
    current = int(record.get("version", 1))
    target = version_name(name, current + 1)
    try:
        staged = db.get_collection(target)
    except CollectionNotFoundError:
        params = live.index_params if dim == live.dim else None  # PQ's m follows the dim
        staged = db.create_collection(
            target, dim=dim, metric=live.metric, index=live.index, index_params=params, model=model
        )
        _mark_staged(db, name, target, current, live.model)
        return live, staged, current + 1
    mine = _lineage(db, target)
    if not mine and staged.count() == 0 and staged.model == model:
        # created by a run stopped before it could record the lineage: take it over
        _mark_staged(db, name, target, current, live.model)
        mine = _lineage(db, target)
    if mine.get("version_of") != name or mine.get("state") != STAGED:
        raise CollectionExistsError(
            f"collection {target!r} exists and is not a staged version of {name!r}; rename or "
            "drop it to re-embed"
        )
    if staged.model != model or staged.dim != dim:
        raise InvalidParameterError(
            f"version {current + 1} of {name!r} is being re-embedded with model "
            f"{staged.model!r} ({staged.dim} dims); got model {model!r} ({dim} dims). Finish "
            f"it with that model, or drop it first (drop_version(db, {name!r}, {current + 1}))"
        )
    return live, staged, current + 1


def switch_version(
    db: Database, name: str, live: Collection, staged: Collection, *, expect_sequence: int
) -> str | None:
    """Make ``staged`` the live ``name`` in one transaction if ``live`` has not changed
    since ``expect_sequence``; returns the name the old version is kept under, or None
    (nothing changed) when a write came in first.

    Example:
        >>> seq = live.sequence  # doctest: +SKIP
        >>> switch_version(db, "docs", live, staged, expect_sequence=seq)  # doctest: +SKIP
        'docs@v1'
    """
    old = _lineage(db, name)
    new = _lineage(db, staged.name)
    version = int(old.get("version", 1))
    retired = version_name(name, version)
    now = time.time()
    records = {
        retired: {**old, "version_of": name, "version": version, "state": RETIRED, "retired": now},
        name: {**new, "state": LIVE, "switched": now},
    }
    switched = _backend(db).switch_version(
        name, staged.name, retired, expect_sequence=expect_sequence, records=records
    )
    return retired if switched else None


def _mark_staged(
    db: Database, name: str, target: str, current: int, previous_model: str | None
) -> None:
    _backend(db).set_lineage(
        target,
        {
            "version_of": name,
            "version": current + 1,
            "state": STAGED,
            "previous_model": previous_model,
            "reembedded_from": current,
            "started": time.time(),
        },
    )


def _lineage(db: Database, name: str) -> dict[str, Any]:
    return _backend(db).lineage(name) or {}


def _backend(db: Database) -> Any:
    db._check_open()
    return db._backend
