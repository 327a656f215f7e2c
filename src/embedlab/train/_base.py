"""What every trainer shares: keyword parameters checked into a frozen dataclass, the
thread count, and the switch between rich progress bars and a caller's callback."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Generic, TypeVar

from embedlab._log import get_logger
from embedlab._platform import available_cores
from embedlab._progress import ProgressCallback, rich_training_progress
from embedlab.errors import InvalidParameterError
from embedlab.text.corpus import Corpus, CorpusSource
from embedlab.text.vocabulary import Vocabulary
from embedlab.vectors import WordVectors

_log = get_logger(__name__)

P = TypeVar("P")
V = TypeVar("V", bound=WordVectors)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_matrix_memory(rows: int, dim: int, *, what: str) -> None:
    """Refuse, before allocating, float32 matrices of rows x dim that memory cannot hold.

    Example:
        >>> check_matrix_memory(2 * 1000, 100, what="the weights")
    """
    needed = rows * dim * 4
    available = available_memory()
    if available is not None and needed > available:
        raise InvalidParameterError(
            f"{what} need about {needed / 2**30:,.1f} GiB ({rows:,} rows x dim={dim:,} x 4 "
            f"bytes) but only {available / 2**30:,.1f} GiB of memory is available; "
            "lower dim (or raise min_count for a smaller vocabulary)"
        )


class ThreadsParam:
    """Mixin for parameter dataclasses with a ``threads`` field (0: every core)."""

    threads: int

    @property
    def resolved_threads(self) -> int:
        """threads, with 0 meaning every available core."""
        return self.threads or available_cores()


class Trainer(Generic[P, V]):
    """Base of the trainers: ``Trainer(**params)`` then ``train(corpus)``.

    Subclasses set ``params_class`` (a frozen dataclass that validates itself) and
    implement ``_train(corpus, callback)``.
    """

    params_class: type[P]

    def __init__(self, **params: Any) -> None:
        try:
            self.params: P = self.params_class(**params)
        except TypeError as exc:
            names = ", ".join(f.name for f in dataclasses.fields(self.params_class))  # type: ignore[arg-type]
            raise InvalidParameterError(f"{exc}; valid parameters are {names}") from None
        self.vocab: Vocabulary | None = None

    def train(
        self,
        corpus: CorpusSource | Corpus,
        *,
        progress: bool = False,
        callback: ProgressCallback | None = None,
    ) -> V:
        """Scan the corpus once, then train for ``epochs`` passes; return the word vectors.

        ``progress=True`` draws rich progress bars on stderr; ``callback`` receives the
        same events instead (scan progress, then per-chunk speed and loss or cost).
        """
        _log.info("training %s: %s", type(self).__name__, self.params)
        started = time.perf_counter()
        if progress and callback is None:
            with rich_training_progress() as draw:
                vectors = self._train(corpus, draw)
        else:
            vectors = self._train(corpus, callback)
        _log.info("trained %s in %.1f s", type(self).__name__, time.perf_counter() - started)
        return vectors

    def _train(self, corpus: CorpusSource | Corpus, callback: ProgressCallback | None) -> V:
        raise NotImplementedError
