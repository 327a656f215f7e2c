"""What `reembed` costs on top of re-encoding by hand, on an embedded folder.

The anchor is what a user would otherwise write: read every row, encode its document with
the new model and add the rows to a new collection (then point the application at it by
hand, with no catch-up and no atomic switch). `reembed` does the same work plus a
comparison with any staged rows, a check that nothing changed, and the switch. Also timed:
a run interrupted at half the rows and resumed, and a rerun after an interruption just
before the switch (nothing left to encode: the cost of one catch-up pass, reads only).

The encoders are static word-vector poolings (fast, so the store's share is what shows);
with a transformer the encoding dominates and the overhead shrinks in proportion.

    python benchmarks/reembed.py [--rows 20000] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np

from embedlab import Database, WordVectors, encoders
from embedlab.ingest.reembed import reembed

WORDS = [f"w{i}" for i in range(2000)]


def _model(folder: Path, dim: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    WordVectors(WORDS, rng.normal(size=(len(WORDS), dim)).astype(np.float32)).save(folder)
    return f"static:{folder}"


def _fill(db: Database, old: encoders.Encoder, docs: list[str], batch: int) -> None:
    col = db.create_collection("docs", dim=old.dim, metric="cosine", index="hnsw", model=old.name)
    for low in range(0, len(docs), batch):
        part = docs[low : low + batch]
        col.add(
            [f"d{low + i}" for i in range(len(part))],
            old.encode(part),
            metadata=[{"n": low + i} for i in range(len(part))],
            documents=part,
        )
    col.wait_for_index()


def _by_hand(db: Database, new: encoders.Encoder, batch: int) -> float:
    began = time.perf_counter()
    live = db.get_collection("docs")
    out = db.create_collection("docs-by-hand", dim=new.dim, metric="cosine", model=new.name)
    offset = 0
    while True:
        page = live.get(limit=batch, offset=offset, include=["metadata", "documents"])
        if not page.ids:
            break
        offset += len(page.ids)
        docs = [str(d) for d in page.documents or []]
        metas = list(page.metadata or [])
        out.add(list(page.ids), new.encode(docs), metadata=metas, documents=docs)
    out.wait_for_index()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2, help="Alternating repeats; best kept.")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    docs = [" ".join(rng.choice(WORDS, size=12)) for _ in range(args.rows)]
    batch = args.batch_size
    times: dict[str, list[float]] = {"hand": [], "reembed": [], "rerun": [], "split": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        old = encoders.load(_model(root / "old", 64, 1))
        new = encoders.load(_model(root / "new", 96, 2))
        for number in range(args.rounds):  # each measurement on a fresh folder, in turn
            with Database(root / f"hand{number}") as db:
                _fill(db, old, docs, batch)
                times["hand"].append(_by_hand(db, new, batch))
            with Database(root / f"re{number}") as db:
                _fill(db, old, docs, batch)
                began = time.perf_counter()
                report = reembed(db, "docs", new, batch_size=batch)
                db.get_collection("docs").wait_for_index()
                times["reembed"].append(time.perf_counter() - began)

                def before_switch(stage: str, done: int, total: int) -> None:
                    if stage == "switch":
                        raise KeyboardInterrupt

                with contextlib.suppress(KeyboardInterrupt):  # all staged, not switched
                    reembed(db, "docs", old, batch_size=batch, progress=before_switch)
                began = time.perf_counter()  # the rerun only reads, compares and switches
                reembed(db, "docs", old, batch_size=batch)
                times["rerun"].append(time.perf_counter() - began)
            with Database(root / f"split{number}") as db:  # interrupted at half, resumed
                _fill(db, old, docs, batch)

                def stop(stage: str, done: int, total: int) -> None:
                    if done >= total // 2:
                        raise KeyboardInterrupt

                began = time.perf_counter()
                with contextlib.suppress(KeyboardInterrupt):
                    reembed(db, "docs", new, batch_size=batch, progress=stop)
                resumed = reembed(db, "docs", new, batch_size=batch)
                db.get_collection("docs").wait_for_index()
                times["split"].append(time.perf_counter() - began)
    best = {key: min(values) for key, values in times.items()}
    print(f"rows {args.rows:,}, batch {batch}, dims 64 -> 96, hnsw, cosine, best of {args.rounds}")
    print(f"by hand (read, encode, add to a new collection): {best['hand']:.2f} s")
    print(
        f"reembed (same + compare, check, switch): {best['reembed']:.2f} s = "
        f"{best['reembed'] / best['hand']:.2f}x by hand ({report.encoded:,} encoded)"
    )
    print(
        f"interrupted at half, then resumed ({resumed.kept:,} kept): {best['split']:.2f} s "
        f"together = {best['split'] / best['reembed']:.2f}x one uninterrupted run"
    )
    print(
        f"a rerun after an interruption just before the switch (all rows staged: a pass "
        f"that reads and compares, then the switch): {best['rerun']:.2f} s"
    )


if __name__ == "__main__":
    main()
