"""Semantic search over a collection: by vector, by keyword (BM25), or both fused.

``search(collection, "query")`` embeds the query with the collection's model (or the
encoder given), asks the collection for its nearest chunks and/or its best BM25 matches,
and in ``hybrid`` mode fuses the two rankings: by default the weighted sum of their
standardised scores (z-scores), or with ``fusion="rrf"`` weighted reciprocal rank fusion.

A collection filled from files (:func:`embedlab.ingest.index_paths`) answers with
documents: ``group_by`` defaults to ``"auto"``, which groups such chunks by ``"path"``, so
each ranking keeps only the best chunk of each file (a document scores as its best chunk,
the "max over passages" rule) and fusion works on those documents. ``group_by=None`` asks
for chunks; any other metadata key groups by that key.

Example:
    >>> import tempfile, numpy as np, embedlab
    >>> from embedlab.encoders.static import StaticEncoder
    >>> vectors = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]])  # car ~ automobile
    >>> wv = embedlab.WordVectors(["car", "automobile", "wash"], vectors)
    >>> enc = StaticEncoder(wv, name="toy")
    >>> db = embedlab.Database(tempfile.mkdtemp())
    >>> col = db.create_collection("docs", dim=3, index="flat", model="toy")
    >>> texts = ["automobile repair", "wash day"]
    >>> col.add(["a", "b"], enc.encode(texts), documents=texts)
    >>> [hit.id for hit in search(col, "car", encoder=enc, mode="vector", k=1)]
    ['a']
    >>> db.close()
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab._validation import StrEnumOption, check_float, check_int
from embedlab.errors import InvalidParameterError

if TYPE_CHECKING:
    from embedlab.encoders.base import Encoder
    from embedlab.store import Collection, GetResult, QueryResult

__all__ = ["AUTO", "Fusion", "SearchHit", "SearchMode", "highlight", "search"]

_WORD = re.compile(r"\w+")


AUTO = "auto"
"""``group_by``'s default: by ``"path"`` when the collection's chunks come from files."""
LEAD_WEIGHT = 0.3
"""How much a document's lead chunk counts beside its best chunk, tuned on dev halves."""
SCORE_WEIGHT = 0.5
"""The keyword weight of score fusion (the vector weight is 1), tuned on dev halves."""
RRF_WEIGHT = 0.8
"""The keyword weight of reciprocal rank fusion (rrf_k 5), tuned on dev halves."""


class Fusion(StrEnumOption):
    """How hybrid :func:`search` merges its two rankings."""

    SCORES = "scores"
    RRF = "rrf"


class SearchMode(StrEnumOption):
    """How :func:`search` ranks: embeddings, BM25 keywords, or both fused."""

    VECTOR = "vector"
    KEYWORD = "keyword"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class SearchHit:
    """One ranked result.

    ``score`` is higher-is-better: cosine similarity in vector mode, minus the BM25 score
    in keyword mode, the fused RRF score in hybrid mode. ``vector_rank`` and
    ``keyword_rank`` (1-based) say where each ranking placed it (None: not in its top).
    """

    id: str
    score: float
    document: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    vector_rank: int | None = None
    keyword_rank: int | None = None


def search(
    collection: Collection,
    query: str,
    *,
    encoder: Encoder | None = None,
    mode: str | SearchMode = SearchMode.HYBRID,
    k: int = 10,
    where: Mapping[str, Any] | None = None,
    depth: int = 50,
    fusion: str | Fusion = Fusion.SCORES,
    rrf_k: int = 5,
    vector_weight: float = 1.0,
    keyword_weight: float | None = None,
    group_by: str | None = AUTO,
    lead_weight: float = LEAD_WEIGHT,
) -> list[SearchHit]:
    """The k best documents (or chunks) of ``collection`` for ``query``.

    ``group_by`` ranks groups of chunks by their best chunk, one hit per value of that
    metadata key (``"path"``: one per file); ``None`` ranks chunks. The default,
    ``"auto"``, groups by ``"path"`` when the collection's chunks come from files (rows
    that :func:`embedlab.ingest.index_paths` wrote: with ``path`` and ``chunk``) and ranks
    rows otherwise. Chunks without the ``group_by`` key are groups of their own; a key
    that no row has is refused. When grouped rows are numbered by a ``chunk`` key (as
    index_paths numbers them), a group's vector score blends its best chunk with its lead
    chunk (chunk 0, the opening a whole-document encoder reads first):
    ``(1 - lead_weight) * best + lead_weight * lead``; ``lead_weight=0`` is the pure
    best-chunk rule.

    ``encoder`` defaults to the collection's recorded model (``encoders.load(model)``);
    an encoder of another model is refused. Hybrid mode takes the top ``depth`` of each
    ranking (``depth`` groups when grouping) and fuses them. ``fusion="scores"`` (the
    default) adds the two rankings' scores after standardising each (z-scores over its
    own top ``depth``; a candidate missing from one ranking gets that ranking's lowest,
    or -1 when everything it found scored alike),
    weighted ``vector_weight`` and ``keyword_weight`` (default 0.5, ``SCORE_WEIGHT``).
    ``fusion="rrf"`` is weighted reciprocal rank fusion,
    ``w_vector / (rrf_k + rank_vector) + w_keyword / (rrf_k + rank_keyword)`` (keyword
    weight default 0.8, ``RRF_WEIGHT``). Standardised scores keep how far apart the candidates
    are, which ranks throw away: on the dev halves of ``benchmarks/retrieval.py`` they
    beat reciprocal rank fusion on every set (see benchmarks/RESULTS.md).

    Example:
        >>> hits = search(col, "how do I reset a password")  # doctest: +SKIP
        >>> hits[0].metadata["path"], hits[0].document  # doctest: +SKIP
    """
    parsed = SearchMode.parse(mode, name="mode")
    k = check_int("k", k, minimum=1, maximum=10_000)
    depth = max(k, check_int("depth", depth, minimum=1, maximum=10_000))
    fused_by = Fusion.parse(fusion, name="fusion")
    rrf_k = check_int("rrf_k", rrf_k, minimum=0)
    if keyword_weight is None:
        keyword_weight = SCORE_WEIGHT if fused_by is Fusion.SCORES else RRF_WEIGHT
    weights = (
        check_float("vector_weight", vector_weight, minimum=0.0),
        check_float("keyword_weight", keyword_weight, minimum=0.0),
    )
    if not isinstance(query, str) or not query.strip():
        raise InvalidParameterError(f"a search query must be a non-empty str; got {query!r}")
    if group_by is not None and (not isinstance(group_by, str) or not group_by):
        raise InvalidParameterError(
            f"group_by must be a metadata key (a non-empty str) or None; got {group_by!r}"
        )
    if group_by == AUTO:
        group_by = "path" if _from_files(collection) else None
    lead = check_float("lead_weight", lead_weight, minimum=0.0, maximum=1.0)
    blend = group_by is not None and lead > 0
    vector = np.zeros(0, np.float32)
    by_vector = by_keyword = None
    if parsed is not SearchMode.KEYWORD:
        encoder = encoder if encoder is not None else _collection_encoder(collection)
        vector = _encode_query(encoder, query)
        name = encoder.name

        def nearest(n: int) -> QueryResult:
            found: QueryResult = collection.query(
                vector,
                k=n,
                where=where,
                include=_INCLUDE,
                model=name,
                search_params=_wide_beam(collection, n) if group_by is not None else None,
            )
            return found

        fetch = k if parsed is SearchMode.VECTOR and not blend else depth
        by_vector = _Ranking.fetch(nearest, fetch, group_by)
        if blend and group_by is not None:

            def leads(ids: list[str]) -> dict[str, float]:
                found = collection.get(ids, where=where, include="vectors")
                return _distances(collection.metric, vector, found)

            by_vector = by_vector.blended(leads, group_by, lead)
            if parsed is SearchMode.VECTOR:
                by_vector = by_vector.top(k)
    if parsed is not SearchMode.VECTOR:

        def best_matching(n: int) -> QueryResult:
            return collection.keyword_query(query, k=n, where=where, include=_INCLUDE)

        fetch = k if parsed is SearchMode.KEYWORD else depth
        by_keyword = _Ranking.fetch(best_matching, fetch, group_by)
    if group_by is not None:
        for ranking in (by_vector, by_keyword):
            if ranking is not None and ranking.rows and not ranking.keyed:
                _check_group_key(collection, group_by)
    if by_keyword is None and by_vector is not None:
        return [
            _hit(by_vector, rank, 1.0 - by_vector.distance(rank), vector=rank)
            for rank in range(len(by_vector.rows))
        ]
    if by_vector is None and by_keyword is not None:
        return [
            _hit(by_keyword, rank, -by_keyword.distance(rank), keyword=rank)
            for rank in range(len(by_keyword.rows))
        ]
    if by_vector is None or by_keyword is None:  # pragma: no cover - every mode sets one
        raise RuntimeError("no ranking to return")
    if fused_by is Fusion.RRF:
        return _fuse_ranks(by_vector, by_keyword, k, rrf_k, weights)
    measured = _measure(collection, by_vector, by_keyword, vector, where, lead if blend else 0.0)
    return _fuse_scores(by_vector, by_keyword, k, weights, measured)


def _measure(
    collection: Collection,
    by_vector: _Ranking,
    by_keyword: _Ranking,
    vector: np.ndarray,
    where: Mapping[str, Any] | None,
    lead: float,
) -> dict[str, float]:
    """The vector distance of each key only the keyword ranking found: its matching
    row's (blended with its lead row's, as the vector ranking blends), so fusion
    compares measured scores instead of guessing them. Cosine and dot collections."""
    found = set(by_vector.keys)
    wanted: dict[str, tuple[str, str | None]] = {}
    for key, row in zip(by_keyword.keys, by_keyword.rows, strict=True):
        if key not in found:
            row_id = by_keyword.result.ids[row]
            wanted[key] = (row_id, _lead_id(row_id, by_keyword.result, row) if lead else None)
    ids = {i for pair in wanted.values() for i in pair if i is not None}
    if not ids or collection.metric not in ("cosine", "dot"):
        return {}
    distance = _distances(
        collection.metric, vector, collection.get(sorted(ids), where=where, include="vectors")
    )
    out = {}
    for key, (row_id, lead_id) in wanted.items():
        if row_id in distance:
            own = distance[row_id]
            if lead_id is not None and lead_id in distance:
                own = (1 - lead) * own + lead * distance[lead_id]
            out[key] = own
    return out


def _lead_id(row_id: str, result: QueryResult, row: int) -> str | None:
    """The id of the lead chunk (chunk 0) of the file a row ``X#n`` (chunk n) comes from."""
    number = result.metadata[row].get("chunk") if result.metadata is not None else None
    suffix = f"#{number}"
    if isinstance(number, int) and not isinstance(number, bool) and row_id.endswith(suffix):
        return row_id[: -len(suffix)] + "#0"
    return None


_INCLUDE = ("metadata", "documents")
_MAX_FETCH = 10_000  # the most a collection query returns


@dataclass(frozen=True)
class _Ranking:
    """A ranking of rows of one query result: each row's key (its id, or its group's value)
    and its position in the result."""

    result: QueryResult
    keys: list[str]
    rows: list[int]
    keyed: bool = False
    """Whether any row of the result carried the group_by key."""
    scores: tuple[float, ...] | None = None
    """Each rank's distance when it is not its row's own (a blend; see ``blended``)."""

    @classmethod
    def fetch(cls, run: Callable[[int], QueryResult], n: int, group_by: str | None) -> _Ranking:
        """The best n rows of ``run(n)``, or with ``group_by`` the best row of each of the n
        best groups: as many rows are fetched as it takes (more each time, up to
        10,000) to find n groups or run out."""
        if group_by is None:
            result = run(n)
            return cls(result, list(result.ids), list(range(len(result.ids))))
        fetch = min(n * 4, _MAX_FETCH)
        while True:
            result = run(fetch)
            ranking = cls.grouped(result, group_by, n)
            if len(ranking.rows) >= n or len(result.ids) < fetch or fetch >= _MAX_FETCH:
                return ranking
            fetch = min(fetch * 4, _MAX_FETCH)

    @classmethod
    def grouped(cls, result: QueryResult, group_by: str, n: int) -> _Ranking:
        """The first (best) row of each of the first n groups of ``result``."""
        keys: list[str] = []
        rows: list[int] = []
        seen: set[str] = set()
        keyed = False
        for row, row_id in enumerate(result.ids):
            value = result.metadata[row].get(group_by) if result.metadata is not None else None
            keyed = keyed or value is not None
            key = row_id if value is None else f"{group_by}={value!r}"
            if key not in seen:
                seen.add(key)
                keys.append(key)
                rows.append(row)
                if len(rows) == n:
                    break
        return cls(result, keys, rows, keyed)

    def distance(self, rank: int) -> float:
        if self.scores is not None:
            return self.scores[rank]
        return float(self.result.distances[self.rows[rank]])

    def top(self, n: int) -> _Ranking:
        scores = None if self.scores is None else self.scores[:n]
        return _Ranking(self.result, self.keys[:n], self.rows[:n], self.keyed, scores)

    def blended(
        self, leads: Callable[[list[str]], dict[str, float]], group_by: str, weight: float
    ) -> _Ranking:
        """Each group's distance blended with its lead chunk's (chunk 0):
        ``(1 - weight) * best + weight * lead``, re-ranked. The lead of a row ``X#n``
        (chunk n, as index_paths names rows) is row ``X#0``; groups whose rows are not
        numbered so, or whose lead is not found (filtered out), keep their best."""
        meta = self.result.metadata
        if meta is None or not self.rows:
            return self
        best = [self.distance(rank) for rank in range(len(self.rows))]
        lead_of: dict[int, str] = {}  # rank -> its lead row's id
        for rank, row in enumerate(self.rows):
            lead_id = _lead_id(self.result.ids[row], self.result, row)
            if lead_id is not None and meta[row].get(group_by) is not None:
                lead_of[rank] = lead_id
        wanted = [i for rank, i in lead_of.items() if i != self.result.ids[self.rows[rank]]]
        lead = leads(wanted) if wanted else {}
        for rank, i in lead_of.items():
            if i == self.result.ids[self.rows[rank]]:
                lead[i] = best[rank]
        mixed = []
        for rank in range(len(self.rows)):
            own = lead.get(lead_of[rank]) if rank in lead_of else None
            mixed.append(best[rank] if own is None else (1 - weight) * best[rank] + weight * own)
        order = sorted(range(len(self.rows)), key=lambda r: (mixed[r], self.keys[r]))
        return _Ranking(
            self.result,
            [self.keys[r] for r in order],
            [self.rows[r] for r in order],
            self.keyed,
            tuple(mixed[r] for r in order),
        )


def _fuse_ranks(
    by_vector: _Ranking,
    by_keyword: _Ranking,
    k: int,
    rrf_k: int,
    weights: tuple[float, float],
) -> list[SearchHit]:
    """Weighted reciprocal rank fusion of the two rankings (of chunks, or of groups)."""
    scores: dict[str, float] = {}
    where_from: dict[str, tuple[_Ranking, int]] = {}
    ranks: dict[str, list[int | None]] = {}
    for which, (ranking, weight) in enumerate(((by_vector, weights[0]), (by_keyword, weights[1]))):
        for rank, key in enumerate(ranking.keys):
            scores[key] = scores.get(key, 0.0) + weight / (rrf_k + rank + 1)
            where_from.setdefault(key, (ranking, rank))
            ranks.setdefault(key, [None, None])[which] = rank
    order = sorted(scores, key=lambda key: (-scores[key], key))[:k]
    hits = []
    for key in order:
        ranking, rank = where_from[key]
        vector_rank, keyword_rank = ranks[key]
        hits.append(_hit(ranking, rank, scores[key], vector=vector_rank, keyword=keyword_rank))
    return hits


def _fuse_scores(
    by_vector: _Ranking,
    by_keyword: _Ranking,
    k: int,
    weights: tuple[float, float],
    measured: Mapping[str, float],
) -> list[SearchHit]:
    """The weighted sum of the two rankings' standardised scores (z-scores over each
    ranking's list). ``measured`` holds the vector distances of keys only the keyword
    ranking found (they join the vector list); any other key absent from a ranking
    scores that ranking's lowest z, or -1 when everything it found scored alike."""
    vector = {key: by_vector.distance(rank) for rank, key in enumerate(by_vector.keys)}
    vector.update((key, d) for key, d in measured.items() if key not in vector)
    keyword = {key: by_keyword.distance(rank) for rank, key in enumerate(by_keyword.keys)}
    keys = list(dict.fromkeys(by_vector.keys + by_keyword.keys))
    scores = dict.fromkeys(keys, 0.0)
    for distances, weight in ((vector, weights[0]), (keyword, weights[1])):
        raw = -np.array(list(distances.values()))
        spread = float(raw.std()) if len(raw) > 1 else 0.0
        z = (raw - raw.mean()) / spread if spread > 0 else np.zeros(len(raw))
        absent = float(z.min()) if spread > 0 else -1.0
        z_of = dict(zip(distances, z.tolist(), strict=True))
        for key in keys:
            scores[key] += weight * z_of.get(key, absent)
    rank_of = [{key: rank for rank, key in enumerate(r.keys)} for r in (by_vector, by_keyword)]
    hits = []
    for key in sorted(keys, key=lambda key: (-scores[key], key))[:k]:
        vector_rank, keyword_rank = rank_of[0].get(key), rank_of[1].get(key)
        if vector_rank is not None:
            hit = _hit(
                by_vector, vector_rank, scores[key], vector=vector_rank, keyword=keyword_rank
            )
        else:
            hit = _hit(by_keyword, rank_of[1][key], scores[key], keyword=keyword_rank)
        hits.append(hit)
    return hits


def _distances(metric: str, query: np.ndarray, rows: GetResult) -> dict[str, float]:
    """The query's distance to each row, as the store measures it (cosine and dot
    collections; {} for the others, whose groups then keep their best chunk)."""
    if rows.vectors is None or not rows.ids or metric not in ("cosine", "dot"):
        return {}
    vectors = np.asarray(rows.vectors, dtype=np.float32)
    similarity = vectors @ query
    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=1) * float(np.linalg.norm(query))
        similarity = similarity / np.where(norms > 0, norms, 1.0)
    return dict(zip(rows.ids, (1.0 - similarity).tolist(), strict=True))


def _from_files(collection: Collection) -> bool:
    """Whether the collection's rows are chunks of files (as index_paths writes them)."""
    first = collection.get(limit=1, include="metadata")
    return (
        bool(first.ids)
        and first.metadata is not None
        and {"path", "chunk"} <= set(first.metadata[0])
    )


def _hit(
    ranking: _Ranking,
    rank: int,
    score: float,
    *,
    vector: int | None = None,
    keyword: int | None = None,
) -> SearchHit:
    result, i = ranking.result, ranking.rows[rank]
    return SearchHit(
        id=result.ids[i],
        score=score,
        document=result.documents[i] if result.documents is not None else None,
        metadata=dict(result.metadata[i]) if result.metadata is not None else {},
        vector_rank=None if vector is None else vector + 1,
        keyword_rank=None if keyword is None else keyword + 1,
    )


def _wide_beam(collection: Collection, n: int) -> dict[str, int] | None:
    """An HNSW beam twice the rows fetched (never narrower than the collection's own):
    grouping reads deep into the list, where a beam of exactly n misses rows
    (benchmarks/retrieval.py: ef_search = n lost 0.005 MRR@10 to exact search)."""
    if collection.index != "hnsw":
        return None
    own = int(collection.info().index_params.get("ef_search", 0))
    return {"ef_search": min(max(2 * n, own), _MAX_BEAM)}


_MAX_BEAM = 4096


def _check_group_key(collection: Collection, group_by: str) -> None:
    """Refuse a group_by key that no row of the collection carries (a typo, most likely)."""
    if not collection.get(where={group_by: {"$exists": True}}, limit=1, include=()).ids:
        raise InvalidParameterError(
            f"group_by {group_by!r}: no row of collection {collection.name!r} has that "
            "metadata key (index_paths stores 'path', 'title' and 'chunk')"
        )


def _collection_encoder(collection: Collection) -> Encoder:
    """The encoder of the model the collection was filled with."""
    if collection.model is None:
        raise InvalidParameterError(
            f"collection {collection.name!r} records no model, so the query cannot be "
            "embedded; pass encoder= (the encoder its vectors were made with) or use "
            "mode='keyword'"
        )
    from embedlab import encoders

    return encoders.load(collection.model)


def _encode_query(encoder: Encoder, query: str) -> np.ndarray:
    """One query vector, with the encoder's query prompt when it has one."""
    encode_queries = getattr(encoder, "encode_queries", None)
    vectors = encode_queries([query]) if callable(encode_queries) else encoder.encode([query])
    out: np.ndarray = np.asarray(vectors, dtype=np.float32)[0]
    return out


def highlight(document: str, query: str, *, width: int = 240) -> tuple[str, list[tuple[int, int]]]:
    """A snippet of about ``width`` characters around the first query word found, and the
    (start, end) spans of query words inside it (case-insensitive, whole words).

    >>> highlight("The river bank flooded after the storm.", "bank storm", width=20)
    ('…bank flooded…', [(1, 5)])
    """
    terms = {t.lower() for t in _WORD.findall(query)}
    words = [(m.start(), m.end()) for m in _WORD.finditer(document) if m.group().lower() in terms]
    first = words[0][0] if words else 0
    start = max(0, min(first - width // 4, len(document) - width))
    end = min(len(document), start + width)
    if start > 0:  # begin at a word boundary
        space = document.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    if end < len(document):
        space = document.rfind(" ", start, end)
        end = space if space > max(first, start) else end
    text = document[start:end].strip()
    offset = start + (len(document[start:end]) - len(document[start:end].lstrip()))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(document) else ""
    spans = [
        (s - offset + len(prefix), e - offset + len(prefix))
        for s, e in words
        if s >= offset and e <= offset + len(text)
    ]
    return prefix + text + suffix, spans
