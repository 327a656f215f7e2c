"""`embedlab plot` and `embedlab plot-analogy` through the console script."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cli_helpers import run_cli
from embedlab.store import Database
from viz_helpers import cluster_of, planted

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _model(tmp_path: Path) -> Path:
    wv = planted(n_per=20, clusters=3)
    folder = tmp_path / "model"
    wv.save(folder)
    return folder


def test_plot_words_png_and_unknown_words(tmp_path: Path) -> None:
    model = _model(tmp_path)
    out = tmp_path / "w.png"
    res = run_cli("plot", model, "--words", "c0w1,c0w2,c1w1,c2w5", "-o", out, "--json")
    assert res.json() == {"output": str(out), "points": 4, "method": "pca", "notes": []}
    assert out.read_bytes().startswith(PNG_MAGIC)
    bad = run_cli("plot", model, "--words", "c0w1,zzz,yyy", "-o", tmp_path / "b.png")
    assert bad.code == 2 and "unknown words 'zzz, yyy'" in bad.stderr
    assert not (tmp_path / "b.png").exists()


def test_plot_tsne_says_when_perplexity_is_lowered(tmp_path: Path) -> None:
    model = _model(tmp_path)
    res = run_cli("plot", model, "--limit", "12", "--method", "tsne", "-o", tmp_path / "t.png")
    assert res.code == 0, res.stderr
    assert "perplexity lowered from 30" in res.stdout and "wrote" in res.stdout


def test_plot_collection_html_samples_and_colours(tmp_path: Path) -> None:
    wv = planted(n_per=20, clusters=3)
    with Database(tmp_path / "db") as db:
        col = db.create_collection("words", dim=wv.dim, metric="cosine", index="flat")
        col.add(list(wv.keys), wv.vectors, [{"cluster": cluster_of(k)} for k in wv.keys])
    out = tmp_path / "p.html"
    res = run_cli(
        "plot",
        tmp_path / "db",
        "--collection",
        "words",
        "--limit",
        "40",
        "--color-by",
        "cluster",
        "-o",
        out,
        "--json",
    )
    doc = res.json()
    assert doc["points"] == 40
    assert doc["notes"] == ["sampled 40 of 60 rows of collection words (seed 0)"]
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '"colorBy":"cluster"' in page
    bad = run_cli(
        "plot",
        tmp_path / "db",
        "--collection",
        "words",
        "--color-by",
        "nope",
        "-o",
        tmp_path / "q.html",
    )
    assert bad.code == 2 and "fields seen: 'cluster'" in bad.stderr


def test_plot_analogy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    from embedlab.vectors import WordVectors

    words = ["man", "king", "woman", "queen"] + [f"w{i}" for i in range(10)]
    base, royal, female = rng.normal(size=(3, 8))
    vecs = [base, base + royal, base + female, base + royal + female]
    vecs += list(rng.normal(size=(10, 8)) * 2)
    WordVectors(words, np.asarray(vecs, dtype=np.float32)).save(tmp_path / "m")
    out = tmp_path / "a.png"
    res = run_cli("plot-analogy", tmp_path / "m", "man", "king", "woman", "queen", "-o", out)
    assert res.code == 0, res.stderr
    assert "man : king :: woman : queen" in res.stdout
    assert out.read_bytes().startswith(PNG_MAGIC)
    bad = run_cli("plot-analogy", tmp_path / "m", "man", "king", "woman", "-o", tmp_path / "a.jpg")
    assert bad.code == 2 and "ending in .png" in bad.stderr
