"""Reading images for the image encoders: Pillow, EXIF orientation, size limits, tensors.

Rules:
- An image is a path (jpg, png, webp, and whatever else Pillow opens) or a Pillow image.
- A file is opened lazily and its header's size checked against ``max_pixels`` *before*
  its pixels are decoded, so a decompression bomb costs nothing; the default is Pillow's
  own limit (``Image.MAX_IMAGE_PIXELS``, about 89 Mpx). Pillow's warning for large images
  is replaced by this check; Pillow itself still refuses twice its limit while opening.
- The EXIF orientation tag is applied (a phone photo taken sideways is read upright).
- Every failure is a :class:`~embedlab.errors.FormatError` (or ``MissingFileError``) that
  names the file; callers that walk folders report it and go on.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import (
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    MissingFileError,
)

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["IMAGE_SUFFIXES", "default_max_pixels", "preprocess", "read_image"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
"""Suffixes a folder walk takes as images."""

PIP_LINE = "pip install 'embedlab[image]'"


def import_pil() -> Any:
    """Pillow's Image module, or the pip line that installs it."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingDependencyError(f"reading images needs Pillow; {PIP_LINE}") from exc
    return Image


def default_max_pixels() -> int:
    """Pillow's decompression-bomb limit (width x height), the default ``max_pixels``."""
    limit = import_pil().MAX_IMAGE_PIXELS
    return int(limit) if limit else 89_478_485


def read_image(image: object, *, max_pixels: int | None = None, min_side: int = 0) -> Image:
    """Open one image as RGB, upright (EXIF), refusing ones over ``max_pixels``.

    A JPEG is decoded at a reduced scale (libjpeg's DCT scaling) when its short side stays
    at least ``min_side``: a 4000-pixel photo for a 256-pixel model input decodes 4-8x faster.

    Example:
        >>> from PIL import Image
        >>> read_image(Image.new("L", (4, 3))).mode, read_image(Image.new("L", (4, 3))).size
        ('RGB', (4, 3))
    """
    pil = import_pil()
    from PIL import ImageOps, UnidentifiedImageError

    limit = default_max_pixels() if max_pixels is None else max_pixels
    if isinstance(image, pil.Image):
        _check_size(image.size, limit, "<image>")
        return ImageOps.exif_transpose(image).convert("RGB")
    if not isinstance(image, str | os.PathLike):
        raise InvalidParameterError(
            f"an image must be a file path or a PIL.Image.Image; got {type(image).__name__}"
        )
    path = Path(image)
    if not path.is_file():
        raise MissingFileError(f"{str(path)!r} is not an image file (no such file)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pil.DecompressionBombWarning)
            opened = pil.open(path)
            with opened:
                _check_size(opened.size, limit, str(path))
                width, height = opened.size
                if opened.format == "JPEG" and min_side and min(width, height) > 2 * min_side:
                    factor = min(width, height) / min_side
                    opened.draft("RGB", (int(width / factor) + 1, int(height / factor) + 1))
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                return upright.convert("RGB")
    except FormatError:
        raise
    except UnidentifiedImageError:
        raise FormatError("not an image Pillow can read", path=str(path)) from None
    except pil.DecompressionBombError as exc:
        raise FormatError(  # Pillow refuses twice its limit while reading the header
            f"over the limit of {limit:,} pixels (max_pixels): {exc}", path=str(path)
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or damaged data
        raise FormatError(
            f"a damaged image ({type(exc).__name__}: {exc})", path=str(path)
        ) from None


def _check_size(size: tuple[int, int], limit: int, where: str) -> None:
    """Refuse an image whose width x height passes ``limit`` (read from its header)."""
    width, height = size
    if width * height > limit:
        raise FormatError(
            f"{width}x{height} pixels ({width * height:,}) is over the limit of "
            f"{limit:,} pixels (max_pixels)",
            path=where,
        )
    if width < 1 or height < 1:
        raise FormatError(f"an empty image ({width}x{height} pixels)", path=where)


def preprocess(
    images: Sequence[Image],
    *,
    size: int,
    crop_pct: float,
    mean: Sequence[float],
    std: Sequence[float],
) -> npt.NDArray[np.float32]:
    """Resize the short side to ``size / crop_pct`` (bicubic), centre-crop ``size``, and
    normalise each channel: a float32 ``(n, 3, size, size)`` batch.

    Example:
        >>> from PIL import Image
        >>> preprocess([Image.new("RGB", (300, 200))], size=224, crop_pct=0.875,
        ...            mean=(0.5,) * 3, std=(0.5,) * 3).shape
        (1, 3, 224, 224)
    """
    pil = import_pil()
    scale = int(size / crop_pct)  # timm: floor(224 / 0.875) = 256
    shift = np.asarray(mean, dtype=np.float32) * 255.0
    spread = np.asarray(std, dtype=np.float32) * 255.0
    out = np.empty((len(images), 3, size, size), dtype=np.float32)
    for i, image in enumerate(images):
        width, height = image.size
        if width <= height:
            new = (scale, max(size, round(height * scale / width)))
        else:
            new = (max(size, round(width * scale / height)), scale)
        resized = image.resize(new, pil.Resampling.BICUBIC, reducing_gap=3.0)
        left, top = (new[0] - size) // 2, (new[1] - size) // 2
        crop = np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.float32)
        out[i] = ((crop - shift) / spread).transpose(2, 0, 1)
    return out
