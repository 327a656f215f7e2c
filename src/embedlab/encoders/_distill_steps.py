"""The steps of the distillation recipe (see :mod:`embedlab.encoders.distilled`): which
tokens are kept, the special tokens that frame each one, PCA and the Zipf / SIF weights."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import InvalidParameterError


def sif_weights(n: int, a: float) -> npt.NDArray[np.float64]:
    """a / (a + p) for ranks 0..n-1, p a Zipf law over the ranks (rank 0 counts as 2).

    Example:
        >>> sif_weights(3, 0.5).round(3).tolist()  # frequent (early) tokens weigh less
        [0.52, 0.619, 0.684]
    """
    inverse = 1.0 / np.arange(2, n + 2, dtype=np.float64)
    p = inverse / inverse.sum()
    weights: npt.NDArray[np.float64] = a / (a + p)
    return weights


def pca(x: npt.NDArray[np.float64], dims: int | None) -> npt.NDArray[np.float64]:
    """Scores on the first ``dims`` principal components, signs fixed by the largest score."""
    if dims is None or dims >= len(x):
        return x
    dims = min(dims, x.shape[1])
    centred = x - x.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred / max(len(x) - 1, 1))
    components = vectors[:, ::-1][:, :dims]
    scores: npt.NDArray[np.float64] = centred @ components
    largest = np.argmax(np.abs(scores), axis=0)
    scores *= np.sign(scores[largest, np.arange(dims)])
    return scores


def kept_tokens(
    backend: Any, remove: re.Pattern[str] | None, keep_specials: set[str]
) -> tuple[list[str], list[int]]:
    """The vocabulary in id order, less special added tokens (but keep_specials: pad and
    unk) and the tokens that ``remove`` matches."""
    vocab: dict[str, int] = backend.get_vocab(with_added_tokens=True)
    specials = {
        added.content
        for added in backend.get_added_tokens_decoder().values()
        if added.special and added.content not in keep_specials
    }
    pairs = sorted(
        (i, t)
        for t, i in vocab.items()
        if t not in specials and not (remove is not None and remove.match(t))
    )
    if not pairs:
        raise InvalidParameterError(
            "no token is left to distil: token_remove_pattern removed the whole vocabulary"
        )
    return [t for _, t in pairs], [i for i, _ in pairs]


def special_frame(backend: Any) -> tuple[list[int], list[int]]:
    """The special ids the tokenizer puts before and after a text ([CLS] ... [SEP])."""
    bare = backend.encode("a", add_special_tokens=False).ids
    framed = backend.encode("a", add_special_tokens=True).ids
    for at in range(len(framed) - len(bare) + 1):
        if framed[at : at + len(bare)] == bare:
            return list(framed[:at]), list(framed[at + len(bare) :])
    return [], []
