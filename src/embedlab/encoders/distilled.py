"""DistilledEncoder: a static token-embedding model distilled from a transformer (model2vec's
recipe), encoding with a tokenizer and numpy alone.

Distillation (:func:`distill`), stated once:

1. Every token of the model's vocabulary, except the special tokens other than padding and
   unknown (``[CLS]``, ``[SEP]``, ``[MASK]``) and those matching ``token_remove_pattern``
   (default ``[unusedN]``), runs through the transformer on its own, framed by the model's
   special tokens (``[CLS] token [SEP]``); its vector is the mean of the three output rows.
2. PCA (centred, by an eigendecomposition of the covariance) to ``pca_dims`` dimensions;
   each component's sign is set so that its largest score is positive. No reduction when
   ``pca_dims`` is ``None`` or not below the number of tokens.
3. Zipf / SIF weighting: the tokens' ids stand for frequency ranks (WordPiece and BPE
   vocabularies list frequent tokens first); the token at position ``i`` of the kept
   vocabulary gets ``p = (1 / (i + 2)) / sum`` and every vector is scaled by ``a / (a + p)``
   (``a = sif_coefficient``, 1e-4), so frequent tokens count less.

This is the pipeline of ``model2vec.distill`` (0.10) and gives the same vectors (up to float
rounding) when both keep the same tokens; tests/test_encoders_distilled.py checks it. Two
differences remain at encode time: a text's literal ``[CLS]`` / ``[SEP]`` / ``[MASK]`` is
dropped here (the original tokenizer still knows them as special tokens), while model2vec's
rewritten tokenizer splits them into ``[``, ``cl``, ``##s``, ``]``. Like model2vec, a text's
first 512 known tokens are read (``max_tokens``; chosen on the retrieval sets' dev splits).

Encoding: the model's own (Rust) tokenizer without special tokens; unknown and removed
tokens are skipped; a text's vector is the mean of its first ``max_tokens`` tokens' vectors;
a text with no token left is the zero vector. No torch at encode time. With a BERT-style
tokenizer each distinct whitespace-separated chunk is tokenized once and remembered, and
new chunks reach the tokenizer joined into long texts (tokenizing short strings one by one
costs it more per word): the tokens are those of the whole text, only found faster.

``static:minilm-distilled`` (see :func:`load_named`) is minilm distilled on first use and
cached under ``$EMBEDLAB_CACHE/static/`` (default ``~/.cache/embedlab/static/``), keyed by
a hash of minilm's files and the recipe: shipping the 30 MB of float32 vectors in the wheel
would triple its size for a one-time cost of a minute or two (``embedlab distill`` builds it
ahead of time). A folder is ``config.json`` (kind, base model, recipe, files hash),
``vectors.npy`` (float32, one row per token), ``vocab.txt`` (the tokens of the rows) and
``tokenizer.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_float, check_int
from embedlab.encoders._chunkwise import (
    CHUNK_CACHE,
    JOIN,
    SEPARATOR,
    WHITESPACE,
    chunkwise_tokenizer,
    ids_and_sizes,
    separator_id,
)
from embedlab.encoders._distill_steps import kept_tokens, pca, sif_weights, special_frame
from embedlab.encoders.base import check_texts
from embedlab.errors import FormatError, InvalidParameterError, MissingDependencyError
from embedlab.metrics import normalize as unit_rows

__all__ = ["DistillProgress", "DistilledEncoder", "distill", "load_named"]

FloatArray = npt.NDArray[np.float32]
KIND = "distilled-static"
MAX_TOKENS = 512
"""Tokens a :class:`DistilledEncoder` reads per text unless told otherwise (model2vec's)."""
RECIPE = 1
"""Version of the distillation recipe; bumping it moves the cache to fresh folders."""
NAMED = {"minilm-distilled": "minilm"}
"""``static:NAME`` → the registered transformer it is distilled from (on first use)."""
PIP_LINE = "pip install tokenizers  (it comes with 'embedlab[transformers]')"


@dataclass(frozen=True)
class DistillProgress:
    """Where a distillation stands: tokens run through the transformer so far."""

    tokens_done: int
    tokens_total: int


class DistilledEncoder:
    """Encode texts as the mean of distilled static token vectors (numpy only).

    Example:
        >>> enc = DistilledEncoder.load("my-distilled")  # doctest: +SKIP
        >>> enc = load_named("minilm-distilled")  # built once, then cached  # doctest: +SKIP
        >>> enc.encode(["a fast static encoder"], normalize=True).shape  # doctest: +SKIP
        (1, 256)
    """

    max_tokens: int | None
    """Tokens read per text (the first ones, unknown tokens not counted; ``None``: all).
    512 by default, as model2vec: on long texts the mean of the first 512 tokens retrieves
    better than the mean of all (tuned on the dev splits; see benchmarks/static.py)."""

    def __init__(
        self,
        vectors: FloatArray,
        tokens: Sequence[str],
        tokenizer: Any,
        *,
        name: str,
        config: dict[str, Any] | None = None,
        max_tokens: int | None = MAX_TOKENS,
    ) -> None:
        if max_tokens is not None:
            check_int("max_tokens", max_tokens)
        self.max_tokens = max_tokens
        if vectors.ndim != 2 or vectors.shape[0] != len(tokens):
            raise InvalidParameterError(
                f"number of tokens ({len(tokens)}) does not match number of vectors "
                f"({vectors.shape[0] if vectors.ndim == 2 else vectors.shape})"
            )
        self.vectors: FloatArray = np.ascontiguousarray(vectors, dtype=np.float32)
        self.tokens = list(tokens)
        self.name: str = name
        self.config: dict[str, Any] = dict(config or {})
        """What the folder's config.json records (base model, recipe, files hash)."""
        self.build_seconds = 0.0
        """Seconds :func:`load_named` spent distilling (0.0 when it came from the cache)."""
        self._tokenizer = tokenizer
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        size = max(int(tokenizer.get_vocab_size(with_added_tokens=True)), 1)
        row_of = np.full(size, -1, dtype=np.int64)
        for row, token in enumerate(self.tokens):
            token_id = tokenizer.token_to_id(token)
            if token_id is not None and token_id < size:
                row_of[token_id] = row
        unk = self.config.get("unk_token")
        if isinstance(unk, str) and tokenizer.token_to_id(unk) is not None:
            row_of[tokenizer.token_to_id(unk)] = -1  # unknown pieces carry no meaning
        self._row_of = row_of
        self._chunk_lock = threading.Lock()
        self._chunks: dict[str, int] | None = None
        """Chunk -> its index in the flat table (None: the tokenizer takes texts whole)."""
        self._chunk_starts = np.zeros(1, dtype=np.int64)
        self._chunk_flat = np.zeros(0, dtype=np.int64)
        self._separator_id: int | None = None
        if chunkwise_tokenizer(tokenizer):
            self._reset_chunks()
            self._separator_id = separator_id(tokenizer)

    @property
    def dim(self) -> int:
        """Number of dimensions of each vector."""
        return int(self.vectors.shape[1])

    def __repr__(self) -> str:
        return f"DistilledEncoder({self.name!r}, tokens={len(self.tokens)}, dim={self.dim})"

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
    ) -> FloatArray:
        """Encode texts as a float32 (n, dim) matrix: the mean of each text's token vectors.

        ``batch_size`` and ``show_progress`` are accepted for the protocol; encoding is one
        vectorised pass. A text with no known token is the zero vector.

        Example:
            >>> enc = load_named("minilm-distilled")  # doctest: +SKIP
            >>> enc.encode(["", "hello"]).any(axis=1).tolist()  # doctest: +SKIP
            [False, True]
        """
        items = check_texts(texts)
        check_int("batch_size", batch_size)
        if prompt is not None:
            if not isinstance(prompt, str):
                raise InvalidParameterError(
                    f"The 'prompt' parameter must be a str or None. Got {prompt!r}."
                )
            items = [prompt + text for text in items]
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        rows, lengths = self._rows(items)
        cut = self.max_tokens
        if cut is not None and len(lengths) and int(lengths.max()) > cut:
            position = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            rows, lengths = rows[position < cut], np.minimum(lengths, cut)
        owner = np.repeat(np.arange(len(items)), lengths)
        counts = lengths.astype(np.float32)
        # (texts x tokens) counts times the vectors: no (all tokens x dim) intermediate
        from scipy.sparse import csr_matrix

        ones = np.ones(len(owner), dtype=np.float32)
        bag = csr_matrix((ones, (owner, rows)), shape=(len(items), len(self.vectors)))
        sums = np.asarray(bag @ self.vectors, dtype=np.float32)
        nonzero = counts > 0
        out[nonzero] = sums[nonzero] / counts[nonzero, None]
        return unit_rows(out) if normalize else out

    def _rows(self, items: list[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(rows of the kept tokens of every text, one after another; kept tokens per text).

        With a tokenizer that splits at whitespace first and works on each piece alone
        (BERT's WordPiece: see :func:`chunkwise_tokenizer`), a text's tokens are its
        whitespace-separated chunks' tokens in turn, so each distinct chunk is tokenized
        once and remembered (up to ``CHUNK_CACHE`` chunks, then the memory starts over):
        a repeated word costs a dict look-up instead of a trip through the tokenizer.
        Otherwise the texts go to the tokenizer whole.
        """
        if self._chunks is None:
            ids, sizes = ids_and_sizes(self._tokenizer, items)
            rows = self._row_of[np.minimum(ids, self._last)]
            keep = rows >= 0
            owner = np.repeat(np.arange(len(items)), sizes)[keep]
            return rows[keep], np.bincount(owner, minlength=len(items)).astype(np.int64)
        split = WHITESPACE.split
        per_text = [split(text) for text in items]  # every text has one chunk or more
        with self._chunk_lock:
            known = self._chunks if self._chunks is not None else self._reset_chunks()
            new = list(set(chain.from_iterable(per_text)).difference(known))
            if len(known) + len(new) > CHUNK_CACHE:
                known = self._reset_chunks()
                new = list(set(chain.from_iterable(per_text)))
            if new:
                self._remember(known, new)
            chunk = np.fromiter(
                map(known.__getitem__, chain.from_iterable(per_text)),
                dtype=np.int64,
                count=sum(map(len, per_text)),
            )
            starts, flat = self._chunk_starts, self._chunk_flat
        sizes = starts[chunk + 1] - starts[chunk]
        shift = np.repeat(starts[chunk] - (np.cumsum(sizes) - sizes), sizes)
        rows = flat[np.arange(int(sizes.sum()), dtype=np.int64) + shift]
        first = np.cumsum([0] + [len(chunks) for chunks in per_text[:-1]])
        return rows, np.add.reduceat(sizes, first)

    def clear_cache(self) -> None:
        """Forget the remembered chunk tokens (the next texts go through the tokenizer).

        Example:
            >>> enc = load_named("minilm-distilled")  # doctest: +SKIP
            >>> enc.clear_cache()  # doctest: +SKIP
        """
        if self._chunks is not None:
            with self._chunk_lock:
                self._reset_chunks()

    def _reset_chunks(self) -> dict[str, int]:
        self._chunks = {}
        self._chunk_starts = np.zeros(1, dtype=np.int64)
        self._chunk_flat = np.zeros(0, dtype=np.int64)
        return self._chunks

    def _remember(self, known: dict[str, int], chunks: list[str]) -> None:
        """Tokenize new chunks; append their kept rows to the flat table (under the lock)."""
        chunks.sort(key=lambda c: SEPARATOR in c)  # joinable ones first (a stable sort)
        joinable = len(chunks) - sum(SEPARATOR in c for c in chunks)
        ids, sizes = self._joined_ids(chunks[:joinable])
        if joinable < len(chunks):
            more, more_sizes = ids_and_sizes(self._tokenizer, chunks[joinable:])
            ids, sizes = np.concatenate((ids, more)), np.concatenate((sizes, more_sizes))
        rows = self._row_of[np.minimum(ids, self._last)]
        keep = rows >= 0
        owner = np.repeat(np.arange(len(chunks)), sizes)[keep]
        kept = np.bincount(owner, minlength=len(chunks))
        base = len(self._chunk_starts) - 1
        self._chunk_starts = np.concatenate(
            (self._chunk_starts, self._chunk_starts[-1] + np.cumsum(kept))
        )
        self._chunk_flat = np.concatenate((self._chunk_flat, rows[keep]))
        known.update(zip(chunks, range(base, base + len(chunks)), strict=True))

    def _joined_ids(self, chunks: list[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Token ids of chunks (none holding the separator) and how many each has.

        Tokenizing many short strings one by one costs the tokenizer more per word than a
        long one, so chunks go ``JOIN`` at a time as one text ``"c1 | c2 | ... |"``: the
        separator is one token of its own, and the text splits back at those tokens. If
        the separators do not come back one per chunk, the chunks go one by one instead.
        """
        sep = self._separator_id
        if sep is None or not chunks:
            return ids_and_sizes(self._tokenizer, chunks)
        texts = [
            f" {SEPARATOR} ".join(chunks[i : i + JOIN]) + f" {SEPARATOR}"
            for i in range(0, len(chunks), JOIN)
        ]
        ids, _ = ids_and_sizes(self._tokenizer, texts)
        at = np.flatnonzero(ids == sep)
        if len(at) != len(chunks):
            return ids_and_sizes(self._tokenizer, chunks)
        sizes = np.diff(at, prepend=-1) - 1
        return ids[ids != sep], sizes

    @property
    def _last(self) -> int:
        return len(self._row_of) - 1

    # -- files ---------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder (config.json, vectors.npy, vocab.txt, tokenizer.json).

        Example:
            >>> load_named("minilm-distilled").save("minilm-static")  # doctest: +SKIP
            PosixPath('minilm-static')
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "vectors.npy", self.vectors, allow_pickle=False)
        (folder / "vocab.txt").write_text(
            "".join(token + "\n" for token in self.tokens), encoding="utf-8"
        )
        (folder / "tokenizer.json").write_text(self._tokenizer.to_str(), encoding="utf-8")
        config = {
            "kind": KIND,
            "name": self.name,
            **self.config,
            "dim": self.dim,
            "max_tokens": self.max_tokens,
        }
        (folder / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, name: str | None = None) -> DistilledEncoder:
        """Read a folder written by :meth:`save`; errors name the file that is wrong.

        Example:
            >>> DistilledEncoder.load("minilm-static").dim  # doctest: +SKIP
            256
        """
        folder = Path(path).expanduser()
        config = read_config(folder)
        if config is None:
            raise FormatError(
                f"not a distilled static model folder: expected config.json with kind {KIND!r}",
                path=str(folder),
            )
        tokenizers = _import_tokenizers()
        try:
            vectors = np.load(folder / "vectors.npy", allow_pickle=False)
            tokens = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
            tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (OSError, ValueError, Exception) as exc:
            raise FormatError(
                f"could not read the distilled model: {type(exc).__name__}: {exc}",
                path=str(folder),
            ) from exc
        label = name or str(config.get("name") or f"static:{folder}")
        cut = config.get("max_tokens", MAX_TOKENS)
        if cut is not None and (not isinstance(cut, int) or isinstance(cut, bool) or cut < 1):
            raise FormatError(
                f"config.json: max_tokens must be a positive integer or null; got {cut!r}",
                path=str(folder),
            )
        return cls(
            vectors.astype(np.float32),
            tokens,
            tokenizer,
            name=label,
            config=config,
            max_tokens=cut,
        )


def read_config(folder: Path) -> dict[str, Any] | None:
    """The folder's config.json if it is a distilled static model, else None."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) and config.get("kind") == KIND else None


def _import_tokenizers() -> Any:
    """Import the Rust tokenizers package, or say how to install it."""
    try:
        import tokenizers
    except ImportError as exc:
        raise MissingDependencyError(
            f"distilled static encoders need the tokenizers package; {PIP_LINE}"
        ) from exc
    return tokenizers


# -- distillation ----------------------------------------------------------------------------


def distill(
    model: str | os.PathLike[str] = "minilm",
    *,
    pca_dims: int | None = 256,
    sif_coefficient: float | None = 1e-4,
    token_remove_pattern: str | None = r"\[unused\d+\]",
    batch_size: int = 512,
    name: str | None = None,
    progress: Callable[[DistillProgress], None] | None = None,
) -> DistilledEncoder:
    """Distil a transformer (a registered name or a model folder) into a static encoder.

    Needs torch (the ``transformers`` extra); the result encodes without it. See the module
    docstring for the recipe; ``sif_coefficient=None`` turns the weighting off.

    Example:
        >>> enc = distill("minilm", pca_dims=256)  # a minute or two on 2 cores  # doctest: +SKIP
        >>> enc.dim, len(enc.tokens)  # doctest: +SKIP
        (256, 29525)
    """
    from embedlab import __version__
    from embedlab.encoders._loading import import_torch, load_model, locate

    if pca_dims is not None:
        pca_dims = check_int("pca_dims", pca_dims, minimum=1)
    if sif_coefficient is not None:
        sif_coefficient = check_float("sif_coefficient", sif_coefficient, inclusive_min=False)
        if sif_coefficient >= 1.0:
            raise InvalidParameterError(
                f"The 'sif_coefficient' parameter must be in (0, 1). Got {sif_coefficient}."
            )
    batch_size = check_int("batch_size", batch_size)
    try:
        remove = re.compile(token_remove_pattern) if token_remove_pattern else None
    except re.error as exc:
        raise InvalidParameterError(
            f"The 'token_remove_pattern' parameter must be a regular expression. "
            f"Got {token_remove_pattern!r} ({exc})."
        ) from None
    began = time.perf_counter()
    folder = locate(model)
    torch, _ = import_torch()
    st_model = load_model(folder, pooling=None, device="cpu")
    hf_tokenizer = st_model[0].tokenizer
    rust = getattr(hf_tokenizer, "backend_tokenizer", None)
    if rust is None:
        raise InvalidParameterError(
            f"distillation needs a fast (Rust) tokenizer; {folder.name!r} has "
            f"{type(hf_tokenizer).__name__}"
        )
    backend = _import_tokenizers().Tokenizer.from_str(rust.to_str())  # a copy to change
    backend.no_truncation()
    backend.no_padding()
    keep = {getattr(hf_tokenizer, "pad_token", None), getattr(hf_tokenizer, "unk_token", None)}
    tokens, ids = kept_tokens(backend, remove, {t for t in keep if isinstance(t, str)})
    prefix, suffix = special_frame(backend)
    network = st_model[0].auto_model.eval()
    sequences = np.array([[*prefix, i, *suffix] for i in ids], dtype=np.int64)
    raw = np.empty((len(ids), int(network.config.hidden_size)), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(ids), batch_size):
            batch = torch.from_numpy(sequences[start : start + batch_size])
            hidden = network(
                input_ids=batch,
                attention_mask=torch.ones_like(batch),
                token_type_ids=torch.zeros_like(batch),
            ).last_hidden_state
            raw[start : start + len(batch)] = hidden.float().mean(dim=1).numpy()
            if progress is not None:
                progress(DistillProgress(start + len(batch), len(ids)))
    vectors = pca(np.nan_to_num(raw).astype(np.float64), pca_dims)
    if sif_coefficient is not None:
        vectors *= sif_weights(len(vectors), sif_coefficient)[:, None]
    unk = getattr(hf_tokenizer, "unk_token", None)
    config = {
        "base_model": folder.name,
        "base_model_hash": files_hash(folder.path),
        "recipe": RECIPE,
        "pca_dims": pca_dims,
        "sif_coefficient": sif_coefficient,
        "token_remove_pattern": token_remove_pattern,
        "unk_token": unk,
        "seconds": round(time.perf_counter() - began, 3),
        "library_version": __version__,
    }
    label = name or f"static:{folder.name}-distilled"
    return DistilledEncoder(vectors.astype(np.float32), tokens, backend, name=label, config=config)


def files_hash(folder: Path) -> str:
    """sha256 (16 hex digits) of a model folder's weight, config and tokenizer files."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and re.search(r"\.(safetensors|bin|json|txt)$", path.name):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    """``$EMBEDLAB_CACHE/static``, else ``~/.cache/embedlab/static``.

    Example:
        >>> default_cache_dir().name
        'static'
    """
    from embedlab.encoders import onnx

    return onnx.default_cache_dir().parent / "static"


def cached_folder_name(name: str, base: Path) -> str:
    """The cache folder's name for a named encoder: name, recipe, hash of the base's files."""
    return f"{name}-r{RECIPE}-{files_hash(base)}"


def load_named(
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[DistillProgress], None] | None = None,
) -> DistilledEncoder:
    """The named distilled encoder (``minilm-distilled``), distilled once and then cached.

    Example:
        >>> enc = load_named("minilm-distilled")  # doctest: +SKIP
        >>> enc.name, enc.build_seconds > 0  # first use: built  # doctest: +SKIP
        ('static:minilm-distilled', True)
    """
    from embedlab.encoders._loading import locate

    if name not in NAMED:
        raise InvalidParameterError(
            f"unknown distilled encoder {name!r}; available: {', '.join(map(repr, NAMED))}"
        )
    base = locate(NAMED[name])
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = root / cached_folder_name(name, base.path)
    label = f"static:{name}"
    if read_config(folder) is not None:
        return DistilledEncoder.load(folder, name=label)
    began = time.perf_counter()
    encoder = distill(NAMED[name], name=label, progress=progress)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        encoder.save(staging)
        with contextlib.suppress(OSError):  # another process finished first: as good as ours
            staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    encoder.build_seconds = time.perf_counter() - began
    return encoder
