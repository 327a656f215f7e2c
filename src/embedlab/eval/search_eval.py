"""Evaluate :func:`embedlab.search.search` on a collection directly against qrels.

:func:`search_run` runs each query through ``search`` and returns a run (``{query_id:
{doc_id: score}}``); :func:`evaluate_search` scores it with :func:`evaluate_run` and
checks the qrels against the collection: judged documents that the collection does not
hold are reported (``unknown_ids``), since they can never be retrieved and usually mean
the qrels name documents differently from the collection.

For collections made by :func:`embedlab.ingest.index_paths` (one row per chunk, with the
file in the ``path`` metadata), pass ``doc_key="path"``: each file is ranked by its best
chunk and the doc ids are the paths.

Example:
    >>> import tempfile, numpy as np, embedlab
    >>> from embedlab.encoders.static import StaticEncoder
    >>> wv = embedlab.WordVectors(["car", "auto", "wash"], [[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    >>> enc = StaticEncoder(wv, name="toy")
    >>> db = embedlab.Database(tempfile.mkdtemp())
    >>> col = db.create_collection("docs", dim=3, index="flat", model="toy")
    >>> col.add(["a", "b"], enc.encode(["auto repair", "wash day"]), documents=["x", "y"])
    >>> r = evaluate_search(col, {"q1": "car"}, {"q1": {"a": 1, "zz": 1}}, encoder=enc,
    ...                     mode="vector", measures=["MRR"])
    >>> r.result.mean, r.unknown_ids
    ({'MRR': 1.0}, {'q1': ('zz',)})
    >>> db.close()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from embedlab.errors import InvalidParameterError
from embedlab.eval.retrieval import DEFAULT_MEASURES, RetrievalResult, evaluate_run
from embedlab.eval.runs import Run

if TYPE_CHECKING:
    from embedlab.store import Collection

__all__ = ["SearchEvaluation", "evaluate_search", "search_run"]


def search_run(
    collection: Collection,
    queries: Mapping[str, str],
    *,
    k: int = 100,
    doc_key: str | None = None,
    **search_options: Any,
) -> Run:
    """Each query's top ``k`` from :func:`embedlab.search.search`, as a run.

    ``doc_key`` names the metadata key that identifies a document (``"path"`` for
    index_paths collections); results are then grouped by it and keyed by its value.
    Scores are ``k - rank`` (k, k - 1, …), so the run ranks exactly as search ranked, even
    where search's own scores tie (trec_eval would re-break those ties by id).
    """
    from embedlab.search import search

    if not queries:
        raise InvalidParameterError("queries must hold at least one {query_id: text}")
    run: Run = {}
    for query_id, text in queries.items():
        hits = search(collection, text, k=k, group_by=doc_key, **search_options)
        docs: dict[str, float] = {}
        for rank, hit in enumerate(hits):
            doc = hit.id if doc_key is None else str(hit.metadata.get(doc_key, hit.id))
            docs.setdefault(doc, float(k - rank))
        run[str(query_id)] = docs
    return run


@dataclass(frozen=True)
class SearchEvaluation:
    """The metrics, the run they were computed from, and judged ids the collection lacks."""

    result: RetrievalResult
    run: Run
    unknown_ids: dict[str, tuple[str, ...]]

    def describe(self) -> str:
        """The metrics and any unknown judged ids, in plain words."""
        text = self.result.describe()
        if self.unknown_ids:
            count = sum(len(v) for v in self.unknown_ids.values())
            sample = ", ".join(f"{q}: {v[0]}" for q, v in list(self.unknown_ids.items())[:3])
            text += (
                f"\nWarning: {count} judged documents are not in the collection and can never "
                f"be retrieved ({sample}, …); check that the qrels use the collection's ids."
            )
        return text


def evaluate_search(
    collection: Collection,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    measures: Iterable[str] = DEFAULT_MEASURES,
    k: int = 100,
    doc_key: str | None = None,
    **search_options: Any,
) -> SearchEvaluation:
    """Run ``queries`` through search and score them against ``qrels`` (module docstring).

    Only queries that are judged are run; the rest of ``queries`` is ignored.
    """
    judged = {q: text for q, text in queries.items() if q in qrels}
    if not judged:
        raise InvalidParameterError(
            "none of the queries is judged in the qrels; "
            f"queries {sorted(queries)[:5]} vs qrels {sorted(qrels)[:5]}"
        )
    run = search_run(collection, judged, k=k, doc_key=doc_key, **search_options)
    result = evaluate_run(qrels, run, measures)
    known = _known_ids(collection, qrels, doc_key)
    unknown = {
        q: tuple(d for d in docs if d not in known)
        for q, docs in qrels.items()
        if any(d not in known for d in docs)
    }
    return SearchEvaluation(result, run, unknown)


def _known_ids(
    collection: Collection, qrels: Mapping[str, Mapping[str, int]], doc_key: str | None
) -> set[str]:
    """The judged ids the collection holds (its row ids, or its values of doc_key)."""
    if doc_key is None:
        wanted = sorted({d for docs in qrels.values() for d in docs})
        return set(collection.get(wanted, include=()).ids)
    rows = collection.get(include=["metadata"])
    metadata = rows.metadata or ()
    return {str(m[doc_key]) for m in metadata if doc_key in m}
