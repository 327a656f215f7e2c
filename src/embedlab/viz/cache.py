"""Projections cached on disk under the stamp of the points they came from.

A collection's points carry a stamp naming its sequence number (see
:func:`~embedlab.viz.points.points_from_collection`); the same stamp with the same method
and settings finds the coordinates computed before, so a second plot of an unchanged
collection is instant. Any change to the collection moves its sequence number, hence the
stamp, hence the file name: a stale projection is never read. Points without a stamp
(arrays, word models) are projected afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from embedlab.viz.points import Points
from embedlab.viz.projection import Method, Projection, project

__all__ = ["default_cache_dir", "project_points"]


def default_cache_dir() -> Path:
    """``$EMBEDLAB_CACHE_DIR/projections``, else ``$XDG_CACHE_HOME/embedlab/projections``."""
    root = os.environ.get("EMBEDLAB_CACHE_DIR")
    if root:
        return Path(root) / "projections"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "embedlab" / "projections"


def project_points(
    points: Points,
    *,
    method: str | Method = Method.PCA,
    dim: int = 2,
    seed: int = 0,
    perplexity: float = 30.0,
    n_neighbors: int = 15,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Projection:
    """Project points, reading and writing the cache when the points carry a stamp.

    The projection's notes start with the points' own notes (sampling, say), and end with
    "cached projection reused" when it came from the cache.

    Example:
        >>> import numpy as np
        >>> from embedlab.viz.points import points_from_array
        >>> pts = points_from_array(np.random.default_rng(0).normal(size=(9, 4)))
        >>> project_points(pts, method="pca").coords.shape
        (9, 2)
    """
    chosen = Method.parse(method, name="method")
    settings: dict[str, object] = {"method": chosen.value, "dim": dim, "seed": seed}
    if chosen is Method.TSNE:
        settings["perplexity"] = perplexity
    if chosen is Method.UMAP:
        settings["n_neighbors"] = n_neighbors
    path = None
    if points.stamp is not None:
        digest = hashlib.sha256(
            json.dumps([points.stamp, settings], sort_keys=True).encode()
        ).hexdigest()[:32]
        path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        path = path / digest
        found = _read(path, len(points))
        if found is not None:
            return Projection(
                found[0],
                found[1].method,
                found[1].params,
                points.notes + found[1].notes + ("cached projection reused",),
            )
    made = project(
        points.vectors,
        method=chosen,
        dim=dim,
        seed=seed,
        perplexity=perplexity,
        n_neighbors=n_neighbors,
    )
    if path is not None:
        _write(path, made)
    return Projection(made.coords, made.method, made.params, points.notes + made.notes)


def _read(path: Path, n: int) -> tuple[np.ndarray, Projection] | None:
    """The cached coordinates and description, or None when absent or unreadable."""
    try:
        coords = np.load(path.with_suffix(".npy"), allow_pickle=False)
        about = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if coords.shape[0] != n or coords.dtype != np.float32:
            return None
        info = Projection(coords, str(about["method"]), dict(about["params"]))
        return coords, Projection(coords, info.method, info.params, tuple(about["notes"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, made: Projection) -> None:
    """Write atomically (temp file + rename); a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        about = {"method": made.method, "params": made.params, "notes": list(made.notes)}
        for suffix, write in (
            (".npy", lambda f: np.save(f, made.coords, allow_pickle=False)),
            (".json", lambda f: f.write(json.dumps(about).encode())),
        ):
            tmp = path.with_suffix(f"{suffix}.tmp{os.getpid()}")
            with open(tmp, "wb") as f:
                write(f)
            os.replace(tmp, path.with_suffix(suffix))
    except OSError:
        return
