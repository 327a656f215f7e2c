"""The parallelogram of an analogy (a : b :: c : d) in the PCA plane of the words involved.

The plane is the first two principal components of the four words and a few nearest
neighbours of each (unit vectors), so it is the view in which these words spread most.
The picture shows the two offsets b - a and d - c as arrows, the sides a -> c and b -> d
dashed, and the point b - a + c (what 3CosAdd looks for) as a cross: how close the cross
lands to d is how well the analogy holds in this plane.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.errors import UnknownKeyError
from embedlab.viz.png import new_figure, place_labels

if TYPE_CHECKING:
    from embedlab.vectors import WordVectors

__all__ = ["AnalogyPlot", "plot_analogy"]

_ROLE_COLORS = ("#1f77b4", "#1f77b4", "#d62728", "#d62728")


@dataclass(frozen=True)
class AnalogyPlot:
    """What was drawn: the four words (d filled in by the model when not given), their
    neighbours, the 2-D coordinates of all (analogy words first, then the target
    b - a + c), and the cosine of d with b - a + c in the original space."""

    path: Path
    words: tuple[str, str, str, str]
    neighbours: tuple[str, ...]
    coords: npt.NDArray[np.float32]
    cosine_d_target: float
    d_given: bool


def plot_analogy(
    model: WordVectors,
    a: str,
    b: str,
    c: str,
    d: str | None = None,
    *,
    path: str | os.PathLike[str],
    neighbours: int = 4,
) -> AnalogyPlot:
    """Draw a : b :: c : d (d = the model's best answer when None) to a PNG.

    Example:
        >>> import numpy as np, tempfile, os
        >>> from embedlab import WordVectors
        >>> wv = WordVectors(["man", "king", "woman", "queen", "apple"],
        ...                  [[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [1, -1, 0]])
        >>> out = os.path.join(tempfile.mkdtemp(), "a.png")
        >>> plot_analogy(wv, "man", "king", "woman", path=out, neighbours=1).words
        ('man', 'king', 'woman', 'queen')
    """
    neighbours = check_int("neighbours", neighbours, minimum=0)
    asked = [a, b, c] + ([d] if d is not None else [])
    missing = [w for w in asked if w not in model]
    if missing:
        raise UnknownKeyError(", ".join(missing), what="word" if len(missing) == 1 else "words")
    given = d is not None
    if d is None:
        d = model.analogy(a, b, c, k=1)[0].key
    words = (a, b, c, d)
    extra: list[str] = []
    if neighbours:
        for w in words:
            fresh = [
                n.key
                for n in model.most_similar(w, k=min(len(model) - 1, neighbours + 4 + len(extra)))
                if n.key not in words and n.key not in extra
            ]
            extra.extend(fresh[:neighbours])
    unit = model.unit_vectors
    rows = np.array([model.get_index(w) for w in (*words, *extra)])
    vectors = unit[rows]
    target = vectors[1] - vectors[0] + vectors[2]
    cosine = float(target @ vectors[3] / (np.linalg.norm(target) or 1.0))
    # PCA plane of the words and neighbours; the target is placed in the same plane.
    both = np.vstack([vectors, target[None, :]])
    coords = _plane(vectors, both)
    _draw(coords, words, extra, Path(path), cosine, given)
    return AnalogyPlot(Path(path), words, tuple(extra), coords, cosine, given)


def _plane(
    fit_on: npt.NDArray[np.float32], points: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Coordinates of ``points`` on the top two principal axes of ``fit_on``."""
    mean = fit_on.mean(axis=0)
    _, _, vt = np.linalg.svd(fit_on - mean, full_matrices=False)
    axes = vt[:2]
    if axes.shape[0] < 2:  # pragma: no cover - fit_on has >= 4 rows
        axes = np.vstack([axes, np.zeros_like(axes)])
    out: npt.NDArray[np.float32] = ((points - mean) @ axes.T).astype(np.float32)
    return out


def _draw(
    xy: npt.NDArray[np.float32],
    words: tuple[str, str, str, str],
    extra: list[str],
    path: Path,
    cosine: float,
    given: bool,
) -> None:
    fig = new_figure((8.0, 7.0))
    ax = fig.subplots()
    n_words = 4 + len(extra)
    ax.scatter(xy[4:n_words, 0], xy[4:n_words, 1], s=14, c="#9a9a9a", linewidths=0)
    ax.scatter(xy[:4, 0], xy[:4, 1], s=60, c=_ROLE_COLORS, zorder=3)
    target = xy[n_words]
    ax.scatter([target[0]], [target[1]], s=80, marker="x", c="#2ca02c", zorder=4)
    arrow = {"arrowstyle": "->", "lw": 1.8}
    for start, end, color in ((0, 1, "#1f77b4"), (2, 3, "#d62728")):
        ax.annotate("", xy[end], xy[start], arrowprops={**arrow, "color": color}, zorder=2)
    for start, end in ((0, 2), (1, 3)):
        ax.plot(*zip(xy[start], xy[end], strict=True), ls="--", c="#777777", lw=1, zorder=1)
    ax.plot(*zip(xy[1], target, strict=True), ls=":", c="#2ca02c", lw=1, zorder=1)
    a, b, c, d = words
    for i, word in enumerate(words):
        ax.annotate(
            word,
            xy[i],
            xytext=(5, 5),
            textcoords="offset points",
            fontsize=12,
            fontweight="bold",
            color=_ROLE_COLORS[i],
            zorder=5,
        )
    ax.annotate(
        f"{b} - {a} + {c}",
        target,
        xytext=(5, -12),
        textcoords="offset points",
        fontsize=9,
        color="#2ca02c",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    ax.set_xlim(low[0] - 0.08 * span[0], high[0] + 0.2 * span[0])
    ax.set_ylim(low[1] - 0.08 * span[1], high[1] + 0.1 * span[1])
    fig.tight_layout()
    place_labels(ax, xy[4:n_words].astype(np.float64), extra, max_labels=len(extra))
    how = "given" if given else "the model's answer"
    ax.set_title(
        f"{a} : {b} :: {c} : {d}  ({d} is {how}; cos({d}, {b} - {a} + {c}) = {cosine:.3f})\n"
        "PCA plane of the four words and their nearest neighbours",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, format="png")
