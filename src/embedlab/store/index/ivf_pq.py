"""``ivf-pq``: inverted lists of product-quantised codes (faiss IndexIVFPQ), re-ranked exactly.

Parameters: ``nlist``, ``nprobe`` (per query too), ``m`` (sub-quantisers; must divide the
dimension; default about dim/4), ``nbits`` (bits per sub-code, default 8) and ``refine``
(per query too): the store fetches refine x k candidates by their compressed distances and
re-ranks them with the exact vectors, so returned distances are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from embedlab.errors import InvalidParameterError
from embedlab.metrics import Metric
from embedlab.store.index._faiss import faiss, faiss_metric, overrides_or
from embedlab.store.index._ivf import IvfBase
from embedlab.store.index.base import ParamSpec


class IvfPqIndex(IvfBase):
    """Inverted lists of PQ codes with an exact re-rank."""

    kind = "ivf-pq"
    exact_scores = False
    metrics = frozenset({Metric.COSINE, Metric.DOT, Metric.EUCLIDEAN})
    params_spec = {  # noqa: RUF012 - read-only table
        "nlist": ParamSpec(256, maximum=1 << 16),
        "nprobe": ParamSpec(16, maximum=1 << 16, per_query=True),
        "m": ParamSpec(0, maximum=4096),
        "nbits": ParamSpec(8, minimum=4, maximum=12),
        "refine": ParamSpec(10, maximum=64, per_query=True),
    }

    @classmethod
    def default_params(cls, dim: int) -> dict[str, int]:
        params = super().default_params(dim)
        divisors = [m for m in range(1, dim + 1) if dim % m == 0 and m <= max(1, dim // 4)]
        params["m"] = divisors[-1]
        return params

    @classmethod
    def check_combination(cls, params: Mapping[str, int], dim: int) -> None:
        if dim % params["m"]:
            raise InvalidParameterError(
                f"index 'ivf-pq' needs 'm' to divide the dimension {dim}; got m={params['m']}"
            )

    @staticmethod
    def faiss_metric_for(metric: Metric) -> int:
        """L2 for cosine: on unit vectors it ranks alike, and PQ quantises L2 much better."""
        return int(faiss.METRIC_L2) if metric is Metric.COSINE else faiss_metric(metric)

    @property
    def train_size(self) -> int:
        return 39 * max(self.params["nlist"], 1 << self.params["nbits"])

    def rerank_factor(self, overrides: Mapping[str, int] | None = None) -> int:
        return overrides_or(self.params, overrides, "refine")

    def _make(self) -> Any:
        metric = self.faiss_metric_for(self.metric)
        quantizer = faiss.IndexFlat(self.dim, metric)
        index = faiss.IndexIVFPQ(
            quantizer,
            self.dim,
            self.params["nlist"],
            self.params["m"],
            self.params["nbits"],
            metric,
        )
        index.own_fields = True
        quantizer.this.disown()
        return index
