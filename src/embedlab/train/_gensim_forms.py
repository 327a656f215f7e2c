"""gensim's Word2Vec / FastText constructor arguments, translated to embedlab's once.

``Word2Vec(sentences, vector_size=100, window=5, min_count=1, workers=4, sg=1)`` is how
gensim code builds a model; :func:`translate` turns those keywords into embedlab's
(``dim``, ``threads``, ``sg`` as a bool, ``buckets``) and refuses, naming the option,
what the trainers do not do (hierarchical softmax, a sum instead of a mean in CBOW,
callbacks, trim rules), so a gensim option never changes meaning silently.
"""

from __future__ import annotations

from typing import Any

from embedlab.errors import InvalidParameterError, UnsupportedOptionError

__all__ = ["translate"]

# gensim name -> embedlab name (gensim 3's size/iter too).
_RENAMED = {
    "vector_size": "dim",
    "size": "dim",
    "workers": "threads",
    "iter": "epochs",
    "bucket": "buckets",
    "max_final_vocab": "max_vocab_size",
}

# gensim options whose one supported value is embedlab's behaviour: anything else refused.
_FIXED: dict[str, tuple[object, str]] = {
    "hs": (
        0,
        "hs=1 (hierarchical softmax) is not implemented; train with negative sampling "
        "(negative=5, the default) instead",
    ),
    "cbow_mean": (
        1,
        "cbow_mean=0 (sum of the context vectors) is not implemented; CBOW "
        "always averages the context (cbow_mean=1)",
    ),
    "sorted_vocab": (
        1,
        "sorted_vocab=0 is not implemented; the vocabulary is always sorted "
        "by frequency, most frequent first",
    ),
    "shrink_windows": (
        True,
        "shrink_windows=False is not implemented; windows are always "
        "sampled between 1 and window, as word2vec.c does",
    ),
    "word_ngrams": (1, "word_ngrams other than 1 is not implemented (gensim ignores it too)"),
    "null_word": (0, "null_word=1 is not implemented"),
    "trim_rule": (
        None,
        "trim_rule is not implemented; filter the corpus, or use min_count and max_vocab_size",
    ),
    "callbacks": (
        (),
        "callbacks are not implemented; pass callback= to train() for "
        "progress events (speed and loss per chunk)",
    ),
    "comment": (None, "comment is not implemented"),
}

# Accepted and without effect here (performance knobs of gensim's own threading).
_IGNORED = frozenset({"batch_words", "compute_loss", "max_vocab_size_pruning"})


def translate(params: dict[str, Any], *, kind: str) -> dict[str, Any]:
    """embedlab trainer keywords for a mix of embedlab's and gensim's names.

    Example:
        >>> translate({"vector_size": 50, "workers": 4, "sg": 1, "hs": 0}, kind="word2vec")
        {'dim': 50, 'threads': 4, 'sg': True}
    """
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in _IGNORED:
            continue
        if name in _FIXED:
            supported, why = _FIXED[name]
            if value != supported and not (name == "callbacks" and not value):
                raise UnsupportedOptionError(f"{kind}: {why}; got {name}={value!r}")
            continue
        if name == "bucket" and kind != "fasttext":
            raise InvalidParameterError(f"{kind}: 'bucket' applies to FastText only")
        target = _RENAMED.get(name, name)
        if target in out:
            raise InvalidParameterError(
                f"{kind}: {target!r} was given twice (as {target!r} and as gensim's {name!r})"
            )
        if target == "sg" and type(value) is int and value in (0, 1):
            value = bool(value)  # gensim's sg=0|1
        out[target] = value
    return out
