"""Data files shipped in ``embedlab/data``: evaluation sets and the sample corpus."""

from __future__ import annotations

import atexit
import functools
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

__all__ = [
    "default_analogies_path",
    "default_weat_tests_path",
    "default_word_pairs_path",
    "sample_corpus_path",
    "sample_docs_path",
]

_ANALOGIES = "questions-words.txt"
_WORD_PAIRS = "wordsim353.tsv"
_WEAT_TESTS = "weat.json"
_SAMPLE_CORPUS = "wordnet-glosses.txt.gz"
_SAMPLE_DOCS = "docs"

# Holds the temporary copies that as_file() makes when the package lives in a zip file;
# for an ordinary installation as_file() hands back the real path and holds nothing.
_extracted = ExitStack()
atexit.register(_extracted.close)


@functools.cache
def _packaged(name: str) -> Path:
    """Path of a file in embedlab/data, extracted once if the package is zipped."""
    resource = resources.files("embedlab") / "data" / name
    return _extracted.enter_context(resources.as_file(resource))


def default_analogies_path() -> Path:
    """Path of the packaged Google analogy set (``questions-words.txt``).

    19,544 questions ``a b c d`` (a:b :: c:d) in 14 ``: section`` blocks, from the original
    word2vec distribution (Apache-2.0).

    Example:
        >>> default_analogies_path().name
        'questions-words.txt'
    """
    return _packaged(_ANALOGIES)


def default_word_pairs_path() -> Path:
    """Path of the packaged WordSim-353 file (``wordsim353.tsv``).

    353 tab-separated ``word1 word2 score`` lines with mean human scores (0-10) after two
    ``#`` comment lines; Finkelstein et al. 2002, freely redistributed.

    Example:
        >>> default_word_pairs_path().name
        'wordsim353.tsv'
    """
    return _packaged(_WORD_PAIRS)


def default_weat_tests_path() -> Path:
    """Path of the packaged WEAT word lists (``weat.json``): Caliskan et al. 2017's ten tests.

    Example:
        >>> default_weat_tests_path().name
        'weat.json'
    """
    return _packaged(_WEAT_TESTS)


def sample_docs_path() -> Path:
    """Folder of the bundled sample documents that ``embedlab demo`` indexes and searches.

    Pages of the Python tutorial (PSF licence, in the folder's ``LICENSE-PSF.txt``), as
    Markdown, text and HTML; ``embedlab/data/docs/README.md`` says where they come from.

    Example:
        >>> sample_docs_path().name
        'docs'
    """
    return _packaged(_SAMPLE_DOCS)


def sample_corpus_path() -> Path:
    """Path of the bundled sample corpus that ``embedlab demo`` trains on.

    WordNet 3.0 glosses, one synset a line (``lemma, lemma: gloss``), 1.75 M words,
    gzip-compressed; the WordNet licence is in ``embedlab/data/README.md``.

    Example:
        >>> sample_corpus_path().name
        'wordnet-glosses.txt.gz'
    """
    return _packaged(_SAMPLE_CORPUS)
