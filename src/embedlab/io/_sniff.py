"""Recognise a word2vec-family file from its first bytes: header or not, text or binary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from embedlab.io._files import open_binary_reader

SAMPLE_BYTES = 1 << 16
UTF8_BOM = b"\xef\xbb\xbf"
_INT = re.compile(rb"[0-9]+")
_FLOAT = re.compile(
    rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf)", re.I
)
# Bytes never found in a text vector file, but almost certainly among float32 bytes.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")


@dataclass(frozen=True)
class Header:
    """The "count dim" first line of word2vec text and binary files."""

    count: int
    dim: int


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes of a vector file say about it."""

    header: Header | None
    binary: bool


def strip_bom(line: bytes) -> bytes:
    """Drop a UTF-8 byte-order mark some editors put at the start of a file."""
    return line[len(UTF8_BOM) :] if line.startswith(UTF8_BOM) else line


def parse_header(line: bytes) -> Header | None:
    """A Header if the line is exactly two non-negative integers, else None (GloVe)."""
    parts = strip_bom(line).split()
    if len(parts) != 2 or not all(_INT.fullmatch(p) for p in parts):
        return None
    return Header(count=int(parts[0]), dim=int(parts[1]))


def looks_binary(sample: bytes, dim: int) -> bool:
    """True if the bytes after the header are word2vec binary records rather than text."""
    if not sample:
        return False
    first = sample.split(b"\n", 1)[0].split()
    if len(first) == dim + 1 and all(_FLOAT.fullmatch(t) for t in first[1:]):
        return False
    return _CONTROL.search(sample) is not None


def sniff(path: Path) -> Sniffed:
    """Read the header line and a sample of what follows; decide header and text/binary."""
    with open_binary_reader(path) as f:
        first = f.readline()
        header = parse_header(first)
        if header is None:
            return Sniffed(header=None, binary=False)
        return Sniffed(header=header, binary=looks_binary(f.read(SAMPLE_BYTES), header.dim))
