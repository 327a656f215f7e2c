"""Per-query cost of ``Collection.query`` over raw faiss on the same data, in CPU time.

    python benchmarks/query_overhead.py            # GCIDE word vectors, ef_search 128
    python benchmarks/query_overhead.py --reps 9

One process: the GCIDE word vectors (as store_vs_peers.py) go into an embedlab HNSW
collection and a raw faiss IndexHNSWFlat with the same M / ef_construction / ef_search;
then rounds of 1,000 single queries alternate between raw faiss (labels + distances),
``col.query(include=("metadata",))`` (what store_vs_peers.py times) and ``col.query`` with
the default include (metadata and documents). Each loop's thread CPU time per query is
recorded, and its wall-clock time; printed are the medians and, per round, the ratio to
raw faiss (median over rounds). CPU time gives a usable comparison on a loaded machine;
wall clock, interleaved like this, is the in-process counterpart of store_vs_peers.py's
q/s ratio (which times each system in a store of its own, one after the other).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss

import embedlab
from _store_data import DEFAULT_CACHE, words_dataset
from _trainer_bench import DEFAULT_CORPUS, ensure_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=7, help="rounds of the three loops")
    parser.add_argument("--ef-search", type=int, default=128)
    args = parser.parse_args()
    ds = words_dataset(
        ensure_corpus(DEFAULT_CORPUS), DEFAULT_CACHE, n_queries=1000, k=10, epochs=2, seed=1
    )
    with tempfile.TemporaryDirectory(prefix="query-overhead-") as tmp:
        faiss.omp_set_num_threads(2)
        db = embedlab.Database(Path(tmp))
        params = {"M": 16, "ef_construction": 100, "ef_search": args.ef_search}
        col = db.create_collection(
            "w", dim=ds.dim, metric="cosine", index="hnsw", index_params=params
        )
        raw = faiss.IndexHNSWFlat(ds.dim, 16, faiss.METRIC_INNER_PRODUCT)
        raw.hnsw.efConstruction = 100
        raw.hnsw.efSearch = args.ef_search
        for ids, vectors, metadata in ds.batches(1000):
            col.add(ids=ids, vectors=vectors, metadata=metadata)
            raw.add(vectors)
        col.wait_for_index()
        faiss.omp_set_num_threads(1)  # as store_vs_peers.py's queries

        def raw_query(q: Any) -> Any:
            return raw.search(q[None, :], 10)[1][0]

        def meta_query(q: Any) -> Any:
            return col.query(q, k=10, include=("metadata",)).ids

        def default_query(q: Any) -> Any:
            return col.query(q, k=10).ids

        loops = {"raw faiss": raw_query, "col.query metadata": meta_query}
        loops["col.query default include"] = default_query
        for fn in loops.values():  # warm-up
            for q in ds.queries[:50]:
                fn(q)
        cpu: dict[str, list[float]] = {name: [] for name in loops}
        wall: dict[str, list[float]] = {name: [] for name in loops}
        for _ in range(args.reps):
            for name, fn in loops.items():
                began, began_wall = time.thread_time_ns(), time.perf_counter_ns()
                for q in ds.queries:
                    fn(q)
                cpu[name].append((time.thread_time_ns() - began) / len(ds.queries) / 1e3)
                wall[name].append((time.perf_counter_ns() - began_wall) / len(ds.queries) / 1e3)
        db.close()
    print(f"{ds.name}: {len(ds):,} rows, ef_search {args.ef_search}, median of {args.reps}")
    for clock, times in (("CPU", cpu), ("wall", wall)):
        for name, values in times.items():
            base = times["raw faiss"]
            ratio = statistics.median(a / b for a, b in zip(values, base, strict=True))
            print(
                f"{name:<27} {statistics.median(values):7.1f} us {clock:<4} a query   "
                f"{ratio:.3f}x raw faiss's time ({1 / ratio:.2f}x its rate)"
            )


if __name__ == "__main__":
    main()
