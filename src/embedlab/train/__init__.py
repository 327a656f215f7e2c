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

# Document and graph embeddings (h-graphdoc): imported here so `embedlab.train.Doc2Vec`
# and `embedlab.train.Node2Vec` work; kept as one appended block for easy merges.
from embedlab.train.doc2vec import Doc2Vec, Doc2VecParams, DocVectors
from embedlab.train.node2vec import Graph, Node2Vec, Node2VecParams, read_edge_list

__all__ += [
    "Doc2Vec",
    "Doc2VecParams",
    "DocVectors",
    "Graph",
    "Node2Vec",
    "Node2VecParams",
    "read_edge_list",
]
