"""Small HTML tables for Jupyter (``_repr_html_``): results, collections, word vectors.

A notebook shows the first rows and a short summary, never every float: a vector is its
first few components and its length, a document its first line cut to a width, and
everything is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from embedlab.store.collection import Collection
    from embedlab.store.results import GetResult
    from embedlab.vectors import WordVectors

__all__ = ["collection_html", "result_html", "table_html", "vector_text", "word_vectors_html"]

MAX_ROWS = 10
"""Rows shown before '… n more'."""
_TEXT_WIDTH = 80
_COMPONENTS = 4


def vector_text(vector: Any) -> str:
    """``[0.12, -0.5, 0.33, 0.01, …] (384)``: the first components and the length.

    Example:
        >>> vector_text(np.array([0.5, 1, 2, 3, 4, 5]))
        '[0.5, 1, 2, 3, …] (6)'
    """
    row = np.asarray(vector).reshape(-1)
    shown = ", ".join(f"{float(x):.4g}" for x in row[:_COMPONENTS])
    more = ", …" if len(row) > _COMPONENTS else ""
    return f"[{shown}{more}] ({len(row)})"


def _cut(text: str, width: int = _TEXT_WIDTH) -> str:
    line = text.strip().replace("\n", " ")
    return line if len(line) <= width else line[: width - 1] + "…"


def table_html(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    total: int,
    caption: str,
) -> str:
    """An escaped HTML table of at most MAX_ROWS rows, with a caption and a '… more' line.

    Example:
        >>> page = table_html(["id"], [["<a>"]], total=3, caption="demo")
        >>> "<td>&lt;a&gt;</td>" in page, "2 more rows" in page
        (True, True)
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in rows[:MAX_ROWS]
    )
    more = ""
    if total > min(len(rows), MAX_ROWS):
        extra = total - min(len(rows), MAX_ROWS)
        more = f"<p style='margin:2px 0'>… {extra:,} more row{'s' if extra != 1 else ''}</p>"
    return (
        f'<div><table><caption style="text-align:left">{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</div>"
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return _cut(json.dumps(value, ensure_ascii=False))
    if isinstance(value, str):
        return _cut(value)
    return str(value)


def result_html(result: GetResult) -> str:
    """A result's first rows: id, distance, document, metadata, vector (what was included)."""
    distances = getattr(result, "distances", None)
    columns: list[tuple[str, Any]] = [("id", list(result.ids))]
    if distances is not None:
        columns.append(("distance", [float(d) for d in np.asarray(distances)[:MAX_ROWS]]))
    if result.documents is not None:
        columns.append(("document", list(result.documents[:MAX_ROWS])))
    if result.metadata is not None:
        columns.append(("metadata", list(result.metadata[:MAX_ROWS])))
    if result.vectors is not None:
        columns.append(("vector", [vector_text(v) for v in result.vectors[:MAX_ROWS]]))
    n = min(len(result), MAX_ROWS)
    rows = [[values[i] for _, values in columns] for i in range(n)]
    kind = type(result).__name__
    return table_html(
        [name for name, _ in columns],
        rows,
        total=len(result),
        caption=f"{kind}: {len(result)} rows",
    )


def collection_html(col: Collection) -> str:
    """A collection's settings and its first rows."""
    count = col.count()
    rows = col.get(limit=MAX_ROWS, include=("metadata", "documents"))
    caption = (
        f"Collection {col.name!r}: {count:,} rows, dim {col.dim}, {col.metric}, "
        f"index {col.index}, model {col.model or '-'}"
    )
    body = [
        [key, doc, meta]
        for key, doc, meta in zip(rows.ids, rows.documents or (), rows.metadata or (), strict=True)
    ]
    return table_html(["id", "document", "metadata"], body, total=count, caption=caption)


def word_vectors_html(wv: WordVectors) -> str:
    """The first keys with their counts (when known) and a glimpse of their vectors."""
    counts = wv.counts
    n = min(len(wv), MAX_ROWS)
    rows = [
        [key, None if counts is None else int(counts[i]), vector_text(wv.vectors[i])]
        for i, key in enumerate(wv.keys[:n])
    ]
    caption = f"{type(wv).__name__}: {len(wv):,} keys, dim {wv.dim}"
    return table_html(["key", "count", "vector"], rows, total=len(wv), caption=caption)
