"""word2vec / fastText ``.vec`` / GloVe text: one key and its values per line."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import BinaryIO, NoReturn

import numpy as np

from embedlab.errors import FormatError
from embedlab.io._sniff import Header, strip_bom

BATCH_LINES = 8192  # lines parsed by one numpy call
FLOAT_FORMAT = "%.9g"  # nine significant digits: every float32 survives the round trip


def read_text(
    stream: BinaryIO,
    *,
    path: str,
    header: Header | None,
    limit: int | None,
    unicode_errors: str,
) -> tuple[list[str], np.ndarray]:
    """Parse the lines after the header (or all lines, for GloVe) into keys and a matrix.

    The stream is positioned just after the header line when there is one. Numbers are
    parsed a batch of lines at a time by numpy; only a batch that fails is re-read line
    by line, to name the line at fault.
    """
    first_line = 2 if header is not None else 1
    dim = header.dim if header is not None else None
    wanted = header.count if header is not None else None
    if limit is not None:
        wanted = limit if wanted is None else min(wanted, limit)
    keys: list[str] = []
    blocks: list[np.ndarray] = []
    line_no = first_line
    while wanted is None or len(keys) < wanted:
        size = BATCH_LINES if wanted is None else min(BATCH_LINES, wanted - len(keys))
        batch = list(islice(stream, size))
        if not batch:
            break
        batch_keys, rests, blank_at = _split_keys(batch, path, line_no, unicode_errors)
        if dim is None and rests:
            dim = len(rests[0].split())
            if dim == 0:
                raise FormatError(
                    "a key with no values; expected 'key v1 v2 ...'", path=path, line=line_no
                )
        if rests and dim is not None:
            blocks.append(_parse_numbers(rests, dim, path, line_no))
            keys.extend(batch_keys)
        if blank_at is not None:
            _expect_only_blank_lines(stream, path, blank_at)
            break
        line_no += len(batch)
    if dim is None:
        raise FormatError("no vectors found (empty file)", path=path, line=first_line)
    if header is not None and (limit is None or limit > len(keys)):
        _check_count(stream, path, header, len(keys))
    matrix = np.concatenate(blocks) if blocks else np.empty((0, dim), dtype=np.float32)
    return keys, matrix


def _split_keys(
    batch: list[bytes], path: str, line_no: int, unicode_errors: str
) -> tuple[list[str], list[bytes], int | None]:
    """Split each line into its decoded key and the bytes of its values.

    Stops at the first blank line and returns its number as the third item.
    """
    keys: list[str] = []
    rests: list[bytes] = []
    for offset, raw in enumerate(batch):
        parts = raw.split(None, 1)
        if not parts:
            return keys, rests, line_no + offset
        key = parts[0] if line_no + offset > 1 else strip_bom(parts[0])
        try:
            keys.append(key.decode("utf-8", unicode_errors))
        except UnicodeDecodeError as err:
            raise FormatError(
                f"key {parts[0]!r} is not valid UTF-8 ({err.reason}); "
                "pass unicode_errors='replace' or 'ignore' to load it anyway",
                path=path,
                line=line_no + offset,
            ) from None
        rests.append(parts[1] if len(parts) == 2 else b"")
    return keys, rests, None


def _parse_numbers(rests: list[bytes], dim: int, path: str, line_no: int) -> np.ndarray:
    """One numpy call for the whole batch; on any doubt, find the bad line and name it."""
    values: np.ndarray | None = None
    if all(rests):  # loadtxt would skip an empty line (a key without values) silently
        try:
            values = np.loadtxt(rests, dtype=np.float32, comments=None, ndmin=2)
        except ValueError:
            values = None
    if values is None or values.shape != (len(rests), dim):
        _raise_for_bad_line(rests, dim, path, line_no)
    check_finite_rows(values, path, first_line=line_no)
    return values


def check_finite_rows(
    matrix: np.ndarray,
    path: str,
    *,
    first_line: int | None = None,
    keys: Sequence[str] | None = None,
) -> None:
    """Raise a FormatError naming the first row with NaN, infinity or a float32 overflow
    (by its line when rows are lines from ``first_line`` on, else by its number and key)."""
    finite = np.isfinite(matrix).all(axis=1)
    if finite.all():
        return
    row = int(np.flatnonzero(~finite)[0])
    column = int(np.flatnonzero(~np.isfinite(matrix[row]))[0])
    which = "" if first_line is not None else f"vector {row + 1}"
    if keys is not None and first_line is None:
        which += f" ({keys[row]!r})"
    raise FormatError(
        f"{which + ': ' if which else ''}value {column + 1} is {matrix[row, column]} (NaN, "
        "infinity, or beyond float32's range of about 3.4e38); vectors must be finite",
        path=path,
        line=None if first_line is None else first_line + row,
    )


def _raise_for_bad_line(rests: Sequence[bytes], dim: int, path: str, line_no: int) -> NoReturn:
    """Re-read a failed batch line by line and raise a FormatError naming the culprit."""
    for offset, rest in enumerate(rests):
        tokens = rest.split()
        if len(tokens) != dim:
            raise FormatError(
                f"inconsistent dimension: expected {dim} values after the key, found {len(tokens)}",
                path=path,
                line=line_no + offset,
            )
        for column, token in enumerate(tokens, start=2):
            try:
                float(token)
            except ValueError:
                raise FormatError(
                    f"non-numeric value {token.decode('utf-8', 'replace')!r} in column {column}",
                    path=path,
                    line=line_no + offset,
                ) from None
    raise FormatError(
        f"could not parse the values of lines {line_no}-{line_no + len(rests) - 1}",
        path=path,
        line=line_no,
    )


def _expect_only_blank_lines(stream: BinaryIO, path: str, blank_at: int) -> None:
    """Blank lines are allowed at the end of a file only."""
    for raw in stream:
        if raw.strip():
            raise FormatError("blank line in the middle of the file", path=path, line=blank_at)


def _check_count(stream: BinaryIO, path: str, header: Header, found: int) -> None:
    """The header's count must match the number of vector lines."""
    if found < header.count:
        raise FormatError(
            f"the header declares {header.count} vectors but the file holds only {found}",
            path=path,
            line=found + 2,
        )
    for offset, raw in enumerate(stream):
        if raw.strip():
            raise FormatError(
                f"the header declares {header.count} vectors but there are more lines",
                path=path,
                line=header.count + 2 + offset,
            )


def write_text(stream: BinaryIO, keys: Sequence[str], vectors: np.ndarray, *, header: bool) -> None:
    """Write "key v1 ... vd" lines (after a "count dim" header when asked)."""
    count, dim = vectors.shape
    if header:
        stream.write(f"{count} {dim}\n".encode())
    row_format = " ".join([FLOAT_FORMAT] * dim)
    for start in range(0, count, BATCH_LINES):
        rows = vectors[start : start + BATCH_LINES].tolist()
        lines = [
            f"{key} {row_format % tuple(row)}\n"
            for key, row in zip(keys[start : start + BATCH_LINES], rows, strict=True)
        ]
        stream.write("".join(lines).encode("utf-8"))
