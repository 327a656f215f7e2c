"""Points -> a picture file: project (cached), then a PNG or the HTML projector.

The suffix of the output path picks the picture: ``.png`` (matplotlib) or ``.html`` (the
offline projector, with nearest neighbours in the original space). Pages hold at most
``MAX_PAGE_POINTS`` points and PNGs ``MAX_PNG_POINTS``; larger inputs are sampled with the
seed and the result's notes say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from embedlab.errors import InvalidParameterError
from embedlab.viz.cache import project_points
from embedlab.viz.colors import color_by
from embedlab.viz.html import projector_html
from embedlab.viz.neighbours import nearest_neighbours
from embedlab.viz.png import scatter_png
from embedlab.viz.points import Points, sample_points
from embedlab.viz.projection import Method

__all__ = ["MAX_PAGE_POINTS", "MAX_PNG_POINTS", "PlotResult", "plot_points"]

MAX_PAGE_POINTS = 200_000
MAX_PNG_POINTS = 20_000


@dataclass(frozen=True)
class PlotResult:
    """The file written, how many points it shows, the method used and notes to read."""

    path: Path
    points: int
    method: str
    notes: tuple[str, ...]


def plot_points(
    points: Points,
    path: str | os.PathLike[str],
    *,
    method: str | Method = Method.PCA,
    color_by_field: str | None = None,
    seed: int = 0,
    neighbours: int = 10,
    title: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> PlotResult:
    """Project ``points`` and write ``path`` (.png or .html).

    Example:
        >>> import numpy as np, tempfile, os
        >>> from embedlab.viz.points import points_from_array
        >>> pts = points_from_array(np.random.default_rng(0).normal(size=(20, 5)))
        >>> out = os.path.join(tempfile.mkdtemp(), "p.html")
        >>> plot_points(pts, out).points
        20
    """
    out = Path(path)
    kind = out.suffix.lower()
    if kind not in (".png", ".html"):
        raise InvalidParameterError(
            f"output {str(out)!r}: expected a file name ending in .png or .html"
        )
    chosen = Method.parse(method, name="method")
    cap = MAX_PAGE_POINTS if kind == ".html" else MAX_PNG_POINTS
    where = "a page" if kind == ".html" else "a PNG"
    points = sample_points(points, cap, seed=seed, why=f": {where} shows at most {cap:,}")
    coloring = None if color_by_field is None else color_by(points.metadata, color_by_field)
    made = project_points(points, method=chosen, seed=seed, cache_dir=cache_dir)
    heading = title or f"{chosen.value.upper()} of {len(points):,} points"
    if kind == ".png":
        scatter_png(made.coords, points.keys, out, coloring=coloring, title=heading)
    else:
        nn = nearest_neighbours(points.vectors, k=neighbours) if len(points) > 1 else None
        page = projector_html(
            made.coords,
            points.keys,
            metadata=points.metadata,
            neighbours=nn,
            color_by_field=color_by_field,
            title=heading,
            notes=made.notes,
            original_dim=int(points.vectors.shape[1]),
        )
        out.write_text(page, encoding="utf-8")
    return PlotResult(out, len(points), made.method, made.notes)
