"""Running the embedlab console script in tests: a subprocess with a plain environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result as ClickResult


def _script() -> str:
    """The console script beside this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "embedlab"
    if beside.is_file():
        return str(beside)
    found = shutil.which("embedlab")
    if found is None:
        pytest.skip("the embedlab console script is not installed")
    return found


def cli_env() -> dict[str, str]:
    """The environment the script runs in: no colours, offline."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["HF_HUB_OFFLINE"] = "1"
    env["NO_COLOR"] = "1"
    env["TERM"] = "dumb"
    return env


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self.stderr
        assert self.stdout.endswith("\n") and self.stdout.count("\n") == 1, self.stdout
        return json.loads(self.stdout)


def run_cli(*args: str | Path, cwd: Path | None = None, timeout: float = 120) -> Result:
    proc = subprocess.run(
        [_script(), *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=cwd,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_user_error(result: Result, *needles: str) -> None:
    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    for needle in needles:
        assert needle in lines[0]


def invoke(*args: object, env: dict[str, str] | None = None) -> ClickResult:
    """Run `embedlab …` in process (fast; CliRunner); stdout and stderr are kept apart."""
    from typer.testing import CliRunner

    from embedlab.cli import db, demo, ingest, query, search, train, viz  # noqa: F401 - registers
    from embedlab.cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def invoke_json(*args: object) -> Any:
    """`invoke` with --json: exit 0 and exactly one JSON document on stdout."""
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.stderr or result.output
    assert result.stdout.count("\n") == 1, result.stdout
    return json.loads(result.stdout)


def assert_invoke_error(result: ClickResult, *needles: str) -> None:
    """An in-process run that failed the user-error way: exit 2 and one `error:` line."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert result.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]
