"""CachedEncoder: remember embeddings in SQLite so unchanged text is never encoded twice.

Rows are keyed by (the encoder's ``cache_id``, or its ``name``; the prompt; the sha256 of
the text) and hold the raw float32 vector as a blob. Vectors are stored before
normalisation, so one row serves ``normalize=True`` and ``normalize=False`` alike.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.encoders.base import Encoder, check_texts
from embedlab.errors import FormatError, InvalidParameterError
from embedlab.io._files import check_output_path
from embedlab.metrics import normalize as unit_rows

__all__ = ["CacheStats", "CachedEncoder"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model  TEXT NOT NULL,
    prompt TEXT NOT NULL,
    digest BLOB NOT NULL,
    dim    INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, prompt, digest)
) WITHOUT ROWID
"""
_CHUNK = 500  # keys per SELECT, well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class CacheStats:
    """Texts served from the cache (``hits``) and texts sent to the encoder (``misses``)."""

    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        """Share of texts served from the cache (0.0 before any call)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class CachedEncoder:
    """Wrap an encoder with an SQLite cache of its vectors.

    Repeated texts within one call are encoded once, too.

    Example:
        >>> from embedlab.encoders import load
        >>> enc = CachedEncoder(load("minilm"), "cache.sqlite")  # doctest: +SKIP
        >>> _ = enc.encode(["hello"]); _ = enc.encode(["hello"])  # doctest: +SKIP
        >>> enc.stats  # doctest: +SKIP
        CacheStats(hits=1, misses=1)
    """

    def __init__(self, encoder: Encoder, path: str | os.PathLike[str]) -> None:
        # Not isinstance(encoder, Encoder): on Python 3.11 that evaluates properties, and a
        # remote encoder's ``dim`` may ask its server.
        if not callable(getattr(encoder, "encode", None)):
            raise InvalidParameterError(
                f"The 'encoder' parameter must be an Encoder. Got {type(encoder).__name__}."
            )
        self.encoder = encoder
        if isinstance(path, str | os.PathLike) and Path(path).is_dir():
            raise InvalidParameterError(
                f"The 'path' parameter must name a cache file, not a folder. Got {str(path)!r}."
            )
        self.path = check_output_path(path, folder=False, what="cache")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as exc:  # another kind of file, or a damaged cache
            self._db.close()
            raise FormatError(
                f"not an embedlab encoder cache (an SQLite file): {exc}", path=str(self.path)
            ) from None
        self._hits = 0
        self._misses = 0

    @property
    def name(self) -> str:
        """The wrapped encoder's name."""
        return self.encoder.name

    @property
    def dim(self) -> int:
        """The wrapped encoder's dimension."""
        return self.encoder.dim

    @property
    def max_tokens(self) -> int | None:
        """The wrapped encoder's input limit."""
        return self.encoder.max_tokens

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` as the wrapped encoder counts them (its tokenizer, else
        words), so chunking by tokens is the same with or without the cache.

        Example:
            >>> enc.count_tokens("two words")  # doctest: +SKIP
            2
        """
        from embedlab.ingest.chunking import token_counter

        return token_counter(self.encoder)(text)

    @property
    def stats(self) -> CacheStats:
        """Hits and misses since this object was made."""
        return CacheStats(hits=self._hits, misses=self._misses)

    def __len__(self) -> int:
        """Rows in the cache file, for every model."""
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()
        return int(count)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
    ) -> npt.NDArray[np.float32]:
        """Return the vectors of texts, encoding only those not cached yet.

        Example:
            >>> enc.encode(["cached text"], normalize=True).shape  # doctest: +SKIP
            (1, 384)
        """
        items = check_texts(texts)
        batch_size = check_int("batch_size", batch_size)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = str(getattr(self.encoder, "cache_id", None) or self.encoder.name)
        prompt_key = "-" if prompt is None else "+" + prompt
        digests = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest() for t in items]
        found = self._lookup(model, prompt_key, digests)
        missing = list(dict.fromkeys(d for d in digests if d not in found))
        if missing:
            first: dict[bytes, int] = {}
            for i, digest in enumerate(digests):
                first.setdefault(digest, i)
            fresh = np.asarray(
                self.encoder.encode(
                    [items[first[d]] for d in missing],
                    batch_size=batch_size,
                    normalize=False,
                    show_progress=show_progress,
                    prompt=prompt,
                ),
                dtype=np.float32,
            )
            found.update(zip(missing, fresh, strict=True))
            self._store(model, prompt_key, missing, fresh)
        self._misses += len(missing)
        self._hits += len(items) - len(missing)
        out = np.stack([found[digest] for digest in digests]).astype(np.float32, copy=False)
        return unit_rows(out) if normalize else out

    def clear(self) -> None:
        """Delete every cached row (for every model)."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM embeddings")

    def close(self) -> None:
        """Close the cache file."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> CachedEncoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CachedEncoder({self.encoder!r}, {str(self.path)!r})"

    def _lookup(
        self, model: str, prompt_key: str, digests: list[bytes]
    ) -> dict[bytes, npt.NDArray[np.float32]]:
        """Cached vectors of these digests."""
        wanted = list(dict.fromkeys(digests))
        found: dict[bytes, npt.NDArray[np.float32]] = {}
        with self._lock:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT digest, vector FROM embeddings "
                    f"WHERE model = ? AND prompt = ? AND digest IN ({marks})",
                    (model, prompt_key, *chunk),
                )
                for digest, blob in rows:
                    found[bytes(digest)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _store(
        self, model: str, prompt_key: str, digests: list[bytes], vectors: npt.NDArray[np.float32]
    ) -> None:
        """Insert (or replace) rows in one transaction."""
        rows = [
            (model, prompt_key, d, int(v.shape[0]), np.ascontiguousarray(v).tobytes())
            for d, v in zip(digests, vectors, strict=True)
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?)", rows)
