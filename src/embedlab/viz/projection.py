"""Arrays -> 2-D (or 3-D) coordinates: PCA, t-SNE and UMAP, seeded and reproducible.

Rules, enforced here:

- Every method is deterministic given ``seed`` (same input, same seed, same output).
- t-SNE runs openTSNE's FFT-accelerated gradient on the vectors reduced to at most 50
  dimensions by PCA, with PCA initialisation; ``benchmarks/projection.py`` measured it
  against scikit-learn's ``TSNE`` (the anchor) on 20,000 x 384 MiniLM vectors: see
  ``benchmarks/RESULTS.md``. Below ``_FFT_MIN_POINTS`` points the exact-neighbour
  Barnes-Hut path is used (FFT's interpolation grid is wasted on a handful of points).
- t-SNE needs more than 3 x perplexity points; with fewer, perplexity is lowered to
  ``(n - 1) / 3`` and :attr:`Projection.notes` says so. UMAP's ``n_neighbors`` is capped at
  ``n - 1`` the same way.
- ``metric="cosine"`` (the default) works on unit-normalised vectors.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_float, check_int
from embedlab.errors import InvalidParameterError, MissingDependencyError

__all__ = ["Method", "Projection", "project"]

_PCA_DIMS_BEFORE_TSNE = 50
_FFT_MIN_POINTS = 1_000


class Method(StrEnumOption):
    """How to project: ``pca`` (2-D or 3-D), ``tsne`` or ``umap`` (2-D)."""

    PCA = "pca"
    TSNE = "tsne"
    UMAP = "umap"


@dataclass(frozen=True)
class Projection:
    """Coordinates of n points, how they were made, and what was adjusted on the way.

    ``coords`` is an (n, dim) float32 array in the order of the input rows; ``params`` the
    settings actually used (after any adjustment); ``notes`` plain sentences about
    adjustments (a lowered perplexity, say) for the user to read.
    """

    coords: npt.NDArray[np.float32]
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def project(
    vectors: npt.ArrayLike,
    *,
    method: str | Method = Method.PCA,
    dim: int = 2,
    seed: int = 0,
    metric: str = "cosine",
    perplexity: float = 30.0,
    n_neighbors: int = 15,
    n_jobs: int = 1,
) -> Projection:
    """Project row vectors to ``dim`` dimensions with PCA, t-SNE or UMAP.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(40, 8)).astype("float32")
        >>> p = project(x, method="pca", dim=3)
        >>> p.coords.shape, p.method
        ((40, 3), 'pca')
    """
    chosen = Method.parse(method, name="method")
    data = _check_vectors(vectors)
    dim = check_int("dim", dim, minimum=2, maximum=3 if chosen is Method.PCA else 2)
    seed = check_int("seed", seed, minimum=0)
    n_jobs = check_int("n_jobs", n_jobs, minimum=1)
    if metric not in ("cosine", "euclidean"):
        raise InvalidParameterError(
            f"The 'metric' parameter must be one of 'cosine', 'euclidean'. Got {metric!r}."
        )
    if metric == "cosine":
        data = _unit_rows(data)
    if chosen is Method.PCA:
        return Projection(_pca(data, dim), "pca", {"dim": dim, "metric": metric})
    if chosen is Method.TSNE:
        perplexity = check_float("perplexity", perplexity, minimum=1.0)
        return _tsne(data, seed=seed, perplexity=perplexity, n_jobs=n_jobs, metric=metric)
    n_neighbors = check_int("n_neighbors", n_neighbors, minimum=2)
    return _umap(data, seed=seed, n_neighbors=n_neighbors, metric=metric)


def _check_vectors(vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Return a finite (n, d) float32 array with n >= 3, or raise naming what arrived."""
    try:
        data = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"vectors: expected a 2-D array of numbers ({exc})") from None
    if data.ndim != 2:
        raise InvalidParameterError(f"vectors: expected a 2-D array, got shape {data.shape}")
    if data.shape[0] < 3:
        raise InvalidParameterError(
            f"vectors: a projection needs at least 3 points, got {data.shape[0]}"
        )
    if not np.isfinite(data).all():
        raise InvalidParameterError("vectors: expected finite numbers, got NaN or infinity")
    return data


def _unit_rows(data: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: npt.NDArray[np.float32] = (data / norms).astype(np.float32)
    return out


def _pca(data: npt.NDArray[np.float32], dim: int) -> npt.NDArray[np.float32]:
    """Top principal components, with the sign fixed so the output is deterministic."""
    centred = data.astype(np.float64) - data.mean(axis=0, dtype=np.float64)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:dim]
    # Fix each component's sign: its largest-magnitude loading is positive.
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    coords = centred @ components.T
    if coords.shape[1] < dim:  # fewer dimensions than asked (tiny inputs): pad with zeros
        coords = np.hstack([coords, np.zeros((coords.shape[0], dim - coords.shape[1]))])
    out: npt.NDArray[np.float32] = coords.astype(np.float32)
    return out


def _tsne(
    data: npt.NDArray[np.float32], *, seed: int, perplexity: float, n_jobs: int, metric: str
) -> Projection:
    opentsne = _require("openTSNE", "openTSNE")
    n = data.shape[0]
    notes: list[str] = []
    most = (n - 1) / 3.0
    if perplexity > most:
        notes.append(
            f"perplexity lowered from {perplexity:g} to {most:g}: t-SNE needs more than "
            f"3 x perplexity points and there are {n}"
        )
        perplexity = most
    reduced = data
    if data.shape[1] > _PCA_DIMS_BEFORE_TSNE and n > _PCA_DIMS_BEFORE_TSNE:
        reduced = _pca(data, _PCA_DIMS_BEFORE_TSNE)
    init = _pca(reduced, 2).astype(np.float64)
    init = init / (np.std(init[:, 0]) or 1.0) * 1e-4  # openTSNE's recommended init scale
    gradient = "fft" if n >= _FFT_MIN_POINTS else "bh"
    tsne = opentsne.TSNE(
        n_components=2,
        perplexity=perplexity,
        metric="euclidean",  # rows are unit-normalised for cosine: same neighbours
        initialization=init,
        negative_gradient_method=gradient,
        neighbors="annoy" if n >= _FFT_MIN_POINTS else "exact",
        n_jobs=n_jobs,
        random_state=seed,
        verbose=False,
    )
    coords = np.asarray(tsne.fit(reduced.astype(np.float64)), dtype=np.float32)
    params = {
        "perplexity": perplexity,
        "gradient": gradient,
        "pca_dims": reduced.shape[1],
        "metric": metric,
        "seed": seed,
    }
    return Projection(coords, "tsne", params, tuple(notes))


def _umap(data: npt.NDArray[np.float32], *, seed: int, n_neighbors: int, metric: str) -> Projection:
    umap = _require("umap", "umap-learn")
    n = data.shape[0]
    notes: list[str] = []
    if n_neighbors > n - 1:
        notes.append(f"n_neighbors lowered from {n_neighbors} to {n - 1}: there are {n} points")
        n_neighbors = n - 1
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=n_neighbors,
        metric="euclidean",  # rows are unit-normalised for cosine
        random_state=seed,  # also makes umap-learn single-threaded, hence reproducible
        init="spectral" if n > n_neighbors + 2 else "random",
    )
    with warnings.catch_warnings():  # "n_jobs overridden by setting random_state": intended
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        coords = np.asarray(reducer.fit_transform(data), dtype=np.float32)
    params = {"n_neighbors": n_neighbors, "metric": metric, "seed": seed}
    return Projection(coords, "umap", params, tuple(notes))


def _require(module: str, package: str) -> Any:
    """Import an optional dependency, or raise with the exact pip line."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{module} is needed for this projection: pip install 'embedlab[viz]' "
            f"(or pip install {package})"
        ) from None
