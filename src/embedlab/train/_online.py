"""gensim's online training for Word2Vec and FastText: train a trained model further.

``model.build_vocab(more, update=True)`` then ``model.train(more, ...)`` grows the
vocabulary with the new corpus's words that reach ``min_count`` in it (appended after the
old words, with fresh vectors), adds the new counts to the old words, and trains every
vector further from where it was; ``model.train(more, ...)`` alone trains the same
vocabulary further (words it does not know are skipped). :func:`grow_vocabulary` makes the
merged vocabulary and the id map the kernel reads.
"""

from __future__ import annotations

import numpy as np

from embedlab.text.encode import CorpusScan
from embedlab.text.vocabulary import Vocabulary

__all__ = ["grow_vocabulary"]


def grow_vocabulary(
    old: Vocabulary, scan: CorpusScan, *, min_count: int, add_new: bool
) -> tuple[Vocabulary, np.ndarray]:
    """The old vocabulary with the scan's counts added (and, if ``add_new``, the scan's new
    words seen at least ``min_count`` times appended, most frequent first), and the map from
    the scan's raw ids to it (-2: skipped).

    Example:
        >>> from embedlab.text.encode import scan_corpus
        >>> old = Vocabulary.from_counts({"a": 5, "b": 3}, min_count=1)
        >>> vocab, _ = grow_vocabulary(
        ...     old, scan_corpus(["a c c", "c d"]), min_count=2, add_new=True
        ... )
        >>> vocab.keys, vocab.counts.tolist()
        (['a', 'b', 'c'], [6, 3, 3])
    """
    seen, seen_map = Vocabulary.from_scan(scan, min_count=1)
    to_merged = np.full(len(seen), -2, dtype=np.int32)
    counts = old.counts.copy()
    new_keys: list[str] = []
    new_counts: list[int] = []
    for i, (key, count) in enumerate(zip(seen.keys, seen.counts.tolist(), strict=True)):
        row = old.index.get(key)
        if row is not None:
            to_merged[i] = row
            counts[row] += count
        elif add_new and count >= min_count:
            to_merged[i] = len(old) + len(new_keys)
            new_keys.append(key)
            new_counts.append(count)
    unknown = sum(1 for key in seen.keys if key not in old.index)
    merged = Vocabulary(
        old.keys + new_keys,
        np.concatenate([counts, np.asarray(new_counts, dtype=np.int64)]),
        total_words=old.total_words + seen.total_words,
        unique_words=old.unique_words + unknown,
        min_count=old.min_count,
        max_size=old.max_size,
    )
    remap = np.where(seen_map >= 0, to_merged[np.maximum(seen_map, 0)], -2).astype(np.int32)
    return merged, remap
