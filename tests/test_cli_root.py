"""The options every command shares: --version, -v / -q, completion, and the grouped help."""

from __future__ import annotations

import re
from pathlib import Path

import embedlab
from cli_helpers import run_cli
from embedlab.cli.app import PANELS, app
from embedlab.cli.main import _group_commands


def test_version() -> None:
    done = run_cli("--version")
    assert done.code == 0 and done.stdout.strip() == f"embedlab {embedlab.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", embedlab.__version__)


def test_help_names_every_command_in_its_panel() -> None:
    done = run_cli("--help")
    assert done.code == 0
    panels = re.findall(r"─ ([A-Z][A-Za-z ]+?) ─", done.stdout)
    assert panels[0] == "Options" and panels[1:] == list(PANELS)  # in an embedding's order
    _group_commands()
    names = [i.name or i.callback.__name__ for i in app.registered_commands if i.callback]
    names += [g.name or g.typer_instance.info.name for g in app.registered_groups]  # type: ignore[union-attr]
    placed = {n for group in PANELS.values() for n in group}
    assert set(names) <= placed, f"commands in no panel: {set(names) - placed}"
    for name in names:
        assert re.search(rf"│ {re.escape(str(name))}\s", done.stdout), name


def test_verbose_logs_the_library_and_quiet_hides_summaries(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 50)
    loud = run_cli("-v", "train", "word2vec", corpus, "-o", tmp_path / "a", "--min-count", "1")
    assert loud.code == 0, loud.stderr
    assert "INFO embedlab.train._base: training Word2Vec" in loud.stderr
    plain = run_cli("train", "word2vec", corpus, "-o", tmp_path / "b", "--min-count", "1")
    assert plain.code == 0 and "INFO" not in plain.stderr

    said = run_cli("embed", "--model", "minilm", "one line", "another line")
    hushed = run_cli("-q", "embed", "--model", "minilm", "one line", "another line")
    assert said.code == hushed.code == 0, said.stderr + hushed.stderr
    assert said.stdout == hushed.stdout and said.stdout.count("\n") == 2  # the vectors
    assert "embedded 2 texts" in said.stderr and hushed.stderr == ""
    failed = run_cli("-q", "embed", "--model", "no-such-model", "x")
    assert failed.code == 2 and failed.stderr.startswith("error:")  # errors still show


def test_verbose_and_quiet_together_is_a_usage_error() -> None:
    done = run_cli("-v", "-q", "demo")
    assert done.code == 2 and "contradict" in done.stderr


def test_shell_completion_script() -> None:
    """The bash script, whatever shell (if any) runs the command (the README's line)."""
    import subprocess

    from cli_helpers import _script, cli_env

    env = {**cli_env(), "_EMBEDLAB_COMPLETE": "source_bash"}
    done = subprocess.run([_script()], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and "_EMBEDLAB_COMPLETE=complete_bash" in done.stdout
