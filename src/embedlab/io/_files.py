"""File plumbing shared by the formats: transparent gzip, atomic replacement."""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from embedlab.errors import InvalidParameterError

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


def check_output_path(path: str | os.PathLike[str], *, folder: bool, what: str = "output") -> Path:
    """Check, before any work, that a file (or folder) can be written at path; return it.

    Refused with :class:`~embedlab.errors.InvalidParameterError`: an empty path, the working
    directory or one of its ancestors, a path under a file, a folder that cannot be written,
    a folder where a file should go (or the other way round).

    Example:
        >>> check_output_path("model", folder=True)  # doctest: +SKIP
        PosixPath('model')
    """
    if not isinstance(path, str | os.PathLike):
        raise InvalidParameterError(f"the {what} path must be a str or a path; got {path!r}")
    text = os.fspath(path)
    if isinstance(text, bytes) or not text.strip():
        raise InvalidParameterError(f"the {what} path must name a file or folder; got {text!r}")
    target = Path(text)
    resolved = target.resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise InvalidParameterError(
            f"the {what} path {text!r} is the working directory (or above it); "
            "name a new file or folder instead"
        )
    if target.exists():
        if folder and not target.is_dir():
            raise InvalidParameterError(f"cannot write a folder at {text}: a file is there")
        if not folder and target.is_dir():
            raise InvalidParameterError(f"cannot write a file at {text}: a folder is there")
    parent = resolved.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InvalidParameterError(f"cannot write {text}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidParameterError(f"cannot write {text}: the folder {parent} is not writable")
    return target


@contextlib.contextmanager
def atomic_binary_writer(path: Path) -> Iterator[BinaryIO]:
    """Write to a temporary file beside path and move it into place only on success.

    A name ending in ``.gz`` is written gzip-compressed.
    """
    check_output_path(path, folder=False)
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
