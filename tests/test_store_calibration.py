"""Recall targets: the search breadth is calibrated on the collection's own rows.

Data: points around Gaussian cluster centres (fixed seeds). Recall@10 of held-out queries
is measured against numpy's exact top 10, as a user of the target would.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import IndexRebuiltWarning, InvalidParameterError
from embedlab.store import Collection, Database
from embedlab.store._indexer import MAX_BACKLOG

DIM = 32


def _clustered(n: int, seed: int, *, centres: int = 50) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, DIM)).astype(np.float32)
    picks = rng.integers(centres, size=n)
    noise = rng.normal(scale=0.6, size=(n, DIM)).astype(np.float32)
    return middle[picks] + noise


def _recall(col: Collection, rows: np.ndarray, queries: np.ndarray) -> float:
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    hits = 0
    for q in queries:
        truth = np.argsort(-(unit @ (q / np.linalg.norm(q))))[:10]
        got = [int(key) for key in col.query(q, k=10, include=()).ids]
        hits += len(set(got) & set(truth.tolist()))
    return hits / (10 * len(queries))


def _add(col: Collection, rows: np.ndarray, start: int = 0) -> None:
    col.add([str(start + i) for i in range(len(rows))], rows)


def test_hnsw_defaults_calibrate_ef_search_to_the_recall_target(tmp_path: Path) -> None:
    both = _clustered(8200, seed=1)
    rows, queries = both[:8000], both[8000:]
    with Database(tmp_path / "db") as db:
        col = db.create_collection("c", dim=DIM, index="hnsw", index_params={"M": 8})
        assert col.index_params["recall"] == 0.98
        assert col.info().calibration is None  # nothing measured on an empty collection
        _add(col, rows)
        col.wait_for_index()
        cal = col.info().calibration
        assert cal is not None and cal.param == "ef_search"
        assert cal.rows >= 4000 and cal.sample > 0 and cal.seconds < 30
        assert cal.recall >= 0.98 and cal.value >= 64  # never below the kind's ef_search
        assert [v for v, _ in cal.curve] == sorted(v for v, _ in cal.curve)
        assert _recall(col, rows, queries) >= 0.97
        low = db.create_collection(
            "low", dim=DIM, index="hnsw", index_params={"M": 8, "recall": 0.5, "ef_search": 10}
        )
        _add(low, rows)
        low.wait_for_index()
        low_cal = low.info().calibration
        assert low_cal is not None and low_cal.value < cal.value
    with (  # the target survives reopening; measured again
        warnings.catch_warnings(),
        Database(tmp_path / "db") as db,
    ):
        warnings.simplefilter("ignore", IndexRebuiltWarning)
        col = db.get_collection("c")
        assert col.index_params["recall"] == 0.98
        col.wait_for_index()
        again = col.info().calibration
        assert again is not None and again.rows == 8000 and again.recall >= 0.98


def test_calibration_follows_growth(tmp_path: Path) -> None:
    rows = _clustered(6000, seed=2)
    with Database(tmp_path / "db", background_indexing=False) as db:  # deterministic sizes
        col = db.create_collection("c", dim=DIM, index="hnsw", index_params={"M": 8})
        _add(col, rows[:1500])
        first = col.info().calibration
        assert first is not None and first.rows == 1500
        _add(col, rows[1500:2000], start=1500)
        assert col.info().calibration == first  # not grown by half yet
        _add(col, rows[2000:], start=2000)
        later = col.info().calibration
        assert later is not None and later.rows == 6000


def test_ivf_calibrates_nprobe(tmp_path: Path) -> None:
    both = _clustered(6100, seed=3, centres=200)
    rows, queries = both[:6000], both[6000:]
    with Database(tmp_path / "db") as db:
        col = db.create_collection("c", dim=DIM, index="ivf", index_params={"nlist": 64})
        _add(col, rows)
        col.wait_for_index()
        cal = col.info().calibration
        assert cal is not None and cal.param == "nprobe" and 1 <= cal.value <= 64
        assert cal.recall >= 0.98
        assert _recall(col, rows, queries) >= 0.97


def test_a_fixed_breadth_is_kept_and_targets_are_checked(tmp_path: Path) -> None:
    with Database(tmp_path / "db") as db:
        fixed = db.create_collection("f", dim=DIM, index_params={"ef_search": 40})
        assert "recall" not in fixed.index_params
        _add(fixed, _clustered(1200, seed=4))
        fixed.wait_for_index()
        assert fixed.info().calibration is None
        for bad in (0, 1.5, "high", True):
            with pytest.raises(InvalidParameterError, match="recall"):
                db.create_collection("x", dim=DIM, index_params={"recall": bad})
        with pytest.raises(InvalidParameterError, match="exactly"):
            db.create_collection("x", dim=DIM, index="flat", index_params={"recall": 0.9})
        col = db.create_collection("t", dim=DIM, index_params={"recall": 0.9})
        same = db.get_or_create_collection("t", dim=DIM, index_params={"recall": 0.9})
        assert same is col
        with pytest.raises(InvalidParameterError, match="index_params"):
            db.get_or_create_collection("t", dim=DIM, index_params={"recall": 0.95})
        assert db.get_collection("t").index_params["recall"] == 0.9


def test_a_write_returns_with_a_short_backlog(tmp_path: Path) -> None:
    rows = _clustered(6000, seed=5)
    with Database(tmp_path / "db") as db:
        col = db.create_collection("c", dim=DIM, index="hnsw", index_params={"M": 8})
        _add(col, rows)
        assert col.pending <= MAX_BACKLOG  # the writer indexed the excess itself
        assert col.query(rows[5999], k=1, include=()).ids == ("5999",)


def test_ef_grows_with_the_rows_until_the_next_calibration(tmp_path: Path) -> None:
    """A calibration comes at 1.5x growth, late under load: meanwhile queries searched with
    the ef measured on fewer rows (the GCIDE flow got recall 0.968 at a 0.98 target). The
    measured ef now grows in proportion to the rows; the kind's own value stays the floor;
    IVF's nprobe (a share of fixed cells) does not grow."""
    from dataclasses import replace

    from embedlab.store._calibrate import Calibration

    cal = Calibration("ef_search", 110, 0.98, 0.982, 31000, 256, 1.0, (), measured=110, floor=64)
    assert cal.breadth(10, 31000) == 110
    assert cal.breadth(10, 46500) == 165
    assert cal.breadth(20, 46500) == 330
    assert replace(cal, measured=30).breadth(10, 46500) == 64  # 45 is below the floor
    ivf = replace(cal, param="nprobe", value=24, measured=24, floor=16)
    assert ivf.breadth(10, 62000) == 24

    rows = _clustered(1500, seed=9)
    with Database(tmp_path / "db", background_indexing=False) as db:
        col = db.create_collection("c", dim=DIM, index="hnsw")
        _add(col, rows)
        state = col._impl.state  # type: ignore[attr-defined]
        state.calibration = replace(cal, value=100, measured=100, rows=1000)
        col.query(rows[0], k=10, include=())
        assert state.index._ef == 150  # 100 x 1,500 / 1,000 rows
