"""How an :class:`~embedlab.encoders.onnx.OnnxEncoder` cuts one call's token sequences into
onnxruntime runs, and runs them: in turn on one session with every thread, or side by side
on one single-threaded session from several Python threads.

Two threads inside one run meet at every operator (each matrix product is split between
them and the faster waits for the slower); two runs side by side, one thread each, never
wait for each other. Measured on 2 cores (benchmarks/RESULTS.md, issue 11): interleaved in
one process on a quiet machine, 40 texts of 256-token windows took 1.52-1.54 s side by
side against 1.54-1.91 s in turn, while 1,000 short and 500 ~90-token texts ran 5% and 2%
slower side by side; but in benchmarks/encode.py runs beside other jobs, short texts in
turn fell to ~545 texts/s in about half the processes (likely: the two threads of a run wait for
each other whenever another process takes a core), where side by side held 690-740. So a
call of two or more runs (at least :data:`SIDE_BY_SIDE_FROM` tokens wide; 0: any) runs
them side by side; a call of one run (a query) runs on the multi-threaded session, where
every core shortens its latency. onnxruntime's ``run`` is thread-safe and releases the GIL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

__all__ = ["CUT_FROM", "SIDE_BY_SIDE_FROM", "TOKENS_PER_RUN", "plan_runs", "run_all"]

TOKENS_PER_RUN = 1024
"""Most padded tokens one run of wide sequences gets: a batch of long sequences is cut into
runs of at most this many tokens (4 windows of 256), which ran ~1.2x faster per token than
32 windows at once on 2 cores (the activations stay in cache). The vectors are the same but
for int8 noise (runs share one activation scale per matrix), cosine > 0.995 to uncut."""
CUT_FROM = 128
"""Batches narrower than this many tokens are not cut by tokens (small runs cost more
than they save)."""
SIDE_BY_SIDE_FROM = 0
"""Runs at least this many tokens wide go side by side when a call has two or more (0: all;
128 would keep short texts in turn, 5% faster on a quiet machine, far slower on a busy one)."""


def plan_runs(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices of the sequences, shortest first, grouped into onnxruntime runs.

    The sequences are sorted by length and cut into even batches of at most
    ``batch_size`` rows (35 rows in batches of 32 make 18 + 17, so that two runs side by
    side finish together); each batch at least :data:`CUT_FROM` tokens wide is cut again
    into even runs of at most :data:`TOKENS_PER_RUN` padded tokens. The plan does not
    depend on how many threads run it (int8 vectors depend a little on their run).

    Example:
        >>> plan_runs([5, 1, 3], batch_size=2)
        [[1, 2], [0]]
        >>> plan_runs([5, 1, 3, 2, 4], batch_size=4)
        [[1, 3, 2], [4, 0]]
        >>> [len(run) for run in plan_runs([256] * 10, batch_size=32)]  # 4 x 256 tokens at most
        [4, 3, 3]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    runs: list[list[int]] = []
    for batch in _even(order, -(-len(order) // batch_size)):
        width = lengths[batch[-1]]
        runs += _even(batch, -(-len(batch) * width // TOKENS_PER_RUN) if width >= CUT_FROM else 1)
    return runs


def _even(items: list[int], parts: int) -> list[list[int]]:
    """items cut into ``parts`` consecutive pieces whose sizes differ by at most one."""
    if not parts:
        return []
    size, extra = divmod(len(items), parts)
    cuts = [k * size + min(k, extra) for k in range(parts + 1)]
    return [items[a:b] for a, b in itertools.pairwise(cuts)]


def run_all(
    runs: list[list[int]],
    work: Callable[[list[int], bool], None],
    workers: int,
    in_turn: int = 0,
    show_progress: bool = False,
) -> None:
    """Call ``work(run, side_by_side)`` for every run, in order of ``runs``.

    The first ``in_turn`` runs go one after the other (``side_by_side`` False); the rest
    go to ``workers`` threads side by side (True) when there are two or more of them and
    ``workers > 1``, else in turn too. ``work`` must be safe to call from several threads
    at once (each run writes its own rows); its first error is raised here, once the runs
    already started have finished (the others are dropped).

    Example:
        >>> done = []
        >>> run_all([[0], [1, 2], [3, 4]], lambda run, side: done.append((run, side)), 2, 1)
        >>> sorted(done)
        [([0], False), ([1, 2], True), ([3, 4], True)]
    """
    rest = runs[in_turn:]
    together = workers > 1 and len(rest) > 1
    pool = ThreadPoolExecutor(max_workers=min(workers, len(rest))) if together else None

    def steps() -> Iterator[object]:
        for run in runs[: in_turn if pool is not None else len(runs)]:
            work(run, False)
            yield run
        if pool is not None:
            yield from pool.map(lambda run: work(run, True), rest)  # in order; first error

    try:
        _drain(steps(), len(runs), show_progress)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _drain(done: Iterator[object], total: int, show_progress: bool) -> None:
    """Consume the runs' results, with a progress bar on stderr when asked."""
    if show_progress:
        from rich.progress import track

        from embedlab._progress import stderr_console

        done = iter(track(done, description="encoding", total=total, console=stderr_console()))
    for _ in done:
        pass
