"""Planted-cluster vectors for the viz tests: words in k clusters around random centres."""

from __future__ import annotations

import numpy as np

from embedlab.vectors import WordVectors


def planted(n_per: int = 30, clusters: int = 4, dim: int = 32, seed: int = 0) -> WordVectors:
    """Words ``c{j}w{i}`` around cluster centres j; tight clusters, far apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)) * 4.0
    keys, rows = [], []
    for j in range(clusters):
        for i in range(n_per):
            keys.append(f"c{j}w{i}")
            rows.append(centres[j] + rng.normal(size=dim))
    return WordVectors(keys, np.asarray(rows, dtype=np.float32))


def cluster_of(key: str) -> int:
    return int(key[1 : key.index("w")])


def knn_agreement(coords: np.ndarray, labels: list[int], k: int = 5) -> float:
    """Share of each point's k nearest 2-D neighbours that share its label."""
    d = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    lab = np.asarray(labels)
    return float((lab[nn] == lab[:, None]).mean())
