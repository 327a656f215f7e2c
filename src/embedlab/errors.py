"""The one exception tree of embedlab.

Every error embedlab raises for a user's mistake derives from :class:`EmbedlabError`
and also from the builtin a Python user would catch for it::

    EmbedlabError(Exception)
    ├── InvalidParameterError(ValueError)   a parameter outside its allowed range or set
    │   ├── InvalidFilterError              a where / where_document filter that cannot be read
    │   ├── InvalidMetadataError            metadata that is not a flat JSON object of scalars
    │   ├── DuplicateIdError                ids repeated in a batch, or already stored on add
    │   ├── TrainingDivergedError           training whose loss or weights stopped being finite
    │   ├── ModelMismatchError              vectors or a query from another embedding model
    │   ├── MissingWordsError               word sets with too few words in the vocabulary
    │   └── UnsupportedOptionError          another library's option embedlab does not have
    ├── DimensionMismatchError(ValueError)  vectors whose dimensions disagree
    ├── CorpusError(ValueError)             an empty corpus, or no word reaching min_count
    ├── FormatError(ValueError)             a malformed file (names the file and the line)
    │   ├── StoreVersionError               a database folder written by a newer embedlab
    │   └── StoreCorruptError               a damaged or missing database file (names it)
    ├── UnknownKeyError(KeyError)           a word or id that is not there
    │   └── CollectionNotFoundError         a collection name that does not exist
    ├── CollectionExistsError(ValueError)   creating a collection whose name is taken
    ├── StoreLockedError(TimeoutError)      the database's write lock was not free in time
    ├── StoreReadOnlyError(PermissionError) a write to a database opened read-only
    ├── StoreIOError(OSError)               the database file could not be written (disk full)
    ├── RemoteEncoderError(RuntimeError)    a remote embeddings endpoint failed (after retries)
    ├── MissingFileError(FileNotFoundError) a path that does not exist or cannot be read
    └── MissingDependencyError(ImportError) an optional extra that is not installed

Warnings: ``IndexRebuiltWarning(UserWarning)`` when a derived ANN index file was missing,
stale or corrupt and was rebuilt from the database.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "MAX_MESSAGE",
    "ClusterError",
    "CollectionExistsError",
    "CollectionNotFoundError",
    "CorpusError",
    "DimensionMismatchError",
    "DuplicateIdError",
    "EmbedlabError",
    "FormatError",
    "IndexRebuiltWarning",
    "InvalidFilterError",
    "InvalidMetadataError",
    "InvalidParameterError",
    "MissingDependencyError",
    "MissingDocumentsError",
    "MissingFileError",
    "MissingWordsError",
    "ModelMismatchError",
    "RemoteEncoderError",
    "StoreCorruptError",
    "StoreIOError",
    "StoreLockedError",
    "StoreReadOnlyError",
    "StoreVersionError",
    "TrainingDivergedError",
    "UnknownKeyError",
    "UnsupportedOptionError",
    "shorten",
]

MAX_MESSAGE = 400
"""The longest error message shown: a longer one (one that echoes a huge input) is cut."""


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut in the middle to about ``limit`` characters, saying how much was left out
    (lone surrogates escaped, so that the message can always be printed).

    Example:
        >>> shorten("a" * 500 + "z" * 500, 20)
        'aaaaaaaaaaaaaaaa … [980 characters left out] … zzzz'
    """
    if not text.isascii():  # a lone surrogate echoed from the input could not be printed
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) <= limit:
        return text
    tail = limit // 5
    head = limit - tail
    cut = len(text) - head - tail
    return f"{text[:head]} … [{cut:,} characters left out] … {text[len(text) - tail :]}"


class EmbedlabError(Exception):
    """Root of every error embedlab raises on purpose (its message at most ~400 characters)."""

    def __str__(self) -> str:
        return shorten(super().__str__())


class InvalidParameterError(EmbedlabError, ValueError):
    """A parameter is outside its allowed range or set of values."""


class DimensionMismatchError(EmbedlabError, ValueError):
    """Vectors whose dimensions do not agree."""


class CorpusError(EmbedlabError, ValueError):
    """A corpus that cannot be trained on (empty, or no word reaches min_count)."""


class FormatError(EmbedlabError, ValueError):
    """A file whose content does not follow the expected format."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class UnknownKeyError(EmbedlabError, KeyError):
    """A key (word, id) that is not present, with a few close spellings when known."""

    def __init__(self, key: str, suggestions: Sequence[str] = (), *, what: str = "word"):
        self.key = key
        self.suggestions = tuple(suggestions)
        message = f"unknown {what} {key!r}"
        if self.suggestions:
            message += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError would otherwise show the repr of the message
        return shorten(self.message)


class MissingFileError(EmbedlabError, FileNotFoundError):
    """A path that does not exist or cannot be read."""


class MissingDependencyError(EmbedlabError, ImportError):
    """An optional extra is needed; the message gives the exact pip line."""


class InvalidFilterError(InvalidParameterError):
    """A ``where`` / ``where_document`` filter that cannot be read; the message points at it."""


class InvalidMetadataError(InvalidParameterError):
    """Metadata that is not a flat JSON object of str, int, float, bool or lists of those."""


class DuplicateIdError(InvalidParameterError):
    """Ids repeated inside one batch, or ids that already exist on ``add``."""


class TrainingDivergedError(InvalidParameterError):
    """Training whose loss or weights became NaN or infinite (a learning rate too high)."""


class ModelMismatchError(InvalidParameterError):
    """Vectors or a query that name another embedding model than the collection's."""


class MissingWordsError(InvalidParameterError):
    """Word sets left with too few words once the words missing from the vocabulary are out.

    ``missing`` maps each set's name to its missing words; ``minimum`` is the number each
    set needed.
    """

    def __init__(self, message: str, *, missing: dict[str, tuple[str, ...]], minimum: int):
        super().__init__(message)
        self.missing = missing
        self.minimum = minimum


class StoreVersionError(FormatError):
    """A database folder written by a newer embedlab format than this one reads."""


class StoreCorruptError(FormatError):
    """A database file that is damaged, emptied or missing; the message names the file."""


class CollectionNotFoundError(UnknownKeyError):
    """A collection name that is not in the database."""

    def __init__(self, name: str, available: Sequence[str] = ()):
        super().__init__(name, (), what="collection")
        if available:
            self.message += "; the database has " + ", ".join(repr(a) for a in available)
        else:
            self.message += "; the database has no collections"


class CollectionExistsError(EmbedlabError, ValueError):
    """Creating a collection whose name is already taken."""


class StoreLockedError(EmbedlabError, TimeoutError):
    """The database's write lock stayed taken for longer than the timeout."""


class StoreReadOnlyError(EmbedlabError, PermissionError):
    """A write to a database that could only be opened read-only (a read-only folder)."""


class StoreIOError(EmbedlabError, OSError):
    """SQLite could not write the database file (the disk is full, or an I/O error)."""


class RemoteEncoderError(EmbedlabError, RuntimeError):
    """A remote embeddings endpoint failed, after retries where a retry could help.

    ``status`` is the last HTTP status (None when no HTTP answer came) and ``attempts``
    the number of requests made.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class ClusterError(EmbedlabError, ConnectionError):
    """A Ray cluster could not be reached or started, or lost a task beyond its retries."""


class IndexRebuiltWarning(UserWarning):
    """A derived ANN index file was missing, stale or corrupt and was rebuilt from SQLite."""


class UnsupportedOptionError(InvalidParameterError):
    """An option another library has (gensim, Chroma, sentence-transformers) that embedlab
    does not; the message names it and what to do instead."""


class MissingDocumentsError(InvalidParameterError):
    """Rows without a document where every row needs one (re-embedding a collection
    encodes its stored documents); the message counts them and names a few ids."""
