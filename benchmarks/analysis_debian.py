"""embedlab.analysis on Debian's package list, against the tools a user would pick instead.

    python benchmarks/analysis_debian.py                  # all four parts, ~20k packages
    python benchmarks/analysis_debian.py --only classify --n 20000 --json

Data (built here, cached under the temporary folder, never committed): every binary
package of `apt-cache dumpavail` (run `apt-get update` first) with its Section (the
"contrib/" or "non-free/" prefix dropped), its one-line and long description and its
Depends list. Packages are shuffled (seed 0), sections with fewer than 100 packages in
the whole list are dropped, --n are kept and split 60/20/20 into train/dev/test. Anything
tuned is tuned on dev; test is reported.

Vectors: MiniLM encoded 15 texts/s on the shared 2 cores when this was written, so the
vectors are LSA instead: TF-IDF (sublinear tf, English stop words, min_df 2) over
"short description + long description", fitted on train, reduced by TruncatedSVD to
--dim (384, MiniLM's width; seed 0), rows scaled to unit length.

Parts, each side by side in one run:
- cluster: embedlab k-means (faiss, k = number of sections) against scikit-learn KMeans
  (n_init=1, same k) on the test vectors: NMI / ARI against Section, and seconds;
  embedlab HDBSCAN (min_cluster_size 10) against scikit-learn HDBSCAN called directly.
- classify: Section from the description. embedlab logistic regression and k-NN on the
  vectors (C and k tuned on dev) against a TF-IDF + scikit-learn LogisticRegression
  baseline (C tuned on dev) and scikit-learn's LogisticRegression on the same vectors.
- duplicates: all pairs with cosine >= --threshold among --dup-n vectors: embedlab's
  find_duplicates against sentence-transformers' util.paraphrase_mining (top_k 100,
  default chunks), recall against exact pairs from a blocked numpy scan; time and peak
  RSS of each in its own process.
- recommend: baskets are the packages' Depends (names only, alternatives dropped);
  one dependency of each package with 2+ held out (seed 0); item2vec (tuned on a dev
  hold-out: ns_exponent) against the popularity baseline: hit-rate@10, nDCG@10.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path(tempfile.gettempdir()) / "embedlab-bench-debian"


# -- data -----------------------------------------------------------------------------------
def packages() -> list[dict[str, Any]]:
    """Every package of apt-cache dumpavail: name, section, text, depends (cached JSON)."""
    CACHE.mkdir(exist_ok=True)
    cached = CACHE / "packages.json"
    if cached.is_file():
        return list(json.loads(cached.read_text()))
    dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    out, seen = [], set()
    for stanza in dump.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.split("\n"):
            if line.startswith(" ") and key:
                fields[key] += "\n" + line[1:]
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        name = fields.get("Package")
        if not name or name in seen or "Section" not in fields or "Description" not in fields:
            continue
        seen.add(name)
        short, _, long = fields["Description"].partition("\n")
        long = " ".join(x for x in long.split("\n") if x.strip() != ".")
        deps = [re.split(r"[\s(:]", alt.split("|")[0].strip())[0]
                for alt in fields.get("Depends", "").split(",") if alt.strip()]  # fmt: skip
        out.append({"name": name, "section": fields["Section"].split("/")[-1],
                    "short": short, "text": f"{short}. {long}", "depends": deps})  # fmt: skip
    cached.write_text(json.dumps(out))
    return out


def split(n: int, min_section: int = 100) -> dict[str, list[dict[str, Any]]]:
    """Shuffled (seed 0), big sections only, n kept, 60/20/20."""
    rows = packages()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["section"]] = counts.get(r["section"], 0) + 1
    rows = [r for r in rows if counts[r["section"]] >= min_section]
    order = np.random.default_rng(0).permutation(len(rows))[:n]
    rows = [rows[i] for i in order]
    a, b = int(0.6 * len(rows)), int(0.8 * len(rows))
    return {"train": rows[:a], "dev": rows[a:b], "test": rows[b:]}


def lsa(parts: dict[str, list[dict[str, Any]]], dim: int) -> dict[str, np.ndarray]:
    """TF-IDF fitted on train, TruncatedSVD to dim, unit rows."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
    train = tfidf.fit_transform([r["text"] for r in parts["train"]])
    svd = TruncatedSVD(dim, random_state=0).fit(train)
    out = {}
    for name, rows in parts.items():
        x = svd.transform(tfidf.transform([r["text"] for r in rows])).astype(np.float32)
        out[name] = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return out


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


# -- parts --------------------------------------------------------------------------------
def bench_cluster(parts: Any, vecs: Any) -> dict[str, Any]:
    from sklearn.cluster import HDBSCAN, KMeans
    from sklearn.metrics import adjusted_rand_score as ari
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from embedlab.analysis import as_source, cluster

    x = as_source(vecs["test"], keys=[r["name"] for r in parts["test"]])
    truth = [r["section"] for r in parts["test"]]
    docs = [r["short"] for r in parts["test"]]
    k = len(set(truth))
    ours, t_ours = timed(lambda: cluster(x, k=k, seed=0, documents=docs))
    ref, t_ref = timed(lambda: KMeans(k, n_init=1, random_state=0).fit(x.vectors).labels_)
    hd, t_hd = timed(lambda: cluster(x, method="hdbscan", min_cluster_size=10, documents=docs))
    hd_ref, t_hd_ref = timed(lambda: HDBSCAN(min_cluster_size=10).fit(x.vectors).labels_)
    return {
        "rows": len(x), "k": k,
        "kmeans": {"embedlab": {"nmi": nmi(truth, ours.labels), "ari": ari(truth, ours.labels),
                                "seconds": t_ours},
                   "sklearn": {"nmi": nmi(truth, ref), "ari": ari(truth, ref), "seconds": t_ref}},
        "hdbscan": {"embedlab": {"nmi": nmi(truth, hd.labels), "ari": ari(truth, hd.labels),
                                 "clusters": len(hd.clusters), "noise": hd.noise,
                                 "seconds": t_hd},
                    "sklearn": {"nmi": nmi(truth, hd_ref), "ari": ari(truth, hd_ref),
                                "seconds": t_hd_ref}},
        "example_clusters": [{"size": c.size, "terms": [t for t, _ in c.terms[:6]],
                              "central": list(c.central[:3])} for c in ours.clusters[:5]],
    }  # fmt: skip


def bench_classify(parts: Any, vecs: Any) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from embedlab.analysis import fit_classifier, macro_f1

    y = {name: [r["section"] for r in rows] for name, rows in parts.items()}

    def score(pred: Any, split: str) -> dict[str, float]:
        truth = np.array(y[split])
        return {"accuracy": float((np.array(pred) == truth).mean()),
                "macro_f1": macro_f1(truth, np.array(pred))}  # fmt: skip

    out: dict[str, Any] = {"train": len(y["train"]), "test": len(y["test"])}

    def dev_acc(clf: Any, x: Any) -> float:
        return score(clf.predict(x), "dev")["accuracy"]

    best_c = max((1.0, 10.0), key=lambda c: dev_acc(
        fit_classifier(vecs["train"], y["train"], c=c), vecs["dev"]))  # fmt: skip
    clf, t = timed(lambda: fit_classifier(vecs["train"], y["train"], c=best_c))
    out["embedlab_logistic"] = score(clf.predict(vecs["test"]), "test") | {
        "C": best_c, "fit_seconds": t}  # fmt: skip
    best_k = max((5, 10, 20), key=lambda k: dev_acc(
        fit_classifier(vecs["train"], y["train"], kind="knn", k=k), vecs["dev"]))  # fmt: skip
    knn = fit_classifier(vecs["train"], y["train"], kind="knn", k=best_k)
    out["embedlab_knn"] = score(knn.predict(vecs["test"]), "test") | {"k": best_k}
    ref, t = timed(lambda: LogisticRegression(C=best_c, max_iter=1000).fit(vecs["train"],
                                                                          y["train"]))  # fmt: skip
    out["sklearn_logistic_same_vectors"] = score(ref.predict(vecs["test"]), "test") | {
        "fit_seconds": t}  # fmt: skip
    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
    xt = {name: (tfidf.fit_transform if name == "train" else tfidf.transform)(
        [r["text"] for r in parts[name]]) for name in ("train", "dev", "test")}  # fmt: skip

    def lr(c: float) -> Any:
        return LogisticRegression(C=c, max_iter=1000).fit(xt["train"], y["train"])

    best_tc = max((1.0, 10.0), key=lambda c: dev_acc(lr(c), xt["dev"]))
    base, t = timed(lambda: lr(best_tc))
    out["tfidf_logistic_baseline"] = score(base.predict(xt["test"]), "test") | {
        "C": best_tc, "fit_seconds": t}  # fmt: skip
    return out


def _dup_worker(method: str, path: str, threshold: float) -> None:
    """Run one duplicate finder in this process; print pairs count, seconds, peak RSS."""
    x = np.load(path)
    start = time.perf_counter()
    if method == "embedlab":
        from embedlab.analysis import find_duplicates

        d = find_duplicates(x, threshold=threshold)
        pairs = set(zip(d.left.tolist(), d.right.tolist(), strict=True))
    elif method == "paraphrase_mining":
        import torch
        from sentence_transformers import util

        torch.set_num_threads(2)
        got = util.paraphrase_mining_embeddings(torch.from_numpy(x), top_k=100)
        pairs = {(min(i, j), max(i, j)) for s, i, j in got if s >= threshold}
    else:  # the exact oracle: blocked numpy scan
        pairs = set()
        for s in range(0, len(x), 2048):
            sim = x[s : s + 2048] @ x.T
            i, j = np.nonzero(sim >= threshold)
            pairs |= {(a + s, b) for a, b in zip(i.tolist(), j.tolist(), strict=True)
                      if a + s < b}  # fmt: skip
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = Path(path).with_suffix(f".{method}.json")
    out.write_text(json.dumps({"pairs": sorted(pairs), "seconds": seconds, "peak_mb": peak}))


def bench_duplicates(vecs: Any, n: int, threshold: float) -> dict[str, Any]:
    x = np.concatenate([vecs["train"], vecs["dev"], vecs["test"]])[:n]
    path = CACHE / f"dup-{len(x)}.npy"
    np.save(path, np.ascontiguousarray(x, dtype=np.float32))
    res = {}
    for method in ("exact", "embedlab", "paraphrase_mining"):
        subprocess.run([sys.executable, __file__, "--dup-worker", method, str(path),
                        str(threshold)], check=True, env=os.environ.copy())  # fmt: skip
        res[method] = json.loads(path.with_suffix(f".{method}.json").read_text())
    exact = {tuple(p) for p in res["exact"]["pairs"]}
    out: dict[str, Any] = {"rows": len(x), "dim": x.shape[1], "threshold": threshold,
                           "exact_pairs": len(exact)}  # fmt: skip
    for method in ("embedlab", "paraphrase_mining"):
        found = {tuple(p) for p in res[method]["pairs"]}
        recall = len(found & exact) / max(len(exact), 1)
        r = res[method]
        out[method] = {"pairs": len(found), "recall": recall, "seconds": r["seconds"],
                       "peak_mb": r["peak_mb"]}  # fmt: skip
    out["speedup"] = out["paraphrase_mining"]["seconds"] / out["embedlab"]["seconds"]
    return out


def bench_recommend(k: int = 10) -> dict[str, Any]:
    from embedlab.analysis import (
        Holdout,
        evaluate,
        holdout_split,
        item2vec,
        popularity_ranker,
        vector_ranker,
    )

    rows = packages()
    order = np.random.default_rng(1).permutation(len(rows))
    baskets = [rows[i]["depends"] for i in order if len(rows[i]["depends"]) >= 1]
    cut = int(0.8 * len(baskets))
    dev_split = holdout_split(baskets[:cut], seed=1)  # tune on the first 80%
    best, best_hr = 0.75, -1.0
    for ns in (-0.5, 0.0, 0.75):
        wv = item2vec(dev_split.train, dim=64, epochs=5, ns_exponent=ns, seed=1, threads=2)
        hr = evaluate(vector_ranker(wv), dev_split, k).hit_rate
        if hr > best_hr:
            best, best_hr = ns, hr
    test = holdout_split(baskets[cut:], seed=0)  # report on the last 20%
    train = tuple(tuple(b) for b in baskets[:cut]) + test.train
    held_test = Holdout(test.users, test.held, train)
    wv, t = timed(lambda: item2vec(train, dim=64, epochs=5, ns_exponent=best, seed=1, threads=2))
    ours = evaluate(vector_ranker(wv), held_test, k).to_dict() | {"train_s": t}
    pop = evaluate(popularity_ranker(test.train), held_test, k).to_dict()
    return {"baskets": len(baskets), "test_users": len(held_test.users), "ns_exponent": best,
            "item2vec": ours, "popularity": pop}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--dup-n", type=int, default=20000)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--only", choices=["cluster", "classify", "duplicates", "recommend"],
                        action="append")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dup-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dup_worker:
        _dup_worker(args.dup_worker[0], args.dup_worker[1], float(args.dup_worker[2]))
        return
    only = set(args.only or ["cluster", "classify", "duplicates", "recommend"])
    report: dict[str, Any] = {}
    if only & {"cluster", "classify", "duplicates"}:
        parts = split(args.n)
        vecs, t = timed(lambda: lsa(parts, args.dim))
        report["data"] = {name: len(rows) for name, rows in parts.items()} | {
            "sections": len({r["section"] for r in parts["train"]}), "lsa_seconds": t}  # fmt: skip
        if "cluster" in only:
            report["cluster"] = bench_cluster(parts, vecs)
        if "classify" in only:
            report["classify"] = bench_classify(parts, vecs)
        if "duplicates" in only:
            report["duplicates"] = bench_duplicates(vecs, args.dup_n, args.threshold)
    if "recommend" in only:
        report["recommend"] = bench_recommend()
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
