"""Indexing on a Ray cluster: workers read, chunk and encode; the caller alone writes.

:func:`~embedlab.ingest.index_paths` with ``executor="ray"`` runs this. The files are cut
into work units (a few hundred KiB of files each) that go to a pool of Ray actors, each
holding the model once. An actor reads its unit's files, hashes them (a file whose hash
and chunking match what the store recorded is reported unchanged and not parsed), chunks
them, and encodes the chunks longest first in batches sized by tokens (``batch_size *
chunk_tokens`` padded tokens a batch). The vectors come back to the calling process, the
single writer, which stores each file as the local executor does: its old chunks deleted,
its new ones added. The embedded store has one writer at a time anyway; the writer's rate
bounds how far this scales (benchmarks/ray_ingest.py, RESULTS.md).

Faults: a unit whose actor dies (its process killed, its machine lost) is sent again, up
to three times, to a fresh actor that replaces the dead one; its files are written only
once, from the one result that came back, so nothing is written twice or lost. A unit
that kills its actor three times is reported as failed files and the run goes on. Ctrl-C
stops handing out units and ends the actors with the units in flight; the files already
written stay, the rest stay as they were (a second Ctrl-C stops at once); the report says
``interrupted``.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import ClusterError, FormatError, MissingDependencyError
from embedlab.ingest.chunking import Chunk, chunk_text, token_counter
from embedlab.ingest.readers import Document, parse_document

if TYPE_CHECKING:
    from embedlab.encoders import Encoder
    from embedlab.ingest._controls import Bar
    from embedlab.ingest.pipeline import _Indexed, _Pending, _Run

__all__ = ["RAY_PIP", "RayOptions", "connect", "plan_units", "token_batches"]

RAY_PIP = "pip install 'embedlab[ray]'"
_ATTEMPTS = 3
"""Times a unit is sent before its files are reported failed (its actor kept dying)."""
_IN_FLIGHT = 2
"""Units queued per actor, so an actor never waits for the writer between units."""
_UNIT_BYTES = 256 * 1024
_UNIT_FILES = 64


def connect(address: str | None) -> bool:
    """Join the Ray cluster at ``address``, or start a local one (``None``); True if this
    call started or joined it (and the caller should shut it down), False if Ray was
    already initialised in this process.

    ``address`` is what ``ray.init`` takes: ``"auto"`` (a cluster started on this machine
    with ``ray start --head``), ``"HOST:6379"``, or ``"ray://HOST:10001"``.

    Example:
        >>> connect(None)  # doctest: +SKIP
        True
    """
    ray = _ray()
    if ray.is_initialized():
        return False
    _check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "a local Ray cluster" if address is None else f"the Ray cluster at {address!r}"
        raise ClusterError(f"cannot start or join {where}: {exc}") from None
    return True


def _check_reachable(address: str | None) -> None:
    """Refuse at once a HOST:PORT nothing listens on (ray.init would wait minutes)."""
    if address is None or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"a Ray address is auto, HOST:PORT or ray://HOST:PORT; got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ClusterError(
            f"cannot start or join the Ray cluster at {address!r}: {exc.strerror or exc}"
        ) from None


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(f"the Ray executor needs Ray: {RAY_PIP}") from None
    return ray


def plan_units(
    files: list[Path], *, unit_bytes: int | None = None, unit_files: int | None = None
) -> list[list[Path]]:
    """Files cut into consecutive work units of about ``unit_bytes`` (at most
    ``unit_files`` files; a larger file is a unit of its own).

    Example:
        >>> plan_units([])
        []
    """
    unit_bytes = _UNIT_BYTES if unit_bytes is None else unit_bytes
    unit_files = _UNIT_FILES if unit_files is None else unit_files
    units: list[list[Path]] = []
    current: list[Path] = []
    size = 0
    for file in files:
        try:
            length = file.stat().st_size
        except OSError:
            length = 0  # the worker reports it unreadable
        if current and (size + length > unit_bytes or len(current) >= unit_files):
            units.append(current)
            current, size = [], 0
        current.append(file)
        size += length
    if current:
        units.append(current)
    return units


def token_batches(tokens: list[int], budget: int) -> list[list[int]]:
    """Positions grouped into batches, longest first, each within ``budget`` padded
    tokens (its count times its longest item), at least one item a batch.

    Example:
        >>> token_batches([3, 10, 5, 4], budget=12)
        [[1], [2, 3], [0]]
    """
    order = sorted(range(len(tokens)), key=lambda i: -tokens[i])
    batches: list[list[int]] = []
    for position in order:
        if batches and (len(batches[-1]) + 1) * max(tokens[batches[-1][0]], 1) <= budget:
            batches[-1].append(position)
        else:
            batches.append([position])
    return batches


# -- on the workers -------------------------------------------------------------------------
@dataclass
class _FileResult:
    """What a worker made of one file: ``status`` is indexed, unchanged or failed."""

    path: str
    status: str
    reason: str = ""
    title: str = ""
    kind: str = ""
    sha256: str = ""
    mtime: float = 0.0
    chunks: list[Chunk] = field(default_factory=list)
    vectors: npt.NDArray[np.float32] | None = None
    written: int | None = None
    """Chunks the worker wrote itself (PostgreSQL), or None: the caller writes them."""
    removed: int = 0

    def pending(self, replaces: bool) -> _Pending:
        """This indexed file as the writer's ``_Pending`` (``replaces``: it had chunks)."""
        from embedlab.ingest.pipeline import _Pending

        if self.vectors is None:
            raise ValueError(f"{self.path}: no vectors to write")  # pragma: no cover
        document = Document(Path(self.path), "", self.title, self.kind)
        return _Pending(
            self.path,
            document,
            self.chunks,
            self.sha256,
            self.mtime,
            replaces,
            dict(enumerate(self.vectors)),
        )


class _Worker:
    """A Ray actor's state: the model, loaded once, and the chunking settings."""

    def __init__(
        self,
        encoder: Encoder | str,
        chunk_tokens: int,
        overlap: int,
        batch_size: int,
        target: tuple[str, str] | None = None,
    ) -> None:
        from embedlab.encoders import load

        self.encoder = load(encoder) if isinstance(encoder, str) else encoder
        self.count = token_counter(self.encoder)
        self.chunk_tokens, self.overlap, self.batch_size = chunk_tokens, overlap, batch_size
        self.target = target  # (PostgreSQL URL, collection): this worker writes its files
        self.collection: Any = None

    def pid(self) -> int:
        import os

        return os.getpid()

    def run(self, unit: list[tuple[str, _Indexed | None]]) -> tuple[list[_FileResult], float]:
        """Read, chunk and encode one unit; the results and the seconds spent encoding."""
        results = [self._read(Path(path), known) for path, known in unit]
        work = [(r, n) for r in results if r.status == "indexed" for n in range(len(r.chunks))]
        tokens = [self.count(r.chunks[n].text) for r, n in work]
        for result in results:
            if result.status == "indexed":
                result.vectors = np.zeros((len(result.chunks), self.encoder.dim), np.float32)
        began = time.perf_counter()
        for batch in token_batches(tokens, self.batch_size * self.chunk_tokens):
            texts = [work[i][0].chunks[work[i][1]].text for i in batch]
            vectors = self.encoder.encode(texts, batch_size=len(texts), normalize=True)
            for i, vector in zip(batch, vectors, strict=True):
                result, number = work[i]
                assert result.vectors is not None  # set above for every indexed file
                result.vectors[number] = vector
        seconds = time.perf_counter() - began
        if self.target is not None:
            self._store(results, [known for _, known in unit])
        return results, seconds

    def _store(self, results: list[_FileResult], known: list[_Indexed | None]) -> None:
        """Write each indexed file's chunks to the PostgreSQL collection (one writer per
        worker; the server keeps them apart) and keep only the counts for the caller."""
        from embedlab.ingest.pipeline import store_chunks
        from embedlab.store import Database

        if self.collection is None and self.target is not None:
            self.collection = Database(self.target[0]).get_collection(self.target[1])
        for result, was in zip(results, known, strict=True):
            if result.status != "indexed" or result.vectors is None:
                continue
            item = result.pending(replaces=was is not None)
            result.removed = store_chunks(
                self.collection,
                item,
                self.encoder.name,
                chunk_tokens=self.chunk_tokens,
                overlap=self.overlap,
            )
            result.written, result.chunks, result.vectors = len(result.chunks), [], None

    def _read(self, file: Path, known: _Indexed | None) -> _FileResult:
        from embedlab.ingest.pipeline import _Indexed, _reason

        path = str(file)
        try:
            data = file.read_bytes()
            mtime = file.stat().st_mtime
        except OSError as exc:
            return _FileResult(path, "failed", f"cannot be read: {exc.strerror or exc}")
        digest = hashlib.sha256(data).hexdigest()
        if known == _Indexed(digest, self.chunk_tokens, self.overlap):
            return _FileResult(path, "unchanged")
        try:
            document = parse_document(file, data)
        except (FormatError, MissingDependencyError) as exc:
            return _FileResult(path, "failed", _reason(exc, path))
        chunks = chunk_text(
            document.text,
            chunk_tokens=self.chunk_tokens,
            overlap=self.overlap,
            count_tokens=self.count,
        )
        if not chunks:
            return _FileResult(path, "failed", f"no text found in this {document.kind} file")
        return _FileResult(
            path, "indexed", "", document.title, document.kind, digest, mtime, chunks
        )


# -- on the caller: hand out units, write results -------------------------------------------
@dataclass(frozen=True)
class RayOptions:
    """How :func:`~embedlab.ingest.index_paths` runs on Ray: the encoder as given (a spec
    each actor loads, or an encoder shipped to them), the cluster's address, the actors."""

    encoder: Encoder | str
    address: str | None
    workers: int | None

    @contextmanager
    def cluster(self) -> Iterator[None]:
        """Connected to the cluster for the block (a cluster it started is shut down)."""
        started = connect(self.address)
        try:
            yield
        finally:
            if started:
                _ray().shutdown()

    def index(
        self,
        run: _Run,
        files: list[Path],
        known: dict[str, _Indexed],
        stop: threading.Event,
        bar: Bar,
    ) -> int:
        """Index ``files`` through ``run`` (its store and counters); the retries made."""
        ray = _ray()
        count = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        shipped = self.encoder if isinstance(self.encoder, str) else ray.put(self.encoder)
        url = run.col._db.url  # PostgreSQL: every worker writes its own files
        target = None if url is None else (url, run.col.name)

        def start() -> Any:
            return actor.remote(shipped, run.chunk_tokens, run.overlap, run.batch_size, target)

        dispatch = _Dispatch(ray, run, start, count, known, stop, bar)
        try:
            return dispatch.go(plan_units(files))
        finally:
            for handle in dispatch.actors:
                ray.kill(handle)


class _Dispatch:
    """Units out to the actors, results back to the writer, dead actors' units again."""

    def __init__(
        self,
        ray: Any,
        run: _Run,
        start: Callable[[], Any],
        count: int,
        known: dict[str, _Indexed],
        stop: threading.Event,
        bar: Bar,
    ) -> None:
        self.ray, self.run, self.start, self.known = ray, run, start, known
        self.actors = [start() for _ in range(count)]
        self.generation = [0] * count
        """Bumped when a slot's actor dies and a new one replaces it."""
        self.stop, self.bar = stop, bar
        self.retries = 0

    def go(self, units: list[list[Path]]) -> int:
        todo: deque[tuple[list[Path], int]] = deque((unit, 0) for unit in units)
        flight: dict[Any, tuple[list[Path], int, int, int]] = {}  # unit, attempt, slot, gen
        load = [0] * len(self.actors)
        while (todo or flight) and not self.stop.is_set():
            while todo and min(load) < _IN_FLIGHT:
                slot = load.index(min(load))
                unit, attempt = todo.popleft()
                payload = [(str(f), self.known.get(str(f))) for f in unit]
                ref = self.actors[slot].run.remote(payload)
                flight[ref] = (unit, attempt, slot, self.generation[slot])
                load[slot] += 1
            ready, _ = self.ray.wait(list(flight), num_returns=1, timeout=0.25)
            for ref in ready:
                unit, attempt, slot, generation = flight.pop(ref)
                load[slot] -= 1
                try:
                    results, seconds = self.ray.get(ref)
                except self.ray.exceptions.RayActorError:
                    if generation == self.generation[slot] and not self.stop.is_set():
                        self.ray.kill(self.actors[slot])  # a fresh actor takes its place
                        self.actors[slot] = self.start()
                        self.generation[slot] += 1
                    self._lost(todo, unit, attempt)
                    continue
                except self.ray.exceptions.RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None
                self.run.encode_seconds += seconds
                self._write(results)
        return self.retries  # interrupted: units in flight die with their actors, unwritten

    def _lost(self, todo: deque[tuple[list[Path], int]], unit: list[Path], attempt: int) -> None:
        """A unit whose actor died: again at the front, or failed after the last attempt."""
        from embedlab.ingest.pipeline import FailedFile

        if self.stop.is_set():
            return
        if attempt + 1 < _ATTEMPTS:
            self.retries += 1
            todo.appendleft((unit, attempt + 1))
            return
        for file in unit:
            reason = f"its Ray worker died {_ATTEMPTS} times while encoding it"
            self.run.failed.append(FailedFile(str(file), reason))
            self.bar.file_done(0)

    def _write(self, results: list[_FileResult]) -> None:
        from embedlab.ingest.pipeline import FailedFile

        for result in results:
            known = self.known.get(result.path)
            if result.status == "unchanged":
                self.run.unchanged += 1
            elif result.status == "failed":
                self.run._forget(result.path, known)
                self.run.failed.append(FailedFile(result.path, result.reason))
            elif result.written is not None:  # the worker wrote it (PostgreSQL)
                self.run.indexed += 1
                self.run.chunks_added += result.written
                self.run.chunks_removed += result.removed
                self.bar.file_done(result.written)
                self.bar.chunks_done(result.written)
                continue
            else:
                self.run._store(result.pending(replaces=known is not None))
                self.bar.file_done(len(result.chunks))
                self.bar.chunks_done(len(result.chunks))
                continue
            self.bar.file_done(0)
