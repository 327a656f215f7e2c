"""A bias direction from definitional pairs, and the direct bias of a word list.

Bolukbasi et al. 2016 ("Man is to Computer Programmer as Woman is to Homemaker?"):
normalise the vectors, centre each definitional pair (``she``/``he``, ``woman``/``man``,
…) on its mean, and take the first principal component of the centred vectors (PCA with
no further centring: the centred pairs already have mean zero). The direction is
oriented so that the first word of the pairs projects positively on average.

Direct bias of words N along unit direction g: ``mean_{w in N} |cos(w, g)| ** c``
(0: no component along g; 1: every word lies on g).

Example:
    >>> import numpy as np
    >>> wv = {"she": [1, 1, 0], "he": [-1, 1, 0], "woman": [1, 0, 1], "man": [-1, 0, 1]}
    >>> d = bias_direction(wv, [("she", "he"), ("woman", "man")])
    >>> np.round(d.vector, 3).tolist(), round(d.explained[0], 3)
    ([1.0, 0.0, 0.0], 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from embedlab._validation import check_float, check_int
from embedlab.bias.source import as_word_vectors, find_key
from embedlab.errors import MissingWordsError

__all__ = [
    "GENDER_PAIRS",
    "BiasDirection",
    "DirectBias",
    "bias_direction",
    "direct_bias",
]

GENDER_PAIRS: tuple[tuple[str, str], ...] = (
    ("she", "he"),
    ("her", "his"),
    ("woman", "man"),
    ("mary", "john"),
    ("herself", "himself"),
    ("daughter", "son"),
    ("mother", "father"),
    ("gal", "guy"),
    ("girl", "boy"),
    ("female", "male"),
)
"""The ten definitional gender pairs of Bolukbasi et al. 2016 (their ``definitional_pairs``)."""


@dataclass(frozen=True)
class BiasDirection:
    """A unit direction, the share of variance each principal component explains, the
    pairs it was computed from, and the pairs left out (a word not in the vocabulary)."""

    vector: np.ndarray
    explained: tuple[float, ...]
    pairs: tuple[tuple[str, str], ...]
    missing: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """What the direction is and how far to trust it, in plain words."""
        first = self.explained[0] if self.explained else 0.0
        text = (
            f"Bias direction: the first principal component of {len(self.pairs)} centred "
            f"definitional pairs ({', '.join('/'.join(p) for p in self.pairs[:4])}"
            f"{', …' if len(self.pairs) > 4 else ''}); it explains {first:.0%} of their "
            "variance. Well above the next components means the pairs agree on one "
            "direction; near them means the direction is weak."
        )
        if len(self.explained) > 1:
            text += " Next: " + ", ".join(f"{e:.0%}" for e in self.explained[1:4]) + "."
        if self.missing:
            text += " Left out (not in the vocabulary): " + ", ".join(
                "/".join(p) for p in self.missing
            )
        return text


def bias_direction(
    source: object,
    pairs: Iterable[Sequence[str]] = GENDER_PAIRS,
    *,
    lowercase: bool = True,
    min_pairs: int = 2,
) -> BiasDirection:
    """The bias direction of definitional ``pairs`` in ``source`` (Bolukbasi et al. 2016).

    Pairs with a word missing from the vocabulary are left out (listed in ``missing``);
    fewer than ``min_pairs`` usable pairs raise MissingWordsError.

    Example:
        >>> wv = {"she": [1, 1], "he": [-1, 1.2], "her": [1, 0], "his": [-1, 0]}
        >>> round(float(bias_direction(wv, [("she", "he"), ("her", "his")]).vector[0]), 2)
        1.0
    """
    pair_list = [(str(p[0]), str(p[1])) for p in pairs]
    min_pairs = check_int("min_pairs", min_pairs, minimum=1)
    wv = as_word_vectors(source, [w for p in pair_list for w in p])
    used, missing, rows = [], [], []
    for a, b in pair_list:
        ka, kb = find_key(wv, a, lowercase=lowercase), find_key(wv, b, lowercase=lowercase)
        if ka is None or kb is None:
            missing.append((a, b))
            continue
        used.append((a, b))
        rows.append((wv.unit_vectors[wv.get_index(ka)], wv.unit_vectors[wv.get_index(kb)]))
    if len(used) < min_pairs:
        gone = [w for p in missing for w in p if find_key(wv, w, lowercase=lowercase) is None]
        raise MissingWordsError(
            f"a bias direction needs at least {min_pairs} definitional pairs in the "
            f"vocabulary; {len(used)} found. Missing: {', '.join(gone)}",
            missing={"pairs": tuple(gone)},
            minimum=min_pairs,
        )
    centred = []
    for va, vb in rows:
        centre = (va.astype(np.float64) + vb) / 2
        centred += [va - centre, vb - centre]
    matrix = np.array(centred)
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    variance = singular**2
    explained = tuple(float(v) for v in variance / variance.sum())
    direction = vt[0]
    if np.mean([va @ direction - vb @ direction for va, vb in rows]) < 0:
        direction = -direction
    unit = (direction / np.linalg.norm(direction)).astype(np.float32)
    return BiasDirection(unit, explained, tuple(used), tuple(missing))


@dataclass(frozen=True)
class DirectBias:
    """Direct bias of a word list: the mean |cos(w, g)|**c, and each word's signed cosine."""

    value: float
    c: float
    projections: dict[str, float]
    missing: tuple[str, ...]

    def describe(self) -> str:
        """What the number means, in plain words."""
        top = sorted(self.projections.items(), key=lambda kv: -abs(kv[1]))[:5]
        return (
            f"Direct bias = {self.value:.4f} (mean |cos(word, direction)|^{self.c:g} over "
            f"{len(self.projections)} words that should be neutral; 0: none lies along the "
            "direction, 1: all lie on it). Strongest: "
            + ", ".join(f"{w} {p:+.3f}" for w, p in top)
            + (f". Missing: {', '.join(self.missing)}" if self.missing else "")
        )


def direct_bias(
    source: object,
    words: Iterable[str],
    direction: BiasDirection | np.ndarray,
    *,
    c: float = 1.0,
    lowercase: bool = True,
) -> DirectBias:
    """Direct bias (Bolukbasi et al. 2016) of ``words`` along ``direction``.

    Words missing from the vocabulary are left out and listed in ``missing``.

    Example:
        >>> wv = {"nurse": [1.0, 1.0], "doctor": [0.0, 1.0]}
        >>> round(direct_bias(wv, ["nurse", "doctor"], np.array([1.0, 0.0])).value, 3)
        0.354
    """
    c = check_float("c", c, minimum=0.0)
    word_list = list(dict.fromkeys(words))
    wv = as_word_vectors(source, word_list)
    g = np.asarray(direction.vector if isinstance(direction, BiasDirection) else direction)
    g = g.astype(np.float64) / np.linalg.norm(g)
    projections: dict[str, float] = {}
    missing = []
    for word in word_list:
        key = find_key(wv, word, lowercase=lowercase)
        if key is None:
            missing.append(word)
            continue
        projections[word] = float(wv.unit_vectors[wv.get_index(key)] @ g)
    if not projections:
        raise MissingWordsError(
            f"none of the {len(word_list)} words is in the vocabulary: {', '.join(missing)}",
            missing={"words": tuple(missing)},
            minimum=1,
        )
    value = float(np.mean(np.abs(list(projections.values())) ** c))
    return DirectBias(value, c, projections, tuple(missing))
