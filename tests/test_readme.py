"""The README's command-line tour, run as written: every command of every ```bash block,
in order, in one folder holding the small real inputs the tour names (a corpus cut from
the bundled WordNet glosses, .npy/.jsonl/.parquet rows, a few documents).

Nothing is skipped silently: the only lines not run are listed in NOT_RUN with the reason,
and the test fails if that list and the README disagree."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GLOSSES = ROOT / "src" / "embedlab" / "data" / "wordnet-glosses.txt.gz"

NOT_RUN = {
    "make demo": "builds a virtual environment; `embedlab demo` is what it runs",
    "make test": "builds a virtual environment and runs this very suite",
    "embedlab demo": "tests/test_cli.py::test_demo_json runs it (1-2 minutes)",
}


def bash_commands(text: str) -> list[str]:
    """The command lines of every ```bash block (comment-only and blank lines left out)."""
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            if line.strip() and not line.strip().startswith("#"):
                lines.append(line.strip())
    return lines


def _command(line: str) -> str:
    """A line without its trailing comment, for matching NOT_RUN."""
    return re.sub(r"\s+#.*$", "", line).strip()


def make_inputs(folder: Path) -> None:
    """Every input file the tour names, small and real."""
    wanted = re.compile(r"\b(king|queen|man|woman|river|computer)\b")
    with gzip.open(GLOSSES, "rt", encoding="utf-8") as f:
        everything = list(f)
    lines = everything[:6000] + [g for g in everything[6000:] if wanted.search(g)]
    (folder / "corpus.txt").write_text("".join(lines), encoding="utf-8")
    (folder / "texts").mkdir()
    for name, part in (("a", lines[:1500]), ("b", lines[-1500:])):
        with gzip.open(folder / "texts" / f"{name}.txt.gz", "wt", encoding="utf-8") as g:
            g.write("".join(part))
    (folder / "latin1.txt").write_bytes(("café crème brûlée à la carte\n" * 100).encode("latin-1"))
    (folder / "my.txt").write_text(": family\nman king woman queen\nking man queen woman\n")
    (folder / "my.tsv").write_text("king\tqueen\t8.6\nman\twoman\t8.3\nriver\tcomputer\t0.9\n")

    rng = np.random.default_rng(7)
    dim, n = 384, 20
    np.save(folder / "X.npy", rng.normal(size=(n, dim)).astype(np.float32))
    np.save(folder / "q.npy", rng.normal(size=dim).astype(np.float32))
    metas = [{"year": 2015 + i % 10, "lang": "en" if i % 3 else "fr"} for i in range(n)]
    (folder / "meta.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metas))
    docs = [f"note {i} about the river bank" if i % 2 else f"note {i} on hills" for i in range(n)]
    (folder / "docs.txt").write_text("".join(d + "\n" for d in docs))
    (folder / "ids.txt").write_text("".join(f"doc{i}\n" for i in range(n)))
    rows = [
        {"id": f"row{i}", "vector": rng.normal(size=dim).round(4).tolist(), "document": f"row {i}",
         "lang": "en", "year": 2021}
        for i in range(5)
    ]  # fmt: skip
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": ["row0", "row9"],  # one stored already (upserted), one new
            "vector": [rng.normal(size=dim).tolist() for _ in range(2)],
            "document": ["row 0 again", "row 9"],
            "lang": ["de", "en"],
        }
    )
    pq.write_table(table, folder / "rows.parquet")

    docs_folder = folder / "my-docs"
    docs_folder.mkdir()
    (docs_folder / "floods.txt").write_text(
        "The river floods in spring, when the snow melts in the mountains.\n\n"
        "Levees protect the town from high water.\n"
    )
    (docs_folder / "baking.md").write_text("# Bread\n\nKnead the dough and let it rise.\n")
    (folder / "lines.txt").write_text("the river floods\nbread rises\n")
    (folder / "questions.jsonl").write_text(
        json.dumps({"query": "when does the river flood?"})
        + "\n"
        + json.dumps({"query": "bread"})
        + "\n"
    )


def test_not_run_lines_are_in_the_readme() -> None:
    commands = {_command(line) for line in bash_commands(README.read_text(encoding="utf-8"))}
    assert set(NOT_RUN) <= commands, set(NOT_RUN) - commands


@pytest.mark.slow
def test_readme_cli_tour_runs_as_written(tmp_path: Path) -> None:
    make_inputs(tmp_path)
    env = cli_env()
    env.pop("EMBEDLAB_DB", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    ran = 0
    lines = bash_commands(README.read_text(encoding="utf-8"))
    for line in lines:
        if _command(line) in NOT_RUN:
            continue
        proc = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", line],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"README command failed: {line}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, (line, proc.stderr)
        ran += 1
    assert ran == len(lines) - len(NOT_RUN)
