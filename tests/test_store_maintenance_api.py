"""Index maintenance through the public API: wait_for_index, verify, save_index,
rebuild_index. Run on the embedded Database here and through a real server by
tests/test_server_parity.py (imported there, not copied)."""

from __future__ import annotations

from typing import Any

import numpy as np

from store_api_helpers import snapshot


def test_index_maintenance_round(db: Any) -> None:
    col = db.create_collection("m", dim=8, metric="cosine", index="hnsw")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    col.add([f"r{i}" for i in range(300)], vectors, [{"i": i} for i in range(300)])
    col.wait_for_index()
    report = col.verify()
    assert report.ok and report.rows == 300 and report.index_vectors == 300
    assert report.collection == "m" and report.problems == ()
    before = snapshot(col)
    col.save_index()
    col.rebuild_index()
    assert col.verify().ok and snapshot(col) == before
    hit = col.query(vectors[17], k=1)
    assert hit.ids == ("r17",)
    col.delete(["r17"])
    col.wait_for_index()
    after = col.verify()
    assert after.ok and after.rows == 299
