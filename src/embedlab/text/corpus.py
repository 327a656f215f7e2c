"""Streaming corpus readers: a file, a directory, a glob, `.gz`, or any iterable of strings.

One sentence or paragraph a line. Nothing here loads the whole corpus: files are read in
blocks of lines. Files are UTF-8 unless ``encoding`` says otherwise; bytes that do not
decode are replaced by U+FFFD and counted (``replaced_bytes``), and a scan warns about them.
"""

from __future__ import annotations

import glob
import gzip
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from embedlab.errors import InvalidParameterError, MissingFileError

__all__ = ["Corpus", "CorpusSource"]

CorpusSource = str | os.PathLike[str] | Iterable[str]

_BLOCK_BYTES = 1 << 18  # about 256 KiB of text per block: ~45k words
_SURROGATE = re.compile("[\udc80-\udcff]")
_GLOB_CHARS = frozenset("*?[")


class Corpus:
    """A re-iterable, streaming view of a text corpus, one sentence or paragraph a line.

    ``source`` is a path to a text file (``.gz`` is decompressed), a directory (every
    non-hidden file under it, sorted), a glob pattern, an iterable of strings (each
    string one line), or, as gensim takes it, an iterable of token lists (each list one
    sentence, taken as it is: no lowercasing or re-tokenising, so ``C++`` and ``New_York``
    stay single tokens; tokens must not contain spaces). Iterating yields token lists, like
    gensim's ``LineSentence``.
    ``encoding`` names the files' text encoding (``"latin-1"``, ``"cp1252"``, ...; the
    default is UTF-8).

    Example:
        >>> corpus = Corpus(["The cat sat.", "A dog ran!"])
        >>> list(corpus)
        [['the', 'cat', 'sat'], ['a', 'dog', 'ran']]
    """

    def __init__(self, source: CorpusSource | Corpus, *, encoding: str | None = None) -> None:
        if encoding is None:  # a Corpus passed on keeps its own
            encoding = source.encoding if isinstance(source, Corpus) else "utf-8"
        self.encoding: str = _check_encoding(encoding)
        if isinstance(source, Corpus):
            self._files: list[Path] | None = source._files
            self._iterable: Iterable[str] | None = source._iterable
            self.description: str = source.description
        elif isinstance(source, str | os.PathLike):
            self._files = _resolve_files(source)
            self._iterable = None
            self.description = os.fspath(source)
        elif isinstance(source, Iterable):
            self._files = None
            self._iterable = source
            self.description = f"<{type(source).__name__}>"
        else:
            raise InvalidParameterError(
                "A corpus must be a path, a glob, a directory or an iterable of strings. "
                f"Got {type(source).__name__} instead."
            )
        self.replaced_bytes = 0
        """Bytes that were not valid UTF-8 in the last pass (each replaced by U+FFFD)."""

    @property
    def files(self) -> list[Path]:
        """The files behind this corpus (empty for an in-memory iterable)."""
        return list(self._files or [])

    def total_bytes(self) -> int | None:
        """Size on disk of all files (compressed size for .gz), or None for an iterable."""
        if self._files is None:
            return None
        return sum(f.stat().st_size for f in self._files)

    def blocks(self) -> Iterator[tuple[str, int]]:
        """Yield ``(text, bytes_read)``: whole lines joined by newlines, ending with one.

        ``bytes_read`` counts raw bytes consumed from disk since the previous block, which
        lets a progress bar follow the files.
        """
        self.replaced_bytes = 0
        if self._files is not None:
            for path in self._files:
                with _open_binary(path) as handle:
                    yield from self._file_blocks(handle)
            return
        pending: list[str] = []
        size = 0
        for item in self._iterable or ():
            if not isinstance(item, str):
                raise InvalidParameterError(
                    "A corpus iterable must yield strings (one line each) or lists of "
                    f"tokens (one sentence each). Got {type(item).__name__}."
                )
            pending.append(item)
            size += len(item) + 1
            if size >= _BLOCK_BYTES:
                yield "\n".join(pending) + "\n", size
                pending, size = [], 0
        if pending:
            yield "\n".join(pending) + "\n", size

    def token_blocks(self) -> Iterator[tuple[bytes, int]]:
        """Yield ``(token_bytes, bytes_read)`` for training: tokens separated by spaces and
        each line ended by the byte 0x01 (see :func:`~embedlab.text.tokenize.block_to_token_bytes`).

        Text is tokenized; token lists are taken as they are.
        """
        from embedlab.text.tokenize import block_to_token_bytes

        if self._files is not None:
            for text, nbytes in self.blocks():
                yield block_to_token_bytes(text), nbytes
            return
        items = iter(self._iterable or ())
        first = next(items, None)
        if first is None:
            return
        if isinstance(first, str):
            rest = Corpus(itertools.chain([first], items))
            for text, nbytes in rest.blocks():
                yield block_to_token_bytes(text), nbytes
            return
        pending: list[bytes] = []
        size = 0
        for number, item in enumerate(itertools.chain([first], items)):
            line = _token_line(item, number)
            pending.append(line)
            size += len(line)
            if size >= _BLOCK_BYTES:
                yield b"".join(pending), size
                pending, size = [], 0
        if pending:
            yield b"".join(pending), size

    def lines(self) -> Iterator[str]:
        """Yield the corpus line by line (without the newline)."""
        for text, _ in self.blocks():
            yield from text[:-1].split("\n")

    def __iter__(self) -> Iterator[list[str]]:
        from embedlab.text.tokenize import tokenize

        if self._files is None:
            for number, item in enumerate(self._iterable or ()):
                if isinstance(item, str):
                    yield tokenize(item)
                else:
                    _token_line(item, number)  # checks it
                    yield list(item)
            return
        for line in self.lines():
            yield tokenize(line)

    def __repr__(self) -> str:
        return f"Corpus({self.description!r})"

    def _file_blocks(self, handle: IO[bytes]) -> Iterator[tuple[str, int]]:
        compressed = isinstance(handle, gzip.GzipFile)
        raw_handle = handle.fileobj if compressed else handle  # type: ignore[attr-defined]
        last_pos = raw_handle.tell() if raw_handle is not None else 0
        while True:
            chunk = handle.readlines(_BLOCK_BYTES)
            if not chunk:
                return
            data = b"".join(chunk)
            if not data.endswith(b"\n"):
                data += b"\n"
            pos = raw_handle.tell() if raw_handle is not None else last_pos + len(data)
            yield self._decode(data), pos - last_pos
            last_pos = pos

    def _decode(self, data: bytes) -> str:
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError:
            text = data.decode(self.encoding, errors="surrogateescape")
            text, replaced = _SURROGATE.subn("\ufffd", text)
            self.replaced_bytes += replaced
            return text


def _token_line(item: object, number: int) -> bytes:
    """One sentence given as a token list, as token bytes ending in 0x01."""
    if isinstance(item, str) or not isinstance(item, list | tuple):
        raise InvalidParameterError(
            "A corpus of token lists must yield a list of str for every sentence; "
            f"sentence {number} is {type(item).__name__} {item!r:.60}"
        )
    try:
        line = " ".join(item)
    except TypeError:
        bad = next(t for t in item if not isinstance(t, str))
        raise InvalidParameterError(
            f"sentence {number} holds a {type(bad).__name__} ({bad!r:.40}); tokens must be str"
        ) from None
    if line.count(" ") != max(len(item) - 1, 0) or "\x01" in line or "\n" in line:
        bad = next(t for t in item if " " in t or "\x01" in t or "\n" in t)
        raise InvalidParameterError(
            f"sentence {number} holds the token {bad!r:.60}, which contains a space or a "
            "line break; a token list's tokens must not (join such words with '_')"
        )
    return line.encode("utf-8", "replace") + b"\x01"


def _check_encoding(encoding: object) -> str:
    """A text encoding Python knows (normalised name), or InvalidParameterError."""
    import codecs

    try:
        info = codecs.lookup(encoding)  # type: ignore[arg-type]
    except (LookupError, TypeError):
        raise InvalidParameterError(
            f"The 'encoding' parameter must name a text encoding such as 'utf-8', 'latin-1' "
            f"or 'cp1252'. Got {encoding!r}."
        ) from None
    try:
        "a".encode(info.name)
    except (LookupError, TypeError):  # pragma: no cover - a bytes-to-bytes codec
        raise InvalidParameterError(f"{encoding!r} is not a text encoding") from None
    return info.name


def _open_binary(path: Path) -> IO[bytes]:  # GzipFile is an IO[bytes] in all but name
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return open(path, "rb")
    except OSError as exc:
        raise MissingFileError(f"cannot read corpus file {path}: {exc.strerror}") from None


def _resolve_files(source: str | os.PathLike[str]) -> list[Path]:
    text = os.fspath(source)
    path = Path(text)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise MissingFileError(f"corpus directory has no files: {path}")
        return files
    if _GLOB_CHARS & set(text):
        matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not matches:
            raise MissingFileError(f"no corpus file matches the pattern {text!r}")
        return matches
    raise MissingFileError(f"corpus not found: {path}")
