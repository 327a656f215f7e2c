"""Runs a compiled chunk kernel over every (epoch, chunk) job on a pool of threads.

The kernels release the GIL, so threads update the shared matrices hogwild. Jobs are
handed out in order; with one thread the order (and so the result) is fixed. A Ctrl-C
stops handing out jobs, lets the running ones finish, and re-raises.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from embedlab._progress import EpochProgress, ProgressCallback
from embedlab.errors import TrainingDivergedError
from embedlab.text.encode import CorpusScan

J = TypeVar("J")
R = TypeVar("R")

ChunkKernel = Callable[[np.ndarray, float, float, int, int], tuple[float, int, int]]
"""(tokens, alpha_start, alpha_end, epoch, chunk) -> (loss sum, loss terms, words trained)."""


@dataclass(frozen=True)
class EpochLosses:
    """Mean loss per term for each epoch, and words trained after subsampling."""

    losses: tuple[float, ...]
    trained_words: int


def run_jobs(
    jobs: Sequence[J],
    work: Callable[[J], R],
    *,
    threads: int,
    on_done: Callable[[R], None],
    name: str = "embedlab-train",
) -> None:
    """Run work(job) for every job on a pool of threads, handing jobs out in order.

    At most 2 x threads jobs are in flight; on_done gets each result in the main thread as
    it arrives. An exception or Ctrl-C cancels the jobs not yet started, waits for the
    running ones, and propagates.
    """
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name) as pool:
        pending: set[Future[R]] = set()
        next_job = 0
        try:
            while next_job < len(jobs) or pending:
                while next_job < len(jobs) and len(pending) < 2 * threads:
                    pending.add(pool.submit(work, jobs[next_job]))
                    next_job += 1
                finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in finished:
                    on_done(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def run_epochs(
    scan: CorpusScan,
    kernel: ChunkKernel,
    *,
    epochs: int,
    threads: int,
    alpha: float,
    min_alpha: float,
    callback: ProgressCallback | None,
    weights: Sequence[np.ndarray] = (),
) -> EpochLosses:
    """Run kernel over every chunk of scan's id file, epochs times, on threads threads.

    Training that diverges stops with :class:`~embedlab.errors.TrainingDivergedError`: a
    chunk whose loss is not finite, or ``weights`` holding NaN or infinity once an epoch
    is done.
    """
    if scan.ids_path is None:
        raise ValueError("the scan has no id file to train on")
    ids_path = scan.ids_path
    bounds = scan.chunk_bounds
    words_before = np.concatenate([[0], np.cumsum(scan.chunk_words)])
    total = max(scan.words * epochs, 1)
    jobs = [(e, c) for e in range(epochs) for c in range(len(scan.chunk_words))]
    loss_sum = [0.0] * epochs
    loss_terms = [0] * epochs
    chunks_left = [len(scan.chunk_words)] * epochs

    def diverged(epoch: int, what: str) -> TrainingDivergedError:
        return TrainingDivergedError(
            f"training diverged in epoch {epoch + 1} of {epochs}: {what}; lower alpha (got {alpha})"
        )

    trained = 0
    done_words = 0
    started = time.perf_counter()

    def rate(done: int) -> float:
        return done / max(time.perf_counter() - started, 1e-9)

    def run(epoch: int, chunk: int) -> tuple[int, int, float, int, int]:
        start, stop = int(bounds[chunk]), int(bounds[chunk + 1])
        tokens = np.fromfile(ids_path, dtype=np.int32, count=stop - start, offset=4 * start)
        first = epoch * scan.words + int(words_before[chunk])
        last = first + int(scan.chunk_words[chunk])
        a0 = alpha - (alpha - min_alpha) * first / total
        a1 = alpha - (alpha - min_alpha) * last / total
        loss, terms, n_trained = kernel(tokens, a0, a1, epoch, chunk)
        return epoch, chunk, loss, terms, n_trained

    def collect(result: tuple[int, int, float, int, int]) -> None:
        nonlocal trained, done_words
        epoch, chunk, loss, terms, n_trained = result
        if not math.isfinite(loss):
            raise diverged(epoch, f"the loss of a chunk was {loss}")
        loss_sum[epoch] += loss
        loss_terms[epoch] += terms
        chunks_left[epoch] -= 1
        if chunks_left[epoch] == 0 and not all(np.isfinite(w).all() for w in weights):
            raise diverged(epoch, "the weights hold NaN or infinity")
        trained += n_trained
        done_words += int(scan.chunk_words[chunk])
        if callback is not None:
            callback(
                EpochProgress(
                    epoch=epoch,
                    epochs=epochs,
                    words_done=done_words,
                    words_total=scan.words * epochs,
                    words_per_second=rate(done_words),
                    loss=loss_sum[epoch] / max(loss_terms[epoch], 1),
                )
            )

    run_jobs(jobs, lambda job: run(*job), threads=threads, on_done=collect)
    losses = tuple(s / max(t, 1) for s, t in zip(loss_sum, loss_terms, strict=True))
    return EpochLosses(losses=losses, trained_words=trained)
