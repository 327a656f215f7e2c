"""CLIP: texts and images in one vector space, from a local Hugging Face CLIP folder.

``encoders.load("clip:PATH")`` reads a folder saved by ``CLIPModel.save_pretrained`` (its
``config.json`` with a ``text_config`` and a ``vision_config``, the weights, a tokenizer,
and optionally ``preprocessor_config.json``). :meth:`ClipEncoder.encode` embeds texts with
the text tower, :meth:`ClipEncoder.encode_images` images with the vision tower; both are
projected into the shared space, so a text query ranks images (text-to-image search).

Images are read as in :mod:`embedlab.encoders.image` (EXIF, size limit, named failures)
and preprocessed as CLIP's image processor does (short side resized bicubic, centre crop,
the mean and std from ``preprocessor_config.json``, OpenAI's values when it is absent),
with Pillow and numpy only (transformers' fast image processors would need torchvision).
No CLIP weights can be downloaded here; the tests build a tiny random CLIP from a config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.encoders._images import preprocess, read_image
from embedlab.encoders.base import check_texts
from embedlab.encoders.image import EncodedFiles, _check_images, _finish, encode_image_files
from embedlab.errors import FormatError, InvalidParameterError

__all__ = ["ClipEncoder"]

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipEncoder:
    """A CLIP model's text and image towers (``clip:PATH``).

    Example:
        >>> from embedlab.encoders import load
        >>> clip = load("clip:models/clip-vit-b32")  # doctest: +SKIP
        >>> texts = clip.encode(["a photo of a cat"], normalize=True)  # doctest: +SKIP
        >>> images = clip.encode_images(["cat.jpg"], normalize=True)  # doctest: +SKIP
        >>> float(texts @ images.T)  # doctest: +SKIP
        0.29
    """

    reads_texts = True

    def __init__(self, path: str | os.PathLike[str], *, max_pixels: int | None = None) -> None:
        from embedlab.encoders._loading import import_torch

        folder = Path(path).expanduser()
        config = _read_config(folder)
        self._torch, _ = import_torch()
        self.path = folder.resolve()
        self.name = f"clip:{self.path}"
        self.max_pixels = max_pixels
        try:
            from transformers import AutoTokenizer, CLIPModel

            model = CLIPModel.from_pretrained(str(folder), local_files_only=True)
            self.model: Any = model.eval()  # type: ignore[no-untyped-call]
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except Exception as exc:  # transformers raises many kinds for a damaged folder
            raise FormatError(
                f"could not load a CLIP model: {type(exc).__name__}: {exc}", path=str(folder)
            ) from exc
        self.dim = int(self.model.config.projection_dim)
        text_positions = config.get("text_config", {}).get("max_position_embeddings", 77)
        self.max_tokens: int | None = int(text_positions)
        processor = _read_processor(folder, int(config["vision_config"].get("image_size", 224)))
        self._size, self._crop_pct, self._mean, self._std = processor

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
    ) -> npt.NDArray[np.float32]:
        """Embed texts with the text tower (cut to the model's 77 tokens or its own limit).

        Example:
            >>> load("clip:PATH").encode(["a dog on a beach"]).shape  # doctest: +SKIP
            (1, 512)
        """
        items = check_texts(texts)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        if prompt:
            items = [prompt + text for text in items]
        torch = self._torch
        rows = [np.zeros((0, self.dim), np.float32)]
        for low in range(0, len(items), batch_size):
            inputs = self.tokenizer(
                items[low : low + batch_size],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            )
            with torch.inference_mode():
                out = self.model.get_text_features(
                    input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask")
                )
            rows.append(_pooled(out))
        return _finish(np.concatenate(rows), normalize)

    def encode_images(
        self, images: Sequence[Any], *, batch_size: int = 32, normalize: bool = False
    ) -> npt.NDArray[np.float32]:
        """Embed images (paths or Pillow images) with the vision tower.

        Example:
            >>> load("clip:PATH").encode_images(["cat.jpg"]).shape  # doctest: +SKIP
            (1, 512)
        """
        items = _check_images(images)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        rows = [np.zeros((0, self.dim), np.float32)]
        for low in range(0, len(items), batch_size):
            rows.append(self._features([self._read(x) for x in items[low : low + batch_size]]))
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
            >>> load("clip:PATH").encode_files(["a.jpg", "bad.png"]).failed  # doctest: +SKIP
            (('bad.png', 'not an image Pillow can read'),)
        """
        return encode_image_files(
            paths, self._read, self._features, dim=self.dim, batch_size=batch_size,
            normalize=normalize,
        )  # fmt: skip

    def _read(self, item: Any) -> Any:
        return read_image(
            item, max_pixels=self.max_pixels, min_side=int(self._size / self._crop_pct)
        )

    def _features(self, images: Sequence[Any]) -> npt.NDArray[np.float32]:
        batch = preprocess(
            images, size=self._size, crop_pct=self._crop_pct, mean=self._mean, std=self._std
        )
        torch = self._torch
        with torch.inference_mode():
            out = self.model.get_image_features(pixel_values=torch.from_numpy(batch))
        return _pooled(out)


def _pooled(out: Any) -> npt.NDArray[np.float32]:
    """The projected vectors, whether transformers returns a tensor or an output object."""
    tensor = out if hasattr(out, "numpy") else out.pooler_output
    return np.ascontiguousarray(tensor.float().numpy(), dtype=np.float32)


def _read_config(folder: Path) -> dict[str, Any]:
    """The folder's config.json, which must describe a CLIP model with both towers."""
    file = folder / "config.json"
    if not folder.is_dir():
        raise InvalidParameterError(f"clip:{folder}: no such model folder")
    if not file.is_file():
        raise FormatError("not a Hugging Face model folder (no config.json)", path=str(folder))
    try:
        config: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"config.json is not JSON ({exc})", path=str(folder)) from None
    kind = config.get("model_type")
    if not isinstance(config.get("vision_config"), dict) or kind not in (None, "clip"):
        raise InvalidParameterError(
            f"{folder}: expected a CLIP model with a text and a vision tower (model_type "
            f"'clip' with a vision_config); got model_type {kind!r}"
            + ("" if isinstance(config.get("vision_config"), dict) else " without a vision tower")
        )
    return config


def _read_processor(
    folder: Path, image_size: int
) -> tuple[int, float, tuple[float, ...], tuple[float, ...]]:
    """Crop size, crop share, mean and std from preprocessor_config.json (OpenAI's defaults)."""
    file = folder / "preprocessor_config.json"
    settings: dict[str, Any] = {}
    if file.is_file():
        try:
            settings = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(
                f"preprocessor_config.json is not JSON ({exc})", path=str(folder)
            ) from None
    crop = settings.get("crop_size", image_size)
    crop = int(crop.get("height", image_size) if isinstance(crop, dict) else crop)
    short = settings.get("size", crop)
    short = int(short.get("shortest_edge", crop) if isinstance(short, dict) else short)
    mean = tuple(float(x) for x in settings.get("image_mean", OPENAI_MEAN))
    std = tuple(float(x) for x in settings.get("image_std", OPENAI_STD))
    return crop, crop / max(short, crop), mean, std
