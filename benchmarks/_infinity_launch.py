"""Start Infinity's CLI (``infinity_emb v2 ...``) with one fix for local model folders.

Infinity 0.0.78's optimum (ONNX) engine lists a local folder's ``*.onnx`` files as absolute
paths and passes one as ``file_name`` to optimum, which wants a name inside the folder and
refuses; from the Hugging Face Hub the names are relative and it works. This launcher makes
the name relative to the folder and changes nothing else. Run it with the Python of the
environment Infinity is installed in (benchmarks/server.py ``--infinity``):

    /path/to/infinity-venv/bin/python benchmarks/_infinity_launch.py v2 --model-id DIR ...
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import infinity_emb.transformer.embedder.optimum as optimum_engine  # type: ignore[import-not-found]
from infinity_emb.cli import cli  # type: ignore[import-not-found]

_found = optimum_engine.get_onnx_files


def _relative_onnx_file(*, model_name_or_path: str, **options: Any) -> Path:
    found: Path = _found(model_name_or_path=model_name_or_path, **options)
    folder = Path(model_name_or_path)
    if folder.is_dir() and found.is_absolute():
        return found.relative_to(folder.resolve())
    return found


optimum_engine.get_onnx_files = _relative_onnx_file

if __name__ == "__main__":
    sys.exit(cli())
