"""Trainers for static word embeddings."""

from embedlab.train.word2vec import TrainingStats, Word2Vec, Word2VecParams

__all__ = ["TrainingStats", "Word2Vec", "Word2VecParams"]
