"""The embedded backend: SQLite (the truth) and faiss index files in one folder."""

from embedlab.store.backend.embedded.collection import EmbeddedCollection
from embedlab.store.backend.embedded.database import EmbeddedDatabase

__all__ = ["EmbeddedCollection", "EmbeddedDatabase"]
