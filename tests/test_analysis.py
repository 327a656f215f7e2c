"""embedlab.analysis: clusters, duplicates, outliers, checked against oracles."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.analysis import Source, as_source, cluster, find_duplicates, find_outliers, knn_graph
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.store import Database
from embedlab.vectors import WordVectors


def _planted(n_per: int = 40, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three tight, well separated clusters."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, dim, dtype=np.float32) * 5
    x = np.concatenate([c + 0.3 * rng.normal(size=(n_per, dim)) for c in centres])
    return x.astype(np.float32), np.repeat(np.arange(3), n_per)


# -- sources ------------------------------------------------------------------------------
def test_sources_agree_for_array_wordvectors_and_collection(tmp_path: object) -> None:
    x, _ = _planted(5)
    keys = [f"w{i}" for i in range(len(x))]
    wv = WordVectors(keys, x)
    with Database(tmp_path) as db:  # type: ignore[arg-type]
        col = db.create_collection("c", dim=x.shape[1], metric="cosine")
        col.add(keys, x, metadata=[{"n": i} for i in range(len(x))], documents=keys)
        from_col = as_source(col)
    for src in (as_source(x, keys=keys), as_source(wv), from_col):
        assert src.keys == tuple(keys)
        np.testing.assert_allclose(src.unit_vectors(), as_source(x).unit_vectors(), atol=1e-6)
    assert from_col.labels("n") == list(range(len(x)))
    assert from_col.texts() == keys


def test_bad_sources_are_typed_errors() -> None:
    with pytest.raises(DimensionMismatchError, match="2-D"):
        as_source(np.zeros(3))
    with pytest.raises(InvalidParameterError, match="finite"):
        as_source(np.array([[np.nan, 1.0]]))
    with pytest.raises(InvalidParameterError, match="2 rows, 1 keys"):
        as_source(np.eye(2), keys=["a"])
    with pytest.raises(InvalidParameterError, match="no metadata key 'x'"):
        Source(("a",), np.eye(1, dtype=np.float32), None, ({"y": 1},)).labels("x")


# -- neighbours ---------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_graph_matches_brute_force(metric: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    g = knn_graph(x, 5, metric=metric, block=64)  # several blocks
    if metric == "cosine":
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        d = 1 - u @ u.T
    else:
        d = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(d, np.inf)
    expected = np.sort(d, axis=1)[:, :5]
    np.testing.assert_allclose(g.distances, expected, atol=1e-4)
    assert not (g.indices == np.arange(300)[:, None]).any()


# -- clustering ---------------------------------------------------------------------------
def test_kmeans_recovers_planted_clusters_and_names_them() -> None:
    x, truth = _planted()
    words = ["apple pear", "ocean wave", "engine gear"]
    docs = [words[t] for t in truth]
    c = cluster(x, k=3, documents=docs, seed=3)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, c.labels) == 1.0
    assert c.noise == 0
    assert sorted(cl.size for cl in c.clusters) == [40, 40, 40]
    named = {frozenset(t for t, _ in cl.terms) for cl in c.clusters}
    assert named == {frozenset(w.split()) for w in words}
    for cl in c.clusters:  # central members belong to the cluster
        members = {c.keys[i] for i in np.flatnonzero(c.labels == cl.label)}
        assert set(cl.central) <= members and len(cl.central) == 5


def test_hdbscan_reports_noise_and_finds_the_clusters() -> None:
    x, _ = _planted()
    far = 5 * np.eye(16, dtype=np.float32)[[6, 8, 10, 12]]  # lone directions (cosine)
    c = cluster(np.concatenate([x, far]), method="hdbscan", min_cluster_size=10)
    assert len(c.clusters) == 3
    assert c.noise == int((c.labels == -1).sum()) >= 1
    assert (c.labels[-4:] == -1).all()  # the planted far points are noise, not hidden


def test_cluster_bad_input() -> None:
    with pytest.raises(InvalidParameterError, match="k=5 needs at least 5 rows; got 3"):
        cluster(np.eye(3), k=5)
    with pytest.raises(InvalidParameterError, match="'method' parameter must be one of"):
        cluster(np.eye(3), method="dbscan")
    with pytest.raises(InvalidParameterError, match="min_cluster_size=9 is more than the 3"):
        cluster(np.eye(3), method="hdbscan", min_cluster_size=9)


# -- duplicates ---------------------------------------------------------------------------
def _brute_pairs(x: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = u @ u.T
    i, j = np.nonzero(np.triu(s >= threshold, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def test_planted_duplicates_found_exactly_as_brute_force() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 32)).astype(np.float32)
    x[100] = x[7] + 0.01 * rng.normal(size=32)
    x[200] = x[7] + 0.01 * rng.normal(size=32)
    x[300] = x[8]  # an exact copy
    dup = find_duplicates(x, threshold=0.95, block=128)
    found = set(zip(dup.left.tolist(), dup.right.tolist(), strict=True))
    assert found == _brute_pairs(x, 0.95) == {(7, 100), (7, 200), (100, 200), (8, 300)}
    assert dup.groups == (("7", "100", "200"), ("8", "300"))
    assert (np.diff(dup.similarity) <= 0).all()
    # a lower threshold: still exactly the brute-force set
    low = find_duplicates(x, threshold=0.4)
    found = set(zip(low.left.tolist(), low.right.tolist(), strict=True))
    assert found == _brute_pairs(x, 0.4)


def test_top_pairs_are_the_most_similar_pairs() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = np.triu(u @ u.T, k=1)
    s[np.tril_indices(300)] = -np.inf
    best = np.sort(s.ravel())[::-1][:20]
    dup = find_duplicates(x, top=20, block=50)
    assert len(dup) == 20
    np.testing.assert_allclose(dup.similarity, best, atol=1e-5)
    assert len(set(zip(dup.left.tolist(), dup.right.tolist(), strict=True))) == 20


def test_duplicates_bad_threshold() -> None:
    with pytest.raises(InvalidParameterError, match=r"'threshold'.*\[-1.0, 1.0\]. Got 1.5"):
        find_duplicates(np.eye(3), threshold=1.5)


def test_inverted_file_duplicates_are_exact_pairs_found_from_either_end() -> None:
    # 60 planted groups of near-copies among 3,000 random rows: the inverted-file path
    # must report only true pairs (exact similarities), each once, and nearly all of them.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, 24)).astype(np.float32)
    for g in range(60):
        base = x[g]
        for r in range(3):
            x[100 + 3 * g + r] = base + 0.05 * rng.normal(size=24)
    truth = _brute_pairs(x, 0.9)
    exact = find_duplicates(x, threshold=0.9)
    assert exact.exact  # 3,000 rows: below EXACT_ROWS, every pair scanned
    approx = find_duplicates(x, threshold=0.9, exact=False, nprobe=4, block=700)
    assert not approx.exact
    found = list(zip(approx.left.tolist(), approx.right.tolist(), strict=True))
    assert len(found) == len(set(found)) and all(a < b for a, b in found)
    assert set(found) <= truth
    assert len(set(found) & truth) >= 0.97 * len(truth) >= 0.97 * 360
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    want = np.einsum("ij,ij->i", u[approx.left], u[approx.right])
    np.testing.assert_allclose(approx.similarity, want, atol=1e-5)
    # every list probed: the same pairs as the exact scan
    full = find_duplicates(x, threshold=0.9, exact=False, nprobe=10_000)
    assert set(zip(full.left.tolist(), full.right.tolist(), strict=True)) == truth


def test_duplicates_bad_nprobe() -> None:
    with pytest.raises(InvalidParameterError, match=r"'nprobe'.*Got 0"):
        find_duplicates(np.eye(3), threshold=0.5, nprobe=0)


# -- outliers -----------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_lof_equals_scikit_learn(metric: str) -> None:
    from sklearn.neighbors import LocalOutlierFactor

    x = np.random.default_rng(4).normal(size=(400, 6)).astype(np.float32)
    ours = find_outliers(x, method="lof", k=10, metric=metric, block=100)
    lof = LocalOutlierFactor(n_neighbors=10, metric=metric, algorithm="brute").fit(x)
    np.testing.assert_allclose(ours.scores, -lof.negative_outlier_factor_, rtol=1e-4)


@pytest.mark.parametrize("method", ["lof", "knn"])
def test_planted_outliers_rank_first(method: str) -> None:
    x, _ = _planted()
    rng = np.random.default_rng(6)
    planted = rng.normal(size=(3, x.shape[1])).astype(np.float32) * 3
    out = find_outliers(np.concatenate([x, planted]), method=method, k=10, metric="euclidean")
    assert {key for key, _ in out.top(3)} == {"120", "121", "122"}


def test_outliers_k_adjusted_to_rows() -> None:
    out = find_outliers(np.random.default_rng(0).normal(size=(4, 3)), k=50)
    assert out.k == 3


@pytest.mark.slow
def test_umap_then_hdbscan_recovers_planted_clusters() -> None:
    pytest.importorskip("umap")
    from sklearn.metrics import adjusted_rand_score

    x, truth = _planted()
    c = cluster(x, method="hdbscan", min_cluster_size=10, reduce_to=2, seed=1)
    kept = c.labels != -1
    assert kept.mean() > 0.9
    assert adjusted_rand_score(truth[kept], c.labels[kept]) == 1.0
