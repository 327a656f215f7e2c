"""embedlab Word2Vec against gensim's, side by side on the same corpus and settings.

    python benchmarks/train_word2vec.py                       # GCIDE corpus, sg 1 epoch + cbow 5
    python benchmarks/train_word2vec.py --corpus my.txt --modes cbow --repeat 3
    python benchmarks/train_word2vec.py --seeds 1,2,3,4,5 --modes cbow   # quality over seeds

Settings: dim 100, window 5, min_count 5, negative 5, sample 1e-3, 2 threads.

With --seeds, each mode trains once per seed with each trainer (alternating) and prints
the analogy accuracy and WordSim-353 Spearman of every run, the mean difference
(embedlab - gensim) with a 95% Welch t interval and a 95% bootstrap interval (10,000
resamples of each side's seeds), and the median words/s of each side. Both models are
evaluated in gensim's vocabulary order, so that the same questions count for both (the
two sort words of equal count differently, which changes a few of the first 30,000).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from _trainer_bench import CHILD, DEFAULT_CORPUS, SETTINGS, ensure_corpus, main, run_child

MODES = {"sg": {"sg": True, "epochs": 1}, "cbow": {"sg": False, "epochs": 5}}


def evaluate(path: Path, order: list[str] | None) -> tuple[float, float, int, list[str]]:
    """(analogy accuracy, WordSim Spearman, questions answered, keys) of a saved model,
    its rows put in ``order`` first (keys it lacks are left out) when one is given."""
    from embedlab.eval import evaluate_analogies, evaluate_word_pairs
    from embedlab.io import load_vectors
    from embedlab.vectors import WordVectors

    wv = load_vectors(path)
    keys = list(wv.keys)
    if order is not None:
        row = {key: i for i, key in enumerate(keys)}
        rows = [row[key] for key in order if key in row]
        wv = WordVectors([keys[i] for i in rows], wv.vectors[rows])
    analogies = evaluate_analogies(wv)
    return analogies.accuracy, evaluate_word_pairs(wv).spearman, analogies.answered, keys


def intervals(ours: list[float], theirs: list[float]) -> dict[str, float]:
    """Mean difference ours - theirs, its 95% Welch t interval and 95% bootstrap interval."""
    a, b = np.asarray(ours), np.asarray(theirs)
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    half = 0.0
    if se > 0:  # Welch-Satterthwaite degrees of freedom
        dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        half = float(stats.t.ppf(0.975, dof)) * se
    rng = np.random.default_rng(0)
    boot = rng.choice(a, (10_000, len(a))).mean(axis=1) - rng.choice(b, (10_000, len(b))).mean(
        axis=1
    )
    low, high = np.percentile(boot, [2.5, 97.5])
    return {
        "difference": diff,
        "t_low": diff - half,
        "t_high": diff + half,
        "bootstrap_low": float(low),
        "bootstrap_high": float(high),
    }


def seed_sweep(args: argparse.Namespace) -> None:
    """Train every mode once per seed with both trainers; report quality intervals."""
    corpus = ensure_corpus(args.corpus)
    seeds = [int(s) for s in args.seeds.split(",")]
    if len(seeds) < 2:
        raise SystemExit("--seeds needs at least two seeds for an interval")
    report: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            runs: dict[str, list[dict[str, float]]] = {"gensim": [], "embedlab": []}
            order: list[str] | None = None
            for seed in seeds:
                for trainer in ("gensim", "embedlab"):  # gensim first: its order is the key
                    out = Path(tmp) / f"{mode}-{trainer}-{seed}"
                    cfg = {**SETTINGS, **MODES[mode], "trainer": trainer, "model": "Word2Vec"}
                    cfg |= {"corpus": str(corpus), "threads": args.threads, "seed": seed}
                    run = run_child(CHILD, json.dumps(cfg | {"out": str(out)}))
                    analogy, wordsim, answered, keys = evaluate(out, order)
                    order = keys if order is None else order
                    words = run["corpus_words"] * MODES[mode]["epochs"] / run["seconds"]
                    runs[trainer].append(
                        {"seed": seed, "analogy": analogy, "wordsim": wordsim,
                         "answered": answered, "words_per_second": words}
                    )  # fmt: skip
                    print(
                        f"{mode} {trainer} seed {seed}: analogy {analogy:.4f} ({answered} "
                        f"questions), wordsim {wordsim:.4f}, {words:,.0f} words/s",
                        file=sys.stderr,
                    )
            row: dict[str, Any] = {"mode": mode, "seeds": seeds, "runs": runs}
            for metric in ("analogy", "wordsim"):
                ours = [r[metric] for r in runs["embedlab"]]
                theirs = [r[metric] for r in runs["gensim"]]
                row[metric] = (
                    {"gensim_mean": float(np.mean(theirs))}
                    | {"embedlab_mean": float(np.mean(ours))}
                    | intervals(ours, theirs)
                )
            for trainer in runs:
                row[f"{trainer}_words_per_second"] = statistics.median(
                    r["words_per_second"] for r in runs[trainer]
                )
            report.append(row)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"\nWord2Vec over seeds {seeds}: corpus {corpus}, {args.threads} threads, {SETTINGS}")
    for row in report:
        for metric in ("analogy", "wordsim"):
            m = row[metric]
            print(
                f"{row['mode']:<5} {metric:<8} gensim {m['gensim_mean']:.4f} embedlab "
                f"{m['embedlab_mean']:.4f} difference {m['difference']:+.4f} "
                f"(95% t [{m['t_low']:+.4f}, {m['t_high']:+.4f}], "
                f"bootstrap [{m['bootstrap_low']:+.4f}, {m['bootstrap_high']:+.4f}])"
            )
        print(
            f"{row['mode']:<5} words/s (median over seeds) gensim "
            f"{row['gensim_words_per_second']:,.0f} embedlab "
            f"{row['embedlab_words_per_second']:,.0f}"
        )


if __name__ == "__main__":
    if "--seeds" in sys.argv:
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("--seeds", required=True, help="comma-separated seeds")
        parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
        parser.add_argument("--modes", default="cbow", help="comma-separated: sg, cbow")
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--json", action="store_true", help="print the results as JSON")
        seed_sweep(parser.parse_args())
    else:
        main("Word2Vec", MODES, __doc__)
