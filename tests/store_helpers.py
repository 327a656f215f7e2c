"""What the store's durability, index-file and process tests share: a second process,
snapshots of stored rows, and exact search as the oracle for queries."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from embedlab.errors import (
    IndexRebuiltWarning,
)
from embedlab.store import Collection

WRITER = Path(__file__).with_name("store_writer.py")
SQLITE = "embedlab.sqlite"
Rows = dict[str, tuple[bytes, dict[str, Any]]]  # id -> (float32 bytes, metadata)


# ---------------------------------------------------------------------------------------------
# Helpers


def spawn(*args: object, log: Path) -> subprocess.Popen[bytes]:
    """``store_writer.py`` in a new process: stdin and stdout piped, stderr to ``log``."""
    with open(log, "ab") as err:
        return subprocess.Popen(
            [sys.executable, str(WRITER), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )


def reply(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> dict[str, Any]:
    """The next JSON line a helper process prints (failing with its stderr if it dies)."""
    stdout = proc.stdout
    assert stdout is not None
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        proc.kill()
        pytest.fail(f"helper process gave no answer; stderr:\n{log.read_text()}")
    return dict(json.loads(result[0]))


def snapshot(col: Collection) -> Rows:
    """Every live row: exact float32 bytes and metadata."""
    got = col.get(include=("metadata", "vectors"))
    assert got.vectors is not None and got.metadata is not None
    assert got.vectors.dtype == np.float32
    return {
        key: (vector.tobytes(), meta)
        for key, vector, meta in zip(got.ids, got.vectors, got.metadata, strict=True)
    }


def describe_difference(expected: Rows, actual: Rows) -> str:
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    changed = sorted(k for k in expected.keys() & actual.keys() if expected[k] != actual[k])
    return (
        f"{len(missing)} missing {missing[:3]}, {len(extra)} unexpected {extra[:3]}, "
        f"{len(changed)} with other vectors or metadata {changed[:3]}"
    )


def assert_like_exact_search(
    col: Collection,
    queries: npt.NDArray[np.float32],
    *,
    k: int,
    exact: bool,
    min_recall: float = 0.95,
) -> None:
    """Euclidean queries against exact numpy search over the rows ``get`` returns.

    Every returned id must be live with its true distance; with ``exact`` the distances
    are the k smallest (which is what exact search means, ties or not), otherwise recall@k
    against the exact answer must reach ``min_recall``.
    """
    rows = col.get(include=("vectors",))
    assert rows.vectors is not None
    stored = rows.vectors.astype(np.float64)
    where = {key: i for i, key in enumerate(rows.ids)}
    hits = 0
    for q in queries:
        true = np.sqrt(((stored - q.astype(np.float64)) ** 2).sum(axis=1))
        best = np.argsort(true, kind="stable")[:k]
        result = col.query(q, k=k, include=())
        assert len(result.ids) == min(k, len(where)), result.ids
        dead = [key for key in result.ids if key not in where]
        assert not dead, f"query returned rows that are not stored: {dead}"
        own = true[[where[key] for key in result.ids]]
        np.testing.assert_allclose(result.distances, own, rtol=1e-4, atol=1e-5)
        if exact:
            np.testing.assert_allclose(result.distances, true[best], rtol=1e-4, atol=1e-5)
        hits += len(set(result.ids) & {rows.ids[i] for i in best})
    if not exact:
        assert hits / (len(queries) * min(k, len(where))) >= min_recall


def probe_queries(col: Collection, rng: np.random.Generator, count: int) -> npt.NDArray[np.float32]:
    """Half random points, half stored vectors nudged a little."""
    stored = col.get(include=("vectors",)).vectors
    assert stored is not None
    near = stored[rng.integers(len(stored), size=count // 2)]
    near = near + rng.normal(scale=0.01, size=near.shape)
    far = rng.normal(size=(count - count // 2, stored.shape[1]))
    return np.vstack([near, far]).astype(np.float32)


@contextmanager
def no_rebuild_warning() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndexRebuiltWarning)
        yield
