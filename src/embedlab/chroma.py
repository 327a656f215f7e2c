"""Chroma's client names over :class:`embedlab.Database`, so Chroma code moves with one line.

``import embedlab.chroma as chromadb`` and then, unchanged, ``chromadb.Client()`` (an
in-memory-style database in a temporary folder, removed when the process exits),
``chromadb.EphemeralClient()`` (the same) or ``chromadb.PersistentClient(path="db")``.
Collections then take Chroma's forms (see :mod:`embedlab.store._chroma_forms`).

Example:
    >>> import embedlab.chroma as chromadb
    >>> client = chromadb.Client()
    >>> col = client.create_collection(name="notes")
    >>> col.add(ids=["a"], embeddings=[[1.0, 0.0]])
    >>> col.query(query_embeddings=[[1.0, 0.0]], n_results=1)["ids"]
    [['a']]
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any

from embedlab.store import Database

__all__ = ["Client", "EphemeralClient", "PersistentClient"]


def PersistentClient(path: str | os.PathLike[str] = "./chroma", **options: Any) -> Database:
    """A database in the folder ``path`` (created if missing), as Chroma's ``PersistentClient``."""
    if options.get("settings") is not None:
        from embedlab.errors import UnsupportedOptionError

        raise UnsupportedOptionError("settings= is a Chroma option embedlab does not have")
    return Database(path)


def EphemeralClient(**options: Any) -> Database:
    """A database in a temporary folder that is removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="embedlab-chroma-")
    db = PersistentClient(folder, **options)

    def remove() -> None:
        db.close()
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
    return db


Client = EphemeralClient
"""Chroma's ``chromadb.Client()``: an ephemeral database."""
