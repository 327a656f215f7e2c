"""Encoding for :func:`embedlab.ingest.reembed.reembed` on a pool of Ray actors: each
actor loads the model once; a page of texts is split over the actors and the parts are
encoded at once, then joined in order (the calling process writes)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab.ingest.distributed import _ray, connect

if TYPE_CHECKING:
    from embedlab.encoders import Encoder

__all__ = ["ray_encoder"]


class _EncodeActor:
    """A Ray actor holding one encoder."""

    def __init__(self, model: Any, batch_size: int) -> None:
        from embedlab.encoders import load

        self.encoder = load(model) if isinstance(model, str) else model
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return np.asarray(self.encoder.encode(texts, batch_size=self.batch_size), np.float32)


def ray_encoder(
    model: str | Encoder, *, address: str | None, workers: int | None, batch_size: int
) -> tuple[Callable[[list[str]], npt.NDArray[np.float32]], Callable[[], None]]:
    """An encode function backed by ``workers`` Ray actors (default: the cluster's CPUs,
    at most the machine's), and the function that releases them (and Ray, if this call
    started it)."""
    ray = _ray()
    started = connect(address)
    count = workers or max(1, min(int(ray.cluster_resources().get("CPU", 1)), os.cpu_count() or 1))
    actor = ray.remote(num_cpus=1)(_EncodeActor)
    pool = [actor.remote(model, batch_size) for _ in range(count)]

    def encode(texts: list[str]) -> npt.NDArray[np.float32]:
        parts = np.array_split(np.arange(len(texts)), min(len(pool), len(texts)))
        pairs = zip(pool, parts, strict=False)
        calls = [a.encode.remote([texts[i] for i in part]) for a, part in pairs]
        return np.concatenate(ray.get(calls), axis=0)

    def close() -> None:
        for handle in pool:
            ray.kill(handle)
        if started:
            ray.shutdown()

    return encode, close
