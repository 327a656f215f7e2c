"""What Word2Vec and FastText share: skip-gram/CBOW with negative sampling, one kernel.

The trainers differ only in how a word's input vector is made (its own row, or its row
and its character n-gram rows) and in what they return; both are a few lines over
:class:`NegativeSamplingTrainer`.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

import numpy as np

from embedlab._progress import ProgressCallback
from embedlab._validation import check_float, check_int
from embedlab.errors import InvalidParameterError, UnsupportedOptionError
from embedlab.text.corpus import Corpus, CorpusSource
from embedlab.text.encode import CorpusScan, scan_corpus
from embedlab.text.vocabulary import Vocabulary
from embedlab.train import _kernels
from embedlab.train._base import ThreadsParam, Trainer, check_matrix_memory
from embedlab.train._gensim_forms import translate
from embedlab.train._runner import run_epochs
from embedlab.vectors import WordVectors

__all__ = ["NegativeSamplingTrainer", "SgnsParams", "TrainingStats"]


@dataclass(frozen=True)
class SgnsParams(ThreadsParam):
    """Hyper-parameters shared by Word2Vec and FastText (gensim's defaults; CBOW unless sg)."""

    dim: int = 100
    window: int = 5
    min_count: int = 5
    max_vocab_size: int | None = None
    negative: int = 5
    ns_exponent: float = 0.75
    """Negatives are drawn with probability count ** ns_exponent (0: uniform; recommender
    work tunes it, Caselles-Dupré et al. 2018)."""
    sample: float = 1e-3
    sg: bool = False
    alpha: float = 0.025
    min_alpha: float = 0.0001
    epochs: int = 5
    threads: int = 0
    seed: int = 1

    def __post_init__(self) -> None:
        check_int("dim", self.dim)
        check_int("window", self.window)
        check_int("min_count", self.min_count)
        if self.max_vocab_size is not None:
            check_int("max_vocab_size", self.max_vocab_size)
        check_int("negative", self.negative)
        check_float("ns_exponent", self.ns_exponent, minimum=-10.0, maximum=10.0)
        check_float("sample", self.sample, maximum=1.0)
        check_float("alpha", self.alpha, inclusive_min=False)
        check_float("min_alpha", self.min_alpha, maximum=self.alpha)
        check_int("epochs", self.epochs)
        check_int("threads", self.threads, minimum=0)
        check_int("seed", self.seed, minimum=0)
        if not isinstance(self.sg, bool):
            raise InvalidParameterError(f"The 'sg' parameter must be a bool. Got {self.sg!r}.")


@dataclass(frozen=True)
class TrainingStats:
    """What a training call did and how fast.

    ``words_per_second`` is raw corpus words x epochs over the wall time of the whole
    call, vocabulary scan included, the way gensim reports it.
    """

    corpus_words: int
    words: int
    lines: int
    unique_words: int
    vocab_size: int
    trained_words: int
    replaced_bytes: int
    epochs: int
    scan_seconds: float
    seconds: float
    words_per_second: float
    losses: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)


P = TypeVar("P", bound=SgnsParams)
V = TypeVar("V", bound=WordVectors)


class NegativeSamplingTrainer(Trainer[P, V]):
    """Scan once, build the vocabulary, run the compiled kernel over every epoch.

    Subclasses set ``params_class`` and ``kind``, and give the input layout (the rows a
    word's input vector averages) and the vectors to return.
    """

    params_class: type[P]
    kind: str
    cache_lines = False
    """Inputs from subword rows (sub_offsets/sub_rows), cached per line; else a row per word."""

    def __init__(
        self,
        sentences: CorpusSource | Corpus | None = None,
        *,
        corpus_file: str | os.PathLike[str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**translate(params, kind=self.kind))
        self.output_vectors: np.ndarray | None = None
        self.stats: TrainingStats | None = None
        self._wv: V | None = None
        self._pending: CorpusSource | Corpus | None = None
        if sentences is not None and corpus_file is not None:
            raise InvalidParameterError("give sentences or corpus_file, not both")
        source = sentences if sentences is not None else corpus_file
        if source is not None:  # as gensim: a corpus given here trains at once
            self.train(source)

    # -- gensim's model surface ----------------------------------------------------------
    @property
    def wv(self) -> V:
        """The trained vectors (gensim's ``model.wv``); an error before training."""
        if self._wv is None:
            raise InvalidParameterError(
                f"this {type(self).__name__} has not been trained yet; call train(corpus) "
                "or pass sentences= to the constructor"
            )
        return self._wv

    @property
    def epochs(self) -> int:
        """Passes over the corpus (gensim reads ``model.epochs``)."""
        return self.params.epochs

    @property
    def corpus_count(self) -> int:
        """Lines (sentences) in the corpus, known once it has been scanned."""
        return self.stats.lines if self.stats else 0

    def build_vocab(self, corpus_iterable: CorpusSource | Corpus, **options: Any) -> None:
        """Remember the corpus for :meth:`train` (gensim's two-step form); the vocabulary
        is built by ``train`` in the same single pass as the id stream."""
        if options.get("update"):
            raise UnsupportedOptionError(
                "build_vocab(update=True) grows a trained vocabulary in gensim; "
                "train a new model on the whole corpus instead"
            )
        self._pending = corpus_iterable

    def train(
        self,
        corpus: CorpusSource | Corpus | None = None,
        *,
        progress: bool = False,
        callback: ProgressCallback | None = None,
        total_examples: int | None = None,
        total_words: int | None = None,
        epochs: int | None = None,
        **gensim_options: Any,
    ) -> V:
        """Train on the corpus (a path, an iterable of strings, or of token lists).

        gensim's ``train(corpus, total_examples=..., epochs=...)`` form works: the counts
        are not needed (one scan finds them) and ``epochs`` replaces the set number.
        Training an already trained model again (gensim's online training) is refused.
        """
        if corpus is None:
            corpus, self._pending = self._pending, None
        if corpus is None:
            raise InvalidParameterError("train() needs a corpus (or build_vocab(corpus) first)")
        unknown = set(gensim_options) - {
            "start_alpha",
            "end_alpha",
            "word_count",
            "queue_factor",
            "report_delay",
            "compute_loss",
        }
        if unknown or gensim_options.get("callbacks"):
            name = sorted(unknown or {"callbacks"})[0]
            raise UnsupportedOptionError(f"train(): the option {name!r} is not supported")
        if self._wv is not None:
            raise UnsupportedOptionError(
                "this model is trained already; continuing training on more text (gensim's "
                "online training) is not supported: train a new model on the whole corpus"
            )
        if epochs is not None and epochs != self.params.epochs:
            self.params = dataclasses.replace(self.params, epochs=epochs)
        for name, value in (("start_alpha", "alpha"), ("end_alpha", "min_alpha")):
            if gensim_options.get(name) is not None:
                self.params = dataclasses.replace(self.params, **{value: gensim_options[name]})
        return super().train(corpus, progress=progress, callback=callback)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the trained vectors and the settings as a model folder (no pickle)."""
        self.wv.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """A trainer holding the vectors of a folder written by :meth:`save`."""
        from embedlab.io import load_folder

        vectors = load_folder(path)
        stored = dict(vectors.config.get("params", {}))
        names = {f.name for f in dataclasses.fields(cls.params_class)}
        model = cls(**{k: v for k, v in stored.items() if k in names})
        model._wv = vectors  # type: ignore[assignment]  # the folder's own kind
        return model

    def _train(self, corpus: CorpusSource | Corpus, callback: ProgressCallback | None) -> V:
        p = self.params
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="embedlab-w2v-") as tmp:
            scan = scan_corpus(corpus, ids_path=Path(tmp) / "ids.i32", progress=callback)
            vocab, remap = Vocabulary.from_scan(
                scan, min_count=p.min_count, max_size=p.max_vocab_size
            )
            scan = scan.without_tokens()  # frees the interned runs before the weights exist
            check_matrix_memory(2 * len(vocab), p.dim, what="the input and output weights")
            rng = np.random.default_rng(p.seed)
            w_in, sub_offsets, sub_rows = self._input_layout(vocab, rng)
            w_out = np.zeros((len(vocab), p.dim), dtype=np.float32)
            kernel = self._kernel(vocab, remap, w_in, w_out, sub_offsets, sub_rows)
            result = run_epochs(
                scan,
                kernel,
                epochs=p.epochs,
                threads=p.resolved_threads,
                alpha=p.alpha,
                min_alpha=p.min_alpha,
                callback=callback,
                weights=(w_in, w_out),
            )
        seconds = time.perf_counter() - started
        self.vocab = vocab
        self.output_vectors = w_out
        self.stats = self._stats(scan, vocab, result.losses, result.trained_words, seconds)
        self._wv = self._vectors(vocab, w_in)
        return self._wv

    def _input_layout(
        self, vocab: Vocabulary, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(initial input matrix, sub_offsets, sub_rows): word w averages rows
        ``sub_rows[sub_offsets[w]:sub_offsets[w + 1]]`` of the input matrix."""
        raise NotImplementedError

    def _vectors(self, vocab: Vocabulary, w_in: np.ndarray) -> V:
        """The vectors to return once training is done."""
        raise NotImplementedError

    def _kernel(
        self,
        vocab: Vocabulary,
        remap: np.ndarray,
        w_in: np.ndarray,
        w_out: np.ndarray,
        sub_offsets: np.ndarray,
        sub_rows: np.ndarray,
    ) -> Any:
        p = self.params
        keep = vocab.keep_probabilities(p.sample)
        alias_prob, alias_idx = _kernels.build_alias(
            vocab.counts.astype(np.float64) ** p.ns_exponent
        )
        sig, logsig = _kernels.sigmoid_tables()
        window = min(p.window, 1 << 20)

        def kernel(tokens: np.ndarray, a0: float, a1: float, epoch: int, chunk: int) -> Any:
            return _kernels.train_chunk(
                tokens,
                remap,
                keep,
                w_in,
                w_out,
                sub_offsets,
                sub_rows,
                alias_prob,
                alias_idx,
                sig,
                logsig,
                window,
                p.negative,
                not p.sg,
                self.cache_lines,
                a0,
                a1,
                _kernels.chunk_seed(p.seed, epoch, chunk),
            )

        return kernel

    def _stats(
        self,
        scan: CorpusScan,
        vocab: Vocabulary,
        losses: tuple[float, ...],
        trained: int,
        seconds: float,
    ) -> TrainingStats:
        words = scan.words * self.params.epochs
        return TrainingStats(
            corpus_words=scan.words,
            words=words,
            lines=scan.lines,
            unique_words=vocab.unique_words,
            vocab_size=len(vocab),
            trained_words=trained,
            replaced_bytes=scan.replaced_bytes,
            epochs=self.params.epochs,
            scan_seconds=scan.seconds,
            seconds=seconds,
            words_per_second=words / max(seconds, 1e-9),
            losses=losses,
        )

    def _config(self) -> dict[str, Any]:
        from embedlab import __version__

        stats = self.stats.to_dict() if self.stats else {}
        stats["losses"] = list(stats.get("losses", ()))  # JSON has lists, not tuples
        return {
            "kind": self.kind,
            "architecture": "skipgram" if self.params.sg else "cbow",
            "params": dataclasses.asdict(self.params) | {"threads": self.params.resolved_threads},
            "corpus": {
                k: stats[k]
                for k in ("corpus_words", "lines", "unique_words", "vocab_size", "replaced_bytes")
                if k in stats
            },
            "training": {
                k: stats[k]
                for k in ("words", "trained_words", "seconds", "words_per_second", "losses")
                if k in stats
            },
            "library_version": __version__,
        }
