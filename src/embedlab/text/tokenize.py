"""The default tokenizer: lowercase, Unicode-aware words.

A token is a maximal run of word characters (letters and digits in any script, and
``_``) and apostrophes (``'`` and ``’``), lowercased, with apostrophes trimmed from both
ends; a run of apostrophes alone is no token. So ``"Don't stop—the Café's OPEN!"`` gives
``["don't", "stop", "the", "café's", "open"]``.

Two paths give the same tokens: :func:`tokenize` for one string (a regular expression),
and :func:`block_to_token_bytes` for training, which turns a whole block of lines into
UTF-8 bytes where tokens are separated by spaces and each newline becomes the byte 0x01,
so that a compiled kernel can split and count them without Python objects per word.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["LINE_END_BYTE", "block_to_token_bytes", "canonical_token", "tokenize"]

LINE_END_BYTE = 0x01
APOSTROPHES = "'’"
_APOSTROPHES = APOSTROPHES
_TOKEN = re.compile(r"[\w'’]+")


def tokenize(text: str) -> list[str]:
    """Split one string into lowercase word tokens.

    Example:
        >>> tokenize("Don't stop—the Café's OPEN!")
        ["don't", 'stop', 'the', "café's", 'open']
    """
    tokens = []
    for raw in _TOKEN.findall(text.lower()):
        token = raw.strip(_APOSTROPHES)
        if token:
            tokens.append(token)
    return tokens


def canonical_token(raw: str) -> str:
    """The token a raw run of word characters and apostrophes stands for ('' for none)."""
    return raw.strip(_APOSTROPHES)


def block_to_token_bytes(block: str) -> bytes:
    """Lowercase a block of lines and map it to space-separated token bytes.

    Non-word characters become spaces and every newline becomes the byte 0x01 (a separator
    that also ends a sentence); one character for one keeps ``str.translate`` fast. Runs still
    carry their outer apostrophes; :func:`canonical_token` trims them once per distinct
    run, when the vocabulary is built.
    """
    lowered = block.lower()
    if lowered.isascii():
        return lowered.translate(_ascii_table()).encode("ascii")
    if max(lowered) <= "\uffff":
        return lowered.translate(_bmp_table()).encode("utf-8")
    # Characters beyond the BMP are rare; the regular expression handles them exactly.
    lines = lowered.split("\n")
    return b"".join(" ".join(_TOKEN.findall(line)).encode("utf-8") + b"\x01" for line in lines[:-1])


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or ch in _APOSTROPHES


@lru_cache(maxsize=1)
def _ascii_table() -> dict[int, str]:
    table = {cp: " " for cp in range(128) if not _is_word_char(chr(cp))}
    table[ord("\n")] = "\x01"
    return table


@lru_cache(maxsize=1)
def _bmp_table() -> dict[int, str]:
    table = {cp: " " for cp in range(0x10000) if not _is_word_char(chr(cp))}
    table[ord("\n")] = "\x01"
    return table
