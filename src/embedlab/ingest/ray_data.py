"""Embedding a large JSONL or Parquet dataset through Ray Data.

:func:`embed_dataset` reads the rows (``ray.data.read_json`` / ``read_parquet``), encodes
their text column with ``map_batches`` over a pool of actors that each hold the model, and
writes the rows with a ``vector`` column to a folder of Parquet files (``write_parquet``,
on the workers), or into a collection (this process the single writer, ``upsert`` by id,
so a re-run after an interruption finishes the job without duplicates).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError, MissingFileError
from embedlab.ingest.distributed import RayOptions, _ray

if TYPE_CHECKING:
    from embedlab.store import Database

__all__ = ["DatasetReport", "embed_dataset"]

_JSON = (".jsonl", ".json", ".ndjson")


@dataclass(frozen=True)
class DatasetReport:
    """What :func:`embed_dataset` did: rows embedded, where they went, how long it took."""

    rows: int
    model: str
    dim: int
    seconds: float
    output: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": self.rows_per_second}


class _EncodeBatch:
    """Ray Data's callable class: the model loaded once per actor, a batch per call."""

    def __init__(self, spec: str, column: str, normalize: bool, batch_size: int) -> None:
        from embedlab.encoders import load

        self.encoder = load(spec)
        self.column, self.normalize, self.batch_size = column, normalize, batch_size

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa  # type: ignore[import-untyped]

        texts = [t if isinstance(t, str) else "" for t in table.column(self.column).to_pylist()]
        vectors = np.asarray(
            self.encoder.encode(texts, batch_size=self.batch_size, normalize=self.normalize),
            dtype=np.float32,
        )
        column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
        return table.append_column("vector", column)


def embed_dataset(
    source: str | os.PathLike[str],
    encoder: str,
    *,
    output: str | os.PathLike[str] | None = None,
    db: Database | str | os.PathLike[str] | None = None,
    collection: str | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    batch_size: int = 64,
    normalize: bool = True,
    workers: int | None = None,
    address: str | None = None,
) -> DatasetReport:
    """Embed the ``text_column`` of a .jsonl or .parquet file (or folder of them) on Ray.

    ``output`` names a folder for Parquet files (the input's columns plus ``vector``, a
    fixed-size list of float32); or ``db`` and ``collection`` name a collection (created
    for the model if missing) that receives the rows upserted by ``id_column`` (by default
    the SHA-256 of the text), with the text as document. ``workers`` actors (one per CPU
    but one by default, left to the readers) each hold the model; ``address`` joins a
    running cluster as in :func:`~embedlab.ingest.index_paths`.

    Example:
        >>> embed_dataset("rows.jsonl", "minilm", output="vectors/")  # doctest: +SKIP
        DatasetReport(rows=100000, model='minilm', dim=384, seconds=812.0, output='vectors')
    """
    from embedlab.encoders import load

    batch_size = check_int("batch_size", batch_size, minimum=1)
    if workers is not None:
        workers = check_int("workers", workers, minimum=1)
    if (output is None) == (collection is None):
        raise InvalidParameterError("give output (a folder) or a collection, one of them")
    if collection is not None and db is None:
        raise InvalidParameterError("a collection needs its database: db=...")
    if output is not None and Path(output).exists() and any(Path(output).iterdir()):
        raise InvalidParameterError(f"the output folder {str(output)!r} is not empty")
    path = Path(os.fspath(source))
    if not path.exists():
        raise MissingFileError(f"{str(path)!r} is not a file or folder")
    suffixes = {p.suffix.lower() for p in ([path] if path.is_file() else path.iterdir())}
    if suffixes & set(_JSON) and ".parquet" not in suffixes:
        kind = "json"
    elif ".parquet" in suffixes and not suffixes & set(_JSON):
        kind = "parquet"
    else:
        raise InvalidParameterError(
            f"the dataset must be .jsonl or .parquet files; got {sorted(suffixes)} in {str(path)!r}"
        )
    enc = load(encoder)  # checks the spec here, before the cluster does
    ray = _ray()
    with RayOptions(encoder, address, workers).cluster():
        began = time.perf_counter()
        data = ray.data
        dataset = data.read_json(str(path)) if kind == "json" else data.read_parquet(str(path))
        names = dataset.schema().names
        for name in (text_column, id_column):
            if name is not None and name not in names:
                raise InvalidParameterError(f"the dataset has no column {name!r}; it has {names}")
        # one CPU left to Ray Data's read tasks: actors holding every CPU would starve them
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) - 1)
        encoded = dataset.map_batches(
            _EncodeBatch,
            fn_constructor_args=(encoder, text_column, normalize, batch_size),
            batch_size=batch_size,
            batch_format="pyarrow",
            concurrency=count,
            num_cpus=1,
        )
        if output is not None:
            import pyarrow.dataset as pads  # type: ignore[import-untyped]

            encoded.write_parquet(os.fspath(output))
            rows = int(pads.dataset(os.fspath(output), format="parquet").count_rows())
            where = os.fspath(output)
        else:
            assert collection is not None and db is not None  # checked above
            rows = _write(encoded, db, collection, enc, text_column, id_column)
            where = f"collection {collection!r}"
        seconds = time.perf_counter() - began
    return DatasetReport(rows, enc.name, enc.dim, seconds, str(where))


def _write(
    encoded: Any,
    db: Database | str | os.PathLike[str],
    name: str,
    enc: Any,
    text_column: str,
    id_column: str | None,
) -> int:
    """Upsert the encoded batches into the collection, this process the only writer."""
    from embedlab.ingest.pipeline import _collection
    from embedlab.store import Database

    if isinstance(db, str | os.PathLike):
        with Database(db) as database:
            return _write(encoded, database, name, enc, text_column, id_column)
    col = _collection(db, name, enc)
    rows = 0
    for batch in encoded.iter_batches(batch_format="pyarrow", batch_size=1024):
        texts = [t if isinstance(t, str) else "" for t in batch.column(text_column).to_pylist()]
        if id_column is None:
            ids = [hashlib.sha256(t.encode()).hexdigest()[:32] for t in texts]
        else:
            ids = [str(v) for v in batch.column(id_column).to_pylist()]
        vectors = np.asarray(batch.column("vector").to_pylist(), dtype=np.float32)
        col.upsert(ids=ids, vectors=vectors, documents=texts, model=enc.name)
        rows += len(ids)
    return rows
