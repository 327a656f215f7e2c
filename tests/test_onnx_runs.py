"""How OnnxEncoder cuts a call into onnxruntime runs and runs them (no model needed)."""

from __future__ import annotations

import threading

import pytest

from embedlab.encoders._onnx_runs import CUT_FROM, TOKENS_PER_RUN, plan_runs, run_all


@pytest.mark.parametrize("batch_size", [1, 7, 32])
def test_runs_cover_every_sequence_once_within_the_bounds(batch_size: int) -> None:
    lengths = [(i * 37) % 256 + 1 for i in range(203)]
    runs = plan_runs(lengths, batch_size)
    assert sorted(i for run in runs for i in run) == list(range(len(lengths)))
    widths = [lengths[run[-1]] for run in runs]
    assert widths == sorted(widths)  # narrowest first
    for run in runs:
        assert 1 <= len(run) <= batch_size
        width = lengths[run[-1]]
        assert all(lengths[i] <= width for i in run)
        assert width < CUT_FROM or len(run) == 1 or len(run) * width <= TOKENS_PER_RUN


def test_batches_are_even_so_runs_side_by_side_finish_together() -> None:
    assert [len(run) for run in plan_runs([10] * 35, 32)] == [18, 17]
    assert [len(run) for run in plan_runs([256] * 7, 32)] == [4, 3]
    assert plan_runs([], 32) == []


def test_wide_runs_go_side_by_side_and_the_rest_in_turn() -> None:
    seen: list[tuple[int, bool, str]] = []
    lock = threading.Lock()

    def work(run: list[int], side: bool) -> None:
        with lock:
            seen.append((run[0], side, threading.current_thread().name))

    run_all([[0], [1], [2], [3], [4]], work, workers=2, in_turn=2)
    assert sorted((first, side) for first, side, _ in seen) == [
        (0, False),
        (1, False),
        (2, True),
        (3, True),
        (4, True),
    ]
    main = threading.current_thread().name
    assert {name for _, side, name in seen if not side} == {main}
    assert main not in {name for _, side, name in seen if side}
    seen.clear()
    run_all([[0], [1]], work, workers=1)  # one worker: all in turn, here
    assert {(side, name) for _, side, name in seen} == {(False, main)}


def test_the_first_error_of_a_run_side_by_side_is_raised() -> None:
    def work(run: list[int], side: bool) -> None:
        if run == [2]:
            raise ValueError("run 2 failed")

    with pytest.raises(ValueError, match="run 2 failed"):
        run_all([[0], [1], [2], [3]], work, workers=2)
