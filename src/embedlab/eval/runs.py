"""Relevance judgements (qrels) and runs: TREC files, JSONL files, and plain dicts.

- ``Qrels`` is ``{query_id: {doc_id: relevance}}`` (int relevance; >= 1 is relevant);
- ``Run`` is ``{query_id: {doc_id: score}}`` (higher is better; the rank column of a TREC
  run file is ignored, as trec_eval ignores it).

TREC qrels lines are ``query_id iteration doc_id relevance``; TREC run lines are
``query_id Q0 doc_id rank score tag``. JSONL files hold one object a line:
``{"query_id": …, "doc_id": …, "relevance": …}`` for qrels and
``{"query_id": …, "doc_id": …, "score": …}`` for runs (``qid``/``docid``/``rel`` also
work). The format is told from the first non-blank character (``{`` means JSONL).

A document listed twice for one query is refused with a FormatError naming both lines:
trec_eval also refuses such runs ("duplicate docs"), and any choice of which score to
keep would change the ranking silently.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.txt"
    >>> _ = p.write_text("q1 Q0 d1 1 2.5 bm25\\nq1 Q0 d2 2 1.0 bm25\\n")
    >>> read_run(p)
    {'q1': {'d1': 2.5, 'd2': 1.0}}
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeAlias

from embedlab._validation import check_readable_file
from embedlab.errors import FormatError

__all__ = ["Qrels", "Run", "read_qrels", "read_run", "write_run"]

Qrels: TypeAlias = dict[str, dict[str, int]]
Run: TypeAlias = dict[str, dict[str, float]]


def read_qrels(path: str | os.PathLike[str]) -> Qrels:
    """Relevance judgements from a TREC qrels or JSONL file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "qrels.txt"
        >>> _ = p.write_text("q1 0 d1 2\\nq1 0 d3 0\\n")
        >>> read_qrels(p)
        {'q1': {'d1': 2, 'd3': 0}}
    """
    file = check_readable_file(path, what="qrels file")
    out: Qrels = {}
    seen: dict[tuple[str, str], int] = {}
    for number, query, doc, value in _records(file, kind="qrels"):
        try:
            relevance = int(value) if not isinstance(value, float) else _int_float(value)
        except (TypeError, ValueError):
            raise FormatError(
                f"relevance must be an integer; got {value!r}", path=str(file), line=number
            ) from None
        _check_duplicate(seen, query, doc, number, file)
        out.setdefault(query, {})[doc] = relevance
    return out


def read_run(path: str | os.PathLike[str]) -> Run:
    """A run (ranked documents with scores per query) from a TREC run or JSONL file."""
    file = check_readable_file(path, what="run file")
    out: Run = {}
    seen: dict[tuple[str, str], int] = {}
    for number, query, doc, value in _records(file, kind="run"):
        try:
            score = float(value)
        except (TypeError, ValueError):
            raise FormatError(
                f"score must be a number; got {value!r}", path=str(file), line=number
            ) from None
        if not math.isfinite(score):
            raise FormatError(f"score must be finite; got {value!r}", path=str(file), line=number)
        _check_duplicate(seen, query, doc, number, file)
        out.setdefault(query, {})[doc] = score
    return out


def write_run(run: Run, path: str | os.PathLike[str], *, tag: str = "embedlab") -> None:
    """Write ``run`` as a TREC run file (ranked by score, ties by doc id as trec_eval).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.txt"
        >>> write_run({"q": {"a": 1.0, "b": 2.0}}, p)
        >>> p.read_text().splitlines()[0]
        'q Q0 b 1 2.0 embedlab'
    """
    from embedlab.eval.retrieval import ranking

    with Path(path).open("w", encoding="utf-8") as handle:
        for query, docs in run.items():
            for rank, doc in enumerate(ranking(docs), start=1):
                handle.write(f"{query} Q0 {doc} {rank} {docs[doc]!r} {tag}\n")


def _int_float(value: float) -> int:
    if not value.is_integer():
        raise ValueError(value)
    return int(value)


def _check_duplicate(
    seen: dict[tuple[str, str], int], query: str, doc: str, number: int, file: Path
) -> None:
    first = seen.setdefault((query, doc), number)
    if first != number:
        raise FormatError(
            f"document {doc!r} appears twice for query {query!r} (first on line {first}); "
            "each document may be listed once per query (trec_eval refuses duplicates too)",
            path=str(file),
            line=number,
        )


_FIELDS = {
    "query": ("query_id", "qid"),
    "doc": ("doc_id", "docid", "docno"),
    "qrels": ("relevance", "rel", "label"),
    "run": ("score",),
}


def _records(file: Path, *, kind: str) -> Iterator[tuple[int, str, str, Any]]:
    """(line number, query id, doc id, relevance or score) for each record of the file."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not valid UTF-8 ({exc.reason})", path=str(file)) from None
    jsonl = text.lstrip().startswith("{")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if jsonl:
            yield (number, *_json_record(line, kind, file, number))
            continue
        parts = line.split()
        expected = 4 if kind == "qrels" else 6
        if len(parts) != expected:
            layout = (
                "query_id iteration doc_id relevance"
                if kind == "qrels"
                else "query_id Q0 doc_id rank score tag"
            )
            raise FormatError(
                f"expected {expected} fields ({layout}); got {len(parts)}",
                path=str(file),
                line=number,
            )
        value = parts[3] if kind == "qrels" else parts[4]
        yield number, parts[0], parts[2], value


def _json_record(line: str, kind: str, file: Path, number: int) -> tuple[str, str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc.msg})", path=str(file), line=number) from None
    if not isinstance(item, dict):
        raise FormatError("expected a JSON object", path=str(file), line=number)
    values = []
    for field in ("query", "doc", kind):
        names = _FIELDS[field]
        found = next((item[n] for n in names if n in item), None)
        if found is None or isinstance(found, bool | dict | list):
            raise FormatError(
                f"expected a field {names[0]!r} (a {'string' if field != kind else 'number'}); "
                f"the object has {sorted(item)}",
                path=str(file),
                line=number,
            )
        values.append(found)
    return str(values[0]), str(values[1]), values[2]
