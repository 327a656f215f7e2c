"""Retrieval metrics of a run against relevance judgements, with trec_eval's conventions.

Measures (names as :func:`parse_measure` reads them; trec_eval's name in brackets):

- ``recall@k`` [recall_k]: relevant documents in the top k / all relevant documents;
- ``P@k`` (``precision@k``) [P_k]: relevant documents in the top k / k (k, even when fewer
  were retrieved);
- ``MRR`` [recip_rank]: 1 / rank of the first relevant document (``MRR@k``: within the
  top k);
- ``MAP`` [map]: mean over the relevant documents of the precision at each one's rank
  (unretrieved ones count 0); ``MAP@k`` stops at rank k, still dividing by all relevant;
- ``nDCG@k`` [ndcg_cut_k]: DCG of the top k over the ideal DCG of the judgements, with
  gain = relevance and discount log2(rank + 1); ``nDCG`` [ndcg] has no cut;
  ``nDCG_exp@k`` uses the exponential gain 2^relevance - 1 (Burges et al. 2005).

Conventions, as trec_eval's:

- a document is relevant when its judged relevance is >= 1; unjudged documents are not
  relevant; negative relevance counts as 0 gain;
- a run is ranked by score, highest first, ties broken by document id in *descending*
  string order (trec_eval sorts equal scores by ``strcmp`` of the ids, reversed); the
  ranks written in a run file are ignored;
- the mean is over the judged queries (those in the qrels). A judged query the run has no
  result for counts 0 on every measure (trec_eval's ``-c``); ``complete=False`` averages
  over the queries in both instead (trec_eval's default). Queries of the run that have
  no judgements are left out and reported.

Example:
    >>> qrels = {"q1": {"d1": 1, "d2": 0, "d3": 2}}
    >>> run = {"q1": {"d2": 3.0, "d1": 2.0, "d9": 1.0}}
    >>> r = evaluate_run(qrels, run, ["P@2", "MRR", "recall@3"])
    >>> r.mean
    {'P@2': 0.5, 'MRR': 0.5, 'recall@3': 0.5}
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError

__all__ = [
    "DEFAULT_MEASURES",
    "Measure",
    "RetrievalResult",
    "evaluate_run",
    "parse_measure",
    "ranking",
]

DEFAULT_MEASURES = ("P@10", "recall@10", "recall@100", "MRR", "MAP", "nDCG@10")

_KINDS = {
    "p": "P",
    "precision": "P",
    "recall": "recall",
    "r": "recall",
    "mrr": "MRR",
    "recip_rank": "MRR",
    "map": "MAP",
    "ndcg": "nDCG",
    "ndcg_exp": "nDCG_exp",
}
_NEEDS_K = {"P", "recall"}
_PATTERN = re.compile(r"^\s*([A-Za-z_]+?)\s*(?:[@_](\d+))?\s*$")


@dataclass(frozen=True)
class Measure:
    """One measure: its kind (P, recall, MRR, MAP, nDCG, nDCG_exp) and cut-off k (None: all)."""

    kind: str
    k: int | None = None

    @property
    def name(self) -> str:
        return self.kind if self.k is None else f"{self.kind}@{self.k}"

    def __str__(self) -> str:
        return self.name


def parse_measure(text: str | Measure) -> Measure:
    """A measure from its name: ``P@10``, ``recall@100``, ``MRR``, ``MAP``, ``nDCG@10``, …

    Example:
        >>> parse_measure("ndcg_cut_10"), parse_measure("precision@5").name
        (Measure(kind='nDCG', k=10), 'P@5')
    """
    if isinstance(text, Measure):
        return text
    raw = str(text).strip()
    low = raw.lower().replace("ndcg_cut", "ndcg")
    match = _PATTERN.match(low)
    kind = _KINDS.get(match.group(1)) if match else None
    if match is None or kind is None:
        valid = "P@k, recall@k, MRR[@k], MAP[@k], nDCG[@k], nDCG_exp[@k]"
        raise InvalidParameterError(f"unknown measure {raw!r}; expected one of {valid}")
    k = None if match.group(2) is None else check_int(f"{raw} cut-off", int(match.group(2)))
    if kind in _NEEDS_K and k is None:
        raise InvalidParameterError(f"measure {raw!r} needs a cut-off, such as {kind}@10")
    return Measure(kind, k)


def ranking(scores: Mapping[str, float]) -> list[str]:
    """Document ids ranked as trec_eval ranks them: score descending, ties by id descending.

    Example:
        >>> ranking({"a": 1.0, "b": 1.0, "c": 2.0})
        ['c', 'b', 'a']
    """
    by_id = sorted(scores, reverse=True)
    return sorted(by_id, key=lambda doc: -scores[doc])


@dataclass(frozen=True)
class RetrievalResult:
    """Per-query and mean values of each measure, and the queries left out or missing."""

    measures: tuple[str, ...]
    per_query: dict[str, dict[str, float]]
    mean: dict[str, float]
    complete: bool = True
    missing_queries: tuple[str, ...] = ()  # judged, but the run has no result for them
    unjudged_queries: tuple[str, ...] = ()  # in the run, but not in the qrels
    notes: tuple[str, ...] = field(default_factory=tuple)

    def values(self, measure: str | Measure) -> list[float]:
        """One measure's per-query values, in the order of ``per_query``."""
        name = parse_measure(measure).name
        return [row[name] for row in self.per_query.values()]

    def describe(self) -> str:
        """What the numbers are and how they were averaged, in plain words."""
        rule = (
            "judged queries without results count 0 (trec_eval -c)"
            if self.complete
            else "only queries both judged and answered (trec_eval's default)"
        )
        lines = [
            f"Retrieval quality over {len(self.per_query)} queries ({rule}); "
            "each measure runs from 0 to 1, higher is better:",
            *(f"  {name:<14} {self.mean[name]:.4f}" for name in self.measures),
        ]
        if self.missing_queries:
            lines.append(
                f"{len(self.missing_queries)} judged queries had no results: "
                + ", ".join(self.missing_queries[:10])
                + (" …" if len(self.missing_queries) > 10 else "")
            )
        if self.unjudged_queries:
            lines.append(
                f"{len(self.unjudged_queries)} queries of the run have no judgements and were "
                "left out: " + ", ".join(self.unjudged_queries[:10])
            )
        lines += list(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (per-query values included)."""
        return {
            "measures": list(self.measures),
            "mean": self.mean,
            "queries": len(self.per_query),
            "complete": self.complete,
            "missing_queries": list(self.missing_queries),
            "unjudged_queries": list(self.unjudged_queries),
            "per_query": self.per_query,
            "notes": list(self.notes),
        }


def evaluate_run(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    measures: Iterable[str | Measure] = DEFAULT_MEASURES,
    *,
    complete: bool = True,
) -> RetrievalResult:
    """Score ``run`` against ``qrels`` (see the module docstring for the conventions).

    Example:
        >>> evaluate_run({"q": {"a": 1}}, {}, ["MAP"]).mean  # no results: counts 0
        {'MAP': 0.0}
    """
    parsed = list(dict.fromkeys(parse_measure(m) for m in measures))
    if not parsed:
        raise InvalidParameterError("measures must name at least one measure")
    if not qrels:
        raise InvalidParameterError("qrels hold no judged query")
    names = tuple(m.name for m in parsed)
    judged = list(qrels)
    missing = tuple(q for q in judged if not run.get(q))
    unjudged = tuple(q for q in run if q not in qrels)
    queries = judged if complete else [q for q in judged if run.get(q)]
    per_query: dict[str, dict[str, float]] = {}
    for query in queries:
        docs = ranking(run.get(query, {}))
        per_query[query] = {m.name: _score(m, docs, qrels[query]) for m in parsed}
    mean = {
        name: (math.fsum(row[name] for row in per_query.values()) / len(per_query))
        if per_query
        else 0.0
        for name in names
    }
    return RetrievalResult(names, per_query, mean, complete, missing, unjudged)


def _score(measure: Measure, docs: Sequence[str], judged: Mapping[str, int]) -> float:
    """One measure of one query's ranked documents."""
    kind, k = measure.kind, measure.k
    relevant = sum(1 for r in judged.values() if r >= 1)
    top = docs if k is None else docs[:k]
    hits = [judged.get(d, 0) >= 1 for d in top]
    if kind == "P":
        return sum(hits) / (k or 1)
    if kind == "recall":
        return sum(hits) / relevant if relevant else 0.0
    if kind == "MRR":
        return next((1.0 / rank for rank, hit in enumerate(hits, start=1) if hit), 0.0)
    if kind == "MAP":
        if not relevant:
            return 0.0
        found = 0
        total = 0.0
        for rank, hit in enumerate(hits, start=1):
            if hit:
                found += 1
                total += found / rank
        return total / relevant
    exponential = kind == "nDCG_exp"

    def gain(rel: int) -> float:
        if rel <= 0:
            return 0.0
        return float(2**rel - 1) if exponential else float(rel)

    dcg = sum(gain(judged.get(d, 0)) / math.log2(rank + 1) for rank, d in enumerate(top, 1))
    ideal_gains = sorted((gain(r) for r in judged.values()), reverse=True)
    ideal_gains = ideal_gains if k is None else ideal_gains[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal_gains, 1))
    return dcg / idcg if idcg > 0 else 0.0
