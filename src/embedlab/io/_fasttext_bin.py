"""Facebook fastText ``.bin`` models, read into :class:`FastTextVectors` (loading only).

The layout, as fastText's ``args.cc``, ``dictionary.cc`` and ``matrix.cc`` write it
(little-endian, no padding)::

    int32 magic (793712314), int32 version (11 or 12)
    args        12 x int32 (dim ws epoch minCount neg wordNgrams loss model bucket minn
                maxn lrUpdateRate), float64 t
    dictionary  int32 size, nwords, nlabels; int64 ntokens, pruneidx_size;
                size x (NUL-terminated UTF-8 word, int64 count, int8 type: 0 word, 1 label);
                max(pruneidx_size, 0) x (int32, int32)
    input       bool quantized; int64 rows, int64 cols; rows x cols float32
    output      bool quantized; int64 rows, int64 cols; rows x cols float32

Input row ``i`` is word ``i``'s own row, row ``nwords + b`` is n-gram bucket ``b``. The
output matrix is checked for size but not kept: word vectors never use it.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from embedlab._validation import check_codec_errors, check_readable_file
from embedlab.errors import (
    DimensionMismatchError,
    FormatError,
    InvalidParameterError,
)
from embedlab.io._files import GZIP_MAGIC
from embedlab.vectors import WordVectors

__all__ = ["FASTTEXT_MAGIC", "is_fasttext_bin", "load_fasttext_bin"]

FASTTEXT_MAGIC = 793712314
SUPPORTED_VERSIONS = (11, 12)
_ARG_NAMES = (
    "dim",
    "ws",
    "epoch",
    "minCount",
    "neg",
    "wordNgrams",
    "loss",
    "model",
    "bucket",
    "minn",
    "maxn",
    "lrUpdateRate",
)
_LOSS_NAMES = {1: "hs", 2: "ns", 3: "softmax", 4: "ova"}
_MODEL_NAMES = {1: "cbow", 2: "sg", 3: "sup"}
_WORD, _LABEL = 0, 1


def is_fasttext_bin(path: Path) -> bool:
    """True if the file starts with fastText's magic number (int32 at offset 0)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return len(head) == 4 and struct.unpack("<i", head)[0] == FASTTEXT_MAGIC


def load_fasttext_bin(
    path: str | os.PathLike[str], *, unicode_errors: str = "strict"
) -> WordVectors:
    """Load the word and subword vectors of a Facebook fastText ``.bin`` model.

    Returns a :class:`~embedlab.subword_vectors.FastTextVectors` whose vectors equal
    fastText's ``getWordVector`` (words out of the vocabulary are composed from their
    n-grams), with the word counts and, in ``config``, the training arguments. A model
    trained without subwords (``maxn`` 0, as supervised models usually are) gives plain
    :class:`~embedlab.vectors.WordVectors`. Of a supervised model only the words are
    loaded; its labels live in the output matrix and are left out (``config["nlabels"]``
    says how many there were). Quantized models (``.ftz``) are refused.

    ``unicode_errors`` is how words that are not valid UTF-8 are decoded ("strict",
    "replace", "ignore"). A truncated or foreign file raises FormatError naming what was
    expected at which byte offset.

    Example:
        >>> ft = load_fasttext_bin("cc.en.300.bin")  # doctest: +SKIP
        >>> ft["unseeable"].shape  # doctest: +SKIP
        (300,)
    """
    file = check_readable_file(path, what="fastText model")
    check_codec_errors("unicode_errors", unicode_errors)
    name = str(file)
    with open(file, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            _fail(name, "expected the fastText magic number (int32) at offset 0, file ends at 0")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            cursor = _Cursor(data, name)
            header = _read_header(cursor)
            words, counts = _read_dictionary(cursor, header, unicode_errors)
            input_offset, input_shape = _matrix(cursor, "input", header)
            _matrix(cursor, "output", header)
            if cursor.pos != size:
                _fail(
                    name,
                    f"expected the end of the file after the output matrix at offset "
                    f"{cursor.pos}; found {size - cursor.pos} more bytes",
                )
        f.seek(input_offset)
        count = input_shape[0] * input_shape[1]
        matrix = np.fromfile(f, dtype="<f4", count=count).astype(np.float32, copy=False)
    if matrix.shape != (count,):  # the file changed under us
        _fail(name, f"expected {count} float32 values at offset {input_offset}")
    matrix = matrix.reshape(input_shape)
    return _build(name, header, words, counts, matrix)


class _Cursor:
    """Little-endian fields of a mapped file, read in order; a short read names the offset."""

    def __init__(self, data: mmap.mmap, path: str) -> None:
        self.data = data
        self.path = path
        self.pos = 0

    def take(self, fmt: str, what: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        self.need(size, what)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def need(self, size: int, what: str) -> None:
        if self.pos + size > len(self.data):
            _fail(self.path, f"expected {what} at offset {self.pos}, file ends at {len(self.data)}")

    def cstring(self, what: str) -> bytes:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            _fail(
                self.path,
                f"expected {what} (a NUL-terminated string) at offset {self.pos}, "
                f"file ends at {len(self.data)} without a NUL byte",
            )
        raw = self.data[self.pos : end]
        self.pos = end + 1
        return raw


def _read_header(cursor: _Cursor) -> dict[str, Any]:
    """Magic, version and the args block, checked for values a model can have."""
    name = cursor.path
    if cursor.data[:2] == GZIP_MAGIC:
        _fail(name, "expected a fastText model at offset 0; found gzip data (decompress it first)")
    (magic,) = cursor.take("<i", "the fastText magic number (int32)")
    if magic != FASTTEXT_MAGIC:
        _fail(
            name,
            f"expected the fastText magic number {FASTTEXT_MAGIC} (int32) at offset 0; found "
            f"{magic}: not a fastText .bin model (models saved before fastText's file format "
            "version 11 have no magic number and are not supported)",
        )
    (version,) = cursor.take("<i", "the file format version (int32)")
    if version not in SUPPORTED_VERSIONS:
        _fail(
            name,
            f"file format version {version} at offset 4 is not supported (this embedlab reads "
            f"versions {', '.join(map(str, SUPPORTED_VERSIONS))})",
        )
    start = cursor.pos
    values = cursor.take("<12id", "the args block (12 x int32, float64)")
    args: dict[str, Any] = dict(zip(_ARG_NAMES, values[:12], strict=True))
    args["t"] = values[12]
    for field in ("dim", "bucket", "minn", "maxn"):
        low = 1 if field == "dim" else 0
        if args[field] < low:
            _fail(name, f"args block at offset {start}: {field} is {args[field]}, below {low}")
    if version == 11 and args["model"] == 3:
        args["maxn"] = 0  # fastText's rule: version-11 supervised models used no subwords
    args["loss"] = _LOSS_NAMES.get(args["loss"], args["loss"])
    args["model"] = _MODEL_NAMES.get(args["model"], args["model"])
    return {"version": version, "args": args}


def _read_dictionary(
    cursor: _Cursor, header: dict[str, Any], unicode_errors: str
) -> tuple[list[str], list[int]]:
    """The vocabulary words (labels skipped) and their counts."""
    name = cursor.path
    start = cursor.pos
    size, nwords, nlabels = cursor.take("<3i", "the dictionary header (3 x int32)")
    ntokens, pruneidx_size = cursor.take("<2q", "the dictionary header (2 x int64)")
    if nwords < 0 or nlabels < 0 or size != nwords + nlabels:
        _fail(
            name,
            f"dictionary header at offset {start}: size ({size}) must equal nwords ({nwords}) "
            f"+ nlabels ({nlabels})",
        )
    header.update(ntokens=ntokens, nwords=nwords, nlabels=nlabels)
    words: list[str] = []
    counts: list[int] = []
    for i in range(size):
        at = cursor.pos
        raw = cursor.cstring(f"dictionary entry {i} of {size}")
        count, kind = cursor.take("<qb", f"the count and type of entry {i} (int64, int8)")
        expected = _WORD if i < nwords else _LABEL
        if kind != expected:
            _fail(
                name,
                f"dictionary entry {i} at offset {at} has type {kind}; expected "
                f"{expected} ({'word' if expected == _WORD else 'label'})",
            )
        if kind == _LABEL:
            continue
        try:
            words.append(raw.decode("utf-8", unicode_errors))
        except UnicodeDecodeError as err:
            raise FormatError(
                f"word {i} at offset {at} ({raw!r}) is not valid UTF-8 ({err.reason}); pass "
                "unicode_errors='replace' or 'ignore' to load it",
                path=name,
            ) from None
        counts.append(count)
    if pruneidx_size > 0:
        cursor.need(8 * pruneidx_size, f"{pruneidx_size} pruned-index pairs (2 x int32 each)")
        cursor.pos += 8 * pruneidx_size
    return words, counts


def _matrix(cursor: _Cursor, which: str, header: dict[str, Any]) -> tuple[int, tuple[int, int]]:
    """Check one matrix's flag, header and size; return its data offset and shape."""
    name = cursor.path
    at = cursor.pos
    (quantized,) = cursor.take("<B", f"the {which} matrix's quantization flag (bool)")
    if quantized == 1:
        _fail(
            name,
            f"quantized models are not supported (the {which} matrix at offset {at} is "
            "quantized, as in .ftz files); load the full .bin model instead",
        )
    if quantized != 0:
        _fail(
            name,
            f"expected the {which} matrix's quantization flag (0 or 1) at offset {at}; "
            f"found {quantized}",
        )
    at = cursor.pos
    rows, cols = cursor.take("<2q", f"the {which} matrix header (2 x int64)")
    dim = header["args"]["dim"]
    if rows < 0 or cols != dim:
        _fail(
            name,
            f"the {which} matrix header at offset {at} declares {rows} x {cols}; expected "
            f"rows >= 0 and {dim} columns (the model's dim)",
        )
    if which == "input":
        expected = header["nwords"] + header["args"]["bucket"]
        if rows != expected:
            _fail(
                name,
                f"the input matrix header at offset {at} declares {rows} rows; expected "
                f"nwords + bucket = {header['nwords']} + {header['args']['bucket']} = {expected}",
            )
    offset = cursor.pos
    cursor.need(rows * cols * 4, f"the {which} matrix data ({rows} x {cols} float32)")
    cursor.pos += rows * cols * 4
    return offset, (rows, cols)


def _build(
    name: str,
    header: dict[str, Any],
    words: list[str],
    counts: list[int],
    matrix: np.ndarray,
) -> WordVectors:
    """FastTextVectors over the input rows, or WordVectors for a model without subwords."""
    from embedlab.subword_vectors import FastTextVectors  # numba: imported only when needed

    args = header["args"]
    nwords = header["nwords"]
    config: dict[str, Any] = {
        "kind": "fasttext",
        "source": "fasttext-bin",
        "version": header["version"],
        "ntokens": header["ntokens"],
        "nlabels": header["nlabels"],
        "args": args,
    }
    try:
        if args["maxn"] == 0 or args["bucket"] == 0:
            return WordVectors(words, matrix[:nwords], counts=counts, config=config)
        return FastTextVectors(
            words,
            matrix[:nwords],
            matrix[nwords:],
            min_n=max(args["minn"], 1),  # fastText never uses 0-grams: minn 0 acts as 1
            max_n=args["maxn"],
            buckets=args["bucket"],
            counts=counts,
            config=config,
        )
    except (InvalidParameterError, DimensionMismatchError) as err:
        raise FormatError(f"inconsistent fastText model: {err}", path=name) from None


def _fail(path: str, message: str) -> NoReturn:
    raise FormatError(message, path=path)
