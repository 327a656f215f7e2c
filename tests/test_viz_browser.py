"""The HTML projector in a real browser: Debian's chromium driven by Playwright.

Playwright's own browser download is not used (nor reachable): the system chromium is
launched through ``executable_path``. Without it these tests skip, except under CI=true,
where a missing browser is a failure (CI installs it; see .ci/run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.viz import nearest_neighbours, plot_points, points_from_array
from viz_helpers import cluster_of, planted

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = None
    if not Path(CHROMIUM).is_file():
        missing = f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is not installed (pip install playwright)"
    if missing is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests need a browser under CI: {missing}")
        pytest.skip(missing)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    wv = planted(n_per=60, clusters=5, dim=24)
    meta = [{"cluster": f"k{cluster_of(k)}", "n": i} for i, k in enumerate(wv.keys)]
    pts = points_from_array(wv.vectors, wv.keys, meta)
    path = tmp_path_factory.mktemp("page") / "projector.html"
    result = plot_points(pts, path, method="pca", color_by_field="cluster")
    assert result.points == 300
    return path, pts


def _open(browser: Any, path: Path) -> tuple[Any, list[str]]:
    tab = browser.new_page(viewport={"width": 1200, "height": 800})
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on(
        "request", lambda r: errors.append(f"fetched {r.url}") if r.url != path.as_uri() else None
    )
    tab.goto(path.as_uri())
    tab.wait_for_function("window.embedlabProjector && embedlabProjector.ready", timeout=30_000)
    return tab, errors


def test_page_draws_every_point_without_errors(
    browser: Any, page_file: tuple[Path, Any], tmp_path: Path
) -> None:
    path, pts = page_file
    tab, errors = _open(browser, path)
    assert tab.evaluate("embedlabProjector.pointsDrawn") == len(pts)
    assert tab.evaluate("embedlabProjector.labelsDrawn") > 20
    legend = tab.inner_text("#embedlab-legend")
    assert "cluster" in legend and "k0 (60)" in legend
    shot = tmp_path / "page.png"
    tab.screenshot(path=str(shot))
    pixels = _png_pixels(shot)
    assert pixels.std() > 5  # something was drawn, not a blank canvas
    tab.close()
    assert errors == []


def test_search_highlights_and_centres_the_key(browser: Any, page_file: tuple[Path, Any]) -> None:
    path, pts = page_file
    tab, errors = _open(browser, path)
    target = pts.keys.index("c3w7")
    tab.fill("#embedlab-search", "C3W7")  # case-insensitive match
    tab.press("#embedlab-search", "Enter")
    tab.wait_for_function(
        f"embedlabProjector.selected.length === 1 && embedlabProjector.selected[0] === {target}"
    )
    tab.wait_for_timeout(600)  # the camera's transition
    x, y = tab.evaluate(f"embedlabProjector.screenPosition({target})")
    assert abs(x - 600) < 30 and abs(y - 400) < 30  # centred in the 1200 x 800 view
    assert tab.evaluate("embedlabProjector.neighbours") == _expected(pts, target)
    assert tab.evaluate("embedlabProjector.search('no such key')") == -1
    assert "no key matches" in tab.inner_text("#embedlab-info")
    tab.close()
    assert errors == []


def test_click_lists_neighbours_in_the_original_space(
    browser: Any, page_file: tuple[Path, Any]
) -> None:
    path, pts = page_file
    tab, errors = _open(browser, path)
    positions = np.array(
        tab.evaluate(f"[...Array({len(pts)}).keys()].map(i => embedlabProjector.screenPosition(i))")
    )
    gaps = np.sqrt(((positions[:, None] - positions[None]) ** 2).sum(-1))
    np.fill_diagonal(gaps, np.inf)
    clear = np.flatnonzero((gaps.min(axis=1) > 12) & (positions[:, 0] > 320))
    assert len(clear) > 0
    target = int(clear[0])
    tab.mouse.move(*positions[target])
    tab.wait_for_selector("#embedlab-tooltip", state="visible")
    tooltip = tab.inner_text("#embedlab-tooltip")
    assert pts.keys[target] in tooltip and f"n: {target}" in tooltip  # key and metadata
    tab.mouse.click(*positions[target])
    tab.wait_for_function("embedlabProjector.selected.length === 1")
    assert tab.evaluate("embedlabProjector.selected") == [target]
    listed = tab.eval_on_selector_all("#embedlab-neighbours a", "as => as.map(a => a.textContent)")
    assert listed == _expected(pts, target)
    # the list is links: following one selects that neighbour
    tab.click("#embedlab-neighbours li:nth-child(2) a")
    second = pts.keys.index(listed[1])
    tab.wait_for_function(f"embedlabProjector.selected[0] === {second}")
    tab.close()
    assert errors == []


def _expected(pts: Any, i: int) -> list[str]:
    nn = nearest_neighbours(pts.vectors, k=10)
    return [pts.keys[j] for j in nn.ids[i]]


def _png_pixels(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    return np.asarray(imread(path)) * 255.0


def test_colour_by_another_field(browser: Any, page_file: tuple[Path, Any]) -> None:
    path, pts = page_file
    tab, errors = _open(browser, path)
    tab.select_option("#embedlab-color", "n")  # 300 distinct numbers: a colour ramp
    tab.wait_for_function("document.querySelector('#embedlab-legend .ramp') !== null")
    assert "0.00 … 299" in tab.inner_text("#embedlab-legend")
    tab.select_option("#embedlab-color", "")
    tab.wait_for_function("document.querySelector('#embedlab-legend').textContent === ''")
    assert tab.evaluate("embedlabProjector.pointsDrawn") == len(pts)
    # Two changes in a row: the second used to reach the plot while the first still drew,
    # and was dropped (the page logged an error and kept the old colours).
    tab.select_option("#embedlab-color", "n")
    tab.select_option("#embedlab-color", "")
    tab.wait_for_function("document.querySelector('#embedlab-legend').textContent === ''")
    tab.wait_for_timeout(300)
    tab.close()
    assert errors == []


def test_cluster_names_are_drawn_on_the_map(browser: Any, tmp_path: Path) -> None:
    wv = planted(n_per=50, clusters=4, dim=24)
    pts = points_from_array(wv.vectors, wv.keys)
    path = tmp_path / "clusters.html"
    plot_points(pts, path, method="pca", clusters=4)
    tab, errors = _open(browser, path)
    tab.screenshot(path=str(tmp_path / "clusters.png"))
    names = tab.evaluate("JSON.parse(document.getElementById('embedlab-data').textContent)"
                         ".clusters.names")  # fmt: skip
    drawn = tab.evaluate("embedlabProjector.clusterLabels")
    assert len(names) == 4 and set(drawn) <= set(names) and len(drawn) >= 3  # unless overlapping
    assert len({cluster_of(name.split(" · ")[0]) for name in names}) == 4  # one per group
    for name in names:  # each name is made of its cluster's members
        assert len({cluster_of(word) for word in name.split(" · ")}) == 1
    assert "cluster" in tab.inner_text("#embedlab-legend")
    tab.close()
    assert errors == []
