"""Text encoders: one :class:`Encoder` protocol, and :func:`load` from a name or a path.

A spec is one of:

- a registered name: ``minilm`` (all-MiniLM-L6-v2, packaged for offline use);
- ``static:PATH``: pooled word vectors from a vectors file (see ``encoders.static``);
- ``bilm:PATH``: contextual vectors from a BiLM trained by ``embedlab.train.BiLM``;
- ``static:minilm-distilled``: minilm distilled into static token vectors (model2vec's
  recipe, built on first use and cached), or ``static:FOLDER`` for a folder that
  :func:`embedlab.encoders.distilled.distill` wrote (see ``encoders.distilled``);
- ``openai:MODEL[@URL]`` or ``remote:MODEL[@URL]``: an OpenAI-compatible endpoint;
- a path to a local sentence-transformers or Hugging Face model folder;
- ``efficientnet-lite0``: ImageNet image features (``encoders.image``; images, not texts);
- ``clip:PATH``: a local Hugging Face CLIP folder, texts and images in one space.

Modules add names with :func:`register` (exact names) or :func:`register_prefix`.
Heavy modules are imported only when a spec needs them, so a missing optional extra
breaks only the specs that use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedlab._validation import StrEnumOption
from embedlab.encoders._loading import HUB_NAMES, locate
from embedlab.encoders.base import Encoder, EncodeStats, check_texts
from embedlab.encoders.cache import CachedEncoder, CacheStats
from embedlab.encoders.transformer import Pooling, TransformerEncoder
from embedlab.errors import InvalidParameterError

__all__ = [
    "Backend",
    "CacheStats",
    "CachedEncoder",
    "EncodeStats",
    "Encoder",
    "Pooling",
    "SentenceTransformer",
    "TransformerEncoder",
    "available",
    "check_texts",
    "load",
    "register",
    "register_prefix",
]

SentenceTransformer = TransformerEncoder
"""sentence-transformers' class name: ``SentenceTransformer("all-MiniLM-L6-v2")`` works."""

Factory = Callable[..., Encoder]
"""Builds an encoder from keyword options (names) or from the text after a prefix."""


def _minilm(**options: Any) -> Encoder:
    return TransformerEncoder("minilm", **options)


def _static(path: str, **options: Any) -> Encoder:
    from embedlab.encoders import distilled
    from embedlab.encoders.static import StaticEncoder

    if path in distilled.NAMED:  # static:minilm-distilled, built once and cached
        return distilled.load_named(path, **options)
    if distilled.read_config(Path(path).expanduser()) is not None:
        return distilled.DistilledEncoder.load(path, **options)

    encoder: Encoder = StaticEncoder.load(path, **options)
    return encoder


def _remote(spec: str, **options: Any) -> Encoder:
    from embedlab.encoders.remote import RemoteEncoder

    encoder: Encoder = RemoteEncoder.from_spec(spec, **options)
    return encoder


def _custom_remote(spec: str, **options: Any) -> Encoder:
    from embedlab.encoders.remote import RemoteEncoder

    encoder: Encoder = RemoteEncoder.from_spec(spec, require_url=True, **options)
    return encoder


def _image(**options: Any) -> Encoder:
    from embedlab.encoders.image import ImageEncoder

    encoder: Encoder = ImageEncoder(**options)  # its encode refuses texts; encode_images
    return encoder


def _clip(path: str, **options: Any) -> Encoder:
    from embedlab.encoders.clip import ClipEncoder

    encoder: Encoder = ClipEncoder(path, **options)
    return encoder


def _bilm(path: str, **options: Any) -> Encoder:
    from embedlab.encoders.bilm import BiLMEncoder

    encoder: Encoder = BiLMEncoder.load(path, **options)
    return encoder


NAMES: dict[str, Factory] = {"minilm": _minilm, "efficientnet-lite0": _image}
"""Registered encoder names → factory(**options)."""

PREFIXES: dict[str, Factory] = {
    "static:": _static,
    "openai:": _remote,
    "remote:": _custom_remote,
    "clip:": _clip,
    "bilm:": _bilm,
}
"""Spec prefixes → factory(rest_of_spec, **options)."""


def register(name: str, factory: Factory) -> None:
    """Make ``load(name, **options)`` call ``factory(**options)``.

    Example:
        >>> def cutting(**o): return TransformerEncoder(truncate=True, **o)
        >>> register("minilm-cut", cutting)  # doctest: +SKIP
        >>> "minilm-cut" in available()  # doctest: +SKIP
        True
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise InvalidParameterError(
            f"An encoder name must be a non-empty str without ':'. Got {name!r}."
        )
    NAMES[name] = factory


def register_prefix(prefix: str, factory: Factory) -> None:
    """Make ``load(prefix + rest, **options)`` call ``factory(rest, **options)``.

    Example:
        >>> def mine(rest, **o): return TransformerEncoder(rest, **o)
        >>> register_prefix("mine:", mine)  # doctest: +SKIP
    """
    if not isinstance(prefix, str) or not prefix.endswith(":") or len(prefix) < 2:
        raise InvalidParameterError(
            f"An encoder spec prefix must be a str ending in ':'. Got {prefix!r}."
        )
    PREFIXES[prefix] = factory


def available() -> list[str]:
    """The registered names and spec prefixes (``PREFIX...``), sorted.

    Example:
        >>> "minilm" in available()
        True
    """
    return sorted(NAMES) + sorted(p + "..." for p in PREFIXES)


def load(
    spec: str | os.PathLike[str],
    *,
    cache: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Encoder:
    """Return the encoder a spec names; ``cache=PATH`` wraps it in a :class:`CachedEncoder`.

    ``backend="onnx"`` runs a transformer model through ONNX Runtime, exported once and
    int8-quantized by default (see :mod:`embedlab.encoders.onnx`; the ``onnx`` extra).

    Example:
        >>> enc = load("minilm")  # doctest: +SKIP
        >>> enc.name, enc.dim, enc.max_tokens  # doctest: +SKIP
        ('minilm', 384, 256)
        >>> load("static:vectors.vec", pooling="sif")  # doctest: +SKIP
    """
    backend = Backend.parse(options.pop("backend", Backend.TORCH), name="backend")
    if backend is Backend.ONNX:
        if not isinstance(spec, str | os.PathLike) or (
            isinstance(spec, str) and ":" in spec and not Path(spec).exists()
        ):
            raise InvalidParameterError(
                f"backend 'onnx' runs transformer models (a name or a model folder); got {spec!r}"
            )
        from embedlab.encoders.onnx import OnnxEncoder

        encoder: Encoder = _call(OnnxEncoder, spec, options)
    else:
        encoder = _build(spec, options)
    return encoder if cache is None else CachedEncoder(encoder, cache)


def _call(factory: Callable[..., Encoder], spec: object, options: dict[str, Any]) -> Encoder:
    """factory(spec, **options), with an unknown keyword argument as a typed error."""
    try:
        return factory(spec, **options)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        name = str(exc).rpartition("argument")[2].strip()
        raise InvalidParameterError(
            f"unknown option {name} for encoder {str(spec)!r}; got options "
            f"{', '.join(map(repr, sorted(options))) or 'none'}"
        ) from None


class Backend(StrEnumOption):
    """How a transformer runs: PyTorch, or an exported ONNX graph (int8 by default)."""

    TORCH = "torch"
    ONNX = "onnx"


def _build(spec: str | os.PathLike[str], options: dict[str, Any]) -> Encoder:
    """Dispatch a spec to a registered name, a prefix or a model folder."""
    if isinstance(spec, str):
        spec = HUB_NAMES.get(spec, spec)  # "all-MiniLM-L6-v2" is the packaged minilm
        if spec in NAMES:
            return _call(lambda _, **o: NAMES[spec](**o), spec, options)
        for prefix, factory in PREFIXES.items():
            if spec.startswith(prefix):
                return _call(factory, spec[len(prefix) :], options)
    elif not isinstance(spec, os.PathLike):
        raise InvalidParameterError(
            f"An encoder spec must be a name or a path. Got {type(spec).__name__} ({spec!r})."
        )
    path = Path(spec).expanduser()
    names = ", ".join(repr(n) for n in available())
    if path.is_dir():
        try:
            locate(path)
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{exc}. Available encoders: {names}") from None
        return _call(TransformerEncoder, path, options)
    if path.exists():
        raise InvalidParameterError(
            f"{str(spec)!r} is a file, not a model folder; for word vectors use "
            f"'static:{spec}'. Available encoders: {names}"
        )
    raise InvalidParameterError(
        f"unknown encoder {str(spec)!r}: not a registered name and no such folder. "
        f"Available encoders: {names}"
    )
