"""GloVe: global co-occurrence counts fitted by weighted least squares with AdaGrad.

The corpus is tokenized once (``scan_corpus``), the pairs within ``window`` are counted
with ``1/distance`` weights in bounded memory (``_cooccur``), then ``epochs`` passes of
AdaGrad fit ``w_i . w~_j + b_i + b~_j`` to ``log X_ij`` with weight
``f(X_ij) = min(1, (X_ij / x_max) ** alpha)`` (Pennington et al., 2014), on threads that
update the shared parameters hogwild (``_glove_kernels``).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlab._progress import GloVeEpochProgress, ProgressCallback
from embedlab._validation import StrEnumOption, check_float, check_int
from embedlab.errors import CorpusError, TrainingDivergedError
from embedlab.text.corpus import Corpus, CorpusSource
from embedlab.text.encode import scan_corpus
from embedlab.text.vocabulary import Vocabulary
from embedlab.train import _glove_kernels as kernels
from embedlab.train._base import ThreadsParam, Trainer, check_matrix_memory
from embedlab.train._cooccur import Cooccurrences, check_memory, count_cooccurrences
from embedlab.train._kernels import chunk_seed
from embedlab.train._runner import run_jobs
from embedlab.vectors import WordVectors

__all__ = ["GloVe", "GloVeOutput", "GloVeParams", "GloVeStats"]


class GloVeOutput(StrEnumOption):
    """Which vectors a GloVe run returns."""

    SUM = "sum"  # word + context vectors (Stanford's default, model 2)
    W = "w"  # word vectors only


@dataclass(frozen=True)
class GloVeParams(ThreadsParam):
    """Hyper-parameters of a GloVe run (Stanford's defaults where it has them)."""

    dim: int = 100
    window: int = 10
    min_count: int = 5
    max_vocab_size: int | None = None
    x_max: float = 100.0
    alpha: float = 0.75
    epochs: int = 15
    learning_rate: float = 0.05
    threads: int = 0
    memory_gb: float = 4.0
    seed: int = 1
    output: GloVeOutput | str = GloVeOutput.SUM

    def __post_init__(self) -> None:
        check_int("dim", self.dim)
        check_int("window", self.window, maximum=1 << 20)
        check_int("min_count", self.min_count)
        if self.max_vocab_size is not None:
            check_int("max_vocab_size", self.max_vocab_size)
        check_float("x_max", self.x_max, inclusive_min=False)
        check_float("alpha", self.alpha)
        check_int("epochs", self.epochs)
        check_float("learning_rate", self.learning_rate, inclusive_min=False)
        check_int("threads", self.threads, minimum=0)
        check_float("memory_gb", self.memory_gb, inclusive_min=False)
        check_int("seed", self.seed, minimum=0)
        object.__setattr__(self, "output", GloVeOutput.parse(self.output, name="output"))
        check_memory(self.memory_gb, self.window)

    @property
    def memory_bytes(self) -> int:
        """The counting budget in bytes."""
        return int(self.memory_gb * 2**30)


@dataclass(frozen=True)
class GloVeStats:
    """What a GloVe run did and how fast.

    ``pairs`` counts the distinct co-occurring (word, context) pairs; ``pairs_per_second``
    is pairs x epochs over the training seconds; ``costs`` holds each epoch's mean of
    ``0.5 f(x) (w.w~ + b + b~ - log x)^2`` per pair (what Stanford's glove prints).
    """

    corpus_words: int
    lines: int
    unique_words: int
    vocab_size: int
    pairs: int
    spills: int
    epochs: int
    scan_seconds: float
    count_seconds: float
    train_seconds: float
    seconds: float
    pairs_per_second: float
    costs: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (lists, not tuples)."""
        d = dataclasses.asdict(self)
        d["costs"] = list(self.costs)
        return d


class GloVe(Trainer[GloVeParams, WordVectors]):
    """Train GloVe word vectors from a corpus's co-occurrence counts.

    Example:
        >>> corpus = ["the cat sat on the mat", "the dog sat on the log"] * 50
        >>> wv = GloVe(dim=16, min_count=1, epochs=3, threads=1).train(corpus)
        >>> len(wv), wv.dim, wv.config["kind"]
        (7, 16, 'glove')
    """

    params_class = GloVeParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.stats: GloVeStats | None = None
        self._buffer_records: int | None = None  # tests force spills through these
        self._dense_entries: int | None = None

    def _train(
        self, corpus: CorpusSource | Corpus, callback: ProgressCallback | None
    ) -> WordVectors:
        p = self.params
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="embedlab-glove-") as tmp:
            work = Path(tmp)
            scan = scan_corpus(corpus, ids_path=work / "ids.i32", progress=callback)
            vocab, remap = Vocabulary.from_scan(
                scan, min_count=p.min_count, max_size=p.max_vocab_size
            )
            scan = scan.without_tokens()
            # vectors + biases and their AdaGrad sums, both sides, and the random start
            check_matrix_memory(6 * len(vocab), p.dim + 1, what="the GloVe parameters")
            pairs = count_cooccurrences(
                scan,
                remap,
                len(vocab),
                window=p.window,
                memory_bytes=p.memory_bytes,
                workdir=work,
                progress=callback,
                buffer_records=self._buffer_records,
                dense_entries=self._dense_entries,
            )
            if len(pairs) == 0:
                raise CorpusError(
                    f"no two of the {len(vocab)} vocabulary words occur within window="
                    f"{p.window} of each other on one line; nothing to train on"
                )
            trained = time.perf_counter()
            params = kernels.initial_params(len(vocab), p.dim, p.seed)
            costs = self._fit(pairs, params, work, callback)
            train_seconds = time.perf_counter() - trained
            vectors = params[: len(vocab), : p.dim].copy()
            if p.output == GloVeOutput.SUM:
                vectors += params[len(vocab) :, : p.dim]
            n_pairs = len(pairs)
            spills, count_seconds = pairs.spills, pairs.seconds
            del pairs, params
        self.vocab = vocab
        self.stats = GloVeStats(
            corpus_words=scan.words,
            lines=scan.lines,
            unique_words=vocab.unique_words,
            vocab_size=len(vocab),
            pairs=n_pairs,
            spills=spills,
            epochs=p.epochs,
            scan_seconds=scan.seconds,
            count_seconds=count_seconds,
            train_seconds=train_seconds,
            seconds=time.perf_counter() - started,
            pairs_per_second=n_pairs * p.epochs / max(train_seconds, 1e-9),
            costs=costs,
        )
        return WordVectors(vocab.keys, vectors, counts=vocab.counts, config=self._config())

    def _fit(
        self,
        pairs: Cooccurrences,
        params: np.ndarray,
        work: Path,
        callback: ProgressCallback | None,
    ) -> tuple[float, ...]:
        """Turn counts into (log x, f(x)), then run every (epoch, part) job on the threads."""
        p = self.params
        vocab_size = params.shape[0] // 2
        weight = pairs.values  # overwritten in place by f(x)
        log_x = np.lib.format.open_memmap(
            work / "log-values.npy", mode="w+", dtype=np.float32, shape=weight.shape
        )
        kernels.pair_weights(weight, p.x_max, p.alpha, log_x)
        n = len(pairs)
        n_blocks = -(-n // kernels.BLOCK)
        threads = p.resolved_threads
        parts = min(n_blocks, 4 * threads)
        jobs = [(e, q) for e in range(p.epochs) for q in range(parts)]
        orders: dict[int, np.ndarray] = {}
        cost_sum = [0.0] * p.epochs
        pairs_in_epoch = [0] * p.epochs
        started = time.perf_counter()
        done = 0

        def blocks_of(epoch: int, part: int) -> np.ndarray:
            if epoch not in orders:
                rng = np.random.default_rng([p.seed, epoch])
                orders[epoch] = rng.permutation(n_blocks).astype(np.int64)
            return np.array_split(orders[epoch], parts)[part]

        def run(epoch: int, part: int) -> tuple[int, float, int]:
            blocks = blocks_of(epoch, part)
            cost = kernels.train_blocks(
                pairs.rows,
                pairs.cols,
                log_x,
                weight,
                blocks,
                params,
                p.dim,
                vocab_size,
                p.learning_rate,
                chunk_seed(p.seed, epoch, part),
            )
            size = len(blocks) * kernels.BLOCK
            if len(blocks) and blocks.max() == n_blocks - 1:
                size -= n_blocks * kernels.BLOCK - n
            return epoch, cost, size

        def collect(result: tuple[int, float, int]) -> None:
            nonlocal done
            epoch, cost, size = result
            if not math.isfinite(cost):
                raise TrainingDivergedError(
                    f"GloVe training diverged in epoch {epoch + 1} of {p.epochs}: the cost "
                    f"became {cost}; lower learning_rate (got {p.learning_rate})"
                )
            cost_sum[epoch] += cost
            pairs_in_epoch[epoch] += size
            done += size
            if callback is not None:
                callback(
                    GloVeEpochProgress(
                        epoch=epoch,
                        epochs=p.epochs,
                        pairs_done=done,
                        pairs_total=n * p.epochs,
                        pairs_per_second=done / max(time.perf_counter() - started, 1e-9),
                        cost=cost_sum[epoch] / max(pairs_in_epoch[epoch], 1),
                    )
                )

        for epoch in range(p.epochs):  # draw every epoch's block order here, not on a worker
            blocks_of(epoch, 0)
        run_jobs(
            jobs, lambda job: run(*job), threads=threads, on_done=collect, name="embedlab-glove"
        )
        if not np.isfinite(params).all():
            raise TrainingDivergedError(
                f"GloVe training diverged: the parameters hold NaN or infinity; lower "
                f"learning_rate (got {p.learning_rate})"
            )
        return tuple(c / n for c in cost_sum)

    def _config(self) -> dict[str, Any]:
        from embedlab import __version__

        stats = self.stats.to_dict() if self.stats else {}
        params = dataclasses.asdict(self.params)
        params["output"] = str(self.params.output)
        params["threads"] = self.params.resolved_threads
        return {
            "kind": "glove",
            "params": params,
            "corpus": {
                k: stats[k]
                for k in ("corpus_words", "lines", "unique_words", "vocab_size")
                if k in stats
            },
            "cooccurrence": {
                "pairs": stats.get("pairs"),
                "spills": stats.get("spills"),
                "weighting": "1/distance",
                "symmetric": True,
                "seconds": stats.get("count_seconds"),
            },
            "training": {
                k: stats[k]
                for k in ("epochs", "train_seconds", "seconds", "pairs_per_second", "costs")
                if k in stats
            },
            "library_version": __version__,
        }
