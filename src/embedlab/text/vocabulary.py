"""Vocabulary: the kept words, their counts, and word2vec's frequent-word subsampling."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from embedlab._validation import check_float, check_int
from embedlab.errors import CorpusError, UnknownKeyError
from embedlab.text.corpus import Corpus, CorpusSource
from embedlab.text.encode import CorpusScan, scan_corpus
from embedlab.text.tokenize import APOSTROPHES as _APOSTROPHES
from embedlab.text.tokenize import canonical_token

__all__ = ["Vocabulary"]


class Vocabulary:
    """Words kept for training, most frequent first, with their corpus counts.

    ``total_words`` counts every token of the corpus, kept or not; ``unique_words`` the
    distinct tokens before ``min_count`` and ``max_size`` pruned them.

    Example:
        >>> vocab = Vocabulary.from_counts({"the": 5, "cat": 2, "rare": 1}, min_count=2)
        >>> vocab.keys, vocab.counts.tolist(), "rare" in vocab
        (['the', 'cat'], [5, 2], False)
    """

    def __init__(
        self,
        keys: Sequence[str],
        counts: Sequence[int] | np.ndarray,
        *,
        total_words: int,
        unique_words: int,
        min_count: int,
        max_size: int | None,
    ) -> None:
        self.keys = list(keys)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.total_words = int(total_words)
        self.unique_words = int(unique_words)
        self.min_count = min_count
        self.max_size = max_size

    @classmethod
    def from_counts(
        cls, counts: Mapping[str, int], *, min_count: int = 5, max_size: int | None = None
    ) -> Vocabulary:
        """Build from a word → count mapping (ties keep the mapping's order)."""
        keys = list(counts)
        vocab, _ = cls.from_raw(
            keys,
            np.fromiter(counts.values(), np.int64, len(keys)),
            min_count=min_count,
            max_size=max_size,
        )
        return vocab

    @classmethod
    def build(
        cls, corpus: CorpusSource | Corpus, *, min_count: int = 5, max_size: int | None = None
    ) -> Vocabulary:
        """Count the words of a corpus (anything :class:`~embedlab.text.Corpus` accepts).

        Example:
            >>> Vocabulary.build(["a b a", "a c"], min_count=2).keys
            ['a']
        """
        vocab, _ = cls.from_scan(scan_corpus(corpus), min_count=min_count, max_size=max_size)
        return vocab

    @classmethod
    def from_scan(
        cls, scan: CorpusScan, *, min_count: int = 5, max_size: int | None = None
    ) -> tuple[Vocabulary, np.ndarray]:
        """Build from a corpus scan; return it and the raw id → vocabulary id map (-2: pruned).

        Only the runs that can reach min_count are decoded: those counted often enough,
        those with an outer apostrophe (they fold into another word), and the words
        they fold into.
        """
        min_count = check_int("min_count", min_count, minimum=1)
        tokens = scan.tokens
        if tokens is None:
            raise ValueError("this scan's tokens were released")
        counts = tokens.counts()
        edged = np.zeros(len(counts), dtype=bool)
        for apostrophe in _APOSTROPHES:
            edged |= tokens.edge_mask(apostrophe.encode("utf-8"))
        targets = [tokens.find(canonical_token(k)) for k in tokens.keys(np.flatnonzero(edged))]
        chosen = (counts >= min_count) | edged
        chosen[[t for t in targets if t >= 0]] = True
        subset = np.flatnonzero(chosen)
        if len(subset) == 0:
            raise _no_word_reaches(min_count, int(counts.max(initial=0)), int(counts.sum()))
        keys = tokens.keys(subset)
        n_folded = len({canonical_token(k) for k in keys})
        vocab, sub_map = cls.from_raw(
            keys,
            counts[subset],
            min_count=min_count,
            max_size=max_size,
            total_words=int(counts.sum()),
            unique_words=len(counts) - (len(subset) - n_folded),
        )
        remap = np.full(len(counts), -2, dtype=np.int32)
        remap[subset] = sub_map
        return vocab, remap

    @classmethod
    def from_raw(
        cls,
        raw_keys: Sequence[str],
        raw_counts: np.ndarray,
        *,
        min_count: int,
        max_size: int | None,
        total_words: int | None = None,
        unique_words: int | None = None,
    ) -> tuple[Vocabulary, np.ndarray]:
        """Build from raw token runs in order of first appearance.

        Returns the vocabulary and a map from raw id to vocabulary id (-2 where the run
        was pruned). Runs differing only by outer apostrophes fold into one word.
        ``total_words``/``unique_words`` default to what the given runs hold.
        """
        min_count = check_int("min_count", min_count, minimum=1)
        if max_size is not None:
            max_size = check_int("max_size", max_size, minimum=1)
        total = int(raw_counts.sum()) if total_words is None else total_words
        if total == 0:
            raise _no_word_reaches(min_count, 0, 0)
        folded: dict[str, int] = {}
        raw_to_folded = np.empty(len(raw_keys), dtype=np.int64)
        for i, raw in enumerate(raw_keys):
            raw_to_folded[i] = folded.setdefault(canonical_token(raw), len(folded))
        folded_counts = np.bincount(raw_to_folded, weights=raw_counts, minlength=len(folded))
        folded_counts = folded_counts.astype(np.int64)
        folded_keys = list(folded)
        if "" in folded:  # runs of apostrophes alone are no word
            folded_counts[folded[""]] = 0
        order = np.argsort(-folded_counts, kind="stable")
        kept = order[folded_counts[order] >= min_count]
        if max_size is not None:
            kept = kept[:max_size]
        if len(kept) == 0:
            raise _no_word_reaches(min_count, int(folded_counts.max(initial=0)), total)
        folded_to_vocab = np.full(len(folded), -2, dtype=np.int32)
        folded_to_vocab[kept] = np.arange(len(kept), dtype=np.int32)
        vocab = cls(
            [folded_keys[i] for i in kept.tolist()],
            folded_counts[kept],
            total_words=total,
            unique_words=(len(folded) if unique_words is None else unique_words) - ("" in folded),
            min_count=min_count,
            max_size=max_size,
        )
        return vocab, folded_to_vocab[raw_to_folded]

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)

    def __getitem__(self, key: str) -> int:
        try:
            return self.index[key]
        except KeyError:
            raise UnknownKeyError(key) from None

    @property
    def retained_words(self) -> int:
        """Tokens of the corpus that are in the vocabulary."""
        return int(self.counts.sum())

    def keep_probabilities(self, sample: float) -> np.ndarray:
        """Probability of keeping each word under word2vec's subsampling of frequent words.

        With ``t = sample * retained_words``, a word seen ``c`` times is kept with
        probability ``min(1, (sqrt(c / t) + 1) * t / c)``; ``sample=0`` keeps every word.

        Example:
            >>> v = Vocabulary.from_counts({"the": 1000, "cat": 1}, min_count=1)
            >>> v.keep_probabilities(1e-3).round(3).tolist()
            [0.032, 1.0]
        """
        sample = check_float("sample", sample, minimum=0.0, maximum=1.0)
        if sample == 0:
            return np.ones(len(self), dtype=np.float32)
        threshold = sample * self.retained_words
        counts = self.counts.astype(np.float64)
        keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
        return np.minimum(keep, 1.0).astype(np.float32)


def _no_word_reaches(min_count: int, top: int, total: int) -> CorpusError:
    if total == 0:
        return CorpusError("the corpus is empty: it holds no word tokens")
    return CorpusError(
        f"no word reaches min_count={min_count} (the most frequent word occurs {top} times "
        f"in {total} tokens); lower min_count or give a larger corpus"
    )
