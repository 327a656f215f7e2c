"""embedlab's minilm encoder (torch and onnx-int8 backends) against sentence-transformers.

    python benchmarks/encode.py                    # short, long and windowed GCIDE texts
    python benchmarks/encode.py --repeat 3 --json
    python benchmarks/encode.py --sets short --sentences 500

All in one process, three sets of texts from the GCIDE corpus (evenly spaced lines):

* ``short``: --sentences lines of 5-60 words (about 19 words, 26 tokens);
* ``long``: --long lines of at least 400 characters, cut to 400 (about 90 tokens);
* ``windows``: --windows lines of 250-1,000 words, longer than the model's 256 tokens,
  so embedlab encodes each as overlapping token windows and averages them.
  sentence-transformers would read only the first 256 tokens of these, so its row
  encodes the very windows embedlab makes (decoded back to text): the same work, the
  way a user of sentence-transformers covers a long text.

Batch size 32, 2 threads (torch.set_num_threads, onnxruntime intra-op threads). Each
system encodes each set once to warm up, then --repeat timed rounds with the systems
alternating (the order rotates each round); the median rate counts. The ONNX export and
quantization are timed separately, into a fresh cache folder unless --cache-dir names
one, and are not in the rates. Quality of onnx-int8 against sentence-transformers'
fp32 vectors: mean cosine, and the top-10 overlap when --queries texts of the set
(evenly spaced) search the rest by cosine (each query itself left out), the fp32
answers being the reference.
Targets (issues 5, 11): torch within 5% of sentence-transformers; onnx-int8 at least
2.5x sentence-transformers on every set, with mean cosine >= 0.997 and top-10 overlap
>= 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub

import numpy as np

from _trainer_bench import DEFAULT_CORPUS, ensure_corpus

SYSTEMS = ("sentence-transformers", "embedlab-torch", "embedlab-onnx-int8")
SETS = ("short", "long", "windows")
Encode = Callable[[list[str]], Any]


def evenly(items: list[str], count: int, what: str, corpus: Path) -> list[str]:
    """count items evenly spaced through items (or exit saying there are too few)."""
    if len(items) < count:
        raise SystemExit(f"{corpus} has {len(items)} {what}, not {count}")
    return items[:: len(items) // count][:count]


def read_sets(corpus: Path, args: argparse.Namespace) -> dict[str, list[str]]:
    """The three sets of texts (see the module docstring), those named in --sets."""
    with corpus.open(encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle]
    words = [len(line.split()) for line in lines]
    pools = {
        "short": ([s for s, n in zip(lines, words, strict=True) if 5 <= n <= 60], args.sentences),
        "long": ([s[:400] for s in lines if len(s) >= 400], args.long),
        "windows": (
            [s for s, n in zip(lines, words, strict=True) if 300 <= n <= 1000],
            args.windows,
        ),
    }
    return {
        name: evenly(pools[name][0], pools[name][1], f"{name} lines", corpus)
        for name in args.sets.split(",")
    }


def build(args: argparse.Namespace, cache: Path) -> tuple[dict[str, Any], float]:
    """The three encoders (ST, embedlab torch, embedlab onnx), and the export seconds."""
    import torch
    from sentence_transformers import SentenceTransformer

    from embedlab.encoders import load
    from embedlab.encoders.onnx import OnnxEncoder

    torch.set_num_threads(args.threads)
    torch_encoder = load("minilm")
    st = SentenceTransformer(str(torch_encoder.path), device="cpu")  # type: ignore[attr-defined]
    onnx_encoder = OnnxEncoder("minilm", threads=args.threads, cache_dir=cache)
    print(f"onnx file: {onnx_encoder.model_file}", file=sys.stderr)
    encoders = {"sentence-transformers": st, "embedlab-torch": torch_encoder}
    encoders["embedlab-onnx-int8"] = onnx_encoder
    return encoders, onnx_encoder.export_seconds


def st_windows(onnx_encoder: Any, texts: list[str]) -> tuple[list[str], list[int]]:
    """The token windows embedlab encodes for texts, decoded to text, and their owners."""
    sequences, owners, _, _ = onnx_encoder._plan(texts, "")
    cut = len(onnx_encoder._prefix), len(onnx_encoder._suffix)
    tokenizer = onnx_encoder._tokenizer
    pieces = [tokenizer.decode(s[cut[0] : len(s) - cut[1]]) for s in sequences]
    return pieces, owners


def systems_for(
    name: str, texts: list[str], encoders: dict[str, Any], batch_size: int
) -> dict[str, Encode]:
    """The three encode functions for one set (ST on the same windows for 'windows')."""
    from embedlab.encoders._windows import pool_windows

    st = encoders["sentence-transformers"]

    def st_encode(batch: list[str]) -> Any:
        return st.encode(batch, batch_size=batch_size, show_progress_bar=False)

    run_st: Encode = st_encode
    if name == "windows":
        pieces, owners = st_windows(encoders["embedlab-onnx-int8"], texts)

        def run_st(batch: list[str]) -> Any:
            rows = st_encode(pieces)  # the same windows whatever the batch (it is texts)
            return pool_windows(len(batch), rows.shape[1], rows, owners)

    return {
        "sentence-transformers": run_st,
        "embedlab-torch": lambda b: encoders["embedlab-torch"].encode(b, batch_size=batch_size),
        "embedlab-onnx-int8": lambda b: encoders["embedlab-onnx-int8"].encode(
            b, batch_size=batch_size
        ),
    }


def unit(x: Any) -> np.ndarray:
    """Rows scaled to unit length (float64)."""
    rows = np.asarray(x, dtype=np.float64)
    scaled: np.ndarray = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return scaled


def top10_overlap(reference: np.ndarray, other: np.ndarray, queries: int) -> float:
    """Mean share of the reference's top-10 neighbours that other's top 10 also holds."""
    rows = np.linspace(0, len(reference) - 1, min(queries, len(reference))).astype(np.int64)

    def top(x: np.ndarray) -> np.ndarray:
        scores = x[rows] @ x.T
        scores[np.arange(len(rows)), rows] = -np.inf  # leave the query itself out
        return np.argsort(-scores, axis=1, kind="stable")[:, :10]

    a, b = top(reference), top(other)
    return float(np.mean([len(set(p) & set(q)) / 10 for p, q in zip(a, b, strict=True)]))


def measure(
    name: str, texts: list[str], encoders: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Warm up, time --repeat alternating rounds, and compare the vectors, for one set."""
    systems = systems_for(name, texts, encoders, args.batch_size)
    vectors = {system: unit(run(texts)) for system, run in systems.items()}  # warm-up
    onnx_encoder = encoders["embedlab-onnx-int8"]
    seconds: dict[str, list[float]] = {system: [] for system in SYSTEMS}
    for i in range(args.repeat):
        for system in SYSTEMS[i % 3 :] + SYSTEMS[: i % 3]:  # alternate, rotating
            start = time.perf_counter()
            systems[system](texts)
            seconds[system].append(time.perf_counter() - start)
            rate = len(texts) / seconds[system][-1]
            print(f"{name} run {i + 1} {system}: {rate:,.1f} texts/s", file=sys.stderr)
    rates = {system: len(texts) / statistics.median(s) for system, s in seconds.items()}
    ratio = {system: rates[system] / rates["sentence-transformers"] for system in SYSTEMS}
    reference, int8 = vectors["sentence-transformers"], vectors["embedlab-onnx-int8"]
    cosines = np.sum(reference * int8, axis=1)
    sequences, _, _, _ = onnx_encoder._plan(texts, "")
    return {
        "texts": len(texts),
        "mean_words": float(np.mean([len(t.split()) for t in texts])),
        "sequences": len(sequences),
        "mean_tokens": float(np.mean([len(s) for s in sequences])),
        "texts_per_second": rates,
        "ratio_to_sentence_transformers": ratio,
        "torch_mean_cosine": float(np.mean(np.sum(reference * vectors["embedlab-torch"], 1))),
        "int8_mean_cosine": float(cosines.mean()),
        "int8_min_cosine": float(cosines.min()),
        "int8_top10_overlap": top10_overlap(reference, int8, args.queries),
    }


def checks(results: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """The targets, per set."""
    out = {}
    for name, r in results.items():
        ratio = r["ratio_to_sentence_transformers"]
        out[f"{name}: torch within 5% of sentence-transformers"] = ratio["embedlab-torch"] >= 0.95
        out[f"{name}: onnx-int8 >= 2.5x sentence-transformers"] = ratio["embedlab-onnx-int8"] >= 2.5
        out[f"{name}: onnx-int8 mean cosine to fp32 >= 0.997"] = r["int8_mean_cosine"] >= 0.997
        out[f"{name}: onnx-int8 top-10 overlap >= 0.9"] = r["int8_top10_overlap"] >= 0.9
    return out


def main() -> None:
    """Parse arguments, time the three systems on each set, report rates, quality, targets."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ",".join(SETS))
    parser.add_argument("--sentences", type=int, default=2000, help="texts in the short set")
    parser.add_argument("--long", type=int, default=1000, help="texts in the long set")
    parser.add_argument("--windows", type=int, default=60, help="texts in the windows set")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="runs per system; the median counts")
    parser.add_argument("--cache-dir", type=Path, help="ONNX cache (default: a fresh temp dir)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if unknown := set(args.sets.split(",")) - set(SETS):
        raise SystemExit(f"--sets: unknown {sorted(unknown)}; choose from {', '.join(SETS)}")
    texts = read_sets(ensure_corpus(args.corpus), args)

    with tempfile.TemporaryDirectory() as tmp:
        encoders, export_seconds = build(args, args.cache_dir or Path(tmp))
        results = {name: measure(name, items, encoders, args) for name, items in texts.items()}
    passed = checks(results)
    summary = {
        "threads": args.threads,
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "onnx_export_seconds": export_seconds,
        "sets": results,
        "checks": passed,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(
        f"\nminilm, batch {args.batch_size}, {args.threads} threads, median of {args.repeat}; "
        f"ONNX export + int8 quantization (once, not timed): {export_seconds:.1f} s"
    )
    print(
        f"{'set':<8} {'texts':>6} {'tokens':>7} {'windows':>8} "
        + " ".join(f"{s:>22}" for s in SYSTEMS)
        + f" {'cos mean/min':>14} {'top-10':>7}"
    )
    for name, r in results.items():
        cells = " ".join(
            f"{r['texts_per_second'][s]:>13,.1f} ({r['ratio_to_sentence_transformers'][s]:.2f}x)"
            for s in SYSTEMS
        )
        print(
            f"{name:<8} {r['texts']:>6} {r['mean_tokens']:>7.1f} {r['sequences']:>8} {cells} "
            f"{r['int8_mean_cosine']:>7.4f}/{r['int8_min_cosine']:.4f} "
            f"{r['int8_top10_overlap']:>7.3f}"
        )
    print("(texts/s, and the ratio to sentence-transformers; cosine and top-10 of onnx-int8)")
    for label, ok in passed.items():
        print(f"{'PASS' if ok else 'FAIL'} {label}")


if __name__ == "__main__":
    main()
