"""Near-duplicates at 100k x 384: embedlab's find_duplicates against sentence-transformers'
util.paraphrase_mining on the same real MiniLM vectors, each in its own process.

    python benchmarks/duplicates.py                       # 100,000 rows, cosine >= 0.9
    python benchmarks/duplicates.py --rows 20000 --threshold 0.85 --json

Vectors: benchmarks/_minilm_vectors.py (MiniLM through embedlab's ONNX backend over
Debian's package synopses and WordNet glosses; cached under the temporary folder).

Each side runs in a fresh child process that loads the .npy, runs the search and reports
its wall time and its peak resident memory (``ru_maxrss``: the whole process, imports and
the loaded vectors included) and the resident memory just before the call, so what the
call itself added is visible too. Sides:

- exact: the oracle, a blocked numpy scan (2,048 rows at a time against all rows);
- embedlab: ``find_duplicates(x, threshold=T)`` with its defaults;
- embedlab-exact: ``find_duplicates(x, threshold=T, exact=True)`` (flat faiss);
- paraphrase_mining: ``util.paraphrase_mining_embeddings`` with its defaults (top_k 100,
  max_pairs 500,000, query chunks of 5,000), pairs kept when their score >= T: what a user
  of sentence-transformers would write.

The sides run one after another; with --oracle-alongside the exact scan (untimed) runs
at the same time as the others, which saves its time but loads the cores under both.

Recall is the share of the exact pairs (i < j, cosine >= T) each side returns. With
--oracle-rows N the oracle scans only N random rows (seed 0) against all rows, and recall
is over the exact pairs that touch those rows (an estimate; a pair of two well-connected
rows is a little likelier to be counted). --reuse SIDE reads a side's saved result of an
earlier run (same rows and threshold) instead of running it again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

SIDES = ("exact", "embedlab", "embedlab-exact", "paraphrase_mining")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(side: str, path: str, threshold: float, out: str, oracle_rows: int = 0) -> None:
    """Run one side in this process; write its pairs (as i * n + j codes) and figures."""
    if side == "paraphrase_mining":
        import torch
        from sentence_transformers import util

        torch.set_num_threads(2)
    else:
        from embedlab.analysis import find_duplicates
    x = np.load(path)
    n = len(x)
    before = _rss_mb()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if side == "paraphrase_mining":
        got = util.paraphrase_mining_embeddings(torch.from_numpy(x))
        codes = np.array([min(i, j) * n + max(i, j) for s, i, j in got if s >= threshold])
    elif side == "exact":
        found = []
        queries = np.arange(n)
        if oracle_rows:  # only the pairs that touch a random sample of rows
            queries = np.sort(np.random.default_rng(0).choice(n, oracle_rows, replace=False))
        for s in range(0, len(queries), 2048):
            q = queries[s : s + 2048]
            i, j = np.nonzero(x[q] @ x.T >= threshold)
            a, b = q[i], j
            keep = a < b if not oracle_rows else a != b
            found.append(np.minimum(a[keep], b[keep]).astype(np.int64) * n + np.maximum(a, b)[keep])
        codes = np.concatenate(found)
    else:
        d = find_duplicates(x, threshold=threshold, exact=True if side.endswith("exact") else None)
        codes = d.left * n + d.right
    seconds = time.perf_counter() - start
    end = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
    peak = end.ru_maxrss / 1024
    np.save(out, np.unique(np.asarray(codes, dtype=np.int64)))
    Path(out).with_suffix(".json").write_text(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_mb": peak,
                "rss_before_mb": before,
                "load": os.getloadavg(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--oracle-alongside", action="store_true",
                        help="run the exact scan at the same time as the timed sides")  # fmt: skip
    parser.add_argument(
        "--oracle-rows",
        type=int,
        default=0,
        help="exact pairs only for this many random rows (0: all rows)",
    )
    parser.add_argument(
        "--reuse",
        nargs="+",
        choices=SIDES,
        default=[],
        help="read these sides' saved results of an earlier run",
    )
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], float(args.worker[2]), args.worker[3],
               int(args.worker[4]))  # fmt: skip
        return
    from _minilm_vectors import CACHE, build

    source = build(max(args.rows, 100_000))
    x = np.load(source, mmap_mode="r")[: args.rows]
    path = CACHE / f"dup-minilm-{args.rows}.npy"
    if not path.is_file():
        np.save(path, np.ascontiguousarray(x, dtype=np.float32))
    report: dict[str, Any] = {"rows": args.rows, "dim": int(x.shape[1]),
                              "threshold": args.threshold, "load": os.getloadavg()}  # fmt: skip

    def start(side: str) -> subprocess.Popen[bytes]:
        out = str(CACHE / f"dup-minilm-{args.rows}-{side}.npy")
        return subprocess.Popen([sys.executable, __file__, "--worker", side, str(path),
                                 str(args.threshold), out, str(args.oracle_rows)])  # fmt: skip

    def collect(side: str, proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None and proc.wait() != 0:
            raise SystemExit(f"{side} failed")
        out = CACHE / f"dup-minilm-{args.rows}-{side}.npy"
        report[side] = json.loads(out.with_suffix(".json").read_text())
        report[side]["codes"] = np.load(out)
        print(side, {k: v for k, v in report[side].items() if k != "codes"}, file=sys.stderr,
              flush=True)  # fmt: skip

    oracle = start("exact") if args.oracle_alongside and "exact" in args.sides else None
    for side in args.reuse:
        collect(side, None)
    for side in args.sides:
        if side != "exact" or oracle is None:
            collect(side, start(side))
    if oracle is not None:
        collect("exact", oracle)
        print(side, {k: v for k, v in report[side].items() if k != "codes"}, file=sys.stderr,
              flush=True)  # fmt: skip
    exact = report["exact"]["codes"] if "exact" in report else None
    for side in [*args.reuse, *args.sides]:
        codes = report[side].pop("codes")
        report[side]["pairs"] = len(codes)
        if exact is not None:
            hit = np.isin(exact, codes, assume_unique=True).sum()
            report[side]["recall"] = float(hit / max(len(exact), 1))
    if "paraphrase_mining" in report:
        pm = report["paraphrase_mining"]
        for side in ("embedlab", "embedlab-exact"):
            if side in report:
                report[side]["speedup"] = pm["seconds"] / report[side]["seconds"]
                report[side]["cpu_speedup"] = pm["cpu_seconds"] / report[side]["cpu_seconds"]
                report[side]["memory_ratio"] = report[side]["peak_mb"] / pm["peak_mb"]
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
