"""Every embedlab module imports on a Python without POSIX-only calls (as on Windows).

A child process hides ``fcntl`` (``sys.modules["fcntl"] = None`` makes its import fail)
and deletes ``os.pread`` / ``os.pwrite``, then imports each module; a module that needs
them at import time fails here, not first on a user's Windows machine.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import embedlab

_CHILD = r"""
import importlib, json, os, sys
sys.modules["fcntl"] = None
for name in ("pread", "pwrite"):
    if hasattr(os, name):
        delattr(os, name)
failed = {}
for module in json.loads(sys.argv[1]):
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # an optional third-party extra that is not installed is not a portability bug
        if exc.name is None or exc.name == "fcntl" or exc.name.startswith("embedlab"):
            failed[module] = repr(exc)
    except Exception as exc:
        failed[module] = repr(exc)
print(json.dumps(failed))
"""


def _modules() -> list[str]:
    root = Path(embedlab.__file__).parent
    names = ["embedlab"]
    for info in pkgutil.walk_packages([str(root)], prefix="embedlab."):
        if ".data" in info.name or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


def test_every_module_imports_without_fcntl_or_pread() -> None:
    modules = _modules()
    assert "embedlab.store._lock" in modules and len(modules) > 50
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(modules)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    failed = json.loads(done.stdout.strip().splitlines()[-1])
    assert failed == {}, failed


def test_the_check_catches_a_posix_only_import(tmp_path: Path) -> None:
    """Control: a module importing fcntl does fail in the child."""
    (tmp_path / "posix_only_probe.py").write_text("import fcntl\n")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(["posix_only_probe"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert "posix_only_probe" in json.loads(done.stdout.strip().splitlines()[-1])
