"""Document ingestion: files to searchable chunks in a collection.

- :func:`index_paths`: walk files, folders and globs, read them (``readers``), split them
  into overlapping chunks on paragraph and sentence boundaries (``chunking``), embed the
  chunks and store them with their offsets; re-runs are incremental (content hashes).
- :func:`index_images`: the same for image files, one row per image (an image encoder).
- :func:`read_document` and :func:`chunk_text`, the two steps on their own.
- :func:`reembed`: a collection's documents re-encoded with a new model into a new
  version, switched to without downtime (``reembed.py``; versions in ``store/versions.py``).

Example:
    >>> from embedlab.ingest import index_paths
    >>> report = index_paths(["docs/"], "my.db", "docs", "minilm")  # doctest: +SKIP
    >>> report.files_indexed, report.chunks_added, round(report.encode_share, 2)  # doctest: +SKIP
    (42, 310, 0.93)
"""

from __future__ import annotations

from embedlab.ingest.chunking import Chunk, TokenCounter, chunk_text, count_words, token_counter
from embedlab.ingest.images import index_images
from embedlab.ingest.pipeline import FailedFile, IngestReport, index_paths
from embedlab.ingest.readers import SUPPORTED_SUFFIXES, Document, read_document
from embedlab.ingest.reembed import ReembedReport, reembed

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Chunk",
    "Document",
    "FailedFile",
    "IngestReport",
    "ReembedReport",
    "TokenCounter",
    "chunk_text",
    "count_words",
    "index_images",
    "index_paths",
    "read_document",
    "reembed",
    "token_counter",
]
