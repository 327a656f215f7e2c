"""ANN index kinds, one module each; every module here that defines a kind registers it."""

from __future__ import annotations

import importlib
import pkgutil

from embedlab.store.index.base import INDEX_KINDS, AnnIndex

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["INDEX_KINDS", "AnnIndex"]
