"""Trainers for static word embeddings."""

from embedlab.train._sgns import TrainingStats
from embedlab.train.bilm import BiLM, BiLMParams, BiLMStats
from embedlab.train.fasttext import FastText, FastTextParams
from embedlab.train.glove import GloVe, GloVeOutput, GloVeParams, GloVeStats
from embedlab.train.word2vec import Word2Vec, Word2VecParams

__all__ = [
    "BiLM",
    "BiLMParams",
    "BiLMStats",
    "FastText",
    "FastTextParams",
    "GloVe",
    "GloVeOutput",
    "GloVeParams",
    "GloVeStats",
    "TrainingStats",
    "Word2Vec",
    "Word2VecParams",
]
