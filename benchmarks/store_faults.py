"""The store under faults: experiments that count what was acknowledged, lost, wrong and
detected (issue 10). Each prints one JSON line of figures per experiment.

    python benchmarks/store_faults.py corrupt --trials 60      # byte changes in SQLite
    python benchmarks/store_faults.py race --seconds 30        # reads vs upsert+compact
    python benchmarks/store_faults.py fulldisk                 # a 20 MB tmpfs (root only)
    python benchmarks/store_faults.py exit --runs 30           # exit without close()
    python benchmarks/store_faults.py autosave --rows 100000   # index-file save cost
    python benchmarks/store_faults.py kill9 --kills 24          # SIGKILL inside writes

Run it with ``PYTHONPATH`` pointing at another checkout's ``src`` to get the "before"
figures of the same experiment (it uses only the public API).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import embedlab
from embedlab import Database, EmbedlabError

DIM = 32


def _emit(name: str, figures: dict[str, Any]) -> None:
    print(json.dumps({"experiment": name, **figures}), flush=True)


def _build(folder: Path, n: int, *, index: str = "hnsw", seed: int = 0) -> None:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    with Database(folder, background_indexing=False) as db:
        col = db.create_collection("c", dim=DIM, metric="euclidean", index=index)
        for start in range(0, n, 1000):
            stop = min(n, start + 1000)
            col.add(
                [f"r{i}" for i in range(start, stop)],
                vectors[start:stop],
                metadata=[{"i": i, "tag": f"t{i % 7}"} for i in range(start, stop)],
                documents=[f"document number {i} " + "text " * 10 for i in range(start, stop)],
            )


def _answers(folder: Path, queries: np.ndarray) -> tuple[Any, ...]:
    """Everything a user could read: all rows (ids, metadata, documents, vectors) and
    the top 10 of each query."""
    with Database(folder, background_indexing=False) as db:
        col = db.get_collection("c")
        every = col.get(include=["metadata", "documents", "vectors"])
        order = np.argsort(np.array(every.ids))
        rows = (
            tuple(every.ids[i] for i in order),
            tuple(json.dumps(every.metadata[i], sort_keys=True) for i in order),
            tuple(every.documents[i] for i in order),
            np.asarray(every.vectors)[order].tobytes(),
        )
        hits = tuple(col.query(q, k=10, include=[]).ids for q in queries)
        return rows, hits


# ---------------------------------------------------------------------------------------------
def corrupt(args: argparse.Namespace) -> None:
    """Change one byte at a random offset in the middle of a copy of the SQLite file, then
    open, verify and read: count detected (typed error or verify), raw errors, silently
    wrong answers and harmless changes."""
    rng = random.Random(args.seed)
    base = Path(tempfile.mkdtemp(prefix="faults-corrupt-"))
    pristine = base / "pristine"
    _build(pristine, args.rows)
    queries = np.random.default_rng(99).normal(size=(20, DIM)).astype(np.float32)
    truth = _answers(pristine, queries)
    size = (pristine / "embedlab.sqlite").stat().st_size
    counts = {"detected_open": 0, "detected_verify": 0, "raw_error": 0, "wrong": 0, "same": 0}
    raw: list[str] = []
    for _ in range(args.trials):
        trial = base / "trial"
        shutil.rmtree(trial, ignore_errors=True)
        shutil.copytree(pristine, trial)
        path = trial / "embedlab.sqlite"
        data = bytearray(path.read_bytes())
        offset = rng.randrange(size // 10, size - size // 10)
        data[offset] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with Database(trial, background_indexing=False) as db:
                    report = db.get_collection("c").verify()
                if not report.ok:
                    counts["detected_verify"] += 1
                    continue
                got = _answers(trial, queries)
            except EmbedlabError:
                counts["detected_open"] += 1
                continue
            except Exception as exc:
                counts["raw_error"] += 1
                raw.append(type(exc).__name__)
                continue
        counts["wrong" if got != truth else "same"] += 1
    shutil.rmtree(base)
    _emit(
        "corrupt",
        {"version": _version(), "trials": args.trials, "rows": args.rows, **counts, "raw": raw},
    )


# ---------------------------------------------------------------------------------------------
def _race_writer(folder: str, seconds: float) -> None:
    rng = np.random.default_rng(1)
    deadline = time.monotonic() + seconds
    rounds = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Database(folder, lock_timeout=60) as db:
            col = db.get_collection("c")
            while time.monotonic() < deadline:
                ids = [f"r{i}" for i in rng.choice(2000, size=200, replace=False)]
                col.upsert(
                    ids,
                    rng.normal(size=(200, DIM)).astype(np.float32),
                    metadata=[{"i": int(k[1:])} for k in ids],
                    documents=[f"document number {k[1:]} again" for k in ids],
                )
                col.compact()
                rounds += 1
    print(json.dumps({"writer_rounds": rounds}), flush=True)


def _race_reader(folder: str, seconds: float, seed: int, out: Any) -> None:
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {"reads": 0, "none_documents": 0, "errors": 0}
    kinds: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Database(folder) as db:
            col = db.get_collection("c")
            while time.monotonic() < deadline:
                try:
                    if rng.random() < 0.5:
                        keys = [f"r{i}" for i in rng.choice(2000, size=50, replace=False)]
                        result: Any = col.get(keys, include=["documents", "vectors"])
                    else:
                        q = rng.normal(size=DIM).astype(np.float32)
                        result = col.query(q, k=20, include=["documents", "vectors"])
                    counts["none_documents"] += sum(d is None for d in result.documents)
                except Exception as exc:
                    counts["errors"] += 1
                    kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
                counts["reads"] += 1
    out.put({**counts, "kinds": kinds})


def race(args: argparse.Namespace) -> None:
    """One process upserts and compacts in a loop; two others get and query with
    documents and vectors: count reads, raw errors and missing documents."""
    base = Path(tempfile.mkdtemp(prefix="faults-race-"))
    _build(base / "db", 2000, index="flat")  # a quick compaction: many rounds
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    readers = [
        ctx.Process(target=_race_reader, args=(str(base / "db"), args.seconds, s, out))
        for s in range(2)
    ]
    writer = ctx.Process(target=_race_writer, args=(str(base / "db"), args.seconds))
    for p in (writer, *readers):
        p.start()
    totals: dict[str, Any] = {"reads": 0, "none_documents": 0, "errors": 0, "kinds": {}}
    for _ in readers:
        got = out.get()
        for key in ("reads", "none_documents", "errors"):
            totals[key] += got[key]
        for kind, count in got["kinds"].items():
            totals["kinds"][kind] = totals["kinds"].get(kind, 0) + count
    for p in (writer, *readers):
        p.join()
    shutil.rmtree(base)
    _emit("race", {"version": _version(), "seconds": args.seconds, **totals})


# ---------------------------------------------------------------------------------------------
def fulldisk(args: argparse.Namespace) -> None:
    """Add batches to a collection on a 20 MB tmpfs until it is full: count acknowledged
    adds, refused adds, and after freeing space, acknowledged-but-lost and
    refused-but-stored rows."""
    point = Path(tempfile.mkdtemp(prefix="faults-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(point)], check=True)
    try:
        folder = point / "db"
        acked: set[str] = set()
        refused: set[str] = set()
        errors: dict[str, int] = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            db = Database(folder, background_indexing=False)
            col = db.create_collection("c", dim=64, metric="euclidean", index="hnsw")
            for b in range(args.batches):
                ids = [f"b{b}-{i}" for i in range(250)]
                vectors = np.random.default_rng(b).normal(size=(250, 64)).astype(np.float32)
                try:
                    col.add(ids, vectors, documents=["x" * 200] * 250)
                    acked.update(ids)
                except Exception as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    refused.update(ids)
            try:
                db.close()
            except Exception as exc:
                errors["close:" + type(exc).__name__] = 1
        shutil.rmtree(folder / "indexes", ignore_errors=True)
        (folder / "indexes").mkdir(exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Database(folder, background_indexing=False) as db:
                stored = set(db.get_collection("c").get(include=[]).ids)
        _emit(
            "fulldisk",
            {
                "version": _version(),
                "add_calls": args.batches,
                "acknowledged_adds": len(acked) // 250,
                "refused_adds": len(refused) // 250,
                "errors": errors,
                "save_warnings": sum("could not be saved" in str(w.message) for w in caught),
                "lost_rows": len(acked - stored),
                "refused_but_stored_rows": len(refused & stored),
            },
        )
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)
        shutil.rmtree(point, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
_EXIT = """
import sys, numpy as np, embedlab
rng = np.random.default_rng(int(sys.argv[2]))
for d in range(8):  # eight indexer threads, each going in and out of faiss
    db = embedlab.Database(f"{sys.argv[1]}/{d}")
    col = db.create_collection("c", dim=16, metric="cosine", index="hnsw")
    col.add([str(i) for i in range(6000)], rng.normal(size=(6000, 16)).astype(np.float32))
"""


def exit_(args: argparse.Namespace) -> None:
    """Leave the interpreter without close() while the background indexer is busy."""
    base = Path(tempfile.mkdtemp(prefix="faults-exit-"))
    codes: dict[int, int] = {}
    for run in range(args.runs):
        done = subprocess.run(
            [sys.executable, "-c", _EXIT, str(base / f"db{run}"), str(run)],
            capture_output=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            check=False,
        )
        codes[done.returncode] = codes.get(done.returncode, 0) + 1
        shutil.rmtree(base / f"db{run}", ignore_errors=True)
    shutil.rmtree(base)
    _emit("exit", {"version": _version(), "runs": args.runs, "exit_codes": codes})


# ---------------------------------------------------------------------------------------------
def kill9(args: argparse.Namespace) -> None:
    """The durability test's experiment (tests/test_store_durability.py): a writer process
    doing random adds, upserts, deletes, saves and compactions is killed with SIGKILL
    ``--kills`` times; after each kill every acknowledged write must be there, the one in
    flight wholly or not at all, and verify() clean (it raises if not). Also counts the
    index temp files left behind."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_store_durability import churn_and_kill

    base = Path(tempfile.mkdtemp(prefix="faults-kill-"))
    seen = churn_and_kill(base, kills=args.kills, seed=args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Database(base / "db").close()  # an open cleans temp files of dead writers
    left = len(list((base / "db" / "indexes").glob(".*.tmp")))
    shutil.rmtree(base)
    _emit(
        "kill9",
        {
            "version": _version(),
            "kills": args.kills,
            "passed": "every acknowledged write kept, in-flight ones all or nothing, verify ok",
            "temp_files_left": left,
            "acknowledged_ops": dict(seen),
        },
    )


# ---------------------------------------------------------------------------------------------
def autosave(args: argparse.Namespace) -> None:
    """Grow a collection by batches of 1,000 rows and time the index-file saves the store
    makes on the way, for the autosave share in use and for other shares (set on the
    module for this run only): saves, bytes written, seconds saving vs seconds adding,
    and the rows a crash just before the next save leaves to index again on open."""
    from embedlab.store import _state

    vectors = np.random.default_rng(0).normal(size=(args.rows, DIM)).astype(np.float32)
    rows_per_s = None
    for share in args.shares:
        _state._AUTOSAVE_SHARE = share  # type: ignore[attr-defined]
        floor = _state._AUTOSAVE_FLOOR  # type: ignore[attr-defined]
        base = Path(tempfile.mkdtemp(prefix="faults-autosave-"))
        saved = {"saves": 0, "bytes": 0, "seconds": 0.0}
        original = _state.CollectionState.save

        def timed(self: Any, _original: Any = original, saved: dict[str, Any] = saved) -> None:
            start = time.perf_counter()
            _original(self)
            saved["seconds"] += time.perf_counter() - start
            saved["saves"] += 1
            saved["bytes"] += self.index_path.stat().st_size

        _state.CollectionState.save = timed  # type: ignore[method-assign]
        try:
            with Database(base / "db", background_indexing=False) as db:
                col = db.create_collection("c", dim=DIM, metric="euclidean", index="hnsw")
                start = time.perf_counter()
                for lo in range(0, args.rows, 1000):
                    col.add([f"r{i}" for i in range(lo, lo + 1000)], vectors[lo : lo + 1000])
                total = time.perf_counter() - start
                during = dict(saved)
        finally:
            _state.CollectionState.save = original  # type: ignore[method-assign]
        if rows_per_s is None:
            rows_per_s = args.rows / (total - during["seconds"])
        replay = max(floor, int(share * args.rows)) if share < 1e9 else args.rows
        final_mb = (base / "db" / "indexes" / "1.index").stat().st_size / 1e6
        shutil.rmtree(base)
        _emit(
            "autosave",
            {
                "version": _version(),
                "rows": args.rows,
                "share": share,
                "saves_while_adding": during["saves"],
                "mb_written_by_saves": round(during["bytes"] / 1e6, 1),
                "final_file_mb": round(final_mb, 1),
                "seconds_adding_total": round(total, 2),
                "seconds_saving": round(during["seconds"], 2),
                "save_share_of_add_time": round(during["seconds"] / total, 3),
                "worst_replay_rows": replay,
                "worst_replay_seconds_est": round(replay / rows_per_s, 1),
            },
        )


def _version() -> str:
    return str(Path(embedlab.__file__).resolve().parents[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="experiment", required=True)
    p = sub.add_parser("corrupt")
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--rows", type=int, default=4000)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("race")
    p.add_argument("--seconds", type=float, default=30.0)
    p = sub.add_parser("fulldisk")
    p.add_argument("--batches", type=int, default=300)
    p = sub.add_parser("exit")
    p.add_argument("--runs", type=int, default=30)
    p = sub.add_parser("kill9")
    p.add_argument("--kills", type=int, default=24)
    p.add_argument("--seed", type=int, default=2024)
    p = sub.add_parser("autosave")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--shares", type=float, nargs="+", default=[0.2, 0.5, 1.0, 1e12])
    args = parser.parse_args()
    {
        "corrupt": corrupt,
        "race": race,
        "fulldisk": fulldisk,
        "exit": exit_,
        "autosave": autosave,
        "kill9": kill9,
    }[args.experiment](args)


if __name__ == "__main__":
    main()
