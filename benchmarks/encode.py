"""embedlab's minilm encoder (torch and onnx-int8 backends) against sentence-transformers.

    python benchmarks/encode.py                    # 2,000 GCIDE sentences, 2 threads
    python benchmarks/encode.py --repeat 3 --json

All in one process: the same sentences (every Nth line of the GCIDE corpus with 5-60
words), batch size 32, 2 threads (torch.set_num_threads, onnxruntime intra-op threads).
Each system encodes all sentences once to warm up, then --repeat timed runs with the
systems alternating (the order rotates each round); the median rate counts. The ONNX
export and quantization are timed separately, into a fresh cache folder unless
--cache-dir names one, and are not in the rates.
Quality of onnx-int8 against sentence-transformers' fp32 vectors: mean cosine, and the
top-10 overlap when --queries of the sentences (evenly spaced) search the rest by cosine
(each query itself left out), the fp32 answers being the reference.
Targets (issue 5): torch within 5% of sentence-transformers; onnx-int8 at least 2.5x
sentence-transformers with mean cosine >= 0.99 and top-10 overlap >= 0.9.
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


def sentences(corpus: Path, count: int, *, low: int = 5, high: int = 60) -> list[str]:
    """count lines of the corpus with low..high words, evenly spaced through it."""
    with corpus.open(encoding="utf-8", errors="replace") as handle:
        lines = [s for line in handle if low <= len((s := line.strip()).split()) <= high]
    if len(lines) < count:
        raise SystemExit(f"{corpus} has {len(lines)} lines of {low}-{high} words, not {count}")
    step = len(lines) // count
    return lines[::step][:count]


def build(args: argparse.Namespace, cache: Path) -> tuple[dict[str, Callable[..., Any]], float]:
    """The three encode functions, and the seconds the ONNX export + quantization took."""
    import torch
    from sentence_transformers import SentenceTransformer

    from embedlab.encoders import load
    from embedlab.encoders.onnx import OnnxEncoder

    torch.set_num_threads(args.threads)
    torch_encoder = load("minilm")
    st = SentenceTransformer(str(torch_encoder.path), device="cpu")  # type: ignore[attr-defined]
    onnx_encoder = OnnxEncoder("minilm", threads=args.threads, cache_dir=cache)
    print(f"onnx file: {onnx_encoder.model_file}", file=sys.stderr)
    size = args.batch_size
    systems: dict[str, Callable[..., Any]] = {
        "sentence-transformers": lambda texts: st.encode(
            texts, batch_size=size, show_progress_bar=False
        ),
        "embedlab-torch": lambda texts: torch_encoder.encode(texts, batch_size=size),
        "embedlab-onnx-int8": lambda texts: onnx_encoder.encode(texts, batch_size=size),
    }
    return systems, onnx_encoder.export_seconds


def unit(x: Any) -> np.ndarray:
    """Rows scaled to unit length (float64)."""
    rows = np.asarray(x, dtype=np.float64)
    scaled: np.ndarray = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return scaled


def top10_overlap(reference: np.ndarray, other: np.ndarray, queries: int) -> float:
    """Mean share of the reference's top-10 neighbours that other's top 10 also holds."""
    rows = np.linspace(0, len(reference) - 1, queries).astype(np.int64)

    def top(x: np.ndarray) -> np.ndarray:
        scores = x[rows] @ x.T
        scores[np.arange(len(rows)), rows] = -np.inf  # leave the query itself out
        return np.argsort(-scores, axis=1, kind="stable")[:, :10]

    a, b = top(reference), top(other)
    return float(np.mean([len(set(p) & set(q)) / 10 for p, q in zip(a, b, strict=True)]))


def main() -> None:
    """Parse arguments, time the three systems, report rates, quality and targets."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="runs per system; the median counts")
    parser.add_argument("--cache-dir", type=Path, help="ONNX cache (default: a fresh temp dir)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    texts = sentences(ensure_corpus(args.corpus), args.sentences)

    with tempfile.TemporaryDirectory() as tmp:
        systems, export_seconds = build(args, args.cache_dir or Path(tmp))
        vectors = {name: unit(run(texts)) for name, run in systems.items()}  # warm-up
        seconds: dict[str, list[float]] = {name: [] for name in SYSTEMS}
        for i in range(args.repeat):
            for name in SYSTEMS[i % 3 :] + SYSTEMS[: i % 3]:  # alternate, rotating
                start = time.perf_counter()
                systems[name](texts)
                seconds[name].append(time.perf_counter() - start)
                rate = len(texts) / seconds[name][-1]
                print(f"run {i + 1} {name}: {rate:,.1f} sentences/s", file=sys.stderr)

    rates = {name: len(texts) / statistics.median(s) for name, s in seconds.items()}
    ratio = {name: rates[name] / rates["sentence-transformers"] for name in SYSTEMS}
    reference, int8 = vectors["sentence-transformers"], vectors["embedlab-onnx-int8"]
    cosines = np.sum(reference * int8, axis=1)
    torch_cosine = float(np.mean(np.sum(reference * vectors["embedlab-torch"], axis=1)))
    overlap = top10_overlap(reference, int8, args.queries)
    checks = {
        "torch within 5% of sentence-transformers": ratio["embedlab-torch"] >= 0.95,
        "onnx-int8 >= 2.5x sentence-transformers": ratio["embedlab-onnx-int8"] >= 2.5,
        "onnx-int8 mean cosine to fp32 >= 0.99": float(cosines.mean()) >= 0.99,
        "onnx-int8 top-10 overlap >= 0.9": overlap >= 0.9,
    }
    result = {
        "sentences": len(texts),
        "mean_words": float(np.mean([len(t.split()) for t in texts])),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "sentences_per_second": rates,
        "ratio_to_sentence_transformers": ratio,
        "onnx_export_seconds": export_seconds,
        "torch_mean_cosine": torch_cosine,
        "int8_mean_cosine": float(cosines.mean()),
        "int8_min_cosine": float(cosines.min()),
        "int8_top10_overlap": overlap,
        "checks": checks,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"\nminilm on {len(texts)} GCIDE sentences ({result['mean_words']:.1f} words on "
        f"average), batch {args.batch_size}, {args.threads} threads, median of {args.repeat}"
    )
    print(f"ONNX export + int8 quantization (once, not timed below): {export_seconds:.1f} s")
    print(f"{'system':<22} {'sentences/s':>12} {'vs ST':>7}")
    for name in SYSTEMS:
        print(f"{name:<22} {rates[name]:>12,.1f} {ratio[name]:>6.2f}x")
    print(f"torch mean cosine to sentence-transformers: {torch_cosine:.6f}")
    print(
        f"onnx-int8 vs fp32: mean cosine {cosines.mean():.4f} (min {cosines.min():.4f}), "
        f"top-10 overlap {overlap:.3f} ({args.queries} queries)"
    )
    for label, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {label}")


if __name__ == "__main__":
    main()
