"""Do the store's defaults hold recall@10 >= 0.98 on data nobody tuned them on?

    python benchmarks/store_recall_defaults.py                 # 20,000 Debian descriptions

Data: the short descriptions of Debian packages (``apt-cache dumpavail``; run ``apt-get
update`` first), unique ones, a seeded sample of --rows + --queries, embedded with
embedlab's ``minilm`` encoder (384 dims, unit rows; cached under /tmp). The held-out
descriptions are the queries (cosine, k=10); recall@10 is against exact search (numpy).
Each collection is created with defaults except where named, filled in batches of 5,000,
then ``wait_for_index()``; q/s is one query at a time. The project never tuned on this set.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _store_data import DEFAULT_CACHE, exact_top_k, unit

KINDS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "hnsw, defaults (recall 0.98)": ("hnsw", None),
    "hnsw, ef_search 64 (the old default)": ("hnsw", {"ef_search": 64}),
    "ivf, defaults (recall 0.98)": ("ivf", None),
    "ivf, nprobe 16 (fixed)": ("ivf", {"nprobe": 16}),
}


def debian_descriptions() -> list[str]:
    """Unique short descriptions of the packages apt knows about, sorted."""
    out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True)
    found = {
        line[len("Description: ") :].strip()
        for line in out.stdout.splitlines()
        if line.startswith("Description: ")
    }
    return sorted(d for d in found if d)


def vectors(n: int, seed: int, cache: Path) -> np.ndarray:
    """MiniLM vectors of a seeded sample of n descriptions (cached)."""
    path = cache / f"debian-minilm-{n}-s{seed}.npy"
    if path.exists():
        return np.load(path)
    texts = debian_descriptions()
    if len(texts) < n:
        raise SystemExit(f"only {len(texts)} descriptions; run apt-get update first")
    rng = np.random.default_rng(seed)
    picked = [texts[i] for i in rng.choice(len(texts), size=n, replace=False)]
    from embedlab import encoders

    print(f"encoding {n} descriptions with minilm", file=sys.stderr)
    x = unit(encoders.load("minilm").encode(picked, normalize=True))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    return x


def run(kind: str, params: dict[str, Any] | None, base: np.ndarray, queries: np.ndarray) -> Any:
    import embedlab

    truth = exact_top_k(base, queries, 10)
    with tempfile.TemporaryDirectory(prefix="recall-defaults-") as tmp:
        db = embedlab.Database(Path(tmp))
        col = db.create_collection("d", dim=base.shape[1], index=kind, index_params=params)
        ids = [str(i) for i in range(len(base))]
        for s in range(0, len(base), 5000):
            col.add(ids[s : s + 5000], base[s : s + 5000])
        col.wait_for_index()
        start = time.perf_counter()
        found = [col.query(q, k=10, include=()).ids for q in queries]
        qps = len(queries) / (time.perf_counter() - start)
        hits = sum(
            len(set(map(int, f)) & set(t.tolist())) for f, t in zip(found, truth, strict=True)
        )
        info = col.info()
        db.close()
    return hits / (10 * len(queries)), qps, info.calibration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    x = vectors(args.rows + args.queries, args.seed, args.cache)
    base, queries = np.ascontiguousarray(x[: args.rows]), x[args.rows :]
    print(f"Debian descriptions, minilm: {len(base):,} rows x {base.shape[1]}, {len(queries)} q")
    print(f"{'collection':<38} {'recall@10':>9} {'q/s':>7}  calibration")
    for label, (kind, params) in KINDS.items():
        recall, qps, cal = run(kind, params, base, queries)
        shown = (
            "-"
            if cal is None
            else f"{cal.param}={cal.value} (sample {cal.recall:.3f}, {cal.rows:,} rows, "
            f"{cal.seconds:.2f} s)"
        )
        print(f"{label:<38} {recall:>9.4f} {qps:>7,.0f}  {shown}", flush=True)


if __name__ == "__main__":
    main()
