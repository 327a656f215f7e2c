"""Optional dependencies of the analysis calls, imported late with the pip line to run."""

from __future__ import annotations

import importlib
from types import ModuleType

from embedlab.errors import MissingDependencyError

_EXTRA = {"sklearn": "scikit-learn", "umap": "umap-learn"}


def require(module: str, what: str) -> ModuleType:
    """Import ``module`` or raise MissingDependencyError naming the pip line."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = _EXTRA.get(module.split(".")[0], module)
        raise MissingDependencyError(
            f"{what} needs {package}: pip install 'embedlab[analysis]' (or pip install {package})"
        ) from None
