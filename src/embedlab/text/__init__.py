"""Text in: streaming corpus readers, the default tokenizer, and the vocabulary."""

from embedlab.text.corpus import Corpus
from embedlab.text.encode import CorpusScan, scan_corpus
from embedlab.text.tokenize import tokenize
from embedlab.text.vocabulary import Vocabulary

__all__ = ["Corpus", "CorpusScan", "Vocabulary", "scan_corpus", "tokenize"]
