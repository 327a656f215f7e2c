"""Look at embeddings: PCA, t-SNE and UMAP projections drawn as PNGs or an offline page.

Example:
    >>> import numpy as np, tempfile, os
    >>> from embedlab.viz import plot_points, points_from_array
    >>> pts = points_from_array(np.random.default_rng(0).normal(size=(30, 8)))
    >>> plot_points(pts, os.path.join(tempfile.mkdtemp(), "pca.png")).method
    'pca'
"""

from __future__ import annotations

from embedlab.viz.analogy import AnalogyPlot, plot_analogy
from embedlab.viz.cache import default_cache_dir, project_points
from embedlab.viz.colors import Coloring, color_by
from embedlab.viz.html import projector_html
from embedlab.viz.neighbours import Neighbours, nearest_neighbours
from embedlab.viz.plot import MAX_PAGE_POINTS, MAX_PNG_POINTS, PlotResult, plot_points
from embedlab.viz.png import scatter_png
from embedlab.viz.points import (
    Points,
    points_from_array,
    points_from_collection,
    points_from_vectors,
    sample_points,
)
from embedlab.viz.projection import Method, Projection, project

__all__ = [
    "MAX_PAGE_POINTS",
    "MAX_PNG_POINTS",
    "AnalogyPlot",
    "Coloring",
    "Method",
    "Neighbours",
    "PlotResult",
    "Points",
    "Projection",
    "color_by",
    "default_cache_dir",
    "nearest_neighbours",
    "plot_analogy",
    "plot_points",
    "points_from_array",
    "points_from_collection",
    "points_from_vectors",
    "project",
    "project_points",
    "projector_html",
    "sample_points",
    "scatter_png",
]
