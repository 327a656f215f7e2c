"""Splitting a document's text into chunks of about ``chunk_tokens`` tokens, with overlap.

Text is cut on the coarsest boundary that works: a run of paragraphs (separated by blank
lines) that fits is one chunk; a paragraph too long for one chunk is cut between
sentences, a sentence too long between lines, a line too long between words, and a word
too long (for a subword tokenizer) between characters. A chunk never mixes levels: the
pieces of a split paragraph are packed among themselves, so chunks start and end on the
best boundary available.

Each chunk after the first also repeats up to ``overlap`` tokens (whole words) from the end
of the one before it; its fresh part holds at most ``chunk_tokens - overlap`` tokens, so a
whole chunk stays within ``chunk_tokens``. Every chunk keeps exact character offsets into
the text: ``text[chunk.start:chunk.end] == chunk.text``.

Tokens are counted by a :data:`TokenCounter`: the encoder's tokenizer where it exposes one
(:func:`token_counter`), else whitespace-separated words (:func:`count_words`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError

__all__ = ["Chunk", "TokenCounter", "chunk_text", "count_words", "token_counter"]

TokenCounter = Callable[[str], int]
"""Counts the tokens of one piece of text (no special tokens)."""

_WORD = re.compile(r"\S+")
_PARAGRAPH_GAP = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_GAP = re.compile(r"\n\s*")
# After a sentence's closing punctuation (and closing quotes or brackets) comes whitespace;
# CJK full stops end a sentence without any.
_SENTENCE_GAP = re.compile(
    r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))\s+|(?<=[。！？])\s*",
)


@dataclass(frozen=True)
class Chunk:
    """One chunk of a document: its number, character offsets, text and token count.

    ``tokens`` is the sum of its pieces' counts (overlap included), which can differ by a
    token or two from counting the joined text at once.
    """

    index: int
    start: int
    end: int
    text: str
    tokens: int


def count_words(text: str) -> int:
    """The number of whitespace-separated words: the default token count.

    Example:
        >>> count_words("  two\\nwords ")
        2
    """
    return len(text.split())


def token_counter(encoder: object) -> TokenCounter:
    """The token counter an encoder offers, else :func:`count_words`.

    An encoder offers one through a ``count_tokens(text) -> int`` method, or a public
    Hugging Face ``tokenizer`` attribute (counted without special tokens).

    Example:
        >>> token_counter(object()) is count_words
        True
    """
    method = getattr(encoder, "count_tokens", None)
    if callable(method):
        counter: TokenCounter = method
        return counter
    tokenizer = getattr(encoder, "tokenizer", None)
    if callable(tokenizer):

        def count(text: str) -> int:
            return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

        return count
    return count_words


def chunk_text(
    text: str,
    *,
    chunk_tokens: int = 256,
    overlap: int = 32,
    count_tokens: TokenCounter = count_words,
) -> list[Chunk]:
    """Split text into chunks of at most about ``chunk_tokens`` tokens, ``overlap`` shared.

    ``overlap`` may be at most half of ``chunk_tokens``. Whitespace-only text gives no
    chunks; leading and trailing whitespace is never part of a chunk.

    Example:
        >>> text = "One two three. Four five six.\\n\\nSeven eight."
        >>> [c.text for c in chunk_text(text, chunk_tokens=6, overlap=0)]
        ['One two three. Four five six.', 'Seven eight.']
        >>> [c.text for c in chunk_text(text, chunk_tokens=4, overlap=1)]
        ['One two three.', 'three. Four five six.', 'six.\\n\\nSeven eight.']
    """
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"The 'text' parameter must be a str. Got {type(text).__name__}."
        )
    chunk_tokens = check_int("chunk_tokens", chunk_tokens, minimum=1)
    overlap = check_int("overlap", overlap, minimum=0, maximum=chunk_tokens // 2)
    if not callable(count_tokens):
        raise InvalidParameterError(
            f"The 'count_tokens' parameter must be a callable str -> int. Got {count_tokens!r}."
        )
    splitter = _Splitter(text, chunk_tokens - overlap, count_tokens)
    spans = splitter.split(0, len(text), 0)
    chunks: list[Chunk] = []
    previous: tuple[int, int] | None = None
    for start, end, tokens in spans:
        begin, shared = start, 0
        if overlap and previous is not None:
            begin, shared = splitter.back_off(previous[0], start, overlap)
        chunks.append(Chunk(len(chunks), begin, end, text[begin:end], tokens + shared))
        previous = (start, end)
    return chunks


class _Splitter:
    """Recursive splitting of one text into (start, end, tokens) spans within a budget."""

    def __init__(self, text: str, budget: int, count: TokenCounter) -> None:
        self.text = text
        self.budget = budget
        self.count = count
        self.levels: tuple[Callable[[int, int], list[tuple[int, int]]], ...] = (
            lambda s, e: self._between(_PARAGRAPH_GAP, s, e),
            lambda s, e: self._between(_SENTENCE_GAP, s, e),
            lambda s, e: self._between(_LINE_GAP, s, e),
            lambda s, e: [m.span() for m in _WORD.finditer(self.text, s, e)],
        )

    def split(self, start: int, end: int, level: int) -> list[tuple[int, int, int]]:
        """Pack the pieces of text[start:end] at this level; split pieces that are too big."""
        if level == len(self.levels):
            return self._characters(start, end)
        spans: list[tuple[int, int, int]] = []
        group: list[int] = []  # [start, end, tokens] of the group being packed
        for s, e in self.levels[level](start, end):
            tokens = self.count(self.text[s:e])
            if group and group[2] + tokens > self.budget:
                spans.append((group[0], group[1], group[2]))
                group = []
            if tokens > self.budget:
                spans.extend(self.split(s, e, level + 1))
            elif group:
                group[1], group[2] = e, group[2] + tokens
            else:
                group = [s, e, tokens]
        if group:
            spans.append((group[0], group[1], group[2]))
        return spans

    def back_off(self, floor: int, start: int, overlap: int) -> tuple[int, int]:
        """Move a chunk's start back over whole words after ``floor`` (the previous chunk's
        start, never reached) while they hold at most ``overlap`` tokens."""
        words = [m.start() for m in _WORD.finditer(self.text, floor, start)][1:]
        begin, shared = start, 0
        for word_start in reversed(words):
            tokens = self.count(self.text[word_start:begin].strip())
            if shared + tokens > overlap:
                break
            begin, shared = word_start, shared + tokens
        return begin, shared

    def _between(self, gap: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
        """The non-blank pieces of text[start:end] between matches of ``gap``, trimmed."""
        pieces, at = [], start
        for match in gap.finditer(self.text, start, end):
            pieces.append(self._trim(at, match.start()))
            at = match.end()
        pieces.append(self._trim(at, end))
        return [(s, e) for s, e in pieces if s < e]

    def _trim(self, start: int, end: int) -> tuple[int, int]:
        piece = self.text[start:end]
        return start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())

    def _characters(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """Cut one over-long word into the longest character runs within the budget."""
        spans = []
        while start < end:
            low, high = start + 1, end  # the longest run text[start:cut] that fits
            while low < high:
                middle = (low + high + 1) // 2
                if self.count(self.text[start:middle]) <= self.budget:
                    low = middle
                else:
                    high = middle - 1
            spans.append((start, low, self.count(self.text[start:low])))
            start = low
        return spans
