"""The README's command-line tour, run as written: every command of every ```bash block,
in order, in one folder holding the small real inputs the tour names (a corpus cut from
the bundled WordNet glosses, .npy/.jsonl/.parquet rows, a few documents, word sets, TREC
qrels and runs, shopping baskets, two small .vec spaces with translation pairs).

Servers (LONG_RUNNING) run as written in the background until GET /healthz answers on
127.0.0.1, then must stop cleanly on SIGTERM. Nothing is skipped silently: the only lines
not run are listed in NOT_RUN with the reason, and the test fails if that list and the
README disagree."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GLOSSES = ROOT / "src" / "embedlab" / "data" / "wordnet-glosses.txt.gz"
TUTORIAL = ROOT / "src" / "embedlab" / "data" / "docs" / "tutorial"

NOT_RUN = {
    "make demo": "builds a virtual environment; `embedlab demo` is what it runs",
    "make test": "builds a virtual environment and runs this very suite",
    "embedlab demo": "tests/test_cli.py::test_demo_json runs it (1-2 minutes)",
    "embedlab distill": "distils all 29,525 minilm tokens (minutes); "
    "tests/test_encoders_distilled.py distils a tiny vocabulary",
}

# Commands that run until stopped (servers): started as written in the background, then
# checked by asking GET /healthz on 127.0.0.1 at the port they name (`--port N`, else the
# default), then stopped with SIGTERM, which must end them cleanly.
LONG_RUNNING = {
    "embedlab serve": 8000,  # prefix (after any VAR=value assignments): its default port
}
STARTUP_SECONDS = 300  # loading a model (an ONNX export the first time) on two busy cores


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
    lines += _glosses_with(everything[6000:], BIAS_WORDS.split(), per_word=12)
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
    # three documents of several chunks each: `cluster`, `classify` (by title) need rows
    floods = _glosses_with(everything, ("flood", "river", "levee", "dam"), per_word=12)
    (docs_folder / "floods.txt").write_text(
        "The river floods in spring, when the snow melts in the mountains.\n\n"
        "Levees protect the town from high water.\n\n" + "\n".join(floods)
    )
    bread = _glosses_with(everything, ("bread", "dough", "flour", "yeast"), per_word=12)
    (docs_folder / "baking.md").write_text(
        "# Bread\n\nKnead the dough and let it rise.\n\n" + "\n".join(f"- {g}" for g in bread)
    )
    (docs_folder / "exceptions.html").write_bytes((TUTORIAL / "08.02-exceptions.html").read_bytes())
    (folder / "lines.txt").write_text("the river floods\nbread rises\n")
    # embedlab finetune: a gloss's first words -> the rest of it, 32 pairs (issue 15)
    split = [g.split() for g in lines[:400:12] if len(g.split()) >= 8][:32]
    (folder / "pairs.jsonl").write_text(
        "".join(
            json.dumps({"query": " ".join(w[:4]), "positive": " ".join(w[4:])}) + "\n"
            for w in split
        )
    )
    _bias_and_eval_inputs(folder)
    _analysis_inputs(folder)
    _image_inputs(folder)
    (folder / "questions.jsonl").write_text(
        json.dumps({"query": "when does the river flood?"})
        + "\n"
        + json.dumps({"query": "bread"})
        + "\n"
    )


BIAS_WORDS = (
    # WEAT 7 and 8 (math/science vs arts, male vs female terms) and the gender pairs
    "math algebra geometry calculus equations computation numbers addition science technology "
    "physics chemistry experiment astronomy poetry art dance literature novel symphony drama "
    "sculpture male boy brother son father uncle grandfather he him his himself female girl "
    "sister daughter mother aunt grandmother she her hers herself gal guy mary john"
)


def _glosses_with(glosses: list[str], words: Sequence[str], *, per_word: int) -> list[str]:
    """Up to per_word glosses holding each word (as a whole word), each gloss once."""
    out: dict[str, None] = {}
    for word in words:
        pattern = re.compile(rf"\b{word}\b", flags=re.IGNORECASE)
        found = [g for g in glosses if pattern.search(g)][:per_word]
        out.update(dict.fromkeys(g.strip() for g in found))
    return list(out)


def _bias_and_eval_inputs(folder: Path) -> None:
    """Word sets for `bias --targets/--attributes`; TREC qrels and two runs to compare."""
    (folder / "t.txt").write_text(
        "family: mother, father, son, daughter, brother, sister\n"
        "science: physics, chemistry, algebra, geometry, astronomy, experiment\n"
    )
    (folder / "a.txt").write_text(
        "male: he, him, his, man, boy, male\nfemale: she, her, hers, woman, girl, female\n"
    )
    rng = np.random.default_rng(3)
    qrels, run, run2 = [], [], []
    for q in range(1, 9):
        relevant = {f"d{d}" for d in rng.choice(30, size=4, replace=False)}
        qrels += [f"q{q} 0 d{d} {int(f'd{d}' in relevant)}" for d in range(30)]
        for name, rows, noise in (("bm25", run, 1.0), ("dense", run2, 0.5)):
            scores = {f"d{d}": rng.normal() * noise + (f"d{d}" in relevant) for d in range(30)}
            ranked = sorted(scores, key=scores.__getitem__, reverse=True)[:10]
            rows += [f"q{q} Q0 {d} {r} {scores[d]:.4f} {name}" for r, d in enumerate(ranked, 1)]
    for name, lines in (("qrels.txt", qrels), ("run.txt", run), ("run2.txt", run2)):
        (folder / name).write_text("".join(line + "\n" for line in lines))


def _analysis_inputs(folder: Path) -> None:
    """Shopping baskets for item2vec; two .vec spaces (one a rotation of the other, plus
    noise) with seed and test translation pairs for `align`."""
    rng = np.random.default_rng(5)
    themes = [
        line.split()
        for line in (
            "milk bread butter eggs jam cereal coffee tea",
            "pasta tomatoes basil garlic parmesan olive_oil onions wine",
            "flour sugar yeast butter eggs vanilla chocolate milk",
            "beer crisps salsa nachos peanuts cola ice lemons",
            "shampoo soap toothpaste razor tissues sponge bleach detergent",
        )
    ]
    baskets = []
    for _ in range(400):
        theme = themes[rng.integers(len(themes))]
        items = list(rng.choice(theme, size=int(rng.integers(2, 6)), replace=False))
        baskets.append(" ".join(items))
    (folder / "baskets.txt").write_text("".join(b + "\n" for b in baskets))
    # a graph for `train node2vec`: two groups of 15 nodes, dense inside, one bridge
    edges = [(f"a{i}", f"a{j}") for i in range(15) for j in range(i + 1, 15) if (i + j) % 3]
    edges += [(f"b{i}", f"b{j}") for i in range(15) for j in range(i + 1, 15) if (i + j) % 3]
    (folder / "edges.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in [*edges, ("a0", "b0")]))

    pairs = [
        ("dog", "chien"), ("cat", "chat"), ("house", "maison"), ("water", "eau"),
        ("bread", "pain"), ("river", "fleuve"), ("king", "roi"), ("queen", "reine"),
        ("man", "homme"), ("woman", "femme"), ("child", "enfant"), ("book", "livre"),
        ("tree", "arbre"), ("sun", "soleil"), ("moon", "lune"), ("sea", "mer"),
        ("city", "ville"), ("road", "route"), ("car", "voiture"), ("door", "porte"),
        ("window", "fenetre"), ("table", "table"), ("chair", "chaise"), ("fire", "feu"),
        ("night", "nuit"), ("day", "jour"), ("year", "an"), ("hand", "main"),
        ("head", "tete"), ("heart", "coeur"), ("friend", "ami"), ("school", "ecole"),
        ("red", "rouge"), ("green", "vert"), ("black", "noir"), ("white", "blanc"),
        ("milk", "lait"), ("cheese", "fromage"), ("apple", "pomme"), ("wine", "vin"),
    ]  # fmt: skip
    dim = 24
    en = rng.normal(size=(len(pairs), dim))
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    fr = en @ rotation + rng.normal(scale=0.05, size=en.shape)
    for name, words, rows in (
        ("en.vec", [e for e, _ in pairs], en),
        ("fr.vec", [f for _, f in pairs], fr),
    ):
        body = "".join(
            w + " " + " ".join(f"{x:.5f}" for x in row) + "\n"
            for w, row in zip(words, rows, strict=True)
        )
        (folder / name).write_text(f"{len(words)} {dim}\n{body}")
    (folder / "seed.txt").write_text("".join(f"{e} {f}\n" for e, f in pairs[:28]))
    (folder / "test.txt").write_text("".join(f"{e} {f}\n" for e, f in pairs[28:]))


def test_not_run_lines_are_in_the_readme() -> None:
    commands = {_command(line) for line in bash_commands(README.read_text(encoding="utf-8"))}
    assert set(NOT_RUN) <= commands, set(NOT_RUN) - commands


def test_long_running_commands_are_recognised() -> None:
    """Each LONG_RUNNING prefix names a README command, and the ports are read as written."""
    lines = bash_commands(README.read_text(encoding="utf-8"))
    for prefix in LONG_RUNNING:
        assert any(_long_running_port(line) is not None for line in lines), prefix
    assert _long_running_port("embedlab serve --db x") == 8000
    assert _long_running_port("K=v embedlab serve --port 8123 --db x  # note") == 8123
    assert _long_running_port("embedlab server-thing") is None
    assert _long_running_port("embedlab search q") is None


def _long_running_port(line: str) -> int | None:
    """The port a LONG_RUNNING command listens on; None for a command that returns."""
    command = re.sub(r"^(\w+=\S*\s+)*", "", _command(line))
    for prefix, default in LONG_RUNNING.items():
        if command == prefix or command.startswith(prefix + " "):
            named = re.search(r"--port[ =](\d+)", command)
            return int(named.group(1)) if named else default
    return None


def _port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _run_until_healthy(line: str, port: int, cwd: Path, env: dict[str, str]) -> None:
    """Start a server command as written, wait for GET /healthz on 127.0.0.1, SIGTERM it."""
    assert not _port_answers(port), f"port {port} is taken before running: {line}"
    log = cwd / f"server-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", line],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGTERM reaches the server
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        health = None
        while health is None:
            assert proc.poll() is None, f"README command exited early: {line}\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no /healthz after {STARTUP_SECONDS} s: {line}"
            try:
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=5) as response:
                    health = json.loads(response.read())
            except (OSError, ValueError):
                time.sleep(0.5)
        assert health.get("status") == "ok", (line, health)
        os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = log.read_text()
    # uvicorn finishes cleanly, then re-raises SIGTERM so the exit status says why
    assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM), (line, code, output[-2000:])
    assert "Traceback" not in output, (line, output)
    assert not _port_answers(port), f"port {port} still answers after SIGTERM: {line}"


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
        port = _long_running_port(line)
        if port is not None:
            _run_until_healthy(line, port, tmp_path, env)
            ran += 1
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


def _image_inputs(folder: Path) -> None:
    """photos/ (two of scikit-image's photographs, one damaged file) and query.jpg."""
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    source = Path(skimage_data.__file__).parent
    (folder / "photos").mkdir()
    for name in ("chelsea.png", "coffee.png"):
        (folder / "photos" / name).write_bytes((source / name).read_bytes())
    (folder / "photos" / "broken.jpg").write_bytes(b"not a jpeg")
    cat = Image.open(source / "chelsea.png").convert("RGB")
    cat.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / "query.jpg", quality=80)
