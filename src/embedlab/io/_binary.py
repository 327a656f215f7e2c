"""word2vec binary: a "count dim" text line, then per word the key, a space and dim float32s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO, NoReturn

import numpy as np

from embedlab.errors import FormatError
from embedlab.io._files import READ_BUFFER
from embedlab.io._sniff import Header
from embedlab.io._text import check_finite_rows

MAX_KEY_BYTES = 1 << 16  # a longer "key" means the file is not binary word2vec
WRITE_BATCH = 8192
_LITTLE_F32 = np.dtype("<f4")


class _Buffer:
    """A sliding window over a stream: read in large blocks, never the whole file."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.data = b""
        self.pos = 0
        self.consumed = 0  # bytes dropped from the front of data so far
        self.eof = False

    def fill(self) -> bool:
        """Read one more block; False at the end of the stream."""
        if self.eof:
            return False
        block = self._stream.read(READ_BUFFER)
        if not block:
            self.eof = True
            return False
        self.consumed += self.pos
        self.data = self.data[self.pos :] + block
        self.pos = 0
        return True

    def offset(self, index: int) -> int:
        """Absolute file offset of data[index] (past the header line)."""
        return self.consumed + index


def read_binary(
    stream: BinaryIO,
    *,
    path: str,
    header: Header,
    limit: int | None,
    unicode_errors: str,
) -> tuple[list[str], np.ndarray]:
    """Read the records after the header line.

    Keys may be preceded by a newline (word2vec.c writes one after each vector, gensim
    does not); both layouts are read. Each vector is copied out of the read buffer with
    ``np.frombuffer``; the file is never held in memory whole.
    """
    count = header.count if limit is None else min(header.count, limit)
    dim = header.dim
    record_bytes = dim * _LITTLE_F32.itemsize
    try:
        matrix = np.empty((count, dim), dtype=np.float32)
    except (MemoryError, ValueError):
        raise FormatError(
            f"the header declares {header.count} vectors of dimension {dim}, too many to load",
            path=path,
            line=1,
        ) from None
    keys: list[str] = []
    buf = _Buffer(stream)
    for i in range(count):
        space = buf.data.find(b" ", buf.pos)
        while space < 0 and len(buf.data) - buf.pos <= MAX_KEY_BYTES and buf.fill():
            space = buf.data.find(b" ", buf.pos)
        if space < 0:
            _truncated(path, header, i, buf, "its key")
        raw_key = buf.data[buf.pos : space].lstrip(b"\n\r")
        try:
            keys.append(raw_key.decode("utf-8", unicode_errors))
        except UnicodeDecodeError as err:
            raise FormatError(
                f"key {raw_key!r} of vector {i + 1} (byte {buf.offset(buf.pos)}) is not valid "
                f"UTF-8 ({err.reason}); pass unicode_errors='replace' or 'ignore' to load it",
                path=path,
            ) from None
        ahead = space + 1 - buf.pos  # where the values start, relative to buf.pos
        while len(buf.data) - buf.pos - ahead < record_bytes:
            if not buf.fill():
                _truncated(path, header, i, buf, f"the values of {keys[-1]!r}")
        start = buf.pos + ahead
        matrix[i] = np.frombuffer(buf.data, dtype=_LITTLE_F32, count=dim, offset=start)
        buf.pos = start + record_bytes
    if limit is None or limit > header.count:
        _check_trailing(buf, path, header)
    check_finite_rows(matrix, path, keys=keys)
    return keys, matrix


def _truncated(path: str, header: Header, index: int, buf: _Buffer, what: str) -> NoReturn:
    raise FormatError(
        f"truncated file: the header declares {header.count} vectors of dimension "
        f"{header.dim}, but the file ends in vector {index + 1} while reading {what} "
        f"(byte {buf.offset(len(buf.data))} after the header)",
        path=path,
    )


def _check_trailing(buf: _Buffer, path: str, header: Header) -> None:
    """After the declared vectors only whitespace may follow."""
    while True:
        if buf.data[buf.pos :].strip():
            raise FormatError(
                f"the header declares {header.count} vectors but more data follows them "
                f"(byte {buf.offset(buf.pos)} after the header)",
                path=path,
            )
        buf.pos = len(buf.data)
        if not buf.fill():
            return


def write_binary(stream: BinaryIO, keys: Sequence[str], vectors: np.ndarray) -> None:
    """Write the header and the records, each ending in "\\n" as word2vec.c does."""
    count, dim = vectors.shape
    stream.write(f"{count} {dim}\n".encode())
    little = np.ascontiguousarray(vectors, dtype=_LITTLE_F32)
    for start in range(0, count, WRITE_BATCH):
        parts: list[bytes] = []
        for offset, key in enumerate(keys[start : start + WRITE_BATCH]):
            parts += [key.encode("utf-8"), b" ", little[start + offset].tobytes(), b"\n"]
        stream.write(b"".join(parts))
