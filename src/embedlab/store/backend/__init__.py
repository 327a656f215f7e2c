"""The store's backends behind one seam (see :mod:`embedlab.store.backend.base`):
``embedded`` (SQLite + faiss in a folder) and ``postgres`` (PostgreSQL + pgvector)."""

from embedlab.store.backend.base import CollectionBackend, DatabaseBackend

__all__ = ["CollectionBackend", "DatabaseBackend"]
