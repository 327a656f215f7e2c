"""embedlab.viz: projections, points from every source, the cache, PNGs, the page's HTML."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import InvalidParameterError, UnknownKeyError
from embedlab.store import Database
from embedlab.vectors import WordVectors
from embedlab.viz import (
    color_by,
    nearest_neighbours,
    plot_analogy,
    plot_points,
    points_from_array,
    points_from_collection,
    points_from_vectors,
    project,
    project_points,
    projector_html,
    sample_points,
    scatter_png,
)
from embedlab.viz.colors import MAX_CATEGORIES
from viz_helpers import cluster_of, knn_agreement, planted

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- projections ----------------------------------------------------------------------
def test_pca_matches_sklearn_up_to_sign_and_is_deterministic() -> None:
    from sklearn.decomposition import PCA

    x = np.random.default_rng(1).normal(size=(50, 10)).astype(np.float32)
    ours = project(x, method="pca", dim=3, metric="euclidean").coords
    theirs = PCA(n_components=3).fit_transform(x.astype(np.float64))
    for c in range(3):
        sign = np.sign(ours[:, c] @ theirs[:, c])
        np.testing.assert_allclose(ours[:, c], sign * theirs[:, c], atol=1e-4)
    np.testing.assert_array_equal(ours, project(x, method="pca", dim=3, metric="euclidean").coords)


def test_tsne_is_seeded_and_separates_planted_clusters() -> None:
    wv = planted(n_per=25, clusters=4)
    labels = [cluster_of(k) for k in wv.keys]
    a = project(wv.vectors, method="tsne", seed=3)
    b = project(wv.vectors, method="tsne", seed=3)
    np.testing.assert_array_equal(a.coords, b.coords)
    assert a.coords.shape == (100, 2) and a.notes == ()
    assert knn_agreement(a.coords, labels) > 0.95
    shuffled = list(np.random.default_rng(0).permutation(labels))
    assert knn_agreement(a.coords, shuffled) < 0.5  # control: the check is not vacuous


def test_tsne_lowers_perplexity_for_few_points_and_says_so() -> None:
    x = np.random.default_rng(0).normal(size=(10, 5))
    made = project(x, method="tsne", perplexity=30)
    assert made.params["perplexity"] == pytest.approx(3.0)
    assert "perplexity lowered from 30 to 3" in made.notes[0]
    assert made.coords.shape == (10, 2)


@pytest.mark.slow
def test_umap_is_seeded_and_separates_planted_clusters() -> None:
    wv = planted(n_per=25, clusters=4)
    a = project(wv.vectors, method="umap", seed=1)
    b = project(wv.vectors, method="umap", seed=1)
    np.testing.assert_array_equal(a.coords, b.coords)
    assert knn_agreement(a.coords, [cluster_of(k) for k in wv.keys]) > 0.95
    few = project(wv.vectors[:6], method="umap")
    assert "n_neighbors lowered from 15 to 5" in few.notes[0]


@pytest.mark.parametrize(
    ("vectors", "options", "message"),
    [
        (np.zeros((2, 4)), {}, "at least 3 points, got 2"),
        (np.zeros(5), {}, "expected a 2-D array"),
        (np.array([[0.0, 1.0], [np.nan, 1.0], [1.0, 1.0]]), {}, "NaN"),
        (np.zeros((5, 4)), {"method": "tsne", "dim": 3}, "'dim'"),
        (np.zeros((5, 4)), {"method": "mds"}, "'pca', 'tsne', 'umap'"),
        (np.zeros((5, 4)), {"metric": "hamming"}, "'cosine', 'euclidean'"),
    ],
)
def test_projection_refuses_bad_input(vectors: np.ndarray, options: dict, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        project(vectors, **options)


# -- sources --------------------------------------------------------------------------
def test_points_from_vectors_reports_every_unknown_word() -> None:
    wv = planted()
    with pytest.raises(UnknownKeyError, match="unknown words 'nope, nada'"):
        points_from_vectors(wv, ["c0w1", "nope", "nada"])
    pts = points_from_vectors(wv, ["c1w2", "c0w1", "c1w2"])
    assert pts.keys == ("c1w2", "c0w1")
    np.testing.assert_array_equal(pts.vectors[0], wv["c1w2"])
    top = points_from_vectors(wv, limit=7)
    assert top.keys == tuple(wv.keys[:7]) and "7 most frequent of 120" in top.notes[0]


def test_points_from_array_checks_lengths() -> None:
    with pytest.raises(InvalidParameterError, match="expected 3 keys"):
        points_from_array(np.zeros((3, 2)), ["a"])
    with pytest.raises(InvalidParameterError, match="expected 3 entries"):
        points_from_array(np.zeros((3, 2)), metadata=[{}])


def test_collection_points_are_sampled_with_a_seed_and_say_so(tmp_path: Path) -> None:
    wv = planted()
    with Database(tmp_path / "db") as db:
        col = db.create_collection("w", dim=wv.dim, metric="cosine", index="flat")
        meta = [{"cluster": cluster_of(k)} for k in wv.keys]
        col.add(list(wv.keys), wv.vectors, meta)
        all_rows = points_from_collection(col)
        assert all_rows.keys == tuple(wv.keys) and all_rows.notes == ()
        assert all_rows.metadata is not None and all_rows.metadata[31] == {"cluster": 1}
        a = points_from_collection(col, limit=50, seed=4)
        b = points_from_collection(col, limit=50, seed=4)
        assert a.keys == b.keys and len(a) == 50
        assert a.notes == ("sampled 50 of 120 rows of collection w (seed 4)",)
        assert points_from_collection(col, limit=50, seed=5).keys != a.keys
        for i, key in enumerate(a.keys):
            np.testing.assert_allclose(a.vectors[i], wv[key], rtol=1e-6)


def test_collection_projection_is_cached_until_the_collection_changes(tmp_path: Path) -> None:
    wv = planted(n_per=40)
    cache = tmp_path / "cache"
    with Database(tmp_path / "db") as db:
        col = db.create_collection("w", dim=wv.dim, metric="cosine", index="flat")
        col.add(list(wv.keys), wv.vectors)
        start = time.perf_counter()
        first = project_points(points_from_collection(col), method="tsne", cache_dir=cache)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        second = project_points(points_from_collection(col), method="tsne", cache_dir=cache)
        warm = time.perf_counter() - start
        assert "cached projection reused" in second.notes
        assert "cached projection reused" not in first.notes
        np.testing.assert_array_equal(first.coords, second.coords)
        assert warm < cold / 5
        other = project_points(points_from_collection(col), method="pca", cache_dir=cache)
        assert "cached projection reused" not in other.notes  # another method, another file
        col.add(["extra"], wv.vectors[:1] + 1.0)
        third = project_points(points_from_collection(col), method="tsne", cache_dir=cache)
        assert "cached projection reused" not in third.notes and len(third.coords) == 161
    arrays = points_from_array(wv.vectors)  # no stamp: never cached
    assert "cached projection reused" not in project_points(arrays, cache_dir=cache).notes


def test_sample_points_keeps_order_and_metadata() -> None:
    pts = points_from_array(np.arange(20.0).reshape(10, 2), metadata=[{"i": i} for i in range(10)])
    s = sample_points(pts, 4, seed=2)
    assert [int(k) for k in s.keys] == sorted(int(k) for k in s.keys)
    assert s.metadata is not None
    assert [m["i"] for m in s.metadata] == [int(k) for k in s.keys]
    assert sample_points(pts, 10) is pts


# -- neighbours and colours -----------------------------------------------------------
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_neighbours_match_brute_force(metric: str) -> None:
    x = np.random.default_rng(2).normal(size=(60, 8)).astype(np.float32)
    got = nearest_neighbours(x, k=5, metric=metric)
    if metric == "cosine":
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        score = u @ u.T
    else:
        score = -(((x[:, None] - x[None]) ** 2).sum(-1))
    np.fill_diagonal(score, -np.inf)
    expected = np.argsort(-score, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(got.ids, expected)
    assert got.exact


def test_color_by_categories_numbers_and_unknown_fields() -> None:
    cats = color_by([{"t": "a"}, {"t": "b"}, {"t": "a"}, {}], "t")
    assert cats.labels == ("a", "b", "(missing)") and cats.codes.tolist() == [0, 1, 0, 2]
    many = color_by([{"t": f"v{i % 30}"} for i in range(300)], "t")
    assert len(many.labels) == MAX_CATEGORIES and many.labels[-1] == "other"
    nums = color_by([{"x": float(i)} for i in range(50)], "x")
    assert nums.kind == "number" and nums.values is not None
    assert nums.values[0] == 0.0 and nums.values[-1] == 1.0 and nums.high == 49.0
    with pytest.raises(InvalidParameterError, match="fields seen: 'x'"):
        color_by([{"x": 1}], "y")
    with pytest.raises(InvalidParameterError, match="no metadata"):
        color_by(None, "y")


# -- pictures -------------------------------------------------------------------------
def test_png_is_written_and_labels_are_thinned(tmp_path: Path) -> None:
    wv = planted(n_per=100, clusters=4)
    coords = project(wv.vectors).coords
    out = scatter_png(coords, wv.keys, tmp_path / "dense.png", title="dense")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    from matplotlib.figure import Figure

    from embedlab.viz.png import place_labels

    ax = Figure(figsize=(10, 8), dpi=110).subplots()
    ax.scatter(coords[:, 0], coords[:, 1])
    shown = place_labels(ax, coords.astype(np.float64), wv.keys, max_labels=1000)
    assert 20 < shown < 400  # dense clusters: most labels are skipped, not piled up
    spread = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float64)
    ax2 = Figure(figsize=(10, 8), dpi=110).subplots()
    ax2.set_xlim(-1, 11)
    ax2.set_ylim(-1, 11)
    assert place_labels(ax2, spread, ["a", "b", "c", "d"], max_labels=10) == 4


def test_png_with_color_by_has_a_legend(tmp_path: Path) -> None:
    wv = planted(n_per=20)
    meta = [{"cluster": f"k{cluster_of(k)}"} for k in wv.keys]
    pts = points_from_array(wv.vectors, wv.keys, meta)
    result = plot_points(pts, tmp_path / "c.png", color_by_field="cluster")
    assert result.path.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(InvalidParameterError, match=r"ending in \.png or \.html"):
        plot_points(pts, tmp_path / "c.jpg")
    assert not (tmp_path / "c.jpg").exists()


def test_analogy_plot_fills_in_d_and_reports_unknown_words(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # b, r, f orthonormal: the four words have equal norms, so king - man = queen - woman
    # = 2r holds for the unit vectors too, and in any linear projection of them.
    b, r, f = np.linalg.qr(rng.normal(size=(16, 3)))[0].T
    words = {"man": b - r - f, "king": b + r - f, "woman": b - r + f, "queen": b + r + f}
    for i in range(12):
        words[f"filler{i}"] = rng.normal(size=16) * 2
    wv = WordVectors(list(words), np.asarray(list(words.values()), dtype=np.float32))
    drawn = plot_analogy(wv, "man", "king", "woman", path=tmp_path / "a.png", neighbours=2)
    assert drawn.words == ("man", "king", "woman", "queen") and not drawn.d_given
    assert drawn.path.read_bytes().startswith(PNG_MAGIC)
    assert len(drawn.neighbours) == 8 and drawn.cosine_d_target > 0.8
    # the parallelogram: in the plane, king - man is close to queen - woman
    c = drawn.coords
    assert np.linalg.norm((c[1] - c[0]) - (c[3] - c[2])) < 1e-4 * np.linalg.norm(c[1] - c[0])
    assert np.linalg.norm(c[1] - c[0]) > 0.1  # the offset shows in the plane
    with pytest.raises(UnknownKeyError, match="unknown words 'prince, duke'"):
        plot_analogy(wv, "man", "prince", "woman", "duke", path=tmp_path / "b.png")
    assert not (tmp_path / "b.png").exists()


def _page_data(page: str) -> dict:
    found = re.search(r'<script id="embedlab-data" type="application/json">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_page_is_one_self_contained_file() -> None:
    keys = ["a</script><b>", "b", "c", "d"]
    coords = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)
    nn = nearest_neighbours(np.eye(4, dtype=np.float32) + 0.1, k=2)
    page = projector_html(coords, keys, metadata=[{"t": "x"}] * 4, neighbours=nn, title="t<1>")
    assert page.count("</script>") == 3  # data, bundle, start: nothing closes them early
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)  # nothing fetched
    assert "t&lt;1&gt;" in page
    data = _page_data(page)
    assert data["keys"] == keys
    decoded = np.frombuffer(__import__("base64").b64decode(data["coords"]), dtype="<f4")
    np.testing.assert_array_equal(decoded.reshape(4, 2), coords)
    ids = np.frombuffer(__import__("base64").b64decode(data["neighbours"]["ids"]), dtype="<i4")
    np.testing.assert_array_equal(ids.reshape(4, 2), nn.ids)
    assert data["colorings"]["t"]["labels"] == ["x"]
    with pytest.raises(InvalidParameterError, match="expected 4 keys"):
        projector_html(coords, keys[:3])
