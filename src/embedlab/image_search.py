"""Search a collection of images by an example image (query by example).

The example is embedded with the collection's image encoder (``efficientnet-lite0`` or
``clip:PATH``, as recorded by :func:`embedlab.ingest.index_images`) and the nearest rows
come back as :class:`~embedlab.search.SearchHit` (score: cosine similarity). For
text-to-image search on a CLIP collection, :func:`embedlab.search.search` with
``mode="vector"`` embeds the text with CLIP's text tower.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError
from embedlab.search import SearchHit

if TYPE_CHECKING:
    from embedlab.encoders.image import ImageEncoding
    from embedlab.store import Collection

__all__ = ["search_image"]


def search_image(
    collection: Collection,
    image: str | os.PathLike[str] | Any,
    *,
    encoder: ImageEncoding | None = None,
    k: int = 10,
    where: Mapping[str, Any] | None = None,
) -> list[SearchHit]:
    """The ``k`` images most like ``image`` (a path or a Pillow image), best first.

    Example:
        >>> from embedlab import Database
        >>> col = Database("my.db").get_collection("photos")  # doctest: +SKIP
        >>> [h.metadata["path"] for h in search_image(col, "cat.jpg", k=3)]  # doctest: +SKIP
        ['/photos/cat.jpg', '/photos/cat-cropped.jpg', '/photos/kitten.png']
    """
    from embedlab import encoders
    from embedlab.encoders.image import is_image_encoder

    k = check_int("k", k, minimum=1)
    chosen: Any = encoder
    if chosen is None:
        if collection.model is None:
            raise InvalidParameterError(
                f"collection {collection.name!r} records no model; pass encoder= (the image "
                "encoder its vectors were made with)"
            )
        chosen = encoders.load(collection.model)
    if not is_image_encoder(chosen):
        raise InvalidParameterError(
            f"collection {collection.name!r} holds vectors of {collection.model!r}, which does "
            "not embed images; search it with a text query"
        )
    vector = chosen.encode_images([image], normalize=True)[0]
    found = collection.query(
        vector, k=k, where=where, include=("metadata", "documents"), model=chosen.name
    )
    return [
        SearchHit(
            id=match.id,
            score=1.0 - float(match.distance or 0.0),
            document=match.document,
            metadata=dict(match.metadata or {}),
            vector_rank=rank,
        )
        for rank, match in enumerate(found, 1)
    ]
