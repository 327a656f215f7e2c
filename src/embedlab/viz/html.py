"""The offline HTML projector: one self-contained page, no CDN, no server.

:func:`projector_html` takes plain arrays (2-D coordinates, keys, optional metadata and
nearest neighbours in the original space) and returns the page as a string; the server
can serve the same string. The page inlines ``projector.bundle.js`` (regl-scatterplot
1.16.0, MIT, bundled with esbuild by ``js/build.sh``; licences in
``projector.bundle.LICENSES.txt``) and the data: coordinates and neighbour lists as
base64 float32/int32, keys and metadata as JSON columns.

In the page: zoom and pan (wheel, drag), hover for key and metadata, colour by any
metadata field (a menu, with a legend), a search box (Enter: exact key, else
case-insensitive, else first prefix match) that selects and centres the key, and a click
on a point that lists its nearest neighbours in the original space, and the names of
clusters (found in the original space) written at their anchors. For tests the page
exposes ``window.embedlabProjector`` (ready, pointsDrawn, search, selected, neighbours,
screenPosition).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import InvalidParameterError
from embedlab.viz.clusters import ClusterMarks
from embedlab.viz.colors import MAX_CATEGORIES, Coloring, color_by
from embedlab.viz.neighbours import Neighbours

__all__ = ["RAMP", "projector_html"]

RAMP = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
        "#6ece58", "#b5de2b", "#fde725")  # fmt: skip
"""viridis in ten steps, for numeric metadata."""

_MAX_COLOR_FIELDS = 12


def projector_html(
    coords: npt.ArrayLike,
    keys: Sequence[str],
    *,
    metadata: Sequence[Mapping[str, Any]] | None = None,
    neighbours: Neighbours | None = None,
    color_by_field: str | None = None,
    title: str = "embedlab projector",
    notes: Sequence[str] = (),
    original_dim: int | None = None,
    metric: str = "cosine",
    clusters: ClusterMarks | None = None,
) -> str:
    """Return the projector page for n points as one HTML string.

    ``coords`` is (n, 2); ``neighbours`` (from :func:`~embedlab.viz.neighbours.
    nearest_neighbours` on the ORIGINAL vectors) feeds the click-for-neighbours list.
    Every metadata field (up to 12) can colour the points; ``color_by_field`` is the
    initial one. ``clusters`` (:func:`~embedlab.viz.clusters.cluster_marks`) writes each
    cluster's name on the map at its anchor.

    Example:
        >>> import numpy as np
        >>> page = projector_html(np.eye(3)[:, :2], ["a", "b", "c"], title="three")
        >>> page.startswith("<!DOCTYPE html>") and "three" in page
        True
    """
    xy = np.ascontiguousarray(np.asarray(coords, dtype=np.float32)[:, :2])
    n = xy.shape[0]
    if len(keys) != n:
        raise InvalidParameterError(f"keys: expected {n} keys (one per point), got {len(keys)}")
    if metadata is not None and len(metadata) != n:
        raise InvalidParameterError(f"metadata: expected {n} entries, got {len(metadata)}")
    if clusters is not None and clusters.codes.shape[0] != n:
        raise InvalidParameterError(
            f"clusters: expected a cluster code for each of {n} points, got "
            f"{clusters.codes.shape[0]}"
        )
    if neighbours is not None and neighbours.ids.shape[0] != n:
        raise InvalidParameterError(
            f"neighbours: expected lists for {n} points, got {neighbours.ids.shape[0]}"
        )
    fields = _fields(metadata)
    colorings: dict[str, Any] = {}
    for field in fields[:_MAX_COLOR_FIELDS]:
        try:
            colorings[field] = _coloring_json(color_by(metadata, field))
        except InvalidParameterError:
            continue
    if color_by_field is not None and color_by_field not in colorings:
        colorings[color_by_field] = _coloring_json(color_by(metadata, color_by_field))
    k = 0 if neighbours is None else int(neighbours.ids.shape[1])
    nn_ids = np.zeros((n, k), np.int32) if neighbours is None else neighbours.ids
    nn_scores = np.zeros((n, k), np.float32) if neighbours is None else neighbours.scores
    data = {
        "title": title,
        "keys": list(keys),
        "dim": original_dim,
        "coords": _b64(xy),
        "neighbours": {
            "k": k,
            "ids": _b64(nn_ids.astype(np.int32)),
            "scores": _b64(np.nan_to_num(nn_scores).astype(np.float32)),
            "exact": True if neighbours is None else neighbours.exact,
            "metric": metric,
        },
        "metadata": None
        if metadata is None
        else {"fields": fields, "columns": {f: [m.get(f) for m in metadata] for f in fields}},
        "colorings": colorings,
        "clusters": None
        if clusters is None
        else {"names": list(clusters.names), "anchors": clusters.anchors.tolist()},
        "colorBy": color_by_field,
        "notes": list(notes),
    }
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_plain)
    payload = payload.replace("</", "<\\/")  # never close the script element early
    note_html = "".join(f"<div class='note'>{html.escape(s)}</div>" for s in notes)
    return _TEMPLATE.format(
        title=html.escape(title),
        heading=html.escape(title),
        count=f"{n:,}",
        notes=note_html,
        data=payload,
        bundle=_bundle(),
    )


def _fields(metadata: Sequence[Mapping[str, Any]] | None) -> list[str]:
    if not metadata:
        return []
    return list(dict.fromkeys(field for m in metadata for field in m))


def _coloring_json(c: Coloring) -> dict[str, Any]:
    if c.kind == "number" and c.values is not None:
        return {
            "kind": "number",
            "values": _b64(np.nan_to_num(c.values, nan=0.0).astype(np.float32)),
            "colors": list(RAMP),
            "low": c.low,
            "high": c.high,
            "scale": c.scale,
        }
    counts = np.bincount(c.codes, minlength=len(c.labels)).tolist()
    return {
        "kind": "category",
        "codes": _b64(c.codes.astype(np.int32)),
        "labels": list(c.labels[: MAX_CATEGORIES + 2]),
        "colors": list(c.colors),
        "counts": counts,
    }


def _b64(array: npt.NDArray[Any]) -> str:
    return base64.b64encode(
        np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    ).decode("ascii")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


@cache
def _bundle() -> str:
    text = resources.files("embedlab.viz").joinpath("projector.bundle.js").read_text("utf-8")
    return text.replace("</script", "<\\/script")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  html, body {{ margin: 0; height: 100%; font: 13px/1.4 system-ui, sans-serif; color: #222; }}
  #embedlab-canvas, #embedlab-labels {{ position: fixed; inset: 0; width: 100vw;
    height: 100vh; }}
  #embedlab-labels {{ pointer-events: none; }}
  #embedlab-panel {{ position: fixed; top: 10px; left: 10px; width: 270px; max-height: 92vh;
    overflow: auto; background: rgba(255,255,255,0.93); border: 1px solid #ddd;
    border-radius: 6px; padding: 10px; box-shadow: 0 1px 4px rgba(0,0,0,0.1); }}
  #embedlab-panel h1 {{ font-size: 14px; margin: 0 0 4px; }}
  #embedlab-panel input, #embedlab-panel select {{ width: 100%; box-sizing: border-box;
    margin: 4px 0; padding: 4px; font: inherit; }}
  .hint, .note {{ color: #666; font-size: 12px; }}
  .picked {{ font-weight: bold; margin-top: 8px; }}
  ol {{ margin: 4px 0; padding-left: 22px; }}
  .score {{ color: #888; font-size: 11px; }}
  .row {{ font-size: 12px; }}
  .swatch {{ display: inline-block; width: 10px; height: 10px; border-radius: 5px;
    margin-right: 6px; }}
  .ramp {{ height: 10px; margin: 4px 0; }}
  #embedlab-tooltip {{ position: fixed; display: none; pointer-events: none;
    background: #fff; border: 1px solid #bbb; padding: 4px 6px; border-radius: 4px;
    font-size: 12px; max-width: 320px; }}
</style>
</head>
<body>
<canvas id="embedlab-canvas"></canvas>
<canvas id="embedlab-labels"></canvas>
<div id="embedlab-panel">
  <h1>{heading}</h1>
  <div class="hint">{count} points · wheel to zoom, drag to pan, click a point</div>
  {notes}
  <input id="embedlab-search" type="search" placeholder="search a key, Enter">
  <select id="embedlab-color"><option value="">colour: none</option></select>
  <div id="embedlab-legend"></div>
  <div id="embedlab-info"></div>
</div>
<div id="embedlab-tooltip"></div>
<script id="embedlab-data" type="application/json">{data}</script>
<script>{bundle}</script>
<script>EmbedlabProjector.start();</script>
</body>
</html>
"""
