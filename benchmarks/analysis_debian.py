"""embedlab.analysis on Debian's package list, against the tools a user would pick instead.

    python benchmarks/analysis_debian.py                  # all three parts, ~20k packages
    python benchmarks/analysis_debian.py --only classify --n 20000 --json
    python benchmarks/analysis_debian.py --only cluster --vectors lsa   # the old LSA vectors

Data (built here, cached under the temporary folder, never committed): every binary
package of `apt-cache dumpavail` (run `apt-get update` first) with its Section (the
"contrib/" or "non-free/" prefix dropped), its one-line and long description and its
Depends list. NOTE: apt's Packages lists here hold the one-line synopsis only (the long
descriptions sit in the Translation-en files, which this machine's apt does not fetch),
so "long description" is empty for all but 2 packages: every text below is in effect
the synopsis. Packages are shuffled (seed 0), sections with fewer than 100 packages in
the whole list are dropped, --n are kept and split 60/20/20 into train/dev/test. Anything
tuned is tuned on dev; test is reported.

Vectors (--vectors): ``minilm`` (default) is MiniLM through embedlab's ONNX backend over
each package's one-line synopsis (benchmarks/_minilm_vectors.py, cached; the synopsis
only, as encoding the long descriptions too was out of reach on the shared cores);
``lsa`` is TF-IDF over "synopsis + long description" fitted on train, TruncatedSVD to
--dim, unit rows (what the stop-9 figures used).

Parts, each side by side in one run:
- cluster: embedlab k-means (faiss, k-means++ seeds, k = number of sections) against
  scikit-learn KMeans (n_init=1, same k) and BERTopic's default pipeline (``BERTopic()``:
  UMAP to 5 dims, HDBSCAN min_cluster_size 10, c-TF-IDF) fed the same vectors, on the
  test rows: NMI / ARI against Section (BERTopic's outliers, topic -1, count as one
  label) and seconds. UMAP's numba functions are compiled before BERTopic is timed.
- classify: Section from the description. embedlab logistic regression and k-NN on the
  vectors (C and k tuned on dev) against TF-IDF + scikit-learn LogisticRegression (C tuned
  on dev) over the same text the vectors saw and over the full description, and
  scikit-learn's LogisticRegression on the same vectors.
- recommend: baskets are the packages' Depends (names only, alternatives dropped);
  one dependency of each package with 2+ held out. The first 80% of the baskets are the
  dev set (tuning, on its first 5,000 users: item2vec's ns_exponent over 0.5, 1 and the
  context ranker's prior over 0.25, 0.5, 1; ALS's factors and alpha, or --als to give
  them), the last 20% the test set. item2vec (skip-gram's output vectors + prior * log
  count: ``context_ranker``; and the cosine ranker at ns_exponent 0.5, stop 9's choice)
  against implicit's AlternatingLeastSquares (users' factors recomputed from their
  items, seen items filtered) and popularity: hit-rate@10, nDCG@10.

Duplicates at 100k x 384 are measured by benchmarks/duplicates.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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


def minilm(parts: dict[str, list[dict[str, Any]]]) -> dict[str, np.ndarray]:
    """Each package's MiniLM vector of its synopsis (benchmarks/_minilm_vectors.py)."""
    from _minilm_vectors import head

    row = {p["name"]: i for i, p in enumerate(packages())}
    x = head(len(row))
    return {name: np.asarray(x[[row[r["name"]] for r in rows]], dtype=np.float32)
            for name, rows in parts.items()}  # fmt: skip


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


# -- parts --------------------------------------------------------------------------------
def bench_cluster(parts: Any, vecs: Any, bertopic: bool = True) -> dict[str, Any]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score as ari
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from embedlab.analysis import as_source, cluster

    x = as_source(vecs["test"], keys=[r["name"] for r in parts["test"]])
    truth = [r["section"] for r in parts["test"]]
    docs = [r["short"] for r in parts["test"]]
    k = len(set(truth))

    def scores(labels: Any, seconds: float) -> dict[str, Any]:
        return {"nmi": nmi(truth, labels), "ari": ari(truth, labels), "seconds": seconds,
                "clusters": len(set(np.asarray(labels).tolist()) - {-1}),
                "noise": int((np.asarray(labels) == -1).sum())}  # fmt: skip

    ours, t_ours = timed(lambda: cluster(x, k=k, seed=0, documents=docs))
    ref, t_ref = timed(lambda: KMeans(k, n_init=1, random_state=0).fit(x.vectors).labels_)
    out = {"rows": len(x), "k": k, "embedlab_kmeans": scores(ours.labels, t_ours),
           "sklearn_kmeans": scores(ref, t_ref)}  # fmt: skip
    if not bertopic:
        return out
    try:
        from bertopic import BERTopic
        from umap import UMAP
    except ImportError:  # the bench extra brings it
        return out | {"bertopic": "not installed"}
    UMAP(n_components=5, metric="cosine").fit(x.vectors[:500])  # numba compiles here, untimed
    topics, t_bt = timed(lambda: BERTopic().fit_transform(docs, embeddings=x.vectors)[0])
    out["bertopic_default"] = scores(topics, t_bt)
    out["speedup_vs_bertopic"] = t_bt / t_ours
    out["example_clusters"] = [
        {"size": c.size, "terms": [t for t, _ in c.terms[:6]], "central": list(c.central[:3])}
        for c in ours.clusters[:5]
    ]
    return out


def bench_classify(parts: Any, vecs: Any, text_field: str) -> dict[str, Any]:
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
    # apt's Packages lists carry the synopsis only (long descriptions live in the
    # Translation-en files, not fetched here): "text" adds nothing then, so it is skipped.
    longer = any(r["text"].rstrip(". ") != r["short"] for r in parts["train"])
    for field in dict.fromkeys((text_field, "text") if longer else (text_field,)):
        tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
        xt = {name: (tfidf.fit_transform if name == "train" else tfidf.transform)(
            [r[field] for r in parts[name]]) for name in ("train", "dev", "test")}  # fmt: skip

        def lr(c: float, xt: Any = xt) -> Any:
            return LogisticRegression(C=c, max_iter=1000).fit(xt["train"], y["train"])

        best_tc = max((1.0, 10.0), key=lambda c, xt=xt: dev_acc(lr(c), xt["dev"]))
        base, t = timed(lambda best_tc=best_tc: lr(best_tc))
        name = "same_text" if field == text_field else "full_text"
        out[f"tfidf_logistic_{name}"] = score(base.predict(xt["test"]), "test") | {
            "C": best_tc, "fit_seconds": t, "text": field}  # fmt: skip
    return out


def als_ranker(train: Any, *, factors: int, regularization: float, alpha: float) -> Any:
    """implicit's AlternatingLeastSquares on the train baskets (one row a basket); each
    user's factors recomputed from their seen items (``recalculate_user``), seen items
    filtered, as implicit's own recommend does."""
    from implicit.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    names: dict[str, int] = {}
    for basket in train:
        for item in basket:
            names.setdefault(item, len(names))
    keys = list(names)

    def matrix(baskets: Any) -> Any:
        rows = [r for r, b in enumerate(baskets) for i in dict.fromkeys(b) if i in names]
        cols = [names[i] for b in baskets for i in dict.fromkeys(b) if i in names]
        return csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                          shape=(len(baskets), len(names)))  # fmt: skip

    model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                    iterations=15, random_state=0, num_threads=2)  # fmt: skip
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # implicit's advice: its own threads, BLAS on one
        model.fit(matrix(train), show_progress=False)

    def rank(users: Any, k: int) -> list[list[str]]:
        m = matrix(users)
        with threadpool_limits(1, "blas"):
            ids, _ = model.recommend(np.arange(len(users)), m, N=k, recalculate_user=True,
                                     filter_already_liked_items=True)  # fmt: skip
        return [[keys[j] for j in row if j >= 0] for row in ids]

    return rank


def bench_recommend(k: int = 10, als: dict[str, float] | None = None,
                    dev_users: int = 5_000) -> dict[str, Any]:  # fmt: skip
    from embedlab.analysis import (
        Holdout,
        context_ranker,
        evaluate,
        holdout_split,
        item2vec_model,
        popularity_ranker,
        vector_ranker,
    )

    rows = packages()
    order = np.random.default_rng(1).permutation(len(rows))
    baskets = [rows[i]["depends"] for i in order if len(rows[i]["depends"]) >= 1]
    cut = int(0.8 * len(baskets))
    dev = holdout_split(baskets[:cut], seed=1)  # tune on the first 80%, held items hidden
    dev = Holdout(dev.users[:dev_users], dev.held[:dev_users], dev.train)  # time: a sample
    tuning: dict[str, Any] = {"item2vec": [], "als": []}

    def i2v_dev(ns: float, epochs: int) -> list[tuple[float, dict[str, Any]]]:
        model = item2vec_model(dev.train, dim=64, epochs=epochs, ns_exponent=ns, seed=1,
                               threads=2)  # fmt: skip
        out = []
        for prior in (0.25, 0.5, 1.0):
            hr = evaluate(context_ranker(model, prior=prior), dev, k).hit_rate
            params = {"ns_exponent": ns, "epochs": epochs, "prior": prior}
            tuning["item2vec"].append(params | {"dev_hit_rate": hr})
            print("item2vec", params, hr, file=sys.stderr, flush=True)
            out.append((hr, params))
        return out

    # The context ranker (skip-gram's output vectors + prior * log count) over a small
    # grid; the cosine ranker keeps stop 9's ns_exponent 0.5 (its dev best of 0.5-1).
    best_i2v = max((r for ns in (0.5, 1.0) for r in i2v_dev(ns, 5)), key=lambda r: r[0])[1]

    def als_dev(**params: Any) -> float:
        hr = evaluate(als_ranker(dev.train, **params), dev, k).hit_rate
        tuning["als"].append(params | {"dev_hit_rate": hr})
        print("als", params, hr, file=sys.stderr, flush=True)
        return hr

    grid = [{"factors": f, "regularization": 0.01, "alpha": a}
            for f in (32, 64, 128) for a in (1.0, 10.0)]  # fmt: skip
    best_als = als if als is not None else max(grid, key=lambda g: als_dev(**g))

    test = holdout_split(baskets[cut:], seed=0)  # report on the last 20%
    train = tuple(tuple(b) for b in baskets[:cut]) + test.train
    held_test = Holdout(test.users, test.held, train)
    model, t = timed(lambda: item2vec_model(
        train, dim=64, epochs=best_i2v["epochs"], ns_exponent=best_i2v["ns_exponent"], seed=1,
        threads=2))  # fmt: skip
    ours = evaluate(context_ranker(model, prior=best_i2v["prior"]), held_test, k).to_dict()
    cosine_model = item2vec_model(train, dim=64, epochs=5, ns_exponent=0.5, seed=1, threads=2)
    cosine = evaluate(vector_ranker(cosine_model.vectors), held_test, k).to_dict()
    als_rank, t_als = timed(lambda: als_ranker(train, **best_als))
    theirs = evaluate(als_rank, held_test, k).to_dict() | {"train_s": t_als}
    pop = evaluate(popularity_ranker(train), held_test, k).to_dict()
    return {"baskets": len(baskets), "test_users": len(held_test.users),
            "dev_users": len(dev.users), "item2vec_params": best_i2v | {"dim": 64},
            "als_params": best_als, "als_tuned_here": als is None,
            "item2vec_context": ours | {"train_s": t},
            "item2vec_cosine_ns0.5": cosine, "implicit_als": theirs,
            "popularity": pop, "tuning": tuning}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--vectors", choices=["minilm", "lsa"], default="minilm")
    parser.add_argument("--dim", type=int, default=384, help="LSA's width")
    parser.add_argument("--only", choices=["cluster", "classify", "recommend"], action="append")
    parser.add_argument("--skip-bertopic", action="store_true")
    parser.add_argument("--als", metavar="FACTORS,ALPHA",
                        help="implicit ALS settings instead of tuning them on dev")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    only = set(args.only or ["cluster", "classify", "recommend"])
    report: dict[str, Any] = {"load_before": os.getloadavg()}
    if only & {"cluster", "classify"}:
        parts = split(args.n)
        if args.vectors == "minilm":
            vecs, t = timed(lambda: minilm(parts))
            text_field = "short"  # MiniLM saw the synopsis only
        else:
            vecs, t = timed(lambda: lsa(parts, args.dim))
            text_field = "text"
        report["data"] = {name: len(rows) for name, rows in parts.items()} | {
            "sections": len({r["section"] for r in parts["train"]}), "vectors": args.vectors,
            "vector_seconds": t}  # fmt: skip
        if "cluster" in only:
            report["cluster"] = bench_cluster(parts, vecs, not args.skip_bertopic)
        if "classify" in only:
            report["classify"] = bench_classify(parts, vecs, text_field)
    if "recommend" in only:
        als = None
        if args.als:
            factors, alpha = args.als.split(",")
            als = {"factors": int(factors), "regularization": 0.01, "alpha": float(alpha)}
        report["recommend"] = bench_recommend(als=als)
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
