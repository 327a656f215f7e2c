"""embedlab GloVe against Stanford's GloVe C tools, side by side on the same corpus and settings.

    python benchmarks/train_glove.py --glove-bin /tmp/glove_bin     # re-measure the anchor
    python benchmarks/train_glove.py                                 # recorded anchor figures

Settings (both sides): min_count 5, symmetric window 10 with 1/distance weights, dim 100,
x_max 10, alpha 0.75, 15 iterations, 2 threads, vectors = W + W~. embedlab runs in a child
process (numba's cache filled first, so compile time is not in the timings); Stanford's
tools run as vocab_count -> cooccur -> shuffle -> glove. Both outputs are scored by the same
evaluator (Google analogies, restrict_vocab 30000; WordSim-353 Spearman).

``--glove-bin DIR`` holds the four executables built from Stanford's sources (this repository
carries none of their code). Without it, the figures recorded in the issue for the same
machine are printed, labelled as recorded.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CORPUS = Path(tempfile.gettempdir()) / "gcide.txt"
SETTINGS = {"dim": 100, "window": 10, "min_count": 5, "x_max": 10.0, "epochs": 15}
RECORDED_ANCHOR = {
    "count_seconds": 11.8,
    "train_seconds": 172.0,
    "seconds": 184.0,
    "analogy": 0.063,
    "wordsim": 0.397,
    "costs": None,
    "pairs": None,
}

CHILD = r"""
import json, sys, time
cfg = json.loads(sys.argv[1])
from embedlab.train import GloVe
model = GloVe(dim=cfg["dim"], window=cfg["window"], min_count=cfg["min_count"],
              x_max=cfg["x_max"], epochs=cfg["epochs"], threads=cfg["threads"], seed=cfg["seed"])
start = time.perf_counter()
wv = model.train(cfg["corpus"])
seconds = time.perf_counter() - start
wv.save(cfg["out"])
print(json.dumps({"seconds": seconds, **model.stats.to_dict()}))
"""

WARM = r"""
from embedlab.train import GloVe
GloVe(dim=8, min_count=1, epochs=1, threads=1).train(["a b c d e"] * 20)
"""


def quality(path: Path) -> tuple[float, float, int]:
    """Analogy accuracy, WordSim-353 Spearman, vocabulary size of a saved model."""
    from embedlab.eval import evaluate_analogies, evaluate_word_pairs
    from embedlab.io import load_vectors

    wv = load_vectors(path)
    return evaluate_analogies(wv).accuracy, evaluate_word_pairs(wv).spearman, len(wv)


def run_embedlab(corpus: Path, threads: int, seed: int, out: Path) -> dict[str, Any]:
    """Train in a child process; return its stats plus quality."""
    subprocess.run([sys.executable, "-c", WARM], check=True)
    cfg = {**SETTINGS, "corpus": str(corpus), "threads": threads, "seed": seed, "out": str(out)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"embedlab child failed:\n{done.stderr}")
    run: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    run["analogy"], run["wordsim"], run["vocab"] = quality(out)
    return run


def run_stanford(corpus: Path, bin_dir: Path, threads: int, work: Path) -> dict[str, Any]:
    """vocab_count -> cooccur -> shuffle -> glove with the same settings; time and score."""

    def tool(name: str, *args: object) -> str:
        cmd = [str(bin_dir / name), *map(str, args)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=work)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return done.stderr

    vocab, cooc, shuf = work / "vocab.txt", work / "cooccurrence.bin", work / "shuffled.bin"
    start = time.perf_counter()
    tool("vocab_count", corpus, vocab, SETTINGS["min_count"])
    tool("cooccur", corpus, vocab, cooc, SETTINGS["window"], 4.0, work / "overflow")
    vocab_size = sum(1 for _ in vocab.open(encoding="utf-8", errors="replace"))
    records = _clean_records(cooc, vocab_size)
    tool("shuffle", cooc, shuf, work / "temp_shuffle", 2.0)
    counted = time.perf_counter()
    log = tool(
        "glove",
        shuf,
        vocab,
        work / "vectors",
        work / "gradsq",
        SETTINGS["dim"],
        SETTINGS["epochs"],
        SETTINGS["x_max"],
        threads,
    )
    end = time.perf_counter()
    costs = [float(c) for c in re.findall(r"iter: \d+, cost: ([0-9.eE+-]+)", log)]
    vectors = work / "vectors.txt"
    lines = [
        ln
        for ln in vectors.read_text(errors="replace").splitlines()
        if ln.split(" ", 1)[0] != "<unk>"
    ]
    (work / "vectors-nounk.txt").write_text("\n".join(lines) + "\n")
    run: dict[str, Any] = {
        "count_seconds": counted - start,
        "train_seconds": end - counted,
        "seconds": end - start,
        "pairs": records,
        "costs": costs,
    }
    run["analogy"], run["wordsim"], run["vocab"] = quality(work / "vectors-nounk.txt")
    return run


def _clean_records(path: Path, vocab_size: int) -> int:
    """Drop records outside 1..V (the packaged cooccur writes a zero record); return the count.

    Stanford's records are (int32 word1, int32 word2, float64 value), 1-based.
    """
    rec = np.dtype([("w1", "<i4"), ("w2", "<i4"), ("x", "<f8")])
    data = np.fromfile(path, dtype=np.uint8)
    recs = data[: len(data) // rec.itemsize * rec.itemsize].view(rec)
    ok = (recs["w1"] >= 1) & (recs["w1"] <= vocab_size) & (recs["w2"] >= 1)
    ok &= (recs["w2"] <= vocab_size) & (recs["x"] > 0)
    if not ok.all() or len(data) % rec.itemsize:
        recs[ok].tofile(path)
    return int(ok.sum())


def main() -> None:
    """Parse arguments, run both sides, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--glove-bin", type=Path, default=None, help="Stanford GloVe tools")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if not args.corpus.exists():
        raise SystemExit(
            f"corpus not found: {args.corpus} (see ../shared/scripts/make_gcide_corpus.sh)"
        )
    with tempfile.TemporaryDirectory(prefix="glove-bench-") as tmp:
        work = Path(tmp)
        ours = run_embedlab(args.corpus, args.threads, args.seed, work / "embedlab")
        if args.glove_bin is not None:
            anchor = run_stanford(args.corpus, args.glove_bin, args.threads, work)
            label = "Stanford GloVe (measured now)"
        else:
            anchor = dict(RECORDED_ANCHOR)
            label = "Stanford GloVe (recorded in the issue, not re-measured)"
    ratio = anchor["seconds"] / ours["seconds"]
    if args.json:
        print(
            json.dumps(
                {"embedlab": ours, "anchor": anchor, "anchor_label": label, "speedup": ratio},
                indent=2,
            )
        )
        return
    print(f"corpus {args.corpus}, {args.threads} threads, {SETTINGS}")
    print(
        f"{'':<12} {'count+shuffle s':>15} {'train s':>8} {'total s':>8} {'pairs':>12} "
        f"{'analogy':>8} {'wordsim':>8}"
    )
    for name, run in (("embedlab", ours), ("anchor", anchor)):
        count = run.get("count_seconds")
        if name == "embedlab":
            count = float(ours["scan_seconds"]) + float(ours["count_seconds"])
        pairs = f"{run['pairs']:,}" if run.get("pairs") else "-"
        print(
            f"{name:<12} {count:>15.1f} {float(run['train_seconds']):>8.1f} "
            f"{float(run['seconds']):>8.1f} {pairs:>12} {float(run['analogy']):>8.3f} "
            f"{float(run['wordsim']):>8.3f}"
        )
    print(
        f"anchor: {label}; embedlab end to end is {ratio:.2f}x faster "
        f"({float(ours['seconds']):.1f} s vs {float(anchor['seconds']):.1f} s)"
    )
    for name, run in (("embedlab", ours), ("anchor", anchor)):
        if run.get("costs"):
            costs = ", ".join(f"{c:.4f}" for c in run["costs"])
            print(f"cost per epoch, {name}: {costs}")


if __name__ == "__main__":
    main()
