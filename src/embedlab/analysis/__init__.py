"""Apply embeddings: clusters, outliers, near-duplicates, classifiers, recommendations.

Every call takes any source of vectors (an array with keys, a ``WordVectors``, a store
``Collection`` with its metadata and documents) through :func:`as_source`. Heavy
dependencies (scikit-learn, umap-learn) are imported only by the calls that need them.
"""

from __future__ import annotations

from embedlab.analysis._source import Source, as_source, write_labels
from embedlab.analysis.align import Alignment, align, procrustes
from embedlab.analysis.classify import (
    Classifier,
    CrossValidation,
    cross_validate,
    fit_classifier,
    macro_f1,
)
from embedlab.analysis.cluster import Cluster, Clustering, class_tfidf, cluster
from embedlab.analysis.duplicates import DuplicatePair, Duplicates, find_duplicates
from embedlab.analysis.neighbors import KnnGraph, knn_graph, knn_search
from embedlab.analysis.outliers import Outliers, find_outliers
from embedlab.analysis.recommend import (
    Holdout,
    ItemModel,
    RecommendEvaluation,
    context_ranker,
    evaluate,
    holdout_split,
    item2vec,
    item2vec_model,
    popularity_ranker,
    profile,
    recommend,
    vector_ranker,
)

__all__ = [
    "Alignment",
    "Classifier",
    "Cluster",
    "Clustering",
    "CrossValidation",
    "DuplicatePair",
    "Duplicates",
    "Holdout",
    "ItemModel",
    "KnnGraph",
    "Outliers",
    "RecommendEvaluation",
    "Source",
    "align",
    "as_source",
    "class_tfidf",
    "cluster",
    "context_ranker",
    "cross_validate",
    "evaluate",
    "find_duplicates",
    "find_outliers",
    "fit_classifier",
    "holdout_split",
    "item2vec",
    "item2vec_model",
    "knn_graph",
    "knn_search",
    "macro_f1",
    "popularity_ranker",
    "procrustes",
    "profile",
    "recommend",
    "vector_ranker",
    "write_labels",
]
