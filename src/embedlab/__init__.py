"""embedlab: train, generate, store, search, evaluate, audit and look at embeddings."""

from embedlab.errors import (
    CorpusError,
    DimensionMismatchError,
    EmbedlabError,
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    MissingFileError,
    UnknownKeyError,
)
from embedlab.vectors import WordVectors

__version__ = "0.1.0"

__all__ = [
    "CorpusError",
    "DimensionMismatchError",
    "EmbedlabError",
    "FormatError",
    "InvalidParameterError",
    "MissingDependencyError",
    "MissingFileError",
    "UnknownKeyError",
    "WordVectors",
    "__version__",
]
