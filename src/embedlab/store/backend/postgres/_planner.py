"""The PostgreSQL backend's query planner: index or exact scan, and the SQL of a k-nearest
query.

The rules the embedded planner follows, with pgvector's means):

- No filter: the HNSW (or IVFFlat) index answers, with ``hnsw.ef_search`` (at least k, at
  most pgvector's 1,000) set on the database's connection before the query (a session
  ``SET``, sent only when the value changes, so a query costs one round trip); fewer than
  k results sends the query to the exact path.
- A filter: pgvector 0.6 (the version pgserver ships) filters *after* the graph search,
  so a narrow filter leaves too few of the ``ef_search`` candidates. The planner estimates
  the filter's selectivity on a page sample (``TABLESAMPLE SYSTEM``, about 2,000 rows) or
  counts exactly on small tables; few matches (``exact_threshold`` or fewer, or under 5%)
  are scanned exactly (ordered by ``distance + 0``, which no index can serve: a scan that
  filters and sorts by true distance, whatever plan a prepared statement cached); many go
  to the index with ``ef_search`` widened to ``4 k / selectivity``, and a result shorter
  than k falls back to the exact path.
- Metrics without a pgvector index (manhattan via ``l1_distance``, hamming via
  ``bit_count(a # b)``) and the ``flat`` kind are always exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from embedlab.metrics import Metric
from embedlab.store._state import Spec

if TYPE_CHECKING:
    from embedlab.store.backend.postgres.database import PostgresDatabase

__all__ = ["OPS", "distance_sql", "nearest", "plan", "selectivity"]

OPS = {
    Metric.COSINE: "vector_cosine_ops",
    Metric.DOT: "vector_ip_ops",
    Metric.EUCLIDEAN: "vector_l2_ops",
}
"""pgvector's operator class for each metric it can index."""
_OPERATOR = {Metric.COSINE: "<=>", Metric.DOT: "<#>", Metric.EUCLIDEAN: "<->"}
MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search
MIN_ANN_SELECTIVITY = 0.05  # as in the embedded planner
FILTER_WIDENING = 4  # ef_search = FILTER_WIDENING * k / selectivity for filtered searches
_SAMPLE_ROWS = 2000


def distance_sql(spec: Spec) -> tuple[str, str]:
    """(ordering expression, distance expression) of ``t.vector`` against the query,
    a named parameter ``%(q)s`` (sent once, used twice)."""
    dim = spec.dim
    metric = spec.metric
    if metric is Metric.HAMMING:
        expr = f"bit_count(t.vector # %(q)s::bit({dim}))::float8"
        return expr, expr
    if metric is Metric.MANHATTAN:
        expr = f"l1_distance(t.vector, %(q)s::vector({dim}))"
        return expr, expr
    expr = f"(t.vector {_OPERATOR[metric]} %(q)s::vector)"
    return expr, f"1 + {expr}" if metric is Metric.DOT else expr


def nearest(
    cur: Any,
    spec: Spec,
    table: str,
    columns: str,
    condition: str,
    params: list[Any],
    text: str,
    k: int,
    *,
    exact: bool,
) -> list[tuple[Any, ...]]:
    """The k nearest rows of ``table``; ``exact`` orders by ``distance + 0``, which no
    index can serve, so PostgreSQL scans and sorts by true distance (whatever plan a
    prepared statement cached, and whatever the session's settings)."""
    order, distance = distance_sql(spec)
    if exact:
        order = f"({order}) + 0"
    named = {f"p{i}": value for i, value in enumerate(params)}
    pieces = condition.split("%s")  # the filter's positional placeholders, named
    where = pieces[0] + "".join(f"%(p{i})s{rest}" for i, rest in enumerate(pieces[1:]))
    sql = (
        f"SELECT {columns}, {distance} AS distance FROM {table} t"
        f" WHERE {where} ORDER BY {order} LIMIT %(k)s"
    )
    return list(cur.execute(sql, {**named, "q": text, "k": k}).fetchall())


def plan(
    cur: Any,
    db: PostgresDatabase,
    spec: Spec,
    table: str,
    indexed: Callable[[Any], bool],
    k: int,
    condition: str,
    params: list[Any],
    filtered: bool,
    overrides: Mapping[str, int] | None,
    exact_threshold: int,
) -> int | None:
    """The breadth for an index search (set for this transaction), or None: exact.
    ``indexed(cur)`` says whether the table's vector index exists."""
    if spec.metric not in OPS or not indexed(cur):
        return None
    if spec.kind == "ivf":
        probes = int((overrides or {}).get("nprobe", spec.params.get("nprobe", 16)))
        db.setting(cur, "ivfflat.probes", probes)
    base = int((overrides or {}).get("ef_search", spec.params.get("ef_search", 64)))
    breadth = max(base, k)
    if filtered:
        share = selectivity(cur, table, condition, params, exact_threshold)
        if share is None:
            return None
        breadth = max(breadth, math.ceil(FILTER_WIDENING * k / share))
    if breadth > MAX_EF_SEARCH:
        return None
    db.setting(cur, "hnsw.ef_search", breadth)
    return breadth


def selectivity(
    cur: Any, table: str, condition: str, params: list[Any], exact_threshold: int
) -> float | None:
    """The filter's estimated share of the rows, or None when the exact path is better."""
    estimate = float(
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()[
            0
        ]
    )
    if 0 <= estimate <= exact_threshold:  # few rows in all: the exact path, uncounted
        return None
    if estimate < 0:  # never analysed: count exactly
        matched, total = cur.execute(
            f"SELECT count(*) FILTER (WHERE {condition}), count(*) FROM {table} t",
            params,
        ).fetchone()
        count = float(matched)
    else:
        percent = min(100.0, 100.0 * _SAMPLE_ROWS / estimate)
        matched, total = cur.execute(
            f"SELECT count(*) FILTER (WHERE {condition}), count(*)"
            f" FROM {table} t TABLESAMPLE SYSTEM (%s)",
            [*params, percent],
        ).fetchone()
        count = float(matched) / max(1, int(total)) * estimate
    share = float(matched) / max(1, int(total))
    if count <= exact_threshold or share < MIN_ANN_SELECTIVITY:
        return None
    return share
