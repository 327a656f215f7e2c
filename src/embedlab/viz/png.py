"""PNG scatter plots with matplotlib (Agg): labelled points that stay readable.

Labels are placed greedily in priority order (the input order: for a word model, the most
frequent words first): a label is drawn only where its box does not overlap one already
drawn, so a few hundred points give a readable picture instead of label soup. The title
says how many labels were shown.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import InvalidParameterError, MissingDependencyError
from embedlab.viz.clusters import ClusterMarks
from embedlab.viz.colors import Coloring

__all__ = ["new_figure", "place_labels", "scatter_png"]

_FIG_INCHES = (10.0, 8.0)
_DPI = 110
_FONT = 8.0


def scatter_png(
    coords: npt.ArrayLike,
    keys: Sequence[str],
    path: str | os.PathLike[str],
    *,
    coloring: Coloring | None = None,
    title: str = "",
    max_labels: int = 400,
    clusters: ClusterMarks | None = None,
) -> Path:
    """Draw a labelled 2-D scatter plot to ``path`` (a .png) and return the path.

    Example:
        >>> import numpy as np, tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "p.png")
        >>> scatter_png(np.eye(3)[:, :2], ["a", "b", "c"], out).stat().st_size > 0
        True
    """
    xy = np.asarray(coords, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise InvalidParameterError(f"coords: expected an (n, 2) array, got shape {xy.shape}")
    if len(keys) != xy.shape[0]:
        raise InvalidParameterError(f"keys: expected {xy.shape[0]} keys, got {len(keys)}")
    fig = new_figure()
    ax = fig.subplots()
    size = float(np.clip(2000.0 / max(len(keys), 1), 2.0, 30.0))
    _draw_points(ax, xy, coloring, size)
    ax.set_xticks([])
    ax.set_yticks([])
    _pad_limits(ax, xy)
    fig.tight_layout()
    shown = place_labels(ax, xy[:, :2], keys, max_labels=max_labels)
    if clusters is not None:
        _name_clusters(ax, xy, clusters)
    if title or shown < len(keys):
        suffix = f" ({shown:,} of {len(keys):,} labels shown)" if shown < len(keys) else ""
        ax.set_title(title + suffix, fontsize=10)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    return out


def place_labels(
    ax: Any, xy: npt.NDArray[np.float64], keys: Sequence[str], *, max_labels: int
) -> int:
    """Label points in order, skipping any label whose box would overlap a placed one.

    Boxes are estimated in display pixels from the font size (no renderer round trips), so
    placing is fast for thousands of points. Returns how many labels were drawn.
    """
    fig = ax.figure
    pixels = ax.transData.transform(xy)
    char_w, height = _FONT * 0.62 * fig.dpi / 72.0, _FONT * 1.25 * fig.dpi / 72.0
    placed: list[tuple[float, float, float, float]] = []
    grid: dict[tuple[int, int], list[int]] = {}
    cell = 40.0
    shown = 0
    for i, key in enumerate(keys):
        if shown >= max_labels:
            break
        x, y = pixels[i]
        box = (x + 3.0, y - height / 2, x + 3.0 + char_w * len(key), y + height / 2)
        cells = [
            (cx, cy)
            for cx in range(int(box[0] // cell), int(box[2] // cell) + 1)
            for cy in range(int(box[1] // cell), int(box[3] // cell) + 1)
        ]
        if any(_overlap(box, placed[j]) for c in cells for j in grid.get(c, ())):
            continue
        for c in cells:
            grid.setdefault(c, []).append(len(placed))
        placed.append(box)
        ax.annotate(
            key,
            xy[i],
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=_FONT,
            va="center",
            ha="left",
            color="#222222",
        )
        shown += 1
    return shown


def _name_clusters(ax: Any, xy: npt.NDArray[np.float64], clusters: ClusterMarks) -> None:
    """Each cluster's name at its anchor, bold on a white halo, above the point labels."""
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=3.5, foreground="white")]
    for name, anchor in zip(clusters.names, clusters.anchors.tolist(), strict=True):
        ax.annotate(name, xy[anchor, :2], fontsize=_FONT + 3, fontweight="bold", ha="center",
                    va="bottom", color="#111111", path_effects=halo, zorder=10)  # fmt: skip


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _draw_points(
    ax: Any, xy: npt.NDArray[np.float64], coloring: Coloring | None, size: float
) -> None:
    if coloring is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, c="#1f77b4", alpha=0.8, linewidths=0)
        return
    if coloring.kind == "number" and coloring.values is not None:
        drawn = ax.scatter(
            xy[:, 0], xy[:, 1], s=size, c=coloring.values, cmap="viridis", linewidths=0
        )
        bar = ax.figure.colorbar(drawn, ax=ax, fraction=0.04, pad=0.01)
        ticks = np.linspace(0, 1, 5)
        bar.set_ticks(ticks)
        bar.set_ticklabels([f"{coloring.value_at(t):.3g}" for t in ticks])
        bar.set_label(coloring.field + (" (log scale)" if coloring.scale == "log" else ""))
        return
    for code, (label, color) in enumerate(zip(coloring.labels, coloring.colors, strict=True)):
        mask = coloring.codes == code
        ax.scatter(
            xy[mask, 0],
            xy[mask, 1],
            s=size,
            c=color,
            label=f"{label} ({int(mask.sum())})",
            alpha=0.85,
            linewidths=0,
        )
    ax.legend(
        title=coloring.field,
        fontsize=8,
        title_fontsize=9,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        markerscale=max(1.0, 30.0 / size) ** 0.5,
    )


def _pad_limits(ax: Any, xy: npt.NDArray[np.float64]) -> None:
    low, high = xy[:, :2].min(axis=0), xy[:, :2].max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    ax.set_xlim(low[0] - 0.04 * span[0], high[0] + 0.12 * span[0])  # room for labels
    ax.set_ylim(low[1] - 0.05 * span[1], high[1] + 0.05 * span[1])


def new_figure(size: tuple[float, float] = _FIG_INCHES) -> Any:
    """A matplotlib Figure drawn with Agg, outside pyplot (no global backend state)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError(
            "matplotlib is needed for PNG pictures: pip install 'embedlab[viz]'"
        ) from None
    return Figure(figsize=size, dpi=_DPI)
