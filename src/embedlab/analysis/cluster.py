"""Clustering: k-means (faiss) or HDBSCAN (scikit-learn), optionally on a UMAP reduction.

Each cluster is named by its most distinctive terms, by class-based TF-IDF over the rows'
documents (BERTopic's c-TF-IDF: ``tf(t, c) * log(1 + A / f(t))``, where ``A`` is the mean
number of words per cluster and ``f(t)`` the frequency of t over all clusters), and by its
most central members (nearest to the cluster's mean, by cosine). HDBSCAN's noise (label
-1) is counted and reported, never folded into a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_int
from embedlab.analysis._deps import require
from embedlab.analysis._source import Source, as_source, unit_rows
from embedlab.errors import InvalidParameterError

__all__ = ["Cluster", "ClusterMethod", "Clustering", "class_tfidf", "cluster"]

NOISE = -1


class ClusterMethod(StrEnumOption):
    """The clustering algorithm."""

    KMEANS = "kmeans"
    HDBSCAN = "hdbscan"


@dataclass(frozen=True)
class Cluster:
    """One cluster: its label, size, distinctive terms (with c-TF-IDF weights), centre rows."""

    label: int
    size: int
    terms: tuple[tuple[str, float], ...]
    central: tuple[str, ...]


@dataclass(frozen=True)
class Clustering:
    """Every row's cluster label (``labels[i]`` for ``keys[i]``; -1 is noise) and clusters."""

    keys: tuple[str, ...]
    labels: npt.NDArray[np.int64]
    clusters: tuple[Cluster, ...]
    noise: int
    method: ClusterMethod
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (clusters, noise count; not the per-row labels)."""
        return {
            "method": self.method.value,
            "clusters": [
                {
                    "label": c.label,
                    "size": c.size,
                    "terms": [t for t, _ in c.terms],
                    "central": list(c.central),
                }
                for c in self.clusters
            ],
            "noise": self.noise,
            "rows": len(self.keys),
            "seconds": self.seconds,
        }


def cluster(
    data: Any,
    *,
    method: ClusterMethod | str = "kmeans",
    k: int | None = None,
    min_cluster_size: int = 10,
    reduce_to: int | None = None,
    n_terms: int = 8,
    n_central: int = 5,
    seed: int = 0,
    documents: Sequence[str | None] | None = None,
) -> Clustering:
    """Cluster the rows and name each cluster by its terms and its most central members.

    ``k`` (k-means) defaults to ``round(sqrt(n / 2))``; ``min_cluster_size`` is HDBSCAN's.
    ``reduce_to`` first maps the unit rows to that many dimensions with UMAP (cosine),
    as BERTopic does; the centres and terms still come from the original rows.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
        >>> docs = ["red apple", "red cherry", "blue sea", "blue sky"]
        >>> c = cluster(x, k=2, documents=docs)
        >>> sorted(cl.terms[0][0] for cl in c.clusters)
        ['blue', 'red']
    """
    src = as_source(data, documents=documents)
    m = ClusterMethod.parse(method, name="method")
    n_terms = check_int("n_terms", n_terms, minimum=0)
    n_central = check_int("n_central", n_central, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    n = len(src)
    started = time.perf_counter()
    x = unit_rows(src.vectors)
    features = x if reduce_to is None else _umap(x, check_int("reduce_to", reduce_to), seed)
    if m is ClusterMethod.KMEANS:
        if k is None:
            k = max(1, round((n / 2) ** 0.5))
        k = check_int("k", k)
        if k > n:
            raise InvalidParameterError(f"k-means with k={k} needs at least {k} rows; got {n}")
        labels = _kmeans(features, k, seed)
    else:
        min_cluster_size = check_int("min_cluster_size", min_cluster_size, minimum=2)
        if min_cluster_size > n:
            raise InvalidParameterError(
                f"min_cluster_size={min_cluster_size} is more than the {n} rows"
            )
        sk = require("sklearn.cluster", "HDBSCAN clustering")
        labels = sk.HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit(features).labels_
        labels = np.asarray(labels, dtype=np.int64)
    clusters = _describe(src, x, labels, n_terms, n_central)
    noise = int((labels == NOISE).sum())
    return Clustering(src.keys, labels, clusters, noise, m, time.perf_counter() - started)


def _kmeans(x: npt.NDArray[np.float32], k: int, seed: int) -> npt.NDArray[np.int64]:
    import faiss

    x = np.ascontiguousarray(x, dtype=np.float32)
    # min_points_per_centroid=1: few rows per cluster is the user's choice, not a warning
    # faiss should print on stderr; max_points_per_centroid: train on every row.
    km = faiss.Kmeans(x.shape[1], k, niter=25, nredo=1, seed=seed, verbose=False,
                      min_points_per_centroid=1, max_points_per_centroid=100_000)  # fmt: skip
    km.train(x, init_centroids=_kmeans_plus_plus(x, k, seed))
    _, assigned = km.index.search(x, 1)
    return assigned[:, 0].astype(np.int64)


def _kmeans_plus_plus(x: npt.NDArray[np.float32], k: int, seed: int) -> npt.NDArray[np.float32]:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, as scikit-learn's KMeans does):
    each next centre is the best of ``2 + log k`` rows drawn with probability proportional to
    the squared distance to the nearest centre so far. faiss alone starts from k random
    rows, which on well separated groups often puts two centres in one group."""
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    trials = 2 + int(np.log(k))
    norms = np.einsum("ij,ij->i", x, x).astype(np.float64)

    def distances(rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        cross = (x @ x[rows].T).astype(np.float64)  # (n, len(rows))
        squared: npt.NDArray[np.float64] = norms[:, None] - 2.0 * cross + norms[rows][None, :]
        return np.maximum(squared, 0.0)

    chosen = [int(rng.integers(n))]
    nearest = distances(np.array(chosen))[:, 0]
    for _ in range(1, k):
        total = float(nearest.sum())
        if total <= 0:  # fewer distinct rows than k: any row will do
            chosen.append(int(rng.integers(n)))
            continue
        candidates = rng.choice(n, size=trials, p=nearest / total)
        options = np.minimum(nearest[:, None], distances(candidates))
        best = int(np.argmin(options.sum(axis=0)))
        chosen.append(int(candidates[best]))
        nearest = options[:, best]
    return np.ascontiguousarray(x[chosen])


def _umap(x: npt.NDArray[np.float32], dims: int, seed: int) -> npt.NDArray[np.float32]:
    umap = require("umap", "UMAP reduction")
    n_neighbors = min(15, len(x) - 1)
    reducer = umap.UMAP(n_components=dims, n_neighbors=n_neighbors, metric="cosine",
                        min_dist=0.0, random_state=seed, n_jobs=1)  # fmt: skip
    return np.asarray(reducer.fit_transform(x), dtype=np.float32)


def _describe(
    src: Source, x: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], n_terms: int,
    n_central: int,
) -> tuple[Cluster, ...]:  # fmt: skip
    found = sorted(set(labels.tolist()) - {NOISE})
    texts = src.texts()
    grouped = [" ".join(texts[i] for i in np.flatnonzero(labels == c)) for c in found]
    terms = class_tfidf(grouped, n_terms) if n_terms and found else [()] * len(found)
    out = []
    for c, top_terms in zip(found, terms, strict=True):
        rows = np.flatnonzero(labels == c)
        centre = x[rows].mean(axis=0)
        nearest = rows[np.argsort(-(x[rows] @ centre), kind="stable")[:n_central]]
        out.append(Cluster(c, len(rows), tuple(top_terms), tuple(src.keys[i] for i in nearest)))
    out.sort(key=lambda cl: (-cl.size, cl.label))
    return tuple(out)


def class_tfidf(
    class_texts: Sequence[str], n_terms: int = 8
) -> list[tuple[tuple[str, float], ...]]:
    """The ``n_terms`` most distinctive terms of each class's text, by c-TF-IDF.

    Example:
        >>> terms = class_tfidf(["cat cat dog", "dog fish fish"], 1)
        >>> [[(t, round(w, 3)) for t, w in row] for row in terms]
        [[('cat', 0.611)], [('fish', 0.611)]]
    """
    feature = require("sklearn.feature_extraction.text", "naming clusters by their terms")
    vectorizer = feature.CountVectorizer(stop_words="english", lowercase=True)
    try:
        counts = vectorizer.fit_transform(class_texts)
    except ValueError:  # no word left (empty texts, or only stop words)
        return [() for _ in class_texts]
    vocab = vectorizer.get_feature_names_out()
    words_per_class = counts.sum() / max(counts.shape[0], 1)
    idf = np.log(1.0 + words_per_class / np.maximum(counts.sum(axis=0).A1, 1))
    counts = counts.tocsr()
    out = []
    for r in range(counts.shape[0]):
        row = counts.getrow(r)
        w = row.data / max(row.sum(), 1) * idf[row.indices]
        best = np.lexsort((row.indices, -w))[:n_terms]  # ties: the earlier word first
        out.append(tuple((str(vocab[row.indices[j]]), float(w[j])) for j in best))
    return out
