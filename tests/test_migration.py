"""The migration figure: each anchor's documented quick-start runs unchanged except for its
import lines (tests/migration/*.py), in a fresh process; gensim's also runs on gensim."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MIGRATION = Path(__file__).parent / "migration"
SRC = Path(__file__).parents[1] / "src"


def run(script: str, cwd: Path) -> str:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(SRC))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_gensim_quickstart_runs_on_embedlab_and_on_gensim(tmp_path: Path) -> None:
    text = (MIGRATION / "gensim_quickstart.py").read_text()
    (tmp_path / "ours").mkdir()
    assert "gensim quick-start: ok" in run(text, tmp_path / "ours")
    pytest.importorskip("gensim")
    original = text.replace(
        "from embedlab import WordVectors as KeyedVectors", "from gensim.models import KeyedVectors"
    ).replace("from embedlab.train import Word2Vec", "from gensim.models import Word2Vec")
    assert "embedlab" not in original.split('"""')[2]  # the body names no embedlab
    (tmp_path / "gensim").mkdir()
    assert "gensim quick-start: ok" in run(original, tmp_path / "gensim")


@pytest.mark.slow
def test_sentence_transformers_and_chroma_quickstarts_run(tmp_path: Path) -> None:
    """Both in one process (each script in its own namespace): torch loads once."""
    pytest.importorskip("sentence_transformers")
    scripts = [str(MIGRATION / "st_quickstart.py"), str(MIGRATION / "chroma_quickstart.py")]
    out = run(f"import runpy\nfor path in {scripts!r}:\n    runpy.run_path(path)\n", tmp_path)
    assert "sentence-transformers quick-start: ok" in out
    assert "Chroma quick-start: ok" in out
