"""Parquet and JSONL row ingestion, rows/s: this checkout's readers vs main's before the
Arrow/orjson change (commit 80f5bf6), and the ceiling of reading the raw column/lines.

Generates one row file of each kind (ids, a 384-d float32 vector, a document of about 300
characters, three metadata fields) and measures in one run:

- read: iterating ``parquet_rows`` / ``jsonl_rows`` batches (what ``embedlab db add``
  reads, twice: once to check every row, once to write), before and after;
- anchor: pyarrow reading the vector column into one numpy matrix (Parquet), orjson
  parsing every line (JSONL): the floor any row reader pays;
- add: reading plus ``Collection.add`` of every batch into a new flat collection.

Run:
    python benchmarks/ingest_rows.py --rows 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

BEFORE = "80f5bf6"
DIM = 384
ROOT = Path(__file__).resolve().parents[1]


def _old_readers(commit: str) -> ModuleType:
    """``store/_readers.py`` as it was at ``commit``, imported beside today's package."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:src/embedlab/store/_readers.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "_readers_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("_readers_before", path)
    if spec is None or spec.loader is None:
        raise RuntimeError("could not load the old reader")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_readers_before"] = module
    spec.loader.exec_module(module)
    return module


def _write_files(folder: Path, rows: int, seed: int) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, DIM)).astype(np.float32)
    words = np.array(
        [
            "the",
            "of",
            "a",
            "river",
            "bank",
            "loan",
            "money",
            "water",
            "flows",
            "near",
            "old",
            "town",
        ]
    )
    docs = [" ".join(rng.choice(words, 55)) for _ in range(rows)]
    ids = [f"doc-{i:07d}" for i in range(rows)]
    sources = rng.choice(["wiki", "news", "manual"], rows).tolist()
    years = rng.integers(1990, 2026, rows).tolist()
    scores = np.round(rng.random(rows), 4).tolist()
    table = pa.table(
        {
            "id": ids,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), DIM),
            "document": docs,
            "source": sources,
            "year": years,
            "score": scores,
        }
    )
    parquet = folder / "rows.parquet"
    pq.write_table(table, parquet)
    jsonl = folder / "rows.jsonl"
    with jsonl.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            record = {
                "id": ids[i],
                "vector": vectors[i].tolist(),
                "document": docs[i],
                "source": sources[i],
                "year": years[i],
                "score": scores[i],
            }
            handle.write(json.dumps(record) + "\n")
    return parquet, jsonl


def _count(reader: Callable[..., Any], path: Path, batch_size: int) -> int:
    stream = reader(path, dim=DIM, batch_size=batch_size)
    return sum(len(batch.ids) for batch in stream.batches)


def _add(reader: Callable[..., Any], path: Path, batch_size: int, work: Path) -> int:
    import embedlab

    with embedlab.Database(tempfile.mkdtemp(dir=work)) as db:
        col = db.create_collection("rows", dim=DIM, index="flat")
        for batch in reader(path, dim=DIM, batch_size=batch_size).batches:
            col.add(batch.ids, batch.vectors, batch.metadata, batch.documents)
        return col.count()


def _parquet_column(path: Path) -> int:
    import pyarrow.parquet as pq

    column = pq.read_table(path, columns=["vector"]).column("vector").combine_chunks()
    matrix = column.flatten().to_numpy().reshape(len(column), -1)
    return int(matrix.shape[0])


def _jsonl_lines(path: Path) -> int:
    import orjson

    with path.open("rb") as handle:
        return sum(1 for line in handle if orjson.loads(line) is not None)


def _best(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    """(best seconds, rows) over ``repeat`` runs."""
    times, rows = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = run()
        times.append(time.perf_counter() - start)
    return min(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--before", default=BEFORE, help="the commit to compare with")
    args = parser.parse_args()

    from embedlab.store import _readers as after

    before = _old_readers(args.before)
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    try:
        _run(args, before, after, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, before: ModuleType, after: ModuleType, work: Path) -> None:
    parquet, jsonl = _write_files(work, args.rows, seed=0)
    mb = {p.suffix: p.stat().st_size / 1e6 for p in (parquet, jsonl)}
    print(
        f"{args.rows:,} rows, dim {DIM}: Parquet {mb['.parquet']:.0f} MB, "
        f"JSONL {mb['.jsonl']:.0f} MB; best of {args.repeat}"
    )
    # same rows out of both readers (the check that the fast path reads what the old one did)
    for name, path in (("parquet", parquet), ("jsonl", jsonl)):
        reader = f"{name}_rows"
        old = list(getattr(before, reader)(path, dim=DIM, batch_size=args.batch_size).batches)
        new = list(getattr(after, reader)(path, dim=DIM, batch_size=args.batch_size).batches)
        same = (
            [k for b in old for k in b.ids] == [k for b in new for k in b.ids]
            and np.array_equal(
                np.concatenate([b.vectors for b in old]), np.concatenate([b.vectors for b in new])
            )
            and [m for b in old for m in b.metadata] == [m for b in new for m in b.metadata]
            and [d for b in old for d in b.documents] == [d for b in new for d in b.documents]
        )
        if not same:
            raise SystemExit(f"{name}: the readers disagree")
    print("| format | step | before rows/s | after rows/s | speed-up | anchor rows/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    anchors = {"parquet": (_parquet_column, "pyarrow column"), "jsonl": (_jsonl_lines, "orjson")}
    for name, path in (("parquet", parquet), ("jsonl", jsonl)):
        reader = f"{name}_rows"
        anchor, label = anchors[name]
        t_anchor, _ = _best(lambda a=anchor, p=path: a(p), args.repeat)
        old, new = getattr(before, reader), getattr(after, reader)
        t_old, n = _best(lambda r=old, p=path: _count(r, p, args.batch_size), args.repeat)
        t_new, _ = _best(lambda r=new, p=path: _count(r, p, args.batch_size), args.repeat)
        print(
            f"| {name} | read | {n / t_old:,.0f} | {n / t_new:,.0f} | {t_old / t_new:.1f}x "
            f"| {n / t_anchor:,.0f} ({label}) |"
        )
        t_old_add, _ = _best(lambda r=old, p=path: _add(r, p, args.batch_size, work), 1)
        t_new_add, _ = _best(lambda r=new, p=path: _add(r, p, args.batch_size, work), 1)
        print(
            f"| {name} | read + add | {n / t_old_add:,.0f} | {n / t_new_add:,.0f} "
            f"| {t_old_add / t_new_add:.1f}x | |"
        )


if __name__ == "__main__":
    main()
