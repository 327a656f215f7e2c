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
from embedlab.train._online import grow_vocabulary
from embedlab.train._runner import run_epochs
from embedlab.vectors import WordVectors

__all__ = ["NegativeSamplingTrainer", "SgnsParams", "TrainingStats"]

OUTPUT_FILE = "output_vectors.npy"  # beside a saved model's vectors: lets it train further


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
    resumable = False
    """save() keeps the output weights and load() restores them (one input row per word)."""

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
        self._input_weights: np.ndarray | None = None  # kept for training further
        self._grow = False  # build_vocab(update=True): the next train adds new words
        self._sessions = 0
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

    def build_vocab(
        self, corpus_iterable: CorpusSource | Corpus, update: bool = False, **options: Any
    ) -> None:
        """Remember the corpus for :meth:`train` (gensim's two-step form); the vocabulary
        is built by ``train`` in the same single pass as the id stream.

        ``update=True`` (gensim's online training) on a trained model: the next ``train``
        on this corpus adds its words seen ``min_count`` times (fresh vectors, after the
        old words) and trains old and new vectors further. Without ``update`` a trained
        model starts over, as in gensim.

        Example:
            >>> from embedlab.train import Word2Vec
            >>> model = Word2Vec(["a b c a b"] * 20, vector_size=8, min_count=1, workers=1)
            >>> more = [["a", "new", "b"]] * 20
            >>> model.build_vocab(more, update=True)
            >>> _ = model.train(more, total_examples=model.corpus_count, epochs=model.epochs)
            >>> "new" in model.wv, len(model.wv)
            (True, 4)
        """
        if not isinstance(update, bool):
            raise InvalidParameterError(f"update must be a bool; got {update!r}")
        if update and self._wv is None:
            raise InvalidParameterError(
                "build_vocab(update=True) grows the vocabulary of a trained model; this "
                f"{type(self).__name__} has not been trained yet (call build_vocab(corpus) "
                "and train first)"
            )
        if update:
            self._check_trainable()
        else:  # a new vocabulary: the next train starts over
            self._wv = self._input_weights = self.output_vectors = None
            self.vocab = None
        self._grow = update
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
        On a trained model this trains its vectors further on the corpus (gensim's online
        training; words it does not know are skipped unless ``build_vocab(corpus,
        update=True)`` came first, which adds them).
        """
        pending = self._pending
        if corpus is None:
            corpus = pending
        if corpus is None:
            raise InvalidParameterError("train() needs a corpus (or build_vocab(corpus) first)")
        if self._grow and pending is not None and not _same_corpus(corpus, pending):
            raise UnsupportedOptionError(
                "build_vocab(update=True) and train() were given different corpora; the new "
                "words come from the corpus train() reads: give both the same corpus"
            )
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
            self._check_trainable()
        if epochs is not None and epochs != self.params.epochs:
            self.params = dataclasses.replace(self.params, epochs=epochs)
        rates = {
            ours: gensim_options[theirs]
            for theirs, ours in (("start_alpha", "alpha"), ("end_alpha", "min_alpha"))
            if gensim_options.get(theirs) is not None
        }
        if rates:  # both at once: each is checked against the other
            self.params = dataclasses.replace(self.params, **rates)
        self._pending = None
        return super().train(corpus, progress=progress, callback=callback)

    def _check_trainable(self) -> None:
        if self._input_weights is None or self.output_vectors is None or self.vocab is None:
            raise UnsupportedOptionError(
                f"this {type(self).__name__} holds vectors loaded from a folder, without the "
                "output weights training needs; online training works on a model trained in "
                "this process: train a new model on the whole corpus"
            )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the trained vectors and the settings as a model folder (no pickle).

        A Word2Vec trained in this process also saves its output weights
        (``output_vectors.npy``), so the loaded model can be trained further."""
        self.wv.save(path)
        weights = self.output_vectors
        if self.resumable and weights is not None and self.vocab is not None:
            with open(Path(path) / OUTPUT_FILE, "wb") as f:
                np.save(f, weights, allow_pickle=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """A trainer holding the vectors of a folder written by :meth:`save`."""
        from embedlab.io import load_folder

        vectors = load_folder(path)
        stored = dict(vectors.config.get("params", {}))
        names = {f.name for f in dataclasses.fields(cls.params_class)}
        model = cls(**{k: v for k, v in stored.items() if k in names})
        model._wv = vectors  # type: ignore[assignment]  # the folder's own kind
        output = Path(path) / OUTPUT_FILE
        if cls.resumable and output.is_file() and vectors.counts is not None:
            weights = np.load(output, allow_pickle=False)
            if weights.shape == vectors.vectors.shape and weights.dtype == np.float32:
                p = model.params
                model.vocab = Vocabulary(
                    vectors.keys,
                    vectors.counts,
                    total_words=int(vectors.counts.sum()),
                    unique_words=len(vectors),
                    min_count=p.min_count,
                    max_size=p.max_vocab_size,
                )
                model._input_weights = np.array(vectors.vectors, dtype=np.float32)
                model.output_vectors = weights
        return model

    def _train(self, corpus: CorpusSource | Corpus, callback: ProgressCallback | None) -> V:
        p = self.params
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="embedlab-w2v-") as tmp:
            scan = scan_corpus(corpus, ids_path=Path(tmp) / "ids.i32", progress=callback)
            old_vocab, old_in, old_out = self.vocab, self._input_weights, self.output_vectors
            if old_vocab is None or old_in is None or old_out is None:
                vocab, remap = Vocabulary.from_scan(
                    scan, min_count=p.min_count, max_size=p.max_vocab_size
                )
            else:  # online training: the old vocabulary, grown if build_vocab(update=True)
                vocab, remap = grow_vocabulary(
                    old_vocab, scan, min_count=p.min_count, add_new=self._grow
                )
            scan = scan.without_tokens()  # frees the interned runs before the weights exist
            check_matrix_memory(2 * len(vocab), p.dim, what="the input and output weights")
            rng = np.random.default_rng([p.seed, self._sessions])
            memo = self._layout_memo()
            w_in, sub_offsets, sub_rows = self._input_layout(vocab, rng)
            w_out = np.zeros((len(vocab), p.dim), dtype=np.float32)
            if old_vocab is not None and old_in is not None and old_out is not None:
                self._carry_over(w_in, old_in, len(old_vocab), len(vocab), memo)
                w_out[: len(old_vocab)] = old_out
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
        self._input_weights = w_in
        self._grow = False
        self._sessions += 1
        self.stats = self._stats(scan, vocab, result.losses, result.trained_words, seconds)
        self._wv = self._vectors(vocab, w_in)
        return self._wv

    def _input_layout(
        self, vocab: Vocabulary, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(initial input matrix, sub_offsets, sub_rows): word w averages rows
        ``sub_rows[sub_offsets[w]:sub_offsets[w + 1]]`` of the input matrix."""
        raise NotImplementedError

    def _layout_memo(self) -> Any:
        """What :meth:`_carry_over` needs of the old layout (read before a new one)."""
        return None

    def _carry_over(
        self, w_in: np.ndarray, old: np.ndarray, n_old: int, n_new: int, memo: Any
    ) -> None:
        """Copy the trained rows of ``old`` into a new layout's ``w_in``: the old words
        keep their rows (the first ``n_old``); new rows keep their fresh values."""
        w_in[:n_old] = old[:n_old]

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


def _same_corpus(a: object, b: object) -> bool:
    """True when two corpus arguments name the same corpus (one object, or equal paths or
    equal lists of sentences)."""
    if a is b:
        return True
    plain = (str, os.PathLike, list, tuple)
    return isinstance(a, plain) and isinstance(b, plain) and bool(a == b)
