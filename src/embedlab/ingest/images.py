"""Indexing image files into a collection: walk, hash, embed in batches, store; incrementally.

Each image is one row: id = its absolute path, the image vector (normalised), document =
its file name (so keyword search can match names), metadata ``path``, ``title`` (the file
name), ``kind`` (``"image"``), ``width`` and ``height`` (as read, upright), ``mtime`` and
``sha256`` (of the file's bytes when it was indexed).

Rules (those of :mod:`embedlab.ingest.pipeline`, for images):
- Folders are walked for image suffixes (jpg, jpeg, png, webp, bmp, gif, tif, tiff;
  hidden files skipped); a file given by name is tried whatever its suffix.
- An unchanged file (same sha256) is skipped; a changed one replaced; a file gone from a
  given folder has its row removed.
- A file that cannot be read (damaged, not an image, over the encoder's ``max_pixels``)
  is reported in ``failed``, its old row (if any) removed, and the run goes on.
- Rows are written a batch at a time, each batch in one transaction (a changed file's
  row replaced in place).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab._validation import check_int
from embedlab.encoders._images import IMAGE_SUFFIXES
from embedlab.errors import InvalidParameterError, MissingFileError
from embedlab.ingest.pipeline import FailedFile, IngestReport, _collection

if TYPE_CHECKING:
    from embedlab.encoders.image import ImageEncoding
    from embedlab.store import Collection, Database

__all__ = ["IMAGE_SUFFIXES", "index_images"]


def index_images(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    db: Database | str | os.PathLike[str],
    collection: str,
    encoder: ImageEncoding | str,
    *,
    batch_size: int = 32,
) -> IngestReport:
    """Index image files and folders; one row per image (``chunks_added`` counts images).

    ``encoder`` is an image encoder or a spec (``efficientnet-lite0``, ``clip:PATH``).
    The collection is created (cosine, ``model=encoder.name``) if missing; an existing one
    must hold the same model's vectors.

    Example:
        >>> report = index_images(["photos/"], "my.db", "photos", "image")  # doctest: +SKIP
        >>> report.files_indexed, [f.path for f in report.failed]  # doctest: +SKIP
        (118, ['photos/broken.jpg'])
    """
    from embedlab.encoders import load
    from embedlab.encoders.image import is_image_encoder
    from embedlab.store import Database

    batch_size = check_int("batch_size", batch_size, minimum=1)
    if not isinstance(collection, str) or not collection:
        raise InvalidParameterError(
            f"The 'collection' parameter must be a str. Got {collection!r}."
        )
    files, roots = _expand(paths)
    enc: Any = load(encoder) if isinstance(encoder, str) else encoder
    if not is_image_encoder(enc):
        raise InvalidParameterError(
            f"encoder {enc.name!r} does not embed images; use 'efficientnet-lite0' or 'clip:PATH'"
        )
    if isinstance(db, str | os.PathLike):
        with Database(db) as database:
            return _run(database, collection, enc, files, roots, batch_size)
    return _run(db, collection, enc, files, roots, batch_size)


def _expand(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> tuple[list[Path], list[Path]]:
    """The image files (absolute, sorted, once each) and the folders they were walked from."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise InvalidParameterError("The 'paths' parameter must name at least one path.")
    found: dict[str, Path] = {}
    roots: list[Path] = []
    for item in items:
        given = Path(os.fspath(item)).expanduser()
        if given.is_file():
            found.setdefault(str(given.resolve()), given.resolve())
        elif given.is_dir():
            root = given.resolve()
            roots.append(root)
            for folder, dirs, names in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in names:
                    if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                        file = Path(folder) / name
                        found.setdefault(str(file), file)
        else:
            raise MissingFileError(f"{str(item)!r} is not a file or folder")
    return sorted(found.values(), key=str), roots


def _run(
    db: Database,
    name: str,
    encoder: Any,
    files: list[Path],
    roots: list[Path],
    batch_size: int,
) -> IngestReport:
    began = time.perf_counter()
    col = _collection(db, name, encoder)
    known = _known(col)
    current = {str(f) for f in files}
    removed = rows_removed = 0
    for path in sorted(known):
        if path not in current and any(Path(path).is_relative_to(root) for root in roots):
            rows_removed += col.delete(ids=[path])
            removed += 1
    todo: list[tuple[str, str, float]] = []
    failed: list[FailedFile] = []
    unchanged = 0
    for file in files:
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
            mtime = file.stat().st_mtime
        except OSError as exc:
            failed.append(FailedFile(str(file), f"cannot be read: {exc.strerror or exc}"))
            continue
        if known.get(str(file)) == digest:
            unchanged += 1
        else:
            todo.append((str(file), digest, mtime))
    indexed = added = 0
    encode_seconds = 0.0
    for low in range(0, len(todo), batch_size):
        batch = todo[low : low + batch_size]
        done = encoder.encode_files([p for p, _, _ in batch], batch_size=batch_size, normalize=True)
        encode_seconds += done.seconds
        facts = {p: (digest, mtime) for p, digest, mtime in batch}
        for path, reason in done.failed:
            failed.append(FailedFile(path, reason))
            if path in known:
                rows_removed += col.delete(ids=[path])
        if not done.paths:
            continue
        col.upsert(  # a changed file's row is replaced in the same transaction
            ids=list(done.paths),
            vectors=np.asarray(done.vectors, dtype=np.float32),
            metadata=[
                {
                    "path": path,
                    "title": Path(path).name,
                    "kind": "image",
                    "width": size[0],
                    "height": size[1],
                    "mtime": facts[path][1],
                    "sha256": facts[path][0],
                }
                for path, size in zip(done.paths, done.sizes, strict=True)
            ],
            documents=[Path(path).name for path in done.paths],
            model=encoder.name,
        )
        indexed += len(done.paths)
        added += len(done.paths)
    return IngestReport(
        collection=col.name,
        model=encoder.name,
        files_seen=len(files),
        files_indexed=indexed,
        files_unchanged=unchanged,
        files_removed=removed,
        failed=tuple(failed),
        chunks_added=added,
        chunks_removed=rows_removed,
        seconds=time.perf_counter() - began,
        encode_seconds=encode_seconds,
        chunk_tokens=0,
        overlap=0,
    )


def _known(col: Collection) -> dict[str, str]:
    """Indexed image paths → the sha256 recorded with them."""
    if col.count() == 0:
        return {}
    rows = col.get(where={"kind": "image"}, include="metadata")
    return {
        str(meta["path"]): str(meta["sha256"])
        for meta in rows.metadata or ()
        if isinstance(meta.get("path"), str) and isinstance(meta.get("sha256"), str)
    }
