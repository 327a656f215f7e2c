"""embedlab's Doc2Vec against gensim's Doc2Vec, same settings, side by side in one run.

    python benchmarks/doc2vec.py                       # PV-DBOW and PV-DM, 20k packages
    python benchmarks/doc2vec.py --modes dbow --n 5000 --json

Data (built here, never committed): Debian bookworm main's packages, each document the
one-line synopsis plus the long description (Translation-en, read by
benchmarks/_debian_data.py), the label its Section (from `apt-cache dumpavail`, as in
benchmarks/analysis_debian.py). Packages whose long description repeats another's are
dropped (foo / foo-doc would leak across splits), as are sections with fewer than 100
packages; --n are drawn (seed 0) and split 60/20/20 into train/dev/test.

Each side trains on the train documents only (same tokens: embedlab's tokenizer; gensim
gets them pre-split, which spares it the tokenizing embedlab's timing includes), then
infers vectors for dev and test. A logistic regression (scikit-learn) on the train
vectors (standardised), C chosen on dev from (0.01, 0.1, 1), reports test accuracy and
macro-F1. ``dbow-shareN`` runs embedlab's PV-DBOW with ``dbow_share=N`` (N words of a
document share one draw of negatives) against gensim's plain PV-DBOW.
words/s is corpus words x epochs over the whole training call (vocabulary scan
included), gensim's build_vocab + train likewise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np

import _debian_data
from analysis_debian import packages


def documents(n: int) -> dict[str, list[tuple[str, str]]]:
    """(text, section) per package: train/dev/test, as the module says."""
    described = _debian_data.descriptions()
    section = {r["name"]: r["section"] for r in packages()}
    seen: set[str] = set()
    rows = []
    for name in sorted(described):
        synopsis, body = described[name]
        if name not in section or len(body.split()) < 5 or body in seen:
            continue
        seen.add(body)
        rows.append((f"{synopsis}. {body}", section[name]))
    counts: dict[str, int] = {}
    for _, s in rows:
        counts[s] = counts.get(s, 0) + 1
    rows = [r for r in rows if counts[r[1]] >= 100]
    order = np.random.default_rng(0).permutation(len(rows))[:n]
    rows = [rows[i] for i in order]
    a, b = int(0.6 * len(rows)), int(0.8 * len(rows))
    return {"train": rows[:a], "dev": rows[a:b], "test": rows[b:]}


def classify(train: Any, y_train: Any, dev: Any, y_dev: Any, test: Any, y_test: Any) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import StandardScaler

    scale = StandardScaler().fit(train)
    train, dev, test = scale.transform(train), scale.transform(dev), scale.transform(test)
    best = None
    for c in (0.01, 0.1, 1.0):
        clf = LogisticRegression(C=c, max_iter=2000).fit(train, y_train)
        acc = accuracy_score(y_dev, clf.predict(dev))
        if best is None or acc > best[0]:
            best = (acc, c, clf)
    assert best is not None
    dev_acc, c, clf = best
    pred = clf.predict(test)
    return {
        "C": c,
        "dev_accuracy": round(dev_acc, 4),
        "test_accuracy": round(float(accuracy_score(y_test, pred)), 4),
        "test_macro_f1": round(float(f1_score(y_test, pred, average="macro")), 4),
    }


def run_embedlab(parts: Any, settings: dict[str, Any], threads: int) -> dict[str, Any]:
    from embedlab.train import Doc2Vec

    texts = [t for t, _ in parts["train"]]
    start = time.perf_counter()
    model = Doc2Vec(**settings, threads=threads)  # dbow_share: embedlab only
    dv = model.train(texts)
    seconds = time.perf_counter() - start
    assert model.stats is not None
    words = model.stats.words
    start = time.perf_counter()
    dev = dv.infer_vectors([t for t, _ in parts["dev"]])
    test = dv.infer_vectors([t for t, _ in parts["test"]])
    infer_s = time.perf_counter() - start
    return {"train_s": seconds, "words": words, "words_per_s": words / seconds,
            "infer_s": infer_s, "vectors": (dv.vectors, dev, test)}  # fmt: skip


def run_gensim(parts: Any, settings: dict[str, Any], threads: int) -> dict[str, Any]:
    from gensim.models.doc2vec import Doc2Vec as GensimDoc2Vec
    from gensim.models.doc2vec import TaggedDocument

    from embedlab.text.corpus import Corpus

    tokens = {k: list(Corpus([t for t, _ in rows])) for k, rows in parts.items()}
    corpus = [TaggedDocument(words, [i]) for i, words in enumerate(tokens["train"])]
    s = settings
    start = time.perf_counter()
    model = GensimDoc2Vec(
        vector_size=s["dim"], dm=int(s["dm"]), dbow_words=int(s.get("dbow_words", False)),
        dm_mean=1, window=s["window"], min_count=s["min_count"], negative=s["negative"],
        sample=s["sample"], alpha=s["alpha"], min_alpha=s["min_alpha"], epochs=s["epochs"],
        workers=threads, seed=s["seed"], hs=0,
    )  # fmt: skip
    model.build_vocab(corpus)
    model.train(corpus, total_examples=len(corpus), epochs=s["epochs"])
    seconds = time.perf_counter() - start
    words = sum(len(w) for w in tokens["train"]) * s["epochs"]
    start = time.perf_counter()
    dev = np.stack([model.infer_vector(w) for w in tokens["dev"]])
    test = np.stack([model.infer_vector(w) for w in tokens["test"]])
    infer_s = time.perf_counter() - start
    train = np.stack([model.dv[i] for i in range(len(corpus))])
    return {"train_s": seconds, "words": words, "words_per_s": words / seconds,
            "infer_s": infer_s, "vectors": (train, dev, test)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument(
        "--modes",
        default="dbow,dbow-share4,dm",
        help="comma list of dbow, dbow-shareN (embedlab's dbow_share=N; gensim plain dbow), "
        "dbow_words, dm",
    )
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    parts = documents(args.n)
    labels = {k: [s for _, s in rows] for k, rows in parts.items()}
    report: dict[str, Any] = {
        "docs": {k: len(v) for k, v in parts.items()},
        "sections": len(set(labels["train"])),
        "load_average_before": os.getloadavg(),
    }
    done: dict[tuple[str, bool, bool], dict[str, Any]] = {}
    for mode in args.modes.split(","):
        share = int(mode.removeprefix("dbow-share")) if mode.startswith("dbow-share") else 1
        settings = {
            "dim": args.dim, "dm": mode == "dm", "dbow_words": mode == "dbow_words",
            "dbow_share": share,
            "window": 5, "min_count": args.min_count, "negative": 5, "sample": 1e-3,
            "alpha": 0.025, "min_alpha": 0.0001, "epochs": args.epochs, "seed": 1,
        }  # fmt: skip
        row: dict[str, Any] = {}
        for name, fn in (("embedlab", run_embedlab), ("gensim", run_gensim)):
            same = (name, settings["dm"], settings["dbow_words"])
            if same in done:  # gensim has no dbow_share: its plain PV-DBOW run is reused
                row[name] = done[same]
                continue
            result = fn(parts, settings, args.threads)
            train, dev, test = result.pop("vectors")
            result |= classify(train, labels["train"], dev, labels["dev"], test, labels["test"])
            row[name] = {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}
            if name == "gensim":
                done[same] = row[name]
            print(f"{mode} {name}: {row[name]}", file=sys.stderr)
        row["speedup_words_per_s"] = round(
            row["embedlab"]["words_per_s"] / row["gensim"]["words_per_s"], 2
        )
        row["accuracy_difference"] = round(
            row["embedlab"]["test_accuracy"] - row["gensim"]["test_accuracy"], 4
        )
        report[mode] = row
    report["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(report))
        return
    print(f"docs {report['docs']}, {report['sections']} sections")
    for mode in args.modes.split(","):
        row = report[mode]
        for name in ("embedlab", "gensim"):
            r = row[name]
            print(f"{mode:10} {name:9} {r['words_per_s']:>12,.0f} words/s"
                  f"  train {r['train_s']:6.1f} s  infer {r['infer_s']:5.1f} s"
                  f"  test acc {r['test_accuracy']:.4f}"
                  f"  macro-F1 {r['test_macro_f1']:.4f}  (C={r['C']})")  # fmt: skip
        print(f"{mode:10} speed-up x{row['speedup_words_per_s']}, accuracy difference "
              f"{row['accuracy_difference']:+.4f}")  # fmt: skip
    print(
        f"load average before {report['load_average_before']}, after {report['load_average_after']}"
    )


if __name__ == "__main__":
    main()
