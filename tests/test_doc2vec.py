"""Doc2Vec: planted topics, infer_vector stability, tags, save/load, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import CorpusError, FormatError, InvalidParameterError
from embedlab.train import Doc2Vec, DocVectors
from embedlab.vectors import WordVectors

TOPICS = 3


def _topic_docs(n_per_topic: int = 40, seed: int = 0) -> tuple[list[str], list[int]]:
    """Documents drawing mostly from their topic's 25 words, some from 10 shared ones."""
    rng = np.random.default_rng(seed)
    shared = [f"common{i}" for i in range(10)]
    docs, labels = [], []
    for i in range(n_per_topic * TOPICS):
        topic = i % TOPICS
        words = [f"t{topic}w{j}" for j in range(25)]
        length = int(rng.integers(20, 40))
        picks = [
            words[int(rng.integers(25))] if rng.random() < 0.7 else shared[int(rng.integers(10))]
            for _ in range(length)
        ]
        docs.append(" ".join(picks))
        labels.append(topic)
    return docs, labels


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def _nearest_centroid(dv: DocVectors, labels: list[int], vectors: np.ndarray) -> np.ndarray:
    unit = dv.unit_vectors
    centroids = _unit(np.stack([unit[np.array(labels) == t].mean(0) for t in range(TOPICS)]))
    result: np.ndarray = np.argmax(_unit(vectors) @ centroids.T, axis=1)
    return result


@pytest.mark.parametrize(
    "mode",
    [
        {"dm": True},
        {"dm": False},
        {"dm": False, "dbow_share": 4},
        {"dm": False, "dbow_words": True},
    ],
    ids=str,
)
def test_documents_of_a_topic_cluster_and_inference_finds_the_topic(mode: dict[str, bool]) -> None:
    docs, labels = _topic_docs()
    model = Doc2Vec(dim=24, min_count=1, sample=0.0, epochs=15, threads=1, seed=3, **mode)
    dv = model.train(docs)
    assert dv.keys == [str(i) for i in range(len(docs))]
    assert model.stats is not None and model.stats.lines == len(docs)
    own = _nearest_centroid(dv, labels, dv.vectors)
    assert (own == np.array(labels)).mean() > 0.9
    new_docs, new_labels = _topic_docs(5, seed=9)
    inferred = dv.infer_vectors(new_docs)
    assert (_nearest_centroid(dv, labels, inferred) == np.array(new_labels)).mean() > 0.8


def test_infer_vector_is_stable_and_leaves_the_model_alone() -> None:
    docs, _ = _topic_docs()
    dv = Doc2Vec(dim=24, dm=False, min_count=1, sample=0.0, epochs=20, threads=1).train(docs)
    words, output = dv.words.vectors.copy(), dv.output.copy()
    text = _topic_docs(1, seed=5)[0][0]  # a new topic-0 document
    runs = np.stack([dv.infer_vector(text, seed=s) for s in range(5)])
    sims = _unit(runs) @ _unit(runs).T
    assert sims.min() > 0.9  # different random starts land in the same place
    assert np.array_equal(dv.infer_vector(text, seed=1), runs[1])  # same seed: same vector
    assert np.array_equal(dv.words.vectors, words) and np.array_equal(dv.output, output)
    # Inferring a training document lands near its own trained vector.
    again = dv.infer_vectors(docs[:30])
    own = np.einsum("ij,ij->i", _unit(again), dv.unit_vectors[:30])
    assert np.median(own) > 0.7
    assert np.all(np.isfinite(dv.infer_vector("nothing known here")))


def test_tags_name_documents_and_repeats_share_a_vector() -> None:
    docs, labels = _topic_docs(10)
    tags = [f"topic{t}" for t in labels]
    dv = Doc2Vec(dim=8, min_count=1, epochs=3, threads=1).train(docs, tags=tags)
    assert dv.keys == ["topic0", "topic1", "topic2"]
    assert dv.counts is not None and dv.counts.tolist() == [10, 10, 10]
    with pytest.raises(InvalidParameterError, match="3 tags for 30 lines"):
        Doc2Vec(min_count=1).train(docs, tags=["a", "b", "c"])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    docs, _ = _topic_docs(10)
    dv = Doc2Vec(dim=8, min_count=1, epochs=3, threads=1).train(docs)
    dv.save(tmp_path / "model")
    back = DocVectors.load(tmp_path / "model")
    assert back.keys == dv.keys and np.array_equal(back.vectors, dv.vectors)
    assert back.params == dv.params and back.words.keys == dv.words.keys
    assert np.array_equal(back.infer_vector(docs[0]), dv.infer_vector(docs[0]))
    plain = WordVectors.load(tmp_path / "model")  # any reader gets the document vectors
    assert plain.keys == dv.keys and plain.config["kind"] == "doc2vec"
    WordVectors(["a"], np.ones((1, 2), dtype=np.float32)).save(tmp_path / "words")
    with pytest.raises(FormatError, match="not a Doc2Vec folder"):
        DocVectors.load(tmp_path / "words")


@pytest.mark.parametrize("corpus", [[], ["", "   ", "!!"]], ids=["no lines", "no words"])
def test_an_empty_corpus_is_a_typed_error(corpus: list[str]) -> None:
    with pytest.raises(CorpusError, match="empty"):
        Doc2Vec(min_count=1).train(corpus)


def test_bad_parameters_are_typed_errors() -> None:
    with pytest.raises(InvalidParameterError, match="dm"):
        Doc2Vec(dm="yes")
    with pytest.raises(InvalidParameterError, match="valid parameters"):
        Doc2Vec(vector_size=10)
    with pytest.raises(InvalidParameterError, match="epochs"):
        Doc2Vec(min_count=1).train(["a b c"]).infer_vector("a", epochs=0)
