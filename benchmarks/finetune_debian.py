"""Fine-tuning minilm for a domain nobody here wrote: Debian package synopses -> long
descriptions (benchmarks/_debian_data.py), MRR@10 before vs after, CPU minutes.

    python benchmarks/finetune_debian.py                      # 1,500 training pairs, 1 epoch
    python benchmarks/finetune_debian.py --sets debian-short,debian-mixed --json

The pairs: one per source package (benchmarks/_debian_data.candidates: the package with the
longest description, names removed from both sides), descriptions of 15 words or more.
Split by package, with a seed: --test packages are the held-out test split, the rest is
shuffled and --train of them are the training pairs. The packages of the three Debian
retrieval sets of benchmarks/retrieval.py (debian-short, debian-long, debian-mixed) are
never trained on, so --sets scores them too, before (sentence-transformers' minilm, cached
as benchmarks/retrieval.py caches it) and after (exact cosine over their 1,000 documents,
test queries). What runs is the library call ``embedlab finetune`` runs
(``embedlab.train.finetune.finetune``: multiple-negatives ranking loss, in-batch negatives,
sentence-transformers' trainer on CPU), with the test split as its held-out pairs;
minutes of CPU are the process's CPU time (user + system) for the call.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np

from _debian_data import SHAPES, candidates, debian_set
from _retrieval_data import load_dataset
from retrieval import baseline_rankings, exact, scores


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    """Build the split, score minilm, fine-tune, score the result."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=int, default=1500)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument(
        "--sets", default="", help="also score these Debian retrieval sets (debian-short,...)"
    )
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from embedlab import encoders
    from embedlab.train.finetune import Pair, finetune

    torch.set_num_threads(args.threads)
    sets = {
        shape: load_dataset(f"{shape}-1000-200-0", lambda s=shape: debian_set(s, 1000, 200, 0))
        for shape in SHAPES
    }
    reserved = {d["word"] for data in sets.values() for d in data["documents"]}
    pool = [c for c in candidates() if len(c["text"].split()) >= 15 and c["word"] not in reserved]
    order = np.random.default_rng(args.seed).permutation(len(pool))
    test = [Pair(pool[i]["query"], pool[i]["text"]) for i in sorted(order[: args.test])]
    rest = order[args.test :]
    train = [Pair(pool[i]["query"], pool[i]["text"]) for i in rest[: args.train]]
    print(
        f"{len(pool)} packages outside the retrieval sets ({len(reserved)} reserved); "
        f"{len(train)} training pairs, {len(test)} test pairs",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, pairs in (("train", train), ("test", test)):
            with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as handle:
                for p in pairs:
                    handle.write(json.dumps({"query": p.query, "positive": p.positive}) + "\n")
        began, cpu = time.perf_counter(), cpu_seconds()
        report = finetune(
            "minilm",
            folder / "train.jsonl",
            folder / "model",
            eval_pairs=folder / "test.jsonl",
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            seed=args.seed,
            progress=lambda e: (
                print(f"  step {e.step}/{e.steps} loss {e.loss}", file=sys.stderr, flush=True)
                if e.step % 10 == 0
                else None
            ),
        )
        wall, cpu = time.perf_counter() - began, cpu_seconds() - cpu
        retrieval: dict[str, dict[str, float]] = {}
        if args.sets:
            tuned = encoders.load(folder / "model")
            for shape in args.sets.split(","):
                data = sets[shape]
                gold = [q["word"] for q in data["test"]]
                digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
                before = baseline_rankings(data, 32, digest)["test"]  # retrieval.py's cache
                docs = tuned.encode([d["text"] for d in data["documents"]], normalize=True)
                queries = tuned.encode([q["text"] for q in data["test"]], normalize=True)
                retrieval[shape] = {
                    "minilm": scores(before, gold)["mrr@10"],
                    "fine-tuned": scores(exact(data, queries, docs), gold)["mrr@10"],
                }
    result: dict[str, Any] = {
        "train_pairs": len(train),
        "test_pairs": len(test),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "steps": report.steps,
        "test_mrr@10_before": report.mrr_before,
        "test_mrr@10_after": report.mrr_after,
        "wall_minutes": wall / 60,
        "cpu_minutes": cpu / 60,
        "retrieval_sets_test_mrr@10": retrieval,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"fine-tuned minilm on {len(train)} Debian pairs ({args.epochs} epoch, batch "
        f"{args.batch_size}, lr {args.lr}, {report.steps} steps): {cpu / 60:.1f} CPU minutes, "
        f"{wall / 60:.1f} minutes wall ({args.threads} threads)"
    )
    print(
        f"held-out test split ({len(test)} packages): MRR@10 {report.mrr_before:.3f} -> "
        f"{report.mrr_after:.3f}"
    )
    for shape, row in retrieval.items():
        print(
            f"{shape} test MRR@10: minilm {row['minilm']:.3f} -> fine-tuned {row['fine-tuned']:.3f}"
        )


if __name__ == "__main__":
    main()
