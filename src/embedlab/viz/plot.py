"""Points -> a picture file: project (cached), then a PNG or the HTML projector.

The suffix of the output path picks the picture: ``.png`` (matplotlib) or ``.html`` (the
offline projector, with nearest neighbours in the original space). Pages hold at most
``MAX_PAGE_POINTS`` points and PNGs ``MAX_PNG_POINTS``; larger inputs are sampled with the
seed and the result's notes say so.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from embedlab.errors import InvalidParameterError
from embedlab.viz.cache import project_points
from embedlab.viz.clusters import ClusterMarks, cluster_marks
from embedlab.viz.colors import color_by
from embedlab.viz.html import projector_html
from embedlab.viz.neighbours import nearest_neighbours
from embedlab.viz.png import scatter_png
from embedlab.viz.points import Points, sample_points
from embedlab.viz.projection import Method

__all__ = ["CLUSTER_FIELD", "MAX_PAGE_POINTS", "MAX_PNG_POINTS", "PlotResult", "plot_points"]

CLUSTER_FIELD = "cluster"
"""The metadata field ``clusters=`` fills with each point's cluster name."""

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
    clusters: int | None = None,
) -> PlotResult:
    """Project ``points`` and write ``path`` (.png or .html).

    ``clusters=k`` groups the points into k clusters in the original space (k-means), names
    each by its most distinctive terms, writes the names on the picture and colours by
    cluster (unless ``color_by_field`` says otherwise); the page's hover shows the name.

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
    made = project_points(points, method=chosen, seed=seed, cache_dir=cache_dir)
    marks = None
    if clusters is not None:
        marks = cluster_marks(points.vectors, points.keys, made.coords, k=clusters, seed=seed)
        points = _with_cluster_field(points, marks)
        color_by_field = color_by_field or CLUSTER_FIELD
    coloring = None if color_by_field is None else color_by(points.metadata, color_by_field)
    heading = title or f"{chosen.value.upper()} of {len(points):,} points"
    if kind == ".png":
        scatter_png(made.coords, points.keys, out, coloring=coloring, title=heading, clusters=marks)
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
            clusters=marks,
        )
        out.write_text(page, encoding="utf-8")
    return PlotResult(out, len(points), made.method, made.notes)


def _with_cluster_field(points: Points, marks: ClusterMarks) -> Points:
    """The points with each one's cluster name in its metadata (to colour and hover by)."""
    base = points.metadata or tuple({} for _ in points.keys)
    metadata = tuple({**m, CLUSTER_FIELD: marks.name_of(i)} for i, m in enumerate(base))
    return dataclasses.replace(points, metadata=metadata)
