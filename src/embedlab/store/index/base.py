"""The interface every ANN index kind implements, and the registry of kinds.

An index holds the collection's vectors at *positions* 0, 1, 2, … in the order they were
added; the store maps positions to rows. Adding an index kind is one module in this
package with one subclass of :class:`AnnIndex` that sets ``kind``; it registers itself.

The store gives an index vectors already prepared for the metric (unit rows for cosine,
packed bits for hamming) and asks for raw faiss scores; it converts them to distances and
re-ranks approximate ones exactly.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from embedlab.errors import InvalidParameterError
from embedlab.metrics import Metric

__all__ = ["INDEX_KINDS", "AnnIndex", "ParamSpec", "SearchOutput"]

SearchOutput = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]

INDEX_KINDS: dict[str, type[AnnIndex]] = {}


def require_mapping(params: object, what: str) -> dict[str, object]:
    """``params`` (None for none) as a dict, or a typed error naming ``what``."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidParameterError(
            f"{what} must be a mapping of parameter names to numbers; got {params!r}"
        )
    return dict(params)


class ParamSpec:
    """One int parameter of an index kind: default, range, and whether a query may set it."""

    def __init__(
        self, default: int, *, minimum: int = 1, maximum: int = 1 << 20, per_query: bool = False
    ) -> None:
        self.default = default
        self.minimum = minimum
        self.maximum = maximum
        self.per_query = per_query


class AnnIndex(ABC):
    """An approximate (or exact) nearest-neighbour index over positions 0..ntotal-1."""

    kind: ClassVar[str]
    metrics: ClassVar[frozenset[Metric]]
    params_spec: ClassVar[dict[str, ParamSpec]] = {}
    # False when the index's scores are not the metric's (compressed, or another metric):
    # the store then always re-ranks its candidates with exact distances.
    exact_scores: ClassVar[bool] = True
    # The per-query parameter that trades speed for recall (calibrated for a recall target).
    breadth: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is not None:
            INDEX_KINDS[kind] = cls

    def __init__(self, dim: int, metric: Metric, params: Mapping[str, int]) -> None:
        self.dim = dim
        self.metric = metric
        self.params = dict(params)

    # -- parameters ---------------------------------------------------------------------
    @classmethod
    def default_params(cls, dim: int) -> dict[str, int]:
        """The parameters a collection gets when it names none (some depend on ``dim``)."""
        return {name: spec.default for name, spec in cls.params_spec.items()}

    @classmethod
    def check_params(
        cls, params: Mapping[str, object] | None, dim: int, *, per_query: bool = False
    ) -> dict[str, int]:
        """Validate ``params`` (creation, or per-query overrides) and fill in defaults."""
        given = require_mapping(params, "search_params" if per_query else "index_params")
        names = [n for n, s in cls.params_spec.items() if s.per_query or not per_query]
        unknown = sorted(set(given) - set(names))
        if unknown:
            valid = ", ".join(repr(n) for n in names) or "none"
            what = "per-query parameters" if per_query else "parameters"
            raise InvalidParameterError(
                f"index {cls.kind!r} has no parameter {unknown[0]!r}; its {what}: {valid}"
            )
        out = {} if per_query else cls.default_params(dim)
        for name, value in given.items():
            spec = cls.params_spec[name]
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InvalidParameterError(
                    f"index parameter {name!r} must be an int in [{spec.minimum}, "
                    f"{spec.maximum}]; got {value!r}"
                )
            if not spec.minimum <= int(value) <= spec.maximum:
                raise InvalidParameterError(
                    f"index parameter {name!r} must be an int in [{spec.minimum}, "
                    f"{spec.maximum}]; got {value}"
                )
            out[name] = int(value)
        if not per_query:
            cls.check_combination(out, dim)
        return out

    @classmethod
    def check_combination(cls, params: Mapping[str, int], dim: int) -> None:
        """Hook for constraints between parameters and the dimension (default: none)."""
        del params, dim

    # -- the index ----------------------------------------------------------------------
    @property
    @abstractmethod
    def ntotal(self) -> int:
        """How many positions the index holds (trained or buffered)."""

    @property
    def ready(self) -> bool:
        """False while the index cannot answer yet (an IVF kind before training)."""
        return True

    def rerank_factor(self, overrides: Mapping[str, int] | None = None) -> int:
        """How many times k candidates to fetch for an exact re-rank (1: scores are exact)."""
        return 1

    @abstractmethod
    def add(self, vectors: npt.NDArray[Any]) -> None:
        """Append vectors at positions ntotal, ntotal+1, …"""

    @abstractmethod
    def search(
        self,
        queries: npt.NDArray[Any],
        k: int,
        *,
        allowed: npt.NDArray[np.uint8] | None = None,
        selectivity: float = 1.0,
        overrides: Mapping[str, int] | None = None,
    ) -> SearchOutput:
        """Raw faiss scores and positions (-1 where fewer than k were found).

        ``allowed`` is a little-endian bitmap over positions; ``selectivity`` is the share
        of positions it allows, so the index can widen its search to keep recall.
        """

    @abstractmethod
    def to_bytes(self) -> bytes:
        """Serialise the whole index state."""

    @classmethod
    @abstractmethod
    def from_bytes(
        cls, data: bytes, dim: int, metric: Metric, params: Mapping[str, int]
    ) -> AnnIndex:
        """Rebuild an index from :meth:`to_bytes` output; raise ValueError if it is not one."""


def widen(base: int, selectivity: float, *, cap: int) -> int:
    """A search breadth scaled up for a filter that allows only ``selectivity`` of the data."""
    if selectivity >= 1.0:
        return base
    factor = 1.0 / math.sqrt(max(selectivity, 1e-6))
    return int(min(cap, max(base, math.ceil(base * factor))))
