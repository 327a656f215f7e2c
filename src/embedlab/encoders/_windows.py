"""Token windows over inputs longer than a model reads in one pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import InvalidParameterError

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


class WindowPlanning:
    """How both transformer backends cut texts into model inputs (the same for each).

    The host sets ``_tokenizer`` (a Hugging Face tokenizer), ``_default_prompt``,
    ``_max_tokens``, ``_prefix`` / ``_suffix`` (special token ids), ``truncate`` and
    ``overlap``.
    """

    _tokenizer: Any
    _default_prompt: str | None
    _max_tokens: int
    _prefix: list[int]
    _suffix: list[int]
    truncate: bool
    overlap: int

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
