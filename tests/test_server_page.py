"""The search page at / in headless Chromium (Debian's chromium, driven by Playwright):
a search shows ranked results with scores, metadata and highlighted words, and the
console stays clean."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import embedlab
from embedlab.encoders.static import StaticEncoder
from embedlab.server import ServerSettings, create_app
from embedlab.store import Database
from server_helpers import running

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KEY = "page-test-key-1234"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)

DOCS = {
    "rivers": "Rivers carry water to the sea; fish swim near the muddy bank of the river.",
    "banks": "A bank lends money: a loan on credit, repaid with interest to the bank.",
    "boats": "Boats float on water and sail down the river past the old mill.",
    "stars": "Stars shine at night far above the quiet fields.",
}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    words = sorted({w.strip(".,;:").lower() for text in DOCS.values() for w in text.split()})
    rng = np.random.default_rng(3)
    encoder = StaticEncoder(
        embedlab.WordVectors(words, rng.normal(size=(len(words), 24))), name="toy"
    )
    db = Database(tmp_path_factory.mktemp("page") / "db")
    col = db.create_collection("notes", dim=24, index="flat", model="toy")
    texts = list(DOCS.values())
    col.add(
        list(DOCS),
        encoder.encode(texts),
        metadata=[{"topic": key, "words": len(t.split())} for key, t in DOCS.items()],
        documents=texts,
    )
    with running(create_app(db, {"toy": encoder}, ServerSettings(api_key=KEY))) as base:
        yield base


def test_search_page_in_chromium(url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(url + "/")
        page.wait_for_selector("#status.error")  # no key yet: the page says so, shows no data
        assert page.locator("#collection option").count() == 0
        problems.clear()  # the 401 above is expected; from here on nothing may fail
        page.fill("#api-key", KEY)
        page.dispatch_event("#api-key", "change")
        page.wait_for_selector("#collection option[value=notes]", state="attached")
        for mode, first in [("keyword", "banks"), ("hybrid", "banks"), ("vector", None)]:
            page.check(f"input[name=mode][value={mode}]")
            page.fill("#query", "bank loan")
            page.click("#go")
            page.wait_for_function(
                "document.querySelector('#status').textContent.includes('results')"
            )
            hits = page.locator(".hit")
            assert hits.count() >= 1, mode
            if first:
                assert hits.first.locator(".id").text_content() == first
                marks = [m.lower() for m in hits.first.locator("mark").all_text_contents()]
                assert "bank" in marks and "loan" in marks
                assert "topic: banks" in hits.first.locator(".meta").text_content()
            scores = [float(s) for s in page.locator(".hit .score").all_text_contents()]
            assert scores == sorted(scores, reverse=True)
        page.check("input[name=mode][value=keyword]")
        page.fill("#query", "river water")
        page.click("#go")
        page.wait_for_function(
            "document.querySelector('#status').textContent.includes('river') "
            "|| document.querySelectorAll('.hit mark').length > 0"
        )
        page.click("#map")  # the collection's map, in a frame under the status line
        page.wait_for_selector("#map-frame:not([hidden])")
        frame = page.frame_locator("#map-frame")
        frame.locator("body[data-ready=true]").wait_for(timeout=30_000)
        inner = next(f for f in page.frames if f.url.startswith("blob:"))
        assert inner.evaluate("embedlabProjector.pointsDrawn") == len(DOCS)
        assert inner.evaluate("embedlabProjector.search('banks')") == list(DOCS).index("banks")
        shot = tmp_path / "search.png"
        page.screenshot(path=str(shot), full_page=True)
        if os.environ.get("EMBEDLAB_SCREENSHOTS"):
            shutil.copy(shot, Path(os.environ["EMBEDLAB_SCREENSHOTS"]) / "server-search.png")
        browser.close()
    assert shot.stat().st_size > 10_000
    assert problems == []
