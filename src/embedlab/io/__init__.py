"""Interchange formats for word vectors.

- word2vec text and binary, fastText ``.vec`` and GloVe text (gzip read transparently):
  :func:`load_word2vec_format`, :func:`save_word2vec_format`, :func:`save_glove_format`;
- Facebook fastText ``.bin`` models (loading only): :func:`load_fasttext_bin`;
- the embedlab folder (``config.json``, ``vectors.npy``, ``vocab.txt``):
  :func:`save_folder`, :func:`load_folder`;
- any of them by name or by detection: :func:`load_vectors`, :func:`save_vectors`,
  :func:`detect_format`, :class:`VectorFormat`.

Example:
    >>> from embedlab.io import load_vectors, save_vectors
    >>> wv = load_vectors("GoogleNews-vectors-negative300.bin.gz", limit=100_000)  # doctest: +SKIP
    >>> save_vectors(wv, "news-100k")  # doctest: +SKIP
"""

from __future__ import annotations

from embedlab.io._fasttext_bin import load_fasttext_bin
from embedlab.io._files import check_output_path
from embedlab.io._folder import check_folder_path, load_folder, save_folder
from embedlab.io._formats import (
    VectorFormat,
    check_save_path,
    detect_format,
    load_vectors,
    save_vectors,
)
from embedlab.io._word2vec import load_word2vec_format, save_glove_format, save_word2vec_format

__all__ = [
    "VectorFormat",
    "check_folder_path",
    "check_output_path",
    "check_save_path",
    "detect_format",
    "load_fasttext_bin",
    "load_folder",
    "load_vectors",
    "load_word2vec_format",
    "save_folder",
    "save_glove_format",
    "save_vectors",
    "save_word2vec_format",
]
