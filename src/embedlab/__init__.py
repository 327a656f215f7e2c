"""embedlab: train, generate, store, search, evaluate, audit and look at embeddings."""

from importlib import metadata
from typing import TYPE_CHECKING, Any

from embedlab import _log  # noqa: F401  (the package logger's NullHandler)
from embedlab.errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    CorpusError,
    DimensionMismatchError,
    DuplicateIdError,
    EmbedlabError,
    FormatError,
    IndexRebuiltWarning,
    InvalidFilterError,
    InvalidMetadataError,
    InvalidParameterError,
    MissingDependencyError,
    MissingFileError,
    ModelMismatchError,
    RemoteEncoderError,
    StoreCorruptError,
    StoreIOError,
    StoreLockedError,
    StoreReadOnlyError,
    StoreVersionError,
    UnknownKeyError,
)
from embedlab.vectors import WordVectors

if TYPE_CHECKING:
    from embedlab.server.client import Client
    from embedlab.store import Collection, Database

try:
    __version__ = metadata.version("embedlab")
except metadata.PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Client",
    "Collection",
    "CollectionExistsError",
    "CollectionNotFoundError",
    "CorpusError",
    "Database",
    "DimensionMismatchError",
    "DuplicateIdError",
    "EmbedlabError",
    "FormatError",
    "IndexRebuiltWarning",
    "InvalidFilterError",
    "InvalidMetadataError",
    "InvalidParameterError",
    "MissingDependencyError",
    "MissingFileError",
    "ModelMismatchError",
    "RemoteEncoderError",
    "StoreCorruptError",
    "StoreIOError",
    "StoreLockedError",
    "StoreReadOnlyError",
    "StoreVersionError",
    "UnknownKeyError",
    "WordVectors",
    "__version__",
]

_LAZY = {"Database", "Collection"}  # the store imports faiss; load it on first use


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from embedlab import store

        return getattr(store, name)
    if name == "Client":  # needs httpx2 (the server extra)
        from embedlab.server.client import Client

        return Client
    raise AttributeError(f"module 'embedlab' has no attribute {name!r}")
