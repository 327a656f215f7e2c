"""Ingestion on Ray: index_paths(executor="ray") with one and two workers against the
local executor, same documents, same model, same chunking, in one run.

    python benchmarks/ray_ingest.py               # 300 GCIDE documents, minilm
    python benchmarks/ray_ingest.py --docs 600 --json

Documents: the GCIDE folders benchmarks/ingest.py builds (its --docs N, seed 0). The model:
minilm (torch, CPU). Each run indexes the folder into a fresh database (chunk 128, overlap
16, batch 64, progress off) and counts chunks stored per second of the whole call.

- local, 1 thread: the local executor with torch.set_num_threads(1): the same compute one
  Ray worker has (Ray gives an actor with num_cpus=1 OMP_NUM_THREADS=1). The anchor for
  the overhead target (one Ray worker at most 15% slower).
- ray, 1 worker / 2 workers: a local Ray cluster (ray.init(num_cpus=2)) started once
  before the runs; each run starts its actors (each loads the model) inside the timed
  call, so the figures include that start-up, measured on its own as ``actor_start_s``.
- local, 2 threads: the local executor as users run it on this machine.
- writer: the rows the local run stored (ids, vectors, metadata, documents), added again
  file by file into a fresh collection: the single writer's ceiling in chunks/s.

The scaling model printed at the end: N workers give min(N * per-worker rate, writer
ceiling) chunks/s; it stops scaling at N = ceiling / per-worker rate. The machine is
shared: the load average before and after each run is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub

import numpy as np

from ingest import ensure_folder


def load() -> str:
    return "{:.1f}/{:.1f}".format(*os.getloadavg()[:2])


def run(folder: Path, where: Path, **options: Any) -> dict[str, Any]:
    from embedlab.ingest import index_paths

    before = load()
    report = index_paths(folder, where, "docs", "minilm", progress=False, **options)
    return {
        "chunks": report.chunks_added,
        "files": report.files_indexed,
        "seconds": report.seconds,
        "chunks_per_s": report.chunks_added / report.seconds,
        "encode_share": report.encode_share,
        "retries": report.retries,
        "load_before": before,
        "load_after": load(),
    }


def actor_start(ray: Any) -> float:
    """Seconds for one Ray actor to start and load the model (what each run pays)."""
    from embedlab.ingest.distributed import _Worker

    began = time.perf_counter()
    actor = ray.remote(num_cpus=1)(_Worker).remote("minilm", 128, 16, 64)
    ray.get(actor.pid.remote())
    seconds = time.perf_counter() - began
    ray.kill(actor)
    return seconds


def writer(source: Path, target: Path) -> dict[str, Any]:
    """The local run's rows written again, one add per file, into a fresh collection."""
    from embedlab.store import Database

    with Database(source) as db:
        col = db.get_collection("docs")
        got = col.get(include=["vectors", "metadata", "documents"])
        dim = col.dim
    assert got.vectors is not None and got.metadata is not None and got.documents is not None
    files: dict[str, list[int]] = {}
    for i, meta in enumerate(got.metadata):
        files.setdefault(str(meta["path"]), []).append(i)
    with Database(target) as db:
        col = db.create_collection("docs", dim=dim, metric="cosine", model="minilm")
        began = time.perf_counter()
        for rows in files.values():
            col.add(
                ids=[got.ids[i] for i in rows],
                vectors=np.asarray(got.vectors)[rows],
                metadata=[got.metadata[i] for i in rows],
                documents=[got.documents[i] for i in rows],
                model="minilm",
            )
        seconds = time.perf_counter() - began
    return {"chunks": len(got.ids), "seconds": seconds, "chunks_per_s": len(got.ids) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import ray
    import torch

    folder = ensure_folder(args.docs, 0)
    out = Path(tempfile.mkdtemp(prefix="embedlab-ray-ingest-"))
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    results: dict[str, Any] = {"docs": args.docs, "cpus": os.cpu_count()}
    try:
        results["actor_start_s"] = actor_start(ray)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        results["local_1_thread"] = run(folder, out / "local1")
        torch.set_num_threads(threads)
        results["ray_1_worker"] = run(folder, out / "ray1", executor="ray", workers=1)
        results["ray_2_workers"] = run(folder, out / "ray2", executor="ray", workers=2)
        results["local_2_threads"] = run(folder, out / "local2")
        results["writer"] = writer(out / "local1", out / "writer")
    finally:
        ray.shutdown()
    local = results["local_1_thread"]["chunks_per_s"]
    one = results["ray_1_worker"]["chunks_per_s"]
    two = results["ray_2_workers"]["chunks_per_s"]
    ceiling = results["writer"]["chunks_per_s"]
    results["ray_1_vs_local_1"] = one / local
    results["ray_2_vs_ray_1"] = two / one
    results["workers_where_writer_binds"] = ceiling / one
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return
    for name in ("local_1_thread", "ray_1_worker", "ray_2_workers", "local_2_threads"):
        r = results[name]
        print(
            f"{name:<16} {r['chunks']:>5} chunks in {r['seconds']:6.1f} s = "
            f"{r['chunks_per_s']:6.1f} chunks/s (encoding {r['encode_share']:.0%}; "
            f"load {r['load_before']} -> {r['load_after']})"
        )
    print(f"actor start-up (model load) {results['actor_start_s']:.1f} s, in each Ray run")
    print(f"writer ceiling   {ceiling:,.0f} chunks/s (one add per file)")
    print(f"ray 1 worker / local 1 thread = {results['ray_1_vs_local_1']:.2f}x")
    print(f"ray 2 workers / ray 1 worker  = {results['ray_2_vs_ray_1']:.2f}x")
    print(
        f"scaling model: min(N x {one:.1f}, {ceiling:,.0f}) chunks/s; "
        f"the writer binds from N = {results['workers_where_writer_binds']:.0f} workers"
    )


if __name__ == "__main__":
    main()
