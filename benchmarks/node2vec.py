"""embedlab's Node2Vec against PecanPy (walks) + gensim (skip-gram), side by side in one run.

    python benchmarks/node2vec.py                      # DeepWalk and node2vec (q=0.5)
    python benchmarks/node2vec.py --configs 1,0.5 --walks 5 --length 40 --json
    python benchmarks/node2vec.py --walks 4 --length 40 --dim 64 --window 5 --seeds 1,2,3

With several ``--seeds`` each side trains once per seed (the split stays the same, seed
0); the report gives each side's mean AUC, the mean difference (embedlab - PecanPy) with
a 95% Welch t interval and a 95% bootstrap interval over the seeds, and the median times.
``--shared`` also runs embedlab with ``shared_negatives=True`` (Word2Vec's window-shared
negatives), to show what per-pair negatives buy.

Graph (built here, never committed): Debian bookworm main's package dependency graph,
an undirected edge between each package and every package its Depends names (first
alternative, version constraints dropped, names that are not packages skipped; from
`apt-cache dumpavail`, as benchmarks/analysis_debian.py reads it). 10% of the edges are
held out (outside a random spanning forest, seed 0) with as many random non-edges;
both sides train on the same remaining edges, read from the same TSV file.

PecanPy is the tool a user would pick (Liu and Krishnan 2021): its walks are compiled
and parallel, then it trains gensim's Word2Vec (skip-gram, min_count 0, gensim's other
defaults: negative 5, sample 1e-3) on them, as ``SparseOTF.embed`` does; for p = q = 1
its DeepWalk mode (``FirstOrderUnweighted``). PecanPy's ``walk_length`` counts steps
(walk_length + 1 nodes), embedlab's counts nodes (as the node2vec paper's code does), so
PecanPy gets ``--length - 1`` and both train on walks of ``--length`` nodes. Timed:
reading the edge list, walking, training, as wall-clock seconds and as CPU seconds of
all the process's threads (``time.process_time``: both sides run in this process, on
``--threads`` threads; robust to other load on the machine); link-prediction AUC is
the cosine of the two nodes' vectors (embedlab's ``link_prediction_auc`` scores both).

PecanPy 2.0.9 pins nptyping, whose 2.5 release uses aliases numpy 2 removed (np.bool8,
...); they are put back below before importing PecanPy (it uses nptyping only for type
hints). Installed with ``pip install --no-deps pecanpy numba-progress nptyping``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from analysis_debian import packages
from train_word2vec import intervals

_NUMPY_ALIASES = {
    "bool8": "bool_", "object0": "object_", "int0": "intp", "uint0": "uintp", "void0": "void",
    "str0": "str_", "bytes0": "bytes_", "float_": "float64", "complex_": "complex128",
    "unicode_": "str_", "string_": "bytes_", "longfloat": "longdouble",
    "singlecomplex": "complex64", "cfloat": "complex128", "longcomplex": "clongdouble",
    "clongfloat": "clongdouble",
}  # fmt: skip


def pecanpy_module() -> Any:
    for old, new in _NUMPY_ALIASES.items():
        if not hasattr(np, old):
            setattr(np, old, getattr(np, new))
    from pecanpy import pecanpy

    return pecanpy


def depends_edges() -> list[tuple[str, str]]:
    rows = packages()
    names = {r["name"] for r in rows}
    edges = set()
    for r in rows:
        for dep in r["depends"]:
            if dep in names and dep != r["name"]:
                a, b = sorted((r["name"], dep))
                edges.add((a, b))
    return sorted(edges)


def run_embedlab(path: Path, s: dict[str, Any], threads: int) -> dict[str, Any]:
    from embedlab.train import Node2Vec, read_edge_list

    cpu = time.process_time()
    start = time.perf_counter()
    graph = read_edge_list(path)
    read_s = time.perf_counter() - start
    model = Node2Vec(
        dim=s["dim"], walk_length=s["length"], walks_per_node=s["walks"], window=s["window"],
        p=s["p"], q=s["q"], threads=threads, seed=s["seed"],
        shared_negatives=s.get("shared", False),
    )  # fmt: skip
    wv = model.train(graph)
    total = time.perf_counter() - start
    assert model.stats is not None
    return {"read_s": read_s, "walk_cpu_s": model.stats.walk_seconds,
            "walk_and_train_s": model.stats.seconds, "total_s": total,
            "cpu_s": time.process_time() - cpu, "vectors": wv}  # fmt: skip


def run_pecanpy(path: Path, s: dict[str, Any], threads: int) -> dict[str, Any]:
    from gensim.models import Word2Vec

    from embedlab.vectors import WordVectors

    pp = pecanpy_module()
    mode = pp.FirstOrderUnweighted if (s["p"], s["q"]) == (1.0, 1.0) else pp.SparseOTF
    cpu = time.process_time()
    start = time.perf_counter()
    g = mode(p=s["p"], q=s["q"], workers=threads, random_state=s["seed"])
    g.read_edg(str(path), weighted=False, directed=False, delimiter="\t")
    read_s = time.perf_counter() - start
    # PecanPy's walk_length counts steps (a walk has walk_length + 1 nodes); embedlab's
    # counts nodes, as the node2vec paper's code does: both walks get s["length"] nodes.
    walks = g.simulate_walks(num_walks=s["walks"], walk_length=s["length"] - 1)
    walk_s = time.perf_counter() - start - read_s
    w2v = Word2Vec(walks, vector_size=s["dim"], window=s["window"], sg=1, min_count=0,
                   workers=threads, epochs=1, seed=s["seed"])  # fmt: skip
    total = time.perf_counter() - start
    keys = list(g.nodes)
    wv = WordVectors(keys, w2v.wv[keys])
    return {"read_s": read_s, "walk_s": walk_s, "train_s": total - read_s - walk_s,
            "walk_and_train_s": total - read_s, "total_s": total,
            "cpu_s": time.process_time() - cpu, "vectors": wv}  # fmt: skip


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per side: AUC per seed, mean AUC, median times; then ratios and the AUC interval."""
    row: dict[str, Any] = {}
    for name, results in runs.items():
        row[name] = {
            "auc": [round(r["auc"], 4) for r in results],
            "auc_mean": round(statistics.fmean(r["auc"] for r in results), 4),
        } | {
            key: round(statistics.median(r[key] for r in results), 2)
            for key in results[0]
            if key.endswith("_s")
        }
    ours, theirs = row["embedlab"], row["pecanpy"]
    row["speedup_walk_and_train"] = round(theirs["walk_and_train_s"] / ours["walk_and_train_s"], 2)
    row["speedup_total"] = round(theirs["total_s"] / ours["total_s"], 2)
    row["speedup_cpu"] = round(theirs["cpu_s"] / ours["cpu_s"], 2)
    row["auc_difference"] = round(ours["auc_mean"] - theirs["auc_mean"], 4)
    if len(ours["auc"]) > 1:
        row["auc_interval"] = {
            k: round(v, 4) for k, v in intervals(ours["auc"], theirs["auc"]).items()
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="1,1;1,0.5", help="p,q pairs separated by ;")
    parser.add_argument("--walks", type=int, default=10)
    parser.add_argument("--length", type=int, default=80)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", default="1", help="training seeds, comma-separated")
    parser.add_argument("--shared", action="store_true", help="also run shared negatives")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import numba

    from embedlab.eval.link_prediction import link_prediction_auc, split_edges
    from embedlab.train import Graph

    numba.set_num_threads(args.threads)  # PecanPy's walks run on numba's threads
    graph = Graph.from_edges(depends_edges())
    split = split_edges(graph, test_fraction=0.1, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="embedlab-n2v-bench-"))
    edge_file = tmp / "train.tsv"
    src, dst, _ = split.train.edge_pairs()
    keys = split.train.keys
    edge_file.write_text("".join(f"{keys[a]}\t{keys[b]}\n" for a, b in zip(src, dst, strict=True)))
    seeds = [int(x) for x in args.seeds.split(",")]
    report: dict[str, Any] = {
        "nodes": graph.nodes, "edges": graph.edges, "held_out": len(split.positives),
        "settings": {k: getattr(args, k) for k in ("walks", "length", "dim", "window", "threads")}
        | {"seeds": seeds},
        "load_average_before": os.getloadavg(),
    }  # fmt: skip
    sides: list[tuple[str, Any, dict[str, Any]]] = [
        ("embedlab", run_embedlab, {}),
        ("pecanpy", run_pecanpy, {}),
    ]
    if args.shared:
        sides.append(("embedlab_shared", run_embedlab, {"shared": True}))
    for config in args.configs.split(";"):
        p, q = (float(x) for x in config.split(","))
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in sides}
        for seed in seeds:
            s = {"p": p, "q": q, "walks": args.walks, "length": args.length, "dim": args.dim,
                 "window": args.window, "seed": seed}  # fmt: skip
            for name, fn, extra in sides:
                result = fn(edge_file, s | extra, args.threads)
                wv = result.pop("vectors")
                result["auc"] = link_prediction_auc(wv, split.positives, split.negatives)
                result["load_1min"] = os.getloadavg()[0]
                runs[name].append(result)
                shown = {k: round(v, 4) for k, v in result.items()}
                print(f"p={p} q={q} seed={seed} {name}: {shown}", file=sys.stderr, flush=True)
        report[f"p={p},q={q}"] = summarise(runs)
    report["load_average_after"] = os.getloadavg()
    edge_file.unlink()
    tmp.rmdir()
    if args.json:
        print(json.dumps(report))
        return
    print(f"graph: {report['nodes']:,} nodes, {report['edges']:,} edges, "
          f"{report['held_out']:,} held out; {report['settings']}")  # fmt: skip
    for name, row in report.items():
        if not name.startswith("p="):
            continue
        e, pp = row["embedlab"], row["pecanpy"]
        print(f"{name:12} embedlab walk+train {e['walk_and_train_s']:7.1f} s"
              f" (total {e['total_s']:.1f})  AUC {e['auc_mean']:.4f} {e['auc']}")  # fmt: skip
        print(f"{'':12} pecanpy  walk+train {pp['walk_and_train_s']:7.1f} s (walks "
              f"{pp['walk_s']:.1f}, gensim {pp['train_s']:.1f}; total {pp['total_s']:.1f})"
              f"  AUC {pp['auc_mean']:.4f} {pp['auc']}")  # fmt: skip
        if "embedlab_shared" in row:
            sh = row["embedlab_shared"]
            print(f"{'':12} embedlab shared negatives {sh['walk_and_train_s']:7.1f} s"
                  f"  AUC {sh['auc_mean']:.4f} {sh['auc']}")  # fmt: skip
        ci = row.get("auc_interval")
        spread = (
            f" 95% t {ci['t_low']:+.4f}..{ci['t_high']:+.4f},"
            f" bootstrap {ci['bootstrap_low']:+.4f}..{ci['bootstrap_high']:+.4f}"
            if ci
            else ""
        )
        print(f"{'':12} CPU seconds (all threads; read, walk, train): embedlab {e['cpu_s']:.1f},"
              f" pecanpy {pp['cpu_s']:.1f}: x{row['speedup_cpu']}")  # fmt: skip
        print(f"{'':12} speed-up x{row['speedup_walk_and_train']} (total x{row['speedup_total']}),"
              f" AUC difference {row['auc_difference']:+.4f}{spread}")  # fmt: skip
    print(
        f"load average before {report['load_average_before']}, after {report['load_average_after']}"
    )


if __name__ == "__main__":
    main()
