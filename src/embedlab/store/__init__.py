"""The embedded vector database: collections of vectors with metadata, filters and ANN indexes.

SQLite is the source of truth; each collection's ANN index (faiss) is derived from it and
rebuilt or caught up whenever its file is missing, stale or corrupt.
"""

from embedlab.store.collection import Collection
from embedlab.store.database import Database
from embedlab.store.results import CollectionInfo, GetResult, Match, QueryResult, VerifyReport

__all__ = [
    "Collection",
    "CollectionInfo",
    "Database",
    "GetResult",
    "Match",
    "QueryResult",
    "VerifyReport",
]
