"""Doc2Vec (Le and Mikolov 2014): a vector per document, trained beside word vectors.

Both forms run on the SGNS kernel Word2Vec uses (``_kernels.train_lines``), with each
document's row appended to the input matrix after the words' rows:

* PV-DM (``dm=True``): the mean of the document's row and the window's word rows
  predicts the centre word (CBOW with one more input);
* PV-DBOW (``dm=False``): the document's row alone predicts each of its words; with
  ``dbow_words=True`` the words also train skip-gram on their windows, sharing the
  negatives with the document's prediction.

A document is a line of the corpus. Its key is its line number (``"0"``, ``"1"``, ...)
unless ``tags`` names each line; lines given the same tag train one shared vector.
:meth:`DocVectors.infer_vector` trains a new document's row against the frozen words and
output weights, as gensim's ``infer_vector`` does.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._progress import ProgressCallback, rich_training_progress
from embedlab._validation import check_float, check_int
from embedlab.errors import FormatError, InvalidParameterError
from embedlab.text.corpus import Corpus, CorpusSource
from embedlab.text.encode import scan_corpus
from embedlab.text.vocabulary import Vocabulary
from embedlab.train import _kernels
from embedlab.train._base import ThreadsParam, check_matrix_memory
from embedlab.train._runner import run_epochs
from embedlab.train._sgns import TrainingStats
from embedlab.vectors import WordVectors

__all__ = ["Doc2Vec", "Doc2VecParams", "DocVectors"]

WORDS_FOLDER = "words"
OUTPUT_FILE = "output.npy"


@dataclass(frozen=True)
class Doc2VecParams(ThreadsParam):
    """Hyper-parameters of a Doc2Vec run (gensim's defaults: PV-DM, 10 epochs)."""

    dim: int = 100
    dm: bool = True
    dbow_words: bool = False
    dbow_share: int = 1
    """Plain PV-DBOW: consecutive words of a document predicted together with one draw of
    negatives (1: a draw per word, as gensim; more trains faster, see benchmarks/RESULTS.md)."""
    window: int = 5
    min_count: int = 5
    max_vocab_size: int | None = None
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 0.0001
    epochs: int = 10
    threads: int = 0
    seed: int = 1

    def __post_init__(self) -> None:
        check_int("dim", self.dim)
        check_int("dbow_share", self.dbow_share, maximum=64)
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
        for name in ("dm", "dbow_words"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterError(
                    f"The {name!r} parameter must be a bool. Got {getattr(self, name)!r}."
                )

    @property
    def word_context(self) -> bool:
        """Whether window words are inputs too (PV-DM, or PV-DBOW with word training)."""
        return self.dm or self.dbow_words


class DocVectors(WordVectors):
    """Document vectors keyed by document tag, with what inferring new ones needs.

    It is a :class:`~embedlab.vectors.WordVectors` over the documents (``most_similar``
    finds similar documents), plus ``words`` (the word vectors; in plain PV-DBOW they
    are never trained) and the output weights. ``save`` writes an embedlab folder that
    :meth:`WordVectors.load` reads as the document vectors alone.

    Example:
        >>> docs = ["the cat sat on the mat", "a dog ran in the park"] * 20
        >>> dv = Doc2Vec(dim=8, min_count=1, epochs=2, threads=1).train(docs)
        >>> len(dv), dv.infer_vector("the cat sat").shape
        (40, (8,))
    """

    def __init__(
        self,
        keys: Sequence[str],
        vectors: npt.ArrayLike,
        *,
        words: WordVectors,
        output: np.ndarray,
        params: Doc2VecParams,
        counts: npt.ArrayLike | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(keys, vectors, counts=counts, config=config)
        if words.counts is None:
            raise InvalidParameterError("Doc2Vec's word vectors need their corpus counts")
        if output.shape != words.vectors.shape:
            raise FormatError(
                f"the output weights have shape {output.shape}; "
                f"the word vectors {words.vectors.shape}"
            )
        self.words = words
        self.output = np.ascontiguousarray(output, dtype=np.float32)
        self.params = params

    def infer_vector(
        self, text: str | Sequence[str], *, epochs: int | None = None, seed: int = 0
    ) -> np.ndarray:
        """Train a vector for a new document (a string, or its tokens) against the model.

        The words and output weights stay frozen; ``epochs`` defaults to training's.
        Unknown words are ignored; a document with none gets its random initial vector.

        Example:
            >>> dv.infer_vector("a new document about cats")  # doctest: +SKIP
        """
        vector: np.ndarray = self.infer_vectors([text], epochs=epochs, seed=seed)[0]
        return vector

    def infer_vectors(
        self,
        texts: Iterable[str | Sequence[str]],
        *,
        epochs: int | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """:meth:`infer_vector` for many documents at once: an (n, dim) matrix.

        Example:
            >>> dv.infer_vectors(["first text", "second text"]).shape  # doctest: +SKIP
            (2, 100)
        """
        p = self.params
        n_epochs = p.epochs if epochs is None else check_int("epochs", epochs)
        index = self.words.key_to_index
        ids: list[int] = []
        n_docs = 0
        for text in texts:
            words = next(iter(Corpus([text]))) if isinstance(text, str) else list(text)
            ids.extend(index[t] for t in words if t in index)
            ids.append(-1)
            n_docs += 1
        n_words = len(self.words)
        rng = np.random.default_rng([p.seed, seed])
        rows = (rng.random((n_docs, p.dim), dtype=np.float32) * 2 - 1) / np.float32(p.dim)
        if n_docs == 0:
            empty: np.ndarray = rows
            return empty
        w_in = np.concatenate([self.words.vectors, rows])
        tokens = np.asarray(ids, dtype=np.int32)
        kernel = _Kernel(self.words.counts, self.output, w_in, p)  # type: ignore[arg-type]
        line_rows = np.arange(n_words, n_words + n_docs, dtype=np.int64)
        for epoch in range(n_epochs):
            a0 = p.alpha - (p.alpha - p.min_alpha) * epoch / n_epochs
            a1 = p.alpha - (p.alpha - p.min_alpha) * (epoch + 1) / n_epochs
            kernel(
                tokens, a0, a1, _kernels.chunk_seed(p.seed + seed, epoch, 0), line_rows,
                word_context=p.dm, frozen_rows=n_words, learn_out=False,
            )  # fmt: skip
        result: np.ndarray = w_in[n_words:]
        return result

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save as an embedlab folder: the document vectors, plus ``words/`` and the
        output weights (written beside it, then renamed into place).

        Example:
            >>> dv.save("doc-model")  # doctest: +SKIP
        """
        from embedlab.io import check_folder_path, save_folder
        from embedlab.io._folder import _swap_into_place

        target = check_folder_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            config = dict(self.config) | {"doc2vec": dataclasses.asdict(self.params)}
            save_folder(
                WordVectors(self.keys, self.vectors, counts=self.counts, config=config), tmp
            )
            save_folder(self.words, tmp / WORDS_FOLDER)
            np.save(tmp / OUTPUT_FILE, self.output, allow_pickle=False)
            _swap_into_place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str], mmap: str | None = None) -> DocVectors:
        """Load a folder written by :meth:`save` (``mmap="r"`` maps the document vectors).

        Example:
            >>> dv = DocVectors.load("doc-model")  # doctest: +SKIP
        """
        from embedlab.io import load_folder

        if mmap not in (None, "r"):
            raise InvalidParameterError(f"The 'mmap' parameter must be None or 'r'. Got {mmap!r}.")
        docs = load_folder(path, mmap=mmap == "r")
        saved = docs.config.get("doc2vec")
        if not isinstance(saved, dict):
            raise FormatError(
                "not a Doc2Vec folder: its config has no 'doc2vec' section", path=os.fspath(path)
            )
        output_path = Path(path) / OUTPUT_FILE
        if not output_path.is_file():
            raise FormatError(f"the Doc2Vec folder lacks {OUTPUT_FILE}", path=os.fspath(path))
        config = {k: v for k, v in docs.config.items() if k != "doc2vec"}
        return cls(
            docs.keys,
            docs.vectors,
            words=load_folder(Path(path) / WORDS_FOLDER),
            output=np.load(output_path, allow_pickle=False),
            params=Doc2VecParams(**saved),
            counts=docs.counts,
            config=config,
        )


class _Kernel:
    """train_lines bound to one model's weights and sampling tables."""

    def __init__(
        self, counts: np.ndarray, w_out: np.ndarray, w_in: np.ndarray, p: Doc2VecParams
    ) -> None:
        n = len(counts)
        c = counts.astype(np.float64)
        if p.sample == 0:
            self.keep = np.ones(n, dtype=np.float32)
        else:
            threshold = p.sample * c.sum()
            self.keep = np.minimum((np.sqrt(c / threshold) + 1.0) * threshold / c, 1.0).astype(
                np.float32
            )
        self.alias_prob, self.alias_idx = _kernels.build_alias(c**p.ns_exponent)
        self.sig, self.logsig = _kernels.sigmoid_tables()
        self.remap = np.arange(n, dtype=np.int32)
        self.sub_offsets = np.arange(n + 1, dtype=np.int64)
        self.sub_rows = np.arange(n, dtype=np.int32)
        self.w_in, self.w_out, self.p = w_in, w_out, p

    def __call__(
        self,
        tokens: np.ndarray,
        a0: float,
        a1: float,
        seed: np.uint64,
        line_rows: np.ndarray,
        *,
        first_line: int = 0,
        word_context: bool,
        frozen_rows: int = 0,
        learn_out: bool = True,
        remap: np.ndarray | None = None,
    ) -> tuple[float, int, int]:
        p = self.p
        return _kernels.train_lines(
            tokens, self.remap if remap is None else remap, self.keep, self.w_in, self.w_out,
            self.sub_offsets, self.sub_rows, self.alias_prob, self.alias_idx, self.sig,
            self.logsig, p.window, p.negative, p.dm, False, a0, a1, seed, line_rows,
            first_line, word_context, frozen_rows, learn_out, p.dbow_share, False,
        )  # fmt: skip


class Doc2Vec:
    """Train document vectors (PV-DM or PV-DBOW) on a corpus, one document a line.

    Example:
        >>> docs = ["the cat sat on the mat", "a dog ran in the park"] * 20
        >>> dv = Doc2Vec(dim=8, dm=False, min_count=1, epochs=2, threads=1).train(docs)
        >>> dv.keys[:3], dv.dim
        (['0', '1', '2'], 8)
    """

    def __init__(self, **params: Any) -> None:
        try:
            self.params = Doc2VecParams(**params)
        except TypeError as exc:
            names = ", ".join(f.name for f in dataclasses.fields(Doc2VecParams))
            raise InvalidParameterError(f"{exc}; valid parameters are {names}") from None
        self.vocab: Vocabulary | None = None
        self.stats: TrainingStats | None = None

    def train(
        self,
        corpus: CorpusSource | Corpus,
        *,
        tags: Sequence[str] | None = None,
        progress: bool = False,
        callback: ProgressCallback | None = None,
    ) -> DocVectors:
        """Scan the corpus once, train ``epochs`` passes; return the document vectors.

        ``tags`` gives each line's document key (one per line, repeats share a vector);
        by default line i's key is ``str(i)``. An empty corpus, or one where no word
        reaches ``min_count``, raises :class:`~embedlab.errors.CorpusError`.
        """
        if progress and callback is None:
            with rich_training_progress() as draw:
                return self._train(corpus, tags, draw)
        return self._train(corpus, tags, callback)

    def _train(
        self,
        corpus: CorpusSource | Corpus,
        tags: Sequence[str] | None,
        callback: ProgressCallback | None,
    ) -> DocVectors:
        p = self.params
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="embedlab-d2v-") as tmp:
            scan = scan_corpus(corpus, ids_path=Path(tmp) / "ids.i32", progress=callback)
            vocab, remap = Vocabulary.from_scan(
                scan, min_count=p.min_count, max_size=p.max_vocab_size
            )
            scan = scan.without_tokens()
            keys, line_docs = _document_keys(tags, scan.lines)
            n_words = len(vocab)
            check_matrix_memory(2 * n_words + len(keys), p.dim, what="the weights")
            rng = np.random.default_rng(p.seed)
            w_in = (rng.random((n_words + len(keys), p.dim), dtype=np.float32) * 2 - 1) / (
                np.float32(p.dim)
            )
            w_out = np.zeros((n_words, p.dim), dtype=np.float32)
            kernel = _Kernel(vocab.counts, w_out, w_in, p)
            line_rows = line_docs + n_words
            lines_before = np.concatenate(
                [[0], np.cumsum(np.diff(scan.chunk_bounds) - scan.chunk_words)]
            )

            def chunk_kernel(
                tokens: np.ndarray, a0: float, a1: float, epoch: int, chunk: int
            ) -> tuple[float, int, int]:
                return kernel(
                    tokens, a0, a1, _kernels.chunk_seed(p.seed, epoch, chunk), line_rows,
                    first_line=int(lines_before[chunk]), word_context=p.word_context,
                    remap=remap,
                )  # fmt: skip

            result = run_epochs(
                scan,
                chunk_kernel,
                epochs=p.epochs,
                threads=p.resolved_threads,
                alpha=p.alpha,
                min_alpha=p.min_alpha,
                callback=callback,
                weights=(w_in, w_out),
            )
        seconds = time.perf_counter() - started
        self.vocab = vocab
        words = scan.words * p.epochs
        self.stats = TrainingStats(
            corpus_words=scan.words,
            words=words,
            lines=scan.lines,
            unique_words=vocab.unique_words,
            vocab_size=n_words,
            trained_words=result.trained_words,
            replaced_bytes=scan.replaced_bytes,
            epochs=p.epochs,
            scan_seconds=scan.seconds,
            seconds=seconds,
            words_per_second=words / max(seconds, 1e-9),
            losses=result.losses,
        )
        from embedlab import __version__

        config = {
            "kind": "doc2vec",
            "architecture": "pv-dm" if p.dm else "pv-dbow",
            "training": self.stats.to_dict() | {"losses": list(result.losses)},
            "library_version": __version__,
        }
        word_vectors = WordVectors(vocab.keys, w_in[:n_words], counts=vocab.counts)
        doc_counts = np.bincount(line_docs, minlength=len(keys))
        return DocVectors(
            keys,
            w_in[n_words:],
            words=word_vectors,
            output=w_out,
            params=p,
            counts=doc_counts,
            config=config,
        )


def _document_keys(tags: Sequence[str] | None, lines: int) -> tuple[list[str], np.ndarray]:
    """(document keys, each line's document number)."""
    if tags is None:
        return [str(i) for i in range(lines)], np.arange(lines, dtype=np.int64)
    if isinstance(tags, str):
        raise InvalidParameterError("tags must be a sequence of strings (one per line), not a str")
    tag_list = [str(t) for t in tags]
    if len(tag_list) != lines:
        raise InvalidParameterError(
            f"tags must name every line of the corpus: got {len(tag_list):,} tags "
            f"for {lines:,} lines"
        )
    index: dict[str, int] = {}
    line_docs = np.fromiter(
        (index.setdefault(t, len(index)) for t in tag_list), dtype=np.int64, count=lines
    )
    return list(index), line_docs
