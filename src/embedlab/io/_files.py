"""File plumbing shared by the formats: transparent gzip, atomic replacement."""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

GZIP_MAGIC = b"\x1f\x8b"
READ_BUFFER = 1 << 20  # bytes per read for the buffered readers


def is_gzip(path: Path) -> bool:
    """True if the file starts with the gzip magic bytes (whatever its name)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_binary_reader(path: Path) -> BinaryIO:
    """Open path for reading bytes, decompressing gzip transparently."""
    if is_gzip(path):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb", buffering=READ_BUFFER)


@contextlib.contextmanager
def atomic_binary_writer(path: Path) -> Iterator[BinaryIO]:
    """Write to a temporary file beside path and move it into place only on success.

    A name ending in ``.gz`` is written gzip-compressed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            if path.name.endswith(".gz"):
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as zipped:
                    yield cast(BinaryIO, zipped)
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
