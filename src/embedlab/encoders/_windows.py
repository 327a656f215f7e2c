"""Token windows over inputs longer than a model reads in one pass."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.encoders._st_forms import SentenceHabits, read_form, shape_output
from embedlab.encoders.base import EncodeStats, check_texts
from embedlab.errors import InvalidParameterError
from embedlab.metrics import normalize as unit_rows

__all__ = ["WindowPlanning", "pool_windows", "window_spans"]


def window_spans(n: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Spans ``[start, end)`` of at most ``size`` tokens covering ``range(n)``.

    Consecutive windows share at least ``overlap`` tokens; the last window ends at ``n``
    and is full size (it may overlap its neighbour by more), so no window is a stub.

    Example:
        >>> window_spans(10, 4, 1)
        [(0, 4), (3, 7), (6, 10)]
        >>> window_spans(3, 4, 1)
        [(0, 3)]
    """
    if size < 1 or not 0 <= overlap < size:
        raise InvalidParameterError(
            f"token windows need size >= 1 and 0 <= overlap < size. "
            f"Got size={size}, overlap={overlap}."
        )
    if n <= size:
        return [(0, n)]
    step = size - overlap
    spans = []
    start = 0
    while start + size < n:
        spans.append((start, start + size))
        start += step
    spans.append((n - size, n))
    return spans


def pool_windows(
    count: int, dim: int, rows: npt.NDArray[Any] | None, owners: list[int]
) -> npt.NDArray[np.float32]:
    """Each text's vector: the mean of the vectors of its windows (``owners[i]`` is the text
    that row ``i`` belongs to; most texts have one). ``rows`` is None when there are none.

    Example:
        >>> pool_windows(2, 1, np.array([[1.0], [3.0], [5.0]]), [0, 0, 1]).tolist()
        [[2.0], [5.0]]
    """
    out = np.zeros((count, dim), dtype=np.float32)
    if rows is not None and len(owners):
        owner = np.asarray(owners, dtype=np.int64)
        np.add.at(out, owner, rows.astype(np.float32, copy=False))
        out /= np.bincount(owner, minlength=count).astype(np.float32)[:, None]
    return out


class WindowPlanning(SentenceHabits):
    """How both transformer backends turn texts into model inputs (the same for each):
    prompts, then token windows.

    The host sets ``_tokenizer`` (a Hugging Face tokenizer), ``_max_tokens``, ``_prefix`` /
    ``_suffix`` (special token ids), ``truncate`` and ``overlap``, calls
    :meth:`_set_prompts`, and defines ``encode(texts, prompt=..., **options)``.
    """

    _tokenizer: Any
    _default_prompt: str | None
    _max_tokens: int
    _prefix: list[int]
    _suffix: list[int]
    truncate: bool
    overlap: int
    query_prompt: str | None
    passage_prompt: str | None
    last_stats: EncodeStats
    _saved_prompts: dict[str, str]

    @property
    def dim(self) -> int:  # pragma: no cover - each backend defines it
        raise NotImplementedError

    def _embed(
        self, sequences: list[list[int]], batch_size: int, show_progress: bool, prompt: str
    ) -> npt.NDArray[np.float32]:  # pragma: no cover - each backend defines it
        """One vector per token id sequence (prompt ids included), in input order."""
        raise NotImplementedError

    def encode(
        self,
        texts: Sequence[str] | str,
        *,
        batch_size: int = 32,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
        **st_options: Any,
    ) -> Any:
        """Return one float32 row per text, in input order (one vector for one str).

        ``prompt`` is put before every text (``None``: the folder's default prompt, if
        any). Texts longer than the model's window are split into windows whose vectors
        are averaged, unless the encoder was built with ``truncate=True``;
        ``last_stats`` says what the call did. sentence-transformers' keywords
        (``normalize_embeddings``, ``show_progress_bar``, ``prompt_name``,
        ``convert_to_tensor``, ``truncate_dim``, ...) work too: see ``encoders._st_forms``.
        """
        form = read_form(
            texts,
            normalize=normalize,
            show_progress=show_progress,
            prompt=prompt,
            prompts=self._saved_prompts,
            options=st_options,
        )
        items = check_texts(form.texts)
        batch_size = check_int("batch_size", batch_size)
        prompt = self._check_prompt(form.prompt)
        start = time.perf_counter()
        sequences, owners, truncated, split = self._plan(items, prompt)
        show = form.show_progress
        rows = self._embed(sequences, batch_size, show, prompt) if sequences else None
        out = self._pooled(rows, owners, len(items), form.normalize, truncated, split, start)
        return shape_output(form, out, self.dim)

    def _pooled(
        self,
        rows: npt.NDArray[Any] | None,
        owners: list[int],
        count: int,
        normalize: bool,
        truncated: int,
        split: int,
        start: float,
    ) -> npt.NDArray[np.float32]:
        """Window vectors averaged per input (normalised if asked); ``last_stats`` set."""
        out = pool_windows(count, self.dim, rows, owners)
        if normalize:
            out = unit_rows(out)
        self.last_stats = EncodeStats(
            texts=count,
            sequences=len(owners),
            truncated=truncated,
            split=split,
            seconds=time.perf_counter() - start,
        )
        return out

    def _set_prompts(
        self,
        query_prompt: str | None,
        passage_prompt: str | None,
        saved: Mapping[str, str],
        default_name: str | None,
    ) -> None:
        """The query and passage prompts (given, else the folder's saved ``query`` and
        ``document`` / ``passage`` prompts) and the default prompt (the saved one named
        ``default_name``)."""
        for label, value in (("query_prompt", query_prompt), ("passage_prompt", passage_prompt)):
            if value is not None and not isinstance(value, str):
                raise InvalidParameterError(
                    f"The {label!r} parameter must be a str or None. Got {value!r}."
                )
        self.query_prompt = query_prompt if query_prompt is not None else saved.get("query")
        self.passage_prompt = (
            passage_prompt
            if passage_prompt is not None
            else saved.get("document", saved.get("passage"))
        )
        self._default_prompt = saved.get(default_name) if default_name else None
        self._saved_prompts = dict(saved)

    def encode_queries(self, texts: Sequence[str], **options: Any) -> npt.NDArray[np.float32]:
        """``encode`` with the query prompt (E5: ``"query: "``), if one is set."""
        out: npt.NDArray[np.float32] = self.encode(texts, prompt=self.query_prompt or "", **options)
        return out

    def encode_passages(self, texts: Sequence[str], **options: Any) -> npt.NDArray[np.float32]:
        """``encode`` with the passage prompt (E5: ``"passage: "``), if one is set."""
        out: npt.NDArray[np.float32] = self.encode(
            texts, prompt=self.passage_prompt or "", **options
        )
        return out

    def _special_frame(self) -> tuple[list[int], list[int]]:
        """The special token ids the tokenizer puts before and after a text."""
        bare = self._ids(["a"])[0]
        framed = list(self._tokenizer(["a"], add_special_tokens=True)["input_ids"][0])
        for at in range(len(framed) - len(bare) + 1):
            if framed[at : at + len(bare)] == bare:
                return framed[:at], framed[at + len(bare) :]
        return [], []  # pragma: no cover - every tokenizer keeps the text's own ids

    def _ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids without special tokens, no truncation."""
        if not texts:
            return []
        encoded = self._tokenizer(texts, add_special_tokens=False, verbose=False)
        return [list(ids) for ids in encoded["input_ids"]]

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by this model's tokenizer, special tokens not counted."""
        return len(self._ids([text])[0])

    @property
    def tokens_per_window(self) -> int:
        """Text tokens the model reads in one pass (``max_tokens`` less its special tokens);
        a longer input is split into windows (or cut, with ``truncate=True``)."""
        return self._max_tokens - len(self._prefix) - len(self._suffix)

    def encode_ids(
        self,
        sequences: Sequence[Sequence[int]],
        *,
        batch_size: int = 32,
        normalize: bool = False,
    ) -> npt.NDArray[np.float32]:
        """``encode`` for inputs already tokenized by this model's tokenizer (ids without
        special tokens, no prompt); long inputs are windowed or cut as ``encode`` does.

        Example:
            >>> enc = TransformerEncoder("minilm")  # doctest: +SKIP
            >>> ids = enc._ids(["hello world"])  # doctest: +SKIP
            >>> enc.encode_ids(ids).shape  # doctest: +SKIP
            (1, 384)
        """
        batch_size = check_int("batch_size", batch_size)
        vocab = len(self._tokenizer)
        items: list[list[int]] = []
        for i, ids in enumerate(sequences):
            if isinstance(ids, str | bytes) or not isinstance(ids, Sequence):
                raise InvalidParameterError(
                    f"token input {i} must be a list of int token ids; got {type(ids).__name__}"
                )
            for token in ids:
                if isinstance(token, bool) or not isinstance(token, int) or not 0 <= token < vocab:
                    raise InvalidParameterError(
                        f"token input {i} holds {token!r}; token ids of this model are ints "
                        f"in [0, {vocab})"
                    )
            items.append(list(ids))
        room = self.tokens_per_window
        plan: list[list[int]] = []
        owners: list[int] = []
        truncated = split = 0
        start = time.perf_counter()
        for i, ids in enumerate(items):
            if len(ids) > room and self.truncate:
                ids, truncated = ids[:room], truncated + 1
            spans = window_spans(len(ids), room, self.overlap)
            split += len(spans) > 1
            for lo, hi in spans:
                plan.append(self._prefix + ids[lo:hi] + self._suffix)
                owners.append(i)
        rows = self._embed(plan, batch_size, False, "") if plan else None
        return self._pooled(rows, owners, len(items), normalize, truncated, split, start)

    def _check_prompt(self, prompt: str | None) -> str:
        """The prompt to use: the argument, else the folder's default prompt, else none."""
        if prompt is None:
            return self._default_prompt or ""
        if not isinstance(prompt, str):
            raise InvalidParameterError(
                f"The 'prompt' parameter must be a str or None. Got {prompt!r}."
            )
        return prompt

    def _plan(self, items: list[str], prompt: str) -> tuple[list[list[int]], list[int], int, int]:
        """Model input sequences, the text each belongs to, and counts truncated / split."""
        room = self._max_tokens - len(self._prefix) - len(self._suffix)
        sequences: list[list[int]] = []
        owners: list[int] = []
        truncated = split = 0
        long: list[int] = []
        for i, ids in enumerate(self._ids([prompt + text for text in items])):
            if len(ids) > room and not self.truncate:
                long.append(i)
                continue
            if len(ids) > room:
                ids = ids[:room]
                truncated += 1
            sequences.append(self._prefix + ids + self._suffix)
            owners.append(i)
        if long:
            prompt_ids = self._ids([prompt])[0] if prompt else []
            body = room - len(prompt_ids)
            if body <= self.overlap:
                raise InvalidParameterError(
                    f"the prompt takes {len(prompt_ids)} of the model's {room} tokens, which "
                    f"leaves no room for windows overlapping by {self.overlap} tokens"
                )
            for i, ids in zip(long, self._ids([items[i] for i in long]), strict=True):
                split += 1
                for lo, hi in window_spans(len(ids), body, self.overlap):
                    sequences.append(self._prefix + prompt_ids + ids[lo:hi] + self._suffix)
                    owners.append(i)
        return sequences, owners, truncated, split
