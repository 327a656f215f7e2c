"""Colour by a metadata field: categories (the most common ones, then "other") or a ramp.

Shared by the PNG and the HTML pictures so both tell the same story.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import InvalidParameterError

__all__ = ["MAX_CATEGORIES", "PALETTE", "Coloring", "color_by"]

# Tableau 10 then its light variants (matplotlib's tab20 order, reordered), then grey.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#dbdb8d", "#9edae5",
)  # fmt: skip
OTHER = "#c8c8c8"
MAX_CATEGORIES = len(PALETTE)


@dataclass(frozen=True)
class Coloring:
    """Per-point colour codes for one metadata field.

    ``kind`` is "category" (``codes[i]`` indexes ``labels`` / ``colors``; the last label
    may be "other" or "(missing)") or "number" (``values`` in [0, 1], scaled from
    ``low``..``high`` linearly or, for ``scale == "log"``, by their logarithm; missing
    values are NaN).
    """

    field: str
    kind: str
    codes: npt.NDArray[np.int32]
    labels: tuple[str, ...]
    colors: tuple[str, ...]
    values: npt.NDArray[np.float32] | None = None
    low: float = 0.0
    high: float = 1.0
    scale: str = "linear"

    def value_at(self, t: float) -> float:
        """The field's value at position t in [0, 1] of the ramp (for tick labels)."""
        if self.scale == "log":
            return float(self.low * (self.high / self.low) ** t)
        return self.low + t * (self.high - self.low)


def color_by(metadata: Sequence[Mapping[str, Any]] | None, field: str) -> Coloring:
    """Colour codes for the ``field`` of each point's metadata.

    Numbers (ints and floats, booleans excluded) with more than ``MAX_CATEGORIES`` distinct
    values get a ramp; anything else gets categories. The ramp is logarithmic when the
    numbers are positive, span at least a factor of 100 and their median lies in the lowest
    tenth of the range (word counts, sizes, prices: on a linear ramp nearly every point
    would take the bottom colour).

    Example:
        >>> c = color_by([{"t": "a"}, {"t": "b"}, {"t": "a"}, {}], "t")
        >>> c.kind, c.labels, c.codes.tolist()
        ('category', ('a', 'b', '(missing)'), [0, 1, 0, 2])
    """
    if not metadata:
        raise InvalidParameterError(
            f"color by {field!r}: these points have no metadata (only a collection has)"
        )
    values = [m.get(field) for m in metadata]
    present = [v for v in values if v is not None]
    if not present:
        seen = sorted({k for m in metadata for k in m})[:20]
        raise InvalidParameterError(
            f"color by {field!r}: no point has that metadata field; fields seen: "
            + (", ".join(repr(s) for s in seen) or "none")
        )
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    if numeric and len(set(present)) > MAX_CATEGORIES:
        nums = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        low, high = float(np.nanmin(nums)), float(np.nanmax(nums))
        median = float(np.nanmedian(nums))
        log = low > 0 and high >= 100 * low and (median - low) < 0.1 * (high - low)
        if log:
            scaled = np.log(nums / low) / np.log(high / low)
        else:
            scaled = (nums - low) / ((high - low) or 1.0)
        return Coloring(
            field,
            "number",
            np.zeros(len(values), dtype=np.int32),
            (),
            (),
            scaled.astype(np.float32),
            low,
            high,
            "log" if log else "linear",
        )
    names = ["(missing)" if v is None else _show(v) for v in values]
    counts = Counter(n for n in names if n != "(missing)")
    top = [name for name, _ in counts.most_common(MAX_CATEGORIES)]
    if len(counts) > MAX_CATEGORIES:
        top = top[: MAX_CATEGORIES - 1]
    labels = list(top)
    extra = []
    if len(counts) > len(top):
        extra.append("other")
    if "(missing)" in names:
        extra.append("(missing)")
    labels += extra
    code_of = {name: i for i, name in enumerate(labels)}
    fallback = code_of.get("other", len(labels) - 1)
    codes = np.array(
        [code_of.get(n, fallback) if n != "(missing)" else code_of["(missing)"] for n in names],
        dtype=np.int32,
    )
    colors = tuple(PALETTE[: len(top)]) + (OTHER,) * len(extra)
    return Coloring(field, "category", codes, tuple(labels), colors)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
