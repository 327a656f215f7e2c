"""The on-disk file of one collection's ANN index, stamped and checksummed.

Layout: an 8-byte magic, a little-endian u32 header length, a JSON header (format,
collection id, generation, the sequence number applied, kind, dim, metric, parameters,
count and CRC-32 of each part), the positions' row labels (int64), then the index's own
bytes. A file that fails any check is reported as unusable, never half trusted.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["IndexFile", "UnusableIndexFile", "read_index_file", "write_index_file"]

_MAGIC = b"EMBLIDX1"
_FORMAT = 1


class UnusableIndexFile(Exception):
    """An index file that is missing, truncated, corrupt or made for something else."""


@dataclass(frozen=True)
class IndexFile:
    """What an index file holds: its stamp, its settings, its labels and the index bytes."""

    database_id: str
    collection_id: int
    generation: int
    seq: int
    kind: str
    dim: int
    metric: str
    params: dict[str, int]
    labels: npt.NDArray[np.int64]
    payload: bytes


def write_index_file(path: Path, entry: IndexFile) -> None:
    """Write atomically: a temporary file in the same folder, then a rename over ``path``."""
    labels = np.ascontiguousarray(entry.labels, dtype="<i8").tobytes()
    header = {
        "format": _FORMAT,
        "database_id": entry.database_id,
        "collection_id": entry.collection_id,
        "generation": entry.generation,
        "seq": entry.seq,
        "kind": entry.kind,
        "dim": entry.dim,
        "metric": entry.metric,
        "params": entry.params,
        "count": len(entry.labels),
        "labels_crc": zlib.crc32(labels),
        "payload_size": len(entry.payload),
        "payload_crc": zlib.crc32(entry.payload),
    }
    head = json.dumps(header, sort_keys=True).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(_MAGIC + struct.pack("<I", len(head)) + head)
            out.write(labels)
            out.write(entry.payload)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_index_file(path: Path) -> IndexFile:
    """Read and check an index file; raise UnusableIndexFile saying what is wrong."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnusableIndexFile("the index file is missing") from None
    except OSError as exc:
        raise UnusableIndexFile(f"the index file cannot be read ({exc.strerror})") from None
    if data[:8] != _MAGIC or len(data) < 12:
        raise UnusableIndexFile("the index file does not start with the index magic")
    (head_size,) = struct.unpack("<I", data[8:12])
    try:
        return _parse(data, head_size)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        raise UnusableIndexFile("the index file's header is corrupt") from None


def _parse(data: bytes, head_size: int) -> IndexFile:
    """The entry in ``data`` (any missing or mistyped header field raises)."""
    header: dict[str, Any] = json.loads(data[12 : 12 + head_size])
    count = int(header["count"])
    start = 12 + head_size
    labels_raw = data[start : start + 8 * count]
    payload = data[start + 8 * count :]
    ok = (
        count >= 0
        and header["format"] == _FORMAT
        and len(labels_raw) == 8 * count
        and zlib.crc32(labels_raw) == header["labels_crc"]
        and len(payload) == header["payload_size"]
        and zlib.crc32(payload) == header["payload_crc"]
    )
    if not ok:
        raise UnusableIndexFile("the index file is truncated or corrupt (checksum mismatch)")
    params = header["params"]
    return IndexFile(
        database_id=_text(header["database_id"]),
        collection_id=int(header["collection_id"]),
        generation=int(header["generation"]),
        seq=int(header["seq"]),
        kind=_text(header["kind"]),
        dim=int(header["dim"]),
        metric=_text(header["metric"]),
        params={_text(k): int(v) for k, v in params.items()},
        labels=np.frombuffer(labels_raw, dtype="<i8").astype(np.int64),
        payload=payload,
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a str, got {value!r}")
    return value
