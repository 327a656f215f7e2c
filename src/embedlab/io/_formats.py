"""Every vector format by name, with detection: the entry points the CLI's convert uses."""

from __future__ import annotations

import os
from pathlib import Path

from embedlab._validation import StrEnumOption, check_int, check_readable_file
from embedlab.errors import MissingFileError
from embedlab.io._folder import CONFIG_FILE, load_folder, save_folder
from embedlab.io._sniff import sniff
from embedlab.io._word2vec import load_word2vec_format, save_word2vec_format
from embedlab.vectors import WordVectors

__all__ = ["VectorFormat", "detect_format", "load_vectors", "save_vectors"]


class VectorFormat(StrEnumOption):
    """The formats word vectors can be loaded from and saved to."""

    EMBEDLAB = "embedlab"  # folder: config.json + vectors.npy + vocab.txt
    WORD2VEC = "word2vec"  # text with a "count dim" header (also fastText .vec)
    WORD2VEC_BIN = "word2vec-bin"  # word2vec binary
    GLOVE = "glove"  # text without a header


def detect_format(path: str | os.PathLike[str]) -> VectorFormat:
    """Which format path holds: a folder with config.json, or what its first bytes say.

    Example:
        >>> detect_format("glove.6B.50d.txt")  # doctest: +SKIP
        <VectorFormat.GLOVE: 'glove'>
    """
    target = Path(path)
    if target.is_dir():
        if not (target / CONFIG_FILE).is_file():
            raise MissingFileError(
                f"{target} is a folder without {CONFIG_FILE}, not an embedlab folder"
            )
        return VectorFormat.EMBEDLAB
    sniffed = sniff(check_readable_file(target, what="vector file"))
    if sniffed.header is None:
        return VectorFormat.GLOVE
    return VectorFormat.WORD2VEC_BIN if sniffed.binary else VectorFormat.WORD2VEC


def load_vectors(
    path: str | os.PathLike[str],
    *,
    format: VectorFormat | str | None = None,
    limit: int | None = None,
) -> WordVectors:
    """Load word vectors in any supported format, detected when ``format`` is None.

    ``limit`` keeps the first vectors only (for a folder, the first rows of the matrix).

    Example:
        >>> wv = load_vectors("model")  # an embedlab folder  # doctest: +SKIP
        >>> wv = load_vectors("vectors.bin", limit=50_000)  # doctest: +SKIP
    """
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    if not Path(path).exists():
        raise MissingFileError(f"vectors not found: {path}")
    kind = detect_format(path) if format is None else VectorFormat.parse(format, name="format")
    if kind is VectorFormat.EMBEDLAB:
        if limit is None:
            return load_folder(path)
        full = load_folder(path, mmap=True)
        counts = None if full.counts is None else full.counts[:limit]
        return WordVectors(
            full.keys[:limit], full.vectors[:limit].copy(), counts=counts, config=full.config
        )
    binary = kind is VectorFormat.WORD2VEC_BIN
    return load_word2vec_format(path, binary=binary, limit=limit)


def save_vectors(
    wv: WordVectors,
    path: str | os.PathLike[str],
    *,
    format: VectorFormat | str = VectorFormat.EMBEDLAB,
) -> None:
    """Save word vectors in the named format (an embedlab folder by default).

    Example:
        >>> save_vectors(wv, "vectors.txt", format="word2vec")  # doctest: +SKIP
    """
    kind = VectorFormat.parse(format, name="format")
    if kind is VectorFormat.EMBEDLAB:
        save_folder(wv, path)
    elif kind is VectorFormat.GLOVE:
        save_word2vec_format(wv, path, header=False)
    else:
        save_word2vec_format(wv, path, binary=kind is VectorFormat.WORD2VEC_BIN)
