"""Datasets of the vector-store benchmark (store_vs_peers.py) and their exact ground truth.

words: Word2Vec vectors (dim 100, min_count 5) trained by embedlab on the GCIDE corpus and
cached under /tmp; the queries are held-out words (not inserted). Each stored row carries
{"letter", "length", "bucket": i % 10, "shard": i % 1000}, so {"bucket": v} keeps 10% of the
rows and {"shard": v} 0.1%. growth: synthetic clustered unit vectors (Gaussian clusters).
Ground truth is the exact top-k by cosine (numpy), over the matching rows only when filtered.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "embedlab_store_bench"
DIM = 100
# filter name -> (metadata field, number of distinct values); query j asks for value j % n.
FILTERS = {"10%": ("bucket", 10), "0.1%": ("shard", 1000)}

Where = tuple[str, int]  # (field, value): rows whose metadata[field] == value


@dataclass
class Dataset:
    """Stored rows, queries, per-query filters and the exact top-k of every query."""

    name: str
    ids: list[str]
    vectors: np.ndarray  # (n, dim) float32, unit rows
    metadata: list[dict[str, Any]]
    queries: np.ndarray  # (q, dim) float32, unit rows
    k: int
    truth: dict[str, np.ndarray] = field(default_factory=dict)  # filter ("" = none) -> (q, k)
    wheres: dict[str, list[Where]] = field(default_factory=dict)  # filter -> one per query
    selectivity: dict[str, float] = field(default_factory=dict)  # filter -> mean share of rows
    _row_of: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.ids)

    def batches(self, size: int) -> list[tuple[list[str], np.ndarray, list[dict[str, Any]]]]:
        """(ids, vectors, metadata) slices of at most size rows."""
        return [
            (self.ids[i : i + size], self.vectors[i : i + size], self.metadata[i : i + size])
            for i in range(0, len(self), size)
        ]

    def rows(self, found: list[Any]) -> list[np.ndarray]:
        """Row numbers of what queries returned: ids (str) or row numbers already (int)."""
        if not self._row_of:
            self._row_of = {key: i for i, key in enumerate(self.ids)}
        out = []
        for hits in found:
            if isinstance(hits, np.ndarray) and hits.dtype.kind in "iu":
                out.append(hits[hits >= 0])
            else:
                out.append(np.array([self._row_of[h] for h in hits], dtype=np.int64))
        return out

    def recall(self, name: str, rows: list[np.ndarray]) -> float:
        """Mean recall@k of the returned row numbers against the exact top-k of filter name."""
        truth = self.truth[name]
        hits = sum(len(np.intersect1d(truth[j], r[: self.k])) for j, r in enumerate(rows))
        return hits / (len(rows) * self.k)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))


def exact_top_k(
    base: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Row numbers of the k most cosine-similar base rows per query (unit rows), best first.

    mask, if given, is a (q, n) bool array: rows where it is False are left out for that query.
    """
    out = np.empty((len(queries), k), dtype=np.int64)
    chunk = max(1, 2**25 // len(base))  # 128 MB of scores at a time
    for s in range(0, len(queries), chunk):
        scores = queries[s : s + chunk] @ base.T
        if mask is not None:
            scores = np.where(mask[s : s + chunk], scores, -np.inf)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        out[s : s + chunk] = np.take_along_axis(top, order, axis=1)
    return out


def word_metadata(words: list[str]) -> list[dict[str, Any]]:
    return [
        {"letter": w[:1], "length": len(w), "bucket": i % 10, "shard": i % 1000}
        for i, w in enumerate(words)
    ]


def add_truth(ds: Dataset, filters: bool = True) -> Dataset:
    """Fill in the exact top-k, unfiltered and (if filters) for each filter of FILTERS."""
    ds.truth[""] = exact_top_k(ds.vectors, ds.queries, ds.k)
    ds.selectivity[""] = 1.0
    if not filters:
        return ds
    for name, (key, distinct) in FILTERS.items():
        values = np.array([m[key] for m in ds.metadata])
        wanted = np.arange(len(ds.queries)) % distinct
        truth = np.empty((len(ds.queries), ds.k), dtype=np.int64)
        for s in range(0, len(ds.queries), 256):
            mask = values[None, :] == wanted[s : s + 256, None]
            truth[s : s + 256] = exact_top_k(ds.vectors, ds.queries[s : s + 256], ds.k, mask)
        ds.truth[name] = truth
        ds.wheres[name] = [(key, int(v)) for v in wanted]
        ds.selectivity[name] = float(np.mean([np.mean(values == v) for v in range(distinct)]))
    return ds


def word_vectors(corpus: Path, cache: Path, epochs: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Train (or load from cache) embedlab Word2Vec vectors on corpus: (words, vectors)."""
    from embedlab.train import Word2Vec
    from embedlab.vectors import WordVectors

    folder = cache / f"w2v-{corpus.stem}-e{epochs}-s{seed}"
    if not (folder / "vectors.npy").exists():
        print(f"training Word2Vec on {corpus} -> {folder}", file=sys.stderr)
        model = Word2Vec(dim=DIM, min_count=5, epochs=epochs, threads=2, seed=seed)
        model.train(str(corpus)).save(folder)
    wv = WordVectors.load(folder)
    return list(wv.keys), np.asarray(wv.vectors, dtype=np.float32)


def words_dataset(
    corpus: Path, cache: Path, *, n_queries: int, k: int, epochs: int, seed: int
) -> Dataset:
    """GCIDE word vectors: all words but n_queries held-out ones are stored."""
    words, vectors = word_vectors(corpus, cache, epochs, seed)
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(words), dtype=bool)
    held_out[rng.choice(len(words), size=n_queries, replace=False)] = True
    stored = [w for w, h in zip(words, held_out, strict=True) if not h]
    ds = Dataset(
        name=f"GCIDE Word2Vec ({corpus.name})",
        ids=stored,
        vectors=np.ascontiguousarray(unit(vectors[~held_out])),
        metadata=word_metadata(stored),
        queries=np.ascontiguousarray(unit(vectors[held_out])),
        k=k,
    )
    return add_truth(ds)


def clustered(
    n: int, dim: int, clusters: int, spread: float, rng: np.random.Generator
) -> np.ndarray:
    """n unit vectors drawn around clusters random unit centres (Gaussian noise, std spread)."""
    centres = unit(rng.standard_normal((clusters, dim), dtype=np.float32))
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        noise = rng.standard_normal((m, dim), dtype=np.float32) * np.float32(spread)
        out[s : s + m] = unit(centres[rng.integers(clusters, size=m)] + noise)
    return out


def growth_datasets(
    sizes: list[int],
    *,
    n_queries: int,
    k: int,
    seed: int,
    clusters: int = 500,
    spread: float = 0.06,
) -> list[Dataset]:
    """Synthetic clustered sets of each size; the smaller ones are prefixes of the largest."""
    rng = np.random.default_rng(seed)
    both = clustered(max(sizes) + n_queries, DIM, clusters, spread, rng)
    base, queries = both[: max(sizes)], both[max(sizes) :]
    out = []
    for n in sorted(sizes):
        ids = [str(i) for i in range(n)]
        meta = [{"bucket": i % 10, "shard": i % 1000} for i in range(n)]
        ds = Dataset(f"clustered {n:,}", ids, base[:n], meta, queries, k)
        out.append(add_truth(ds, filters=False))
    return out


def flow_dataset(
    corpus: Path,
    cache: Path,
    *,
    n_queries: int,
    k: int,
    epochs: int,
    seed: int,
    noise: float,
) -> Dataset:
    """GCIDE word vectors, every word stored; queries are stored vectors plus Gaussian noise.

    Each query is a random stored row plus noise of standard deviation ``noise`` per
    dimension (so about noise * sqrt(dim) in length against unit rows), scaled to unit length.
    """
    words, vectors = word_vectors(corpus, cache, epochs, seed)
    rng = np.random.default_rng(seed + 7)
    base = np.ascontiguousarray(unit(vectors))
    picked = rng.choice(len(words), size=n_queries, replace=False)
    jitter = rng.standard_normal((n_queries, base.shape[1])).astype(np.float32)
    queries = unit(base[picked] + np.float32(noise) * jitter)
    ds = Dataset(
        name=f"GCIDE Word2Vec ({corpus.name}), all words, queries = rows + noise {noise}",
        ids=list(words),
        vectors=base,
        metadata=word_metadata(list(words)),
        queries=np.ascontiguousarray(queries),
        k=k,
    )
    return add_truth(ds, filters=False)
