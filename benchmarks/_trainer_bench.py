"""Shared driver of the trainer benchmarks: embedlab vs gensim, side by side in one run.

Each run trains in a fresh child process (so that peak memory is each trainer's own),
then evaluates both models with the same evaluator (Google analogies, restrict_vocab
30000; WordSim-353 Spearman), and prints words/s, the ratio, quality and peak RSS.
words/s is raw corpus words x epochs over the wall time of the whole training call,
vocabulary scan included, for both trainers (gensim's own figure is taken that way).
numba's one-off compile time is measured separately, in a child with an empty cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
DEFAULT_CORPUS = Path(tempfile.gettempdir()) / "gcide.txt"
SETTINGS = {"dim": 100, "window": 5, "min_count": 5, "negative": 5, "sample": 1e-3}

CHILD = r"""
import json, resource, sys, time
cfg = json.loads(sys.argv[1])
def peak_mb():
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if cfg["trainer"] == "embedlab":
    import embedlab.train
    trainer = getattr(embedlab.train, cfg["model"])
    model = trainer(dim=cfg["dim"], window=cfg["window"], min_count=cfg["min_count"],
                    negative=cfg["negative"], sample=cfg["sample"], sg=cfg["sg"],
                    epochs=cfg["epochs"], threads=cfg["threads"], seed=cfg["seed"])
    start = time.perf_counter()
    wv = model.train(cfg["corpus"])
    seconds = time.perf_counter() - start
    peak = peak_mb()
    corpus_words = model.stats.corpus_words
    wv.save(cfg["out"])
else:
    import gensim.models
    from gensim.models.word2vec import LineSentence
    start = time.perf_counter()
    trainer = getattr(gensim.models, cfg["model"])
    model = trainer(LineSentence(cfg["corpus"]), vector_size=cfg["dim"], window=cfg["window"],
                     min_count=cfg["min_count"], negative=cfg["negative"], sample=cfg["sample"],
                     sg=int(cfg["sg"]), epochs=cfg["epochs"], workers=cfg["threads"],
                     seed=cfg["seed"], hs=0)
    seconds = time.perf_counter() - start
    peak = peak_mb()
    corpus_words = model.corpus_total_words
    model.wv.save_word2vec_format(cfg["out"], binary=True)
print(json.dumps({"seconds": seconds, "peak_mb": peak, "corpus_words": corpus_words}))
"""

COMPILE_CHILD = r"""
import json, sys, time
start = time.perf_counter()
import embedlab.train
trainer = getattr(embedlab.train, sys.argv[1])
trainer(dim=8, min_count=1, epochs=1, threads=1, sg=True).train(["a b c d e"] * 20)
trainer(dim=8, min_count=1, epochs=1, threads=1, sg=False).train(["a b c d e"] * 20)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def run_child(code: str, arg: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a child Python with one argument and return the JSON it prints last."""
    args = [sys.executable, "-c", code, arg]
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compile_seconds(model: str) -> tuple[float, float]:
    """(cold compile into an empty numba cache, warm start from the cache) in seconds."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = run_child(COMPILE_CHILD, model, env=env)["seconds"]
        warm = run_child(COMPILE_CHILD, model, env=env)["seconds"]
    run_child(COMPILE_CHILD, model)  # fill the default cache before timing the real runs
    return cold, warm


def quality(path: Path) -> tuple[float, float, int]:
    """Analogy accuracy, WordSim-353 Spearman, vocabulary size of a saved model."""
    from embedlab.eval import evaluate_analogies, evaluate_word_pairs
    from embedlab.io import load_vectors

    wv = load_vectors(path)
    return evaluate_analogies(wv).accuracy, evaluate_word_pairs(wv).spearman, len(wv)


def ensure_corpus(path: Path) -> Path:
    """Build the GCIDE corpus with the shared script if it is not there yet."""
    if path.exists():
        return path
    script = SHARED / "scripts" / "make_gcide_corpus.sh"
    if path != DEFAULT_CORPUS or not script.exists():
        raise SystemExit(f"corpus not found: {path}")
    print(f"building {path} with {script} (needs Debian's dict-gcide)", file=sys.stderr)
    subprocess.run(["bash", str(script), str(path)], check=True)
    return path


def vectors_budget(row: dict[str, Any]) -> float:
    """Peak-memory target: 1.5 x the final vectors + 200 MB."""
    return 1.5 * row["embedlab_vocab"] * SETTINGS["dim"] * 4 / 2**20 + 200


def main(
    model: str,
    modes: dict[str, dict[str, Any]],
    doc: str | None,
    *,
    memory_budget: Callable[[dict[str, Any]], float] = vectors_budget,
) -> None:
    """Parse arguments, run every mode of model for both trainers, print the table.

    model names the class in both embedlab.train and gensim.models ("Word2Vec",
    "FastText"); modes maps a mode name to its settings (sg, epochs); memory_budget
    gives the peak-memory target (MB) from a result row.
    """
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--modes", default=",".join(modes), help="comma-separated: sg, cbow")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="runs per trainer; the median counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    corpus = ensure_corpus(args.corpus)

    cold, warm = compile_seconds(model)
    print(
        f"numba compile (empty cache): {cold:.1f} s; start from cache: {warm:.1f} s",
        file=sys.stderr,
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            runs: dict[str, list[dict[str, float]]] = {"gensim": [], "embedlab": []}
            for i in range(args.repeat):
                for trainer in ("gensim", "embedlab"):  # alternate, so drift hits both alike
                    out = Path(tmp) / f"{mode}-{trainer}-{i}"
                    cfg = {
                        **SETTINGS,
                        **modes[mode],
                        "trainer": trainer,
                        "model": model,
                        "corpus": str(corpus),
                        "threads": args.threads,
                        "seed": args.seed,
                        "out": str(out),
                    }
                    run = run_child(CHILD, json.dumps(cfg))
                    run["words_per_second"] = (
                        run["corpus_words"] * modes[mode]["epochs"] / run["seconds"]
                    )
                    run["analogy"], run["wordsim"], run["vocab"] = quality(out)
                    runs[trainer].append(run)
                    print(
                        f"{mode} {trainer} run {i + 1}: {run['words_per_second']:,.0f} words/s, "
                        f"analogy {run['analogy']:.3f}, wordsim {run['wordsim']:.3f}, "
                        f"peak {run['peak_mb']:.0f} MB",
                        file=sys.stderr,
                    )
            row = {"mode": mode, "epochs": modes[mode]["epochs"]}
            for trainer, trainer_runs in runs.items():
                for key in (
                    "words_per_second",
                    "seconds",
                    "analogy",
                    "wordsim",
                    "peak_mb",
                    "vocab",
                ):
                    row[f"{trainer}_{key}"] = statistics.median(r[key] for r in trainer_runs)
            row["speedup"] = row["embedlab_words_per_second"] / row["gensim_words_per_second"]
            row["memory_budget_mb"] = memory_budget(row)
            results.append(row)

    if args.json:
        print(
            json.dumps(
                {"compile_seconds": cold, "cache_start_seconds": warm, "results": results}, indent=2
            )
        )
        return
    print(
        f"\n{model}: corpus {corpus}, {args.threads} threads, {SETTINGS}, median of {args.repeat}"
    )
    print(
        f"numba one-off compile: {cold:.1f} s (start from cache: {warm:.1f} s), "
        "not in the timings below"
    )
    header = (
        f"{'mode':<5} {'epochs':>6} {'gensim w/s':>11} {'embedlab w/s':>13} {'ratio':>6} "
        f"{'analogy g/e':>13} {'wordsim g/e':>13} {'peak MB g/e':>12} {'target MB':>10}"
    )
    print(header)
    for r in results:
        print(
            f"{r['mode']:<5} {r['epochs']:>6} {r['gensim_words_per_second']:>11,.0f} "
            f"{r['embedlab_words_per_second']:>13,.0f} {r['speedup']:>5.2f}x "
            f"{r['gensim_analogy']:>6.3f}/{r['embedlab_analogy']:.3f} "
            f"{r['gensim_wordsim']:>6.3f}/{r['embedlab_wordsim']:.3f} "
            f"{r['gensim_peak_mb']:>5.0f}/{r['embedlab_peak_mb']:<5.0f} "
            f"{r['memory_budget_mb']:>10.0f}"
        )
