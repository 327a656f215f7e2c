"""embedlab's PostgreSQL backend against raw pgvector through psycopg, same server and data.

Data: the GCIDE Word2Vec vectors of the store benchmark (dim 100, cached by
``store_vs_peers.py`` / ``_store_data.py``); the first ``--rows`` stored words and
``--queries`` held-out words as queries, cosine. Metadata ``{"bucket": i % 10, "shard":
i % 1000}``: ``bucket`` keeps 10% of the rows, ``shard`` 0.1%.

Both sides run on one private PostgreSQL 16 + pgvector 0.6.2 started by pgserver, with the
same HNSW parameters (M, ef_construction, ef_search), the same vector text format and the
same batches, one after the other:

- inserts/s: batches into a table whose HNSW index exists (``col.add`` vs ``COPY``);
- q/s and recall@k unfiltered: ``col.query(q, k, include=())`` vs ``SELECT id ... ORDER BY
  embedding <=> q LIMIT k``;
- filtered recall at 10% and 0.1%: ``col.query(..., where=...)`` vs the same SQL with
  ``WHERE metadata -> key = value``, run two ways: with PostgreSQL's own plan, and with the
  index forced (``enable_seqscan = off``: pgvector's post-filtering, which is what a large
  table gets). ``--exact-threshold 100`` sends embedlab's 10% filter through the index
  (``ef_search`` widened to 4 k / selectivity) instead of the exact scan.

    python benchmarks/pgvector.py [--rows 10000] [--queries 300] [--exact-threshold 8192]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _store_data import DEFAULT_CACHE, exact_top_k, unit, word_vectors
from _trainer_bench import DEFAULT_CORPUS

FILTERS = {"10%": ("bucket", 10), "0.1%": ("shard", 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--M", dest="m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--ef-search", type=int, default=40)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--exact-threshold", type=int, default=8192, help="embedlab's query(exact_threshold=)"
    )
    args = parser.parse_args()

    words, vectors = word_vectors(DEFAULT_CORPUS, DEFAULT_CACHE, 2, args.seed)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(words))
    queries = unit(vectors[order[: args.queries]])
    stored = order[args.queries : args.queries + args.rows]
    ids = [words[i] for i in stored]
    base = unit(vectors[stored])
    meta = [{"bucket": i % 10, "shard": i % 1000} for i in range(len(ids))]
    truth = {"": exact_top_k(base, queries, args.k)}
    wheres: dict[str, list[tuple[str, int]]] = {}
    for name, (key, distinct) in FILTERS.items():
        values = np.array([m[key] for m in meta])
        wanted = (np.arange(len(queries)) * 7) % distinct
        mask = values[None, :] == wanted[:, None]
        truth[name] = exact_top_k(base, queries, args.k, mask)
        wheres[name] = [(key, int(v)) for v in wanted]
    print(
        f"{len(ids):,} GCIDE word vectors (dim {base.shape[1]}), {len(queries)} queries, "
        f"k={args.k}, HNSW M={args.m} ef_construction={args.ef_construction} "
        f"ef_search={args.ef_search}",
        flush=True,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        import psycopg

        server = pgserver.get_server(tempfile.mkdtemp(prefix="pgbench-"), cleanup_mode="stop")
    url = server.get_uri().replace("postgres:@", "postgres@")
    try:
        results = run(url, args, ids, base, meta, queries, truth, wheres)
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
            ).fetchone()
    finally:
        server.cleanup()
    results["pgvector"] = version[0] if version else "?"
    print(json.dumps(results, indent=1))


def run(
    url: str,
    args: argparse.Namespace,
    ids: list[str],
    base: np.ndarray,
    meta: list[dict[str, Any]],
    queries: np.ndarray,
    truth: dict[str, np.ndarray],
    wheres: dict[str, list[tuple[str, int]]],
) -> dict[str, Any]:
    import psycopg

    from embedlab.store import Database

    row_of = {key: i for i, key in enumerate(ids)}
    k = args.k
    out: dict[str, Any] = {}

    def recall(name: str, found: list[list[str]]) -> float:
        hits = sum(
            len(np.intersect1d(truth[name][j], [row_of[h] for h in got]))
            for j, got in enumerate(found)
        )
        return round(hits / (len(found) * k), 4)

    # -- embedlab -----------------------------------------------------------------------
    db = Database(url)
    col = db.create_collection(
        "words",
        dim=base.shape[1],
        metric="cosine",
        index="hnsw",
        index_params={
            "M": args.m,
            "ef_construction": args.ef_construction,
            "ef_search": args.ef_search,
        },
    )
    start = time.perf_counter()
    for s in range(0, len(ids), args.batch):
        col.add(
            ids[s : s + args.batch], base[s : s + args.batch], metadata=meta[s : s + args.batch]
        )
    ours_insert = len(ids) / (time.perf_counter() - start)
    col.wait_for_index()  # ANALYZE, as autovacuum would
    print(f"embedlab inserts/s {ours_insert:,.0f}", flush=True)

    # -- raw pgvector ---------------------------------------------------------------------
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(
        f"CREATE TABLE raw (id text PRIMARY KEY, embedding vector({base.shape[1]}), metadata jsonb)"
    )
    conn.execute(
        f"CREATE INDEX ON raw USING hnsw (embedding vector_cosine_ops)"
        f" WITH (m = {args.m}, ef_construction = {args.ef_construction})"
    )
    start = time.perf_counter()
    for s in range(0, len(ids), args.batch):
        with (
            conn.transaction(),
            conn.cursor().copy("COPY raw (id, embedding, metadata) FROM STDIN") as copy,
        ):
            for i in range(s, min(s + args.batch, len(ids))):
                text = "[" + ",".join(map(repr, base[i].tolist())) + "]"
                copy.write_row((ids[i], text, json.dumps(meta[i])))
    raw_insert = len(ids) / (time.perf_counter() - start)
    conn.execute("ANALYZE raw")
    conn.execute(f"SET hnsw.ef_search = {args.ef_search}")
    print(f"raw inserts/s {raw_insert:,.0f}", flush=True)
    out["inserts_per_s"] = {
        "embedlab": round(ours_insert),
        "raw": round(raw_insert),
        "ratio": round(ours_insert / raw_insert, 3),
    }

    def raw_query(j: int, where: tuple[str, int] | None) -> list[str]:
        text = "[" + ",".join(map(repr, queries[j].tolist())) + "]"  # as embedlab sends it
        params: tuple[Any, ...]
        if where is None:
            sql = "SELECT id FROM raw ORDER BY embedding <=> %s::vector LIMIT %s"
            params = (text, k)
        else:
            sql = (
                "SELECT id FROM raw WHERE metadata -> %s = %s::jsonb"
                " ORDER BY embedding <=> %s::vector LIMIT %s"
            )
            params = (where[0], json.dumps(where[1]), text, k)
        return [r[0] for r in conn.execute(sql, params).fetchall()]

    def ours_query(j: int, where: tuple[str, int] | None) -> list[str]:
        w = None if where is None else {where[0]: where[1]}
        found = col.query(
            queries[j], k=k, where=w, include=(), exact_threshold=args.exact_threshold
        )
        return list(found.ids)

    def timed(fn: Any, where_list: list[tuple[str, int]] | None) -> tuple[float, list[list[str]]]:
        for j in range(min(20, len(queries))):  # warm-up
            fn(j, None if where_list is None else where_list[j])
        start = time.perf_counter()
        found = [fn(j, None if where_list is None else where_list[j]) for j in range(len(queries))]
        return len(queries) / (time.perf_counter() - start), found

    # Unfiltered q/s: the two sides alternate in blocks of 10 queries, five times over,
    # and each side's time is summed (the machine is shared; this spreads the noise evenly).
    spent = {"embedlab": 0.0, "raw": 0.0}
    found: dict[str, list[list[str]]] = {"embedlab": [], "raw": []}
    for j in range(min(20, len(queries))):  # warm-up
        ours_query(j, None)
        raw_query(j, None)
    rounds = 5
    for r in range(rounds):
        for s in range(0, len(queries), 10):
            for side, fn in (("embedlab", ours_query), ("raw", raw_query)):
                start = time.perf_counter()
                got = [fn(j, None) for j in range(s, min(s + 10, len(queries)))]
                spent[side] += time.perf_counter() - start
                if r == 0:
                    found[side].extend(got)
    qps = {side: rounds * len(queries) / spent[side] for side in spent}
    out["unfiltered"] = {
        "qps_embedlab": round(qps["embedlab"]),
        "qps_raw": round(qps["raw"]),
        "overhead": round(1 - qps["embedlab"] / qps["raw"], 3),
        "recall_embedlab": recall("", found["embedlab"]),
        "recall_raw": recall("", found["raw"]),
    }
    print(json.dumps(out["unfiltered"]), flush=True)

    for name in FILTERS:
        qps_ours, found_ours = timed(ours_query, wheres[name])
        qps_raw, found_raw = timed(raw_query, wheres[name])
        conn.execute("SET enable_seqscan = off")
        qps_forced, found_forced = timed(raw_query, wheres[name])
        conn.execute("SET enable_seqscan = on")
        out[f"filtered {name}"] = {
            "recall_embedlab": recall(name, found_ours),
            "recall_raw_planner": recall(name, found_raw),
            "recall_raw_post_filter": recall(name, found_forced),
            "qps_embedlab": round(qps_ours),
            "qps_raw_planner": round(qps_raw),
            "qps_raw_post_filter": round(qps_forced),
        }
        print(name, json.dumps(out[f"filtered {name}"]), flush=True)
    conn.close()
    db.close()
    return out


if __name__ == "__main__":
    main()
