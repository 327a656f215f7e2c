"""A second process for the store's durability tests (run with ``sys.executable``, not by pytest).

Commands (the first argument), each on the database folder given second:

``churn FOLDER ROUND SEED``
    Random writes for ever (until killed, or ``_CHURN_SECONDS``) on the collections named in
    ``CHURN_COLLECTIONS``: adds of 1-200 rows, upserts, deletes, index saves and compactions.
    Before each call it prints ``{"begin": op, ...}`` with everything needed to replay the
    call, and after the call returns ``{"ack": op}``; one JSON line each, flushed.
``hold FOLDER``
    Takes the database's write lock, prints ``{"holding": pid}`` and keeps the lock until a
    line (or end of file) arrives on stdin.
``serve FOLDER``
    Runs one JSON command a line from stdin (add, upsert, delete, compact) and answers each
    with one JSON line, ``{"ok": ...}``.
``burst FOLDER COLLECTION PREFIX BATCHES SIZE SEED``
    Prints ``{"ready": pid}``, waits for a line on stdin, then adds ``BATCHES`` batches of
    ``SIZE`` rows (ids ``PREFIX-<batch>-<row>``, vectors from :func:`burst_vectors`) and
    prints ``{"done": rows}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np
import numpy.typing as npt

CHURN_COLLECTIONS = ("hnsw", "flat")
CHURN_DIM = 8
_CHURN_SECONDS = 60.0  # a writer nobody killed stops by itself
_COLOURS = ("red", "green", "blue")


def burst_vectors(seed: int, batch: int, size: int, dim: int) -> npt.NDArray[np.float32]:
    """The vectors ``burst`` adds in one batch (the tests rebuild them to check the rows)."""
    return np.random.default_rng([seed, batch]).normal(size=(size, dim)).astype(np.float32)


def burst_ids(prefix: str, batch: int, size: int) -> list[str]:
    """The ids ``burst`` adds in one batch."""
    return [f"{prefix}-{batch}-{row}" for row in range(size)]


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _churn_vectors(rng: np.random.Generator, count: int) -> npt.NDArray[np.float32]:
    """Random float32 rows, sometimes with -0.0 and a subnormal to make bitwise checks bite."""
    vectors = rng.normal(size=(count, CHURN_DIM)).astype(np.float32)
    if rng.random() < 0.3:
        vectors[0, 0] = np.float32(-0.0)
        vectors[-1, -1] = np.float32(1e-45)
    return vectors


def _churn_metadata(rng: np.random.Generator, op: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "batch": op,
            "pos": i,
            "colour": _COLOURS[int(rng.integers(3))],
            "score": float(rng.random()),
            "even": i % 2 == 0,
            "ks": [int(x) for x in rng.integers(-1000, 1000, size=2)],
        }
        for i in range(count)
    ]


def churn(folder: str, round_no: int, seed: int) -> None:
    """Random writes, each logged before the call and acknowledged after it returns."""
    from embedlab.store import Database

    rng = np.random.default_rng([seed, round_no])
    db = Database(folder)
    cols = {name: db.get_collection(name) for name in CHURN_COLLECTIONS}
    live = {name: set(col.get(include=()).ids) for name, col in cols.items()}
    _emit({"ready": os.getpid()})
    made = 0
    deadline = time.monotonic() + _CHURN_SECONDS
    for k in range(1_000_000):
        if time.monotonic() > deadline:
            break
        op = f"r{round_no}.{k}"
        name = CHURN_COLLECTIONS[int(rng.integers(len(CHURN_COLLECTIONS)))]
        col = cols[name]
        roll = rng.random()
        record: dict[str, Any] = {"begin": op, "collection": name}
        if roll < 0.5 or not live[name]:
            size = int(rng.integers(1, 201))
            ids = [f"r{round_no}-{made + i}" for i in range(size)]
            made += size
            kind = "add"
        elif roll < 0.7:
            pool = sorted(live[name])
            old = rng.choice(pool, size=min(len(pool), int(rng.integers(1, 31))), replace=False)
            fresh = [f"r{round_no}-{made + i}" for i in range(int(rng.integers(0, 6)))]
            made += len(fresh)
            ids = [str(x) for x in old] + fresh
            kind = "upsert"
        elif roll < 0.9:
            pool = sorted(live[name])
            gone = rng.choice(pool, size=min(len(pool), int(rng.integers(1, 31))), replace=False)
            ids = [str(x) for x in gone] + [f"never-{op}"]
            kind = "delete"
        elif roll < 0.97:
            ids, kind = [], "save"
        else:
            ids, kind = [], "compact"
        record["op"] = kind
        record["ids"] = ids
        if kind in ("add", "upsert"):
            vectors = _churn_vectors(rng, len(ids))
            metadata = _churn_metadata(rng, op, len(ids))
            record["vectors"] = vectors.tobytes().hex()
            record["metadata"] = metadata
        _emit(record)
        if kind == "add":
            col.add(ids, vectors, metadata)
            live[name].update(ids)
        elif kind == "upsert":
            col.upsert(ids, vectors, metadata)
            live[name].update(ids)
        elif kind == "delete":
            col.delete(ids=ids)
            live[name].difference_update(ids)
        elif kind == "save":
            col.save_index()
        else:
            col.compact()
        _emit({"ack": op})
    db.close()


def hold(folder: str) -> None:
    """Hold the write lock until stdin has a line or closes."""
    from embedlab.store import Database

    db = Database(folder)
    with db._backend.write_lock.hold():  # type: ignore[attr-defined]
        _emit({"holding": os.getpid()})
        sys.stdin.readline()
    db.close()


def serve(folder: str) -> None:
    """Run JSON commands from stdin, one a line, answering each."""
    from embedlab.store import Database

    db = Database(folder)
    for line in sys.stdin:
        command = json.loads(line)
        col = db.get_collection(command["collection"])
        op = command["op"]
        if op in ("add", "upsert"):
            vectors = np.asarray(command["vectors"], dtype=np.float32)
            getattr(col, op)(
                command["ids"], vectors, command.get("metadata"), documents=command.get("documents")
            )
            _emit({"ok": len(command["ids"])})
        elif op == "delete":
            _emit({"ok": col.delete(ids=command["ids"])})
        elif op == "compact":
            _emit({"ok": col.compact()})
        else:
            raise SystemExit(f"unknown command {op!r}")
    db.close()


def burst(folder: str, collection: str, prefix: str, batches: int, size: int, seed: int) -> None:
    """Wait for the go line, then add batch after batch (each waiting for the lock)."""
    from embedlab.store import Database

    db = Database(folder)
    col = db.get_collection(collection)
    _emit({"ready": os.getpid()})
    sys.stdin.readline()
    for batch in range(batches):
        col.add(burst_ids(prefix, batch, size), burst_vectors(seed, batch, size, col.dim))
    db.close()
    _emit({"done": batches * size})


def main(argv: list[str]) -> None:
    command, folder, *rest = argv
    if command == "churn":
        churn(folder, int(rest[0]), int(rest[1]))
    elif command == "hold":
        hold(folder)
    elif command == "serve":
        serve(folder)
    elif command == "burst":
        burst(folder, rest[0], rest[1], int(rest[2]), int(rest[3]), int(rest[4]))
    else:
        raise SystemExit(f"unknown command {command!r}; expected churn, hold, serve or burst")


if __name__ == "__main__":
    main(sys.argv[1:])
