"""Indexing files into a collection: walk, read, chunk, embed in batches, store; incrementally.

Each chunk is stored with id ``"{path}#{n}"`` (``path`` absolute), the chunk's text as its
document, and metadata ``path``, ``title``, ``chunk`` (its number), ``start`` and ``end``
(character offsets into the extracted text), ``mtime``, ``sha256`` (of the file's bytes
when it was indexed), and the ``chunk_tokens`` and ``overlap`` it was chunked with.

Re-running is incremental. The ``chunk == 0`` row of each file records its hash and
chunking: a file whose bytes hash the same and that was chunked as this run would chunk it
is skipped; a changed file, or one chunked with other ``chunk_tokens`` or ``overlap``,
loses its old chunks and is chunked again; a file that no longer exists under a folder or
glob that was given has its chunks removed. A file's new chunks are written in one
transaction after its old ones are deleted, so an interrupted run leaves every file either
as it was, fully re-indexed, or absent (and indexed on the next run).
"""

from __future__ import annotations

import glob
import hashlib
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab._validation import check_int
from embedlab.errors import (
    DimensionMismatchError,
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    MissingFileError,
    ModelMismatchError,
)
from embedlab.ingest._controls import Bar, interrupts, progress_bars
from embedlab.ingest.chunking import Chunk, chunk_text, token_counter
from embedlab.ingest.readers import SUPPORTED_SUFFIXES, Document, parse_document

if TYPE_CHECKING:
    from embedlab.encoders import Encoder
    from embedlab.ingest.distributed import RayOptions
    from embedlab.store import Collection, Database

__all__ = ["FailedFile", "IngestReport", "index_paths"]

_SPECIAL_TOKENS = 2
"""Room left in a model's window for its special tokens ([CLS] and [SEP], <s> and </s>)."""
_POOL_BATCHES = 16
"""Chunks are queued until this many batches' worth, then embedded longest first: sorted
batches pad little (benchmarks/ingest.py: 0.84-0.87x sentence-transformers' encode-only
rate in file order, 0.92x longest first)."""


@dataclass(frozen=True)
class FailedFile:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What :func:`index_paths` did.

    ``files_seen`` counts the files found; each of them was indexed, skipped as unchanged,
    or failed (``failed`` says why), unless the run was ``interrupted``. ``files_removed``
    counts files gone from the given folders or globs whose chunks were deleted.
    ``encode_seconds`` is the time spent in the encoder, part of ``seconds``.
    """

    collection: str
    model: str
    files_seen: int
    files_indexed: int
    files_unchanged: int
    files_removed: int
    failed: tuple[FailedFile, ...]
    chunks_added: int
    chunks_removed: int
    seconds: float
    encode_seconds: float
    chunk_tokens: int
    overlap: int
    interrupted: bool = False
    executor: str = "local"
    retries: int = 0
    """Work units sent again because their Ray worker died (``executor="ray"``)."""

    @property
    def files_failed(self) -> int:
        return len(self.failed)

    @property
    def encode_share(self) -> float:
        """The share of the run's time spent encoding (0.0 for an instant run)."""
        return self.encode_seconds / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, with the derived counts."""
        document = asdict(self)
        document["failed"] = [asdict(f) for f in self.failed]
        document["files_failed"] = self.files_failed
        document["encode_share"] = self.encode_share
        return document


def index_paths(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    db: Database | str | os.PathLike[str],
    collection: str,
    encoder: Encoder | str,
    *,
    chunk_tokens: int = 128,
    overlap: int = 16,
    batch_size: int = 64,
    progress: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Index files, folders (walked for .txt, .md, .html, .htm, .pdf) and globs.

    ``db`` is a :class:`~embedlab.store.Database` or its folder; ``encoder`` an encoder or
    a spec for :func:`embedlab.encoders.load`. The collection is created (cosine, HNSW,
    ``model=encoder.name``) if missing; an existing one must hold the same model's
    vectors, else :class:`~embedlab.errors.ModelMismatchError`. ``chunk_tokens`` is capped
    to what the model reads in one pass; the default, 128, retrieved long documents better
    than 256 with minilm and short ones about as well (``benchmarks/retrieval.py``, dev
    halves; see benchmarks/RESULTS.md). Chunks are queued 16 batches' worth at a time and embedded
    ``batch_size`` at a time, longest first (normalised); Ctrl-C stops the run after the
    batch in progress (a second Ctrl-C stops at once), and the report says
    ``interrupted``. Unreadable files are reported in ``failed`` and the run goes on.

    ``executor="ray"`` reads, chunks and encodes on a Ray cluster (``workers`` actors, one
    per CPU by default, each holding the model) while this process writes, with the same
    results (see :mod:`embedlab.ingest.distributed`); ``ray_address`` is the cluster's
    address (``"auto"``, ``"HOST:6379"``) and ``None`` starts a local one unless this
    process already called ``ray.init``.

    Example:
        >>> report = index_paths(["docs/"], "my.db", "docs", "minilm")  # doctest: +SKIP
        >>> report.files_indexed, report.chunks_added  # doctest: +SKIP
        (42, 310)
    """
    from embedlab.encoders import load

    chunk_tokens = check_int("chunk_tokens", chunk_tokens, minimum=1)
    overlap = check_int("overlap", overlap, minimum=0, maximum=chunk_tokens // 2)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if executor not in ("local", "ray"):
        raise InvalidParameterError(f"executor must be 'local' or 'ray'; got {executor!r}")
    if workers is not None:
        workers = check_int("workers", workers, minimum=1)
    if not isinstance(collection, str):
        raise InvalidParameterError(
            f"The 'collection' parameter must be a str. Got {type(collection).__name__}."
        )
    files, scopes = _expand(paths)
    enc = load(encoder) if isinstance(encoder, str) else encoder
    window = enc.max_tokens
    if window is not None and chunk_tokens > window - _SPECIAL_TOKENS:
        chunk_tokens = max(1, window - _SPECIAL_TOKENS)
        overlap = min(overlap, chunk_tokens // 2)
    if executor == "local":
        return _index(
            files, scopes, db, collection, enc, chunk_tokens, overlap, batch_size, progress, None
        )
    from embedlab.ingest.distributed import RayOptions

    ray = RayOptions(encoder, ray_address, workers)
    with ray.cluster():  # joined before anything is written
        return _index(
            files, scopes, db, collection, enc, chunk_tokens, overlap, batch_size, progress, ray
        )


def _index(
    files: list[Path],
    scopes: list[_Scope],
    db: Database | str | os.PathLike[str],
    collection: str,
    enc: Encoder,
    chunk_tokens: int,
    overlap: int,
    batch_size: int,
    progress: bool,
    ray: RayOptions | None,
) -> IngestReport:
    from embedlab.store import Database

    if isinstance(db, str | os.PathLike):
        with Database(db) as database:
            return _Run(database, collection, enc, chunk_tokens, overlap, batch_size).go(
                files, scopes, progress, ray
            )
    return _Run(db, collection, enc, chunk_tokens, overlap, batch_size).go(
        files, scopes, progress, ray
    )


def _expand(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> tuple[list[Path], list[_Scope]]:
    """The files to index (absolute, sorted, each once) and the scopes they were found in.

    A folder gives its supported files (hidden ones skipped), recursively; a glob its
    matches (folders walked); a file itself, whatever its suffix. A path that does not exist
    and matches nothing, or a glob that matches no file to index, raises
    :class:`~embedlab.errors.MissingFileError` (before anything is written).
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise InvalidParameterError("The 'paths' parameter must name at least one path.")
    found: dict[str, Path] = {}
    scopes: list[_Scope] = []
    for item in items:
        given = Path(os.fspath(item)).expanduser()
        if given.is_file():
            resolved = given.resolve()
            found.setdefault(str(resolved), resolved)
            scopes.append(_Scope(file=str(resolved)))
        elif given.is_dir():
            root = given.resolve()
            for file in _walk(root):
                found.setdefault(str(file), file)
            scopes.append(_Scope(root=str(root)))
        elif glob.has_magic(str(given)):
            base, pattern = _split_glob(given)
            matched = 0
            for match in sorted(glob.glob(pattern, recursive=True)):
                hit = Path(match)
                walked = _walk(hit.resolve()) if hit.is_dir() else [hit.resolve()]
                for file in walked:
                    if hit.is_dir() or file.suffix.lower() in SUPPORTED_SUFFIXES:
                        found.setdefault(str(file), file)
                        matched += 1
            if not matched:
                raise MissingFileError(
                    f"the glob {str(item)!r} matches nothing to index "
                    f"({', '.join(sorted(SUPPORTED_SUFFIXES))})"
                )
            scopes.append(_Scope(pattern=pattern, root=str(base)))
        else:
            raise MissingFileError(f"{str(item)!r} is not a file or folder and matches nothing")
    return sorted(found.values(), key=str), scopes


@dataclass(frozen=True)
class _Scope:
    """Where files were looked for: one file, a folder (root), or a glob under a root."""

    file: str | None = None
    root: str | None = None
    pattern: str | None = None

    def covers(self, path: str) -> bool:
        if self.file is not None:
            return path == self.file
        inside = self.root is not None and path.startswith(self.root.rstrip(os.sep) + os.sep)
        return inside and (self.pattern is None or fnmatchcase(path, self.pattern))


def _walk(root: Path) -> list[Path]:
    """Supported, visible files under a folder, sorted."""
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                out.append(Path(folder) / name)
    return out


def _split_glob(pattern: Path) -> tuple[Path, str]:
    """A glob's fixed folder (resolved) and the whole pattern made absolute under it."""
    parts = pattern.parts
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = Path(*parts[:fixed]).resolve() if fixed else Path.cwd().resolve()
    return base, str(base.joinpath(*parts[fixed:]))


@dataclass(eq=False)  # hashed by identity
class _Pending:
    """A file read and chunked, waiting for its chunks' vectors."""

    path: str
    document: Document
    chunks: list[Chunk]
    sha256: str
    mtime: float
    replaces: bool
    vectors: dict[int, np.ndarray] = field(default_factory=dict)
    """Each chunk's vector by chunk number, as its batch comes back."""

    @property
    def embedded(self) -> bool:
        return len(self.vectors) == len(self.chunks)


class _Run:
    """One indexing run's state and counters."""

    def __init__(
        self,
        db: Database,
        name: str,
        encoder: Encoder,
        chunk_tokens: int,
        overlap: int,
        batch_size: int,
    ) -> None:
        self.col = _collection(db, name, encoder)
        self.encoder = encoder
        self.count = token_counter(encoder)
        self.chunk_tokens, self.overlap, self.batch_size = chunk_tokens, overlap, batch_size
        self.pending: list[_Pending] = []
        self.indexed = self.unchanged = self.removed = 0
        self.chunks_added = self.chunks_removed = 0
        self.failed: list[FailedFile] = []
        self.encode_seconds = 0.0
        self.interrupted = False

    def go(
        self, files: list[Path], scopes: list[_Scope], progress: bool, ray: RayOptions | None
    ) -> IngestReport:
        """Remove vanished files, then index the files (Ctrl-C stops between batches)."""
        with interrupts() as stop, progress_bars(progress) as bar:
            return self._go(files, scopes, stop, bar, ray)

    def _go(
        self,
        files: list[Path],
        scopes: list[_Scope],
        stop: threading.Event,
        bar: Bar,
        ray: RayOptions | None,
    ) -> IngestReport:
        began = time.perf_counter()
        known = _known_files(self.col)
        current = {str(f) for f in files}
        for path in sorted(known):
            if path not in current and any(scope.covers(path) for scope in scopes):
                self.chunks_removed += self.col.delete(where={"path": path})
                self.removed += 1
        bar.start(len(files))
        retries = 0
        if ray is not None:
            retries = ray.index(self, files, known, stop, bar)
        for file in files if ray is None else ():
            if stop.is_set():
                break
            self._file(file, known.get(str(file)))
            bar.file_done(self.queued)
            if self.queued >= self.batch_size * _POOL_BATCHES:
                self._flush(stop, bar)
        if not stop.is_set() and ray is None:
            self._flush(stop, bar)
        self.interrupted = stop.is_set()
        return IngestReport(
            collection=self.col.name,
            model=self.encoder.name,
            files_seen=len(files),
            files_indexed=self.indexed,
            files_unchanged=self.unchanged,
            files_removed=self.removed,
            failed=tuple(self.failed),
            chunks_added=self.chunks_added,
            chunks_removed=self.chunks_removed,
            seconds=time.perf_counter() - began,
            encode_seconds=self.encode_seconds,
            chunk_tokens=self.chunk_tokens,
            overlap=self.overlap,
            interrupted=self.interrupted,
            executor="local" if ray is None else "ray",
            retries=retries,
        )

    @property
    def queued(self) -> int:
        return sum(len(p.chunks) for p in self.pending)

    def _file(self, file: Path, known: _Indexed | None) -> None:
        """Read, hash and chunk one file; queue it, or count it unchanged or failed."""
        path = str(file)
        try:
            data = file.read_bytes()
            mtime = file.stat().st_mtime
        except OSError as exc:
            self.failed.append(FailedFile(path, f"cannot be read: {exc.strerror or exc}"))
            return
        digest = hashlib.sha256(data).hexdigest()
        if known == _Indexed(digest, self.chunk_tokens, self.overlap):
            self.unchanged += 1
            return
        try:
            document = parse_document(file, data)
        except (FormatError, MissingDependencyError) as exc:
            self._forget(path, known)
            self.failed.append(FailedFile(path, _reason(exc, path)))
            return
        chunks = chunk_text(
            document.text,
            chunk_tokens=self.chunk_tokens,
            overlap=self.overlap,
            count_tokens=self.count,
        )
        if not chunks:
            self._forget(path, known)
            self.failed.append(FailedFile(path, f"no text found in this {document.kind} file"))
            return
        replaces = known is not None
        self.pending.append(_Pending(path, document, chunks, digest, mtime, replaces))

    def _forget(self, path: str, known: _Indexed | None) -> None:
        """Drop the chunks of a file whose new content cannot be indexed."""
        if known is not None:
            self.chunks_removed += self.col.delete(where={"path": path})

    def _flush(self, stop: threading.Event, bar: Bar) -> None:
        """Embed the queued chunks a batch at a time, longest first (texts of one length
        batch with little padding); store each file as soon as all its chunks are done."""
        work = sorted(
            ((item, number) for item in self.pending for number in range(len(item.chunks))),
            key=lambda pair: -len(pair[0].chunks[pair[1]].text),
        )
        for low in range(0, len(work), self.batch_size):
            if stop.is_set():
                break
            batch = work[low : low + self.batch_size]
            began = time.perf_counter()
            vectors = self.encoder.encode(
                [item.chunks[number].text for item, number in batch],
                batch_size=self.batch_size,
                normalize=True,
            )
            self.encode_seconds += time.perf_counter() - began
            for (item, number), vector in zip(batch, vectors, strict=True):
                item.vectors[number] = vector
            for item in dict.fromkeys(item for item, _ in batch):
                if item.embedded:
                    self._store(item)
            bar.chunks_done(len(batch))
        self.pending = []  # the files of an interrupted run's unembedded chunks stay as they were

    def _store(self, item: _Pending) -> None:
        """Replace a file's chunks: delete the old ones, then add the new ones."""
        self.chunks_removed += store_chunks(
            self.col, item, self.encoder.name, chunk_tokens=self.chunk_tokens, overlap=self.overlap
        )
        self.indexed += 1
        self.chunks_added += len(item.chunks)


def store_chunks(
    col: Collection, item: _Pending, model: str, *, chunk_tokens: int, overlap: int
) -> int:
    """Write one file's chunks (vectors of ``model``) into ``col``, its old chunks deleted
    first; the chunks removed. Used by the run's writer, and by Ray workers writing to
    PostgreSQL."""
    removed = col.delete(where={"path": item.path}) if item.replaces else 0
    col.add(
        ids=[f"{item.path}#{chunk.index}" for chunk in item.chunks],
        vectors=np.stack([item.vectors[number] for number in range(len(item.chunks))]),
        metadata=[
            {
                "path": item.path,
                "title": item.document.title,
                "chunk": chunk.index,
                "start": chunk.start,
                "end": chunk.end,
                "mtime": item.mtime,
                "sha256": item.sha256,
                "chunk_tokens": chunk_tokens,
                "overlap": overlap,
            }
            for chunk in item.chunks
        ],
        documents=[chunk.text for chunk in item.chunks],
        model=model,
    )
    return removed


def _collection(db: Database, name: str, encoder: Encoder) -> Collection:
    """The named collection, created for this encoder if missing; its model must match."""
    from embedlab.errors import CollectionNotFoundError

    try:
        col = db.get_collection(name)
    except CollectionNotFoundError:
        return db.create_collection(name, dim=encoder.dim, metric="cosine", model=encoder.name)
    if col.model is not None and col.model != encoder.name:
        raise ModelMismatchError(
            f"collection {name!r} holds embeddings of model {col.model!r}; the encoder is "
            f"{encoder.name!r}. Index with model {col.model!r} or into another collection"
        )
    if col.dim != encoder.dim:
        raise DimensionMismatchError(
            f"collection {name!r} holds {col.dim}-dimensional vectors; the encoder "
            f"{encoder.name!r} makes {encoder.dim}-dimensional ones"
        )
    return col


@dataclass(frozen=True)
class _Indexed:
    """How a file was indexed: the hash of its bytes and the chunking (None: not recorded)."""

    sha256: str
    chunk_tokens: int | None
    overlap: int | None


def _known_files(col: Collection) -> dict[str, _Indexed]:
    """Indexed files → the hash and chunking recorded with their first chunk."""
    if col.count() == 0:
        return {}
    rows = col.get(where={"chunk": 0}, include="metadata")
    known: dict[str, _Indexed] = {}
    for meta in rows.metadata or ():
        path, digest = meta.get("path"), meta.get("sha256")
        tokens, overlap = meta.get("chunk_tokens"), meta.get("overlap")
        if isinstance(path, str) and isinstance(digest, str):
            known[path] = _Indexed(
                digest,
                tokens if isinstance(tokens, int) else None,
                overlap if isinstance(overlap, int) else None,
            )
    return known


def _reason(exc: Exception, path: str) -> str:
    """An error's message without the file name that the report shows beside it."""
    message = str(exc)
    return message[len(path) + 2 :] if message.startswith(path + ": ") else message
