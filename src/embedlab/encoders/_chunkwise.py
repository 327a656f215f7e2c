"""Tokenizing a text chunk by chunk: when a tokenizer gives a text the tokens of its
whitespace-separated chunks in turn (BERT-style tokenizers), an encoder can remember each
distinct chunk's tokens and send only new chunks to the tokenizer, joined by a separator
token. :class:`~embedlab.encoders.distilled.DistilledEncoder` does (its ``_rows``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHUNK_CACHE",
    "JOIN",
    "SEPARATOR",
    "WHITESPACE",
    "chunkwise_tokenizer",
    "ids_and_sizes",
    "separator_id",
]

WHITESPACE = re.compile(r"[ \t\n\r]+")
CHUNK_CACHE = 500_000
"""Distinct whitespace-separated chunks a :class:`DistilledEncoder` remembers the tokens of."""
_CHUNKWISE_NORMALIZERS = {
    "BertNormalizer",
    "Lowercase",
    "NFC",
    "NFD",
    "NFKC",
    "NFKD",
    "StripAccents",
}
_CHUNKWISE_PRE_TOKENIZERS = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}


SEPARATOR = "|"
"""Joins chunks for one trip through the tokenizer (see ``DistilledEncoder._joined_ids``)."""
JOIN = 256
"""Chunks per joined text."""


def ids_and_sizes(
    tokenizer: Any, texts: list[str]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """All token ids of the texts one after another, and how many each text has."""
    encoded = tokenizer.encode_batch_fast(texts, add_special_tokens=False)
    sizes = np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(texts))
    ids = np.fromiter((i for e in encoded for i in e.ids), dtype=np.int64, count=int(sizes.sum()))
    return ids, sizes


def separator_id(tokenizer: Any) -> int | None:
    """The id of SEPARATOR if it is one token that leaves its neighbours alone, else None."""
    sep = tokenizer.encode(f" {SEPARATOR} ", add_special_tokens=False).ids
    if len(sep) != 1:
        return None
    a, b = ("alpha", "beta")
    one = tokenizer.encode(f"{a} {SEPARATOR} {b}", add_special_tokens=False).ids
    apart = tokenizer.encode_batch_fast([a, b], add_special_tokens=False)
    return int(sep[0]) if one == [*apart[0].ids, sep[0], *apart[1].ids] else None


def chunkwise_tokenizer(tokenizer: Any) -> bool:
    """Whether tokenizing a text equals tokenizing its ASCII-whitespace chunks one by one.

    True for BERT-style tokenizers: a normalizer that works character by character
    (lower-casing, accents, Unicode forms, BERT's clean-up), a pre-tokenizer that splits at
    whitespace before anything else, a WordPiece or word-level model (each word alone).
    False for byte-level BPE, SentencePiece / Metaspace and the like, where a token's form
    depends on the space before it.

    Example:
        >>> from tokenizers import Tokenizer, models, pre_tokenizers
        >>> t = Tokenizer(models.WordLevel({"a": 0}, unk_token="a"))
        >>> t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        >>> chunkwise_tokenizer(t)
        True
    """
    try:
        spec = json.loads(tokenizer.to_str())
    except (AttributeError, ValueError, TypeError):
        return False

    def kinds(part: Any, key: str) -> list[str]:
        if part is None:
            return []
        if part.get("type") == "Sequence":
            return [k for sub in part.get(key, []) for k in kinds(sub, key)]
        return [str(part.get("type"))]

    normalizers = kinds(spec.get("normalizer"), "normalizers")
    pre = kinds(spec.get("pre_tokenizer"), "pretokenizers")
    model = spec.get("model") or {}
    return (
        model.get("type") in {"WordPiece", "WordLevel"}
        and bool(pre)
        and all(k in _CHUNKWISE_PRE_TOKENIZERS for k in pre)
        and all(k in _CHUNKWISE_NORMALIZERS for k in normalizers)
    )
