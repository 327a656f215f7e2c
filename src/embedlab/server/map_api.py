"""The collection's 2-D map: the offline projector page of a collection, served.

``GET /v1/collections/{name}/map`` answers the HTML page that ``embedlab plot --collection
NAME -o map.html`` writes: a sample of up to ``limit`` rows (seeded), projected with PCA,
t-SNE or UMAP (cached under the collection's sequence number, so a second request is
quick until the collection changes), nearest neighbours computed in the original space,
and optionally ``clusters`` named clusters. The search page opens it in a frame.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from embedlab.server.hub import Hub, hub_of

__all__ = ["MAX_MAP_POINTS", "router"]

router = APIRouter(prefix="/v1/collections", tags=["map"])
HubDep = Annotated[Hub, Depends(hub_of)]
MAX_MAP_POINTS = 50_000


@router.get("/{name}/map", response_class=HTMLResponse)
async def collection_map(
    name: str,
    hub: HubDep,
    limit: Annotated[int, Query(ge=2, le=MAX_MAP_POINTS)] = 5_000,
    method: Annotated[str, Query(description="pca, tsne or umap")] = "pca",
    clusters: Annotated[int | None, Query(ge=1, le=100)] = None,
    seed: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The projector page of a sample of the collection (one self-contained HTML file)."""

    def draw() -> str:
        from embedlab.viz import plot_points, points_from_collection

        col = hub.db.get_collection(name)
        points = points_from_collection(col, limit=limit, seed=seed)
        with tempfile.TemporaryDirectory(prefix="embedlab-map-") as folder:
            page = Path(folder) / "map.html"
            plot_points(points, page, method=method, seed=seed, clusters=clusters,
                        title=f"{name}: {len(points):,} points")  # fmt: skip
            return page.read_text(encoding="utf-8")

    return HTMLResponse(await run_in_threadpool(draw))
