"""Named clusters on pictures: found in the original space, named, anchored, drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli
from embedlab.errors import InvalidParameterError
from embedlab.viz import plot_points, points_from_array
from embedlab.viz.clusters import cluster_marks
from viz_helpers import cluster_of, planted


def test_marks_recover_planted_clusters_and_name_them_by_members() -> None:
    wv = planted(n_per=40, clusters=4, dim=16)
    coords = np.random.default_rng(1).normal(size=(len(wv), 2))  # any picture will do
    marks = cluster_marks(wv.vectors, wv.keys, coords, k=4)
    truth = np.array([cluster_of(k) for k in wv.keys])
    for code in range(4):  # each found cluster is one planted cluster, whole
        members = truth[marks.codes == code]
        assert len(members) == 40 and len(set(members.tolist())) == 1
        words = marks.names[code].split(" · ")
        assert len(words) == 3 and {cluster_of(w) for w in words} == {members[0]}
        assert marks.codes[marks.anchors[code]] == code  # the anchor is a member
    with pytest.raises(InvalidParameterError, match="clusters=9 needs at least 9 points"):
        cluster_marks(wv.vectors[:5], wv.keys[:5], coords[:5], k=9)


def test_png_and_page_carry_the_cluster_names(tmp_path: Path) -> None:
    wv = planted(n_per=30, clusters=3, dim=16)
    pts = points_from_array(wv.vectors, wv.keys)
    png = plot_points(pts, tmp_path / "c.png", clusters=3)
    assert png.path.stat().st_size > 10_000
    page = plot_points(pts, tmp_path / "c.html", clusters=3)
    text = page.path.read_text(encoding="utf-8")
    marks = cluster_marks(wv.vectors, wv.keys, np.zeros((len(wv), 2)), k=3)
    for name in marks.names:
        assert name in text  # the names travel in the page's data
    assert '"colorBy":"cluster"' in text


def test_cli_plot_with_clusters(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    planted(n_per=20, clusters=3).save(folder)
    res = run_cli("plot", folder, "--clusters", "3", "-o", tmp_path / "m.html", "--json")
    assert res.json()["points"] == 60
    bad = run_cli("plot", folder, "--clusters", "0", "-o", tmp_path / "z.png")
    assert bad.code == 2 and "clusters" in bad.stderr


def test_skewed_positive_numbers_get_a_log_ramp(tmp_path: Path) -> None:
    from embedlab.viz.colors import color_by

    counts = [{"count": int(10_000 / (rank + 1))} for rank in range(200)]  # Zipf-like
    c = color_by(counts, "count")
    assert c.scale == "log" and c.values is not None
    assert c.values[0] == pytest.approx(1.0) and c.values[-1] == pytest.approx(0.0)
    assert c.values[9] == pytest.approx(np.log(1000 / 50) / np.log(10_000 / 50), rel=1e-3)
    assert c.value_at(0.5) == pytest.approx((50 * 10_000) ** 0.5)
    even = color_by([{"x": float(i)} for i in range(1, 200)], "x")  # spread evenly: linear
    assert even.scale == "linear"
    signed = color_by([{"x": float(i) ** 3} for i in range(-50, 50)], "x")  # not positive
    assert signed.scale == "linear"
    wv = planted(n_per=50, clusters=4, dim=8)
    pts = points_from_array(wv.vectors, wv.keys, counts)
    page = plot_points(pts, tmp_path / "log.html", color_by_field="count")
    assert '"scale":"log"' in page.path.read_text(encoding="utf-8")
    assert plot_points(pts, tmp_path / "log.png", color_by_field="count").path.stat().st_size
