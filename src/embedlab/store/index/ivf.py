"""``ivf``: an inverted file over k-means cells (faiss IndexIVFFlat), exact vectors in the lists.

Parameters: ``nlist`` (cells) and ``nprobe`` (cells visited, also settable per query). It
trains itself once 39 x nlist vectors exist and searches exactly until then. A filtered
search visits 1/selectivity times more cells.
"""

from __future__ import annotations

from typing import Any

from embedlab.metrics import Metric
from embedlab.store.index._faiss import faiss, faiss_metric
from embedlab.store.index._ivf import IvfBase
from embedlab.store.index.base import ParamSpec


class IvfFlatIndex(IvfBase):
    """Inverted lists of exact vectors."""

    kind = "ivf"
    metrics = frozenset({Metric.COSINE, Metric.DOT, Metric.EUCLIDEAN, Metric.MANHATTAN})
    params_spec = {  # noqa: RUF012 - read-only table
        "nlist": ParamSpec(256, maximum=1 << 16),
        "nprobe": ParamSpec(16, maximum=1 << 16, per_query=True),
    }

    def _make(self) -> Any:
        metric = faiss_metric(self.metric)
        quantizer = faiss.IndexFlat(self.dim, metric)
        index = faiss.IndexIVFFlat(quantizer, self.dim, self.params["nlist"], metric)
        index.own_fields = True
        quantizer.this.disown()
        return index
