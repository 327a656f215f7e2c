"""LangChain adapters against langchain-tests' own standard suites, plus what the suites
leave out (filters, relevance scores, MMR, reopening, a real model end to end).

The vector-store suite embeds with its own ``DeterministicFakeEmbedding`` (6 dimensions,
as the suite requires: ``get_embeddings``); the embeddings suites run the real MiniLM
encoder through :class:`EmbedlabEmbeddings`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_tests")

from langchain_core.documents import Document
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    VectorStoreIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests

from embedlab.encoders import Encoder, load
from embedlab.integrations.langchain import EmbedlabEmbeddings, EmbedlabVectorStore


@functools.cache
def minilm() -> Encoder:
    """One MiniLM for the whole module (the suites build a model per test)."""
    return load("minilm")


class TestEmbedlabVectorStoreStandard(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, tmp_path: Path) -> Iterator[VectorStore]:  # type: ignore[override]
        store = EmbedlabVectorStore(self.get_embeddings(), path=tmp_path / "db", index="flat")
        try:
            yield store
        finally:
            store.close()


class TestEmbedlabEmbeddingsStandard(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[EmbedlabEmbeddings]:
        return EmbedlabEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": minilm()}


class TestEmbedlabEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[EmbedlabEmbeddings]:
        return EmbedlabEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": minilm()}


def test_minilm_store_end_to_end_and_reopened(tmp_path: Path) -> None:
    texts = ["The river bank flooded.", "She took out a bank loan.", "Cats sleep a lot."]
    metas = [{"topic": "nature"}, {"topic": "money"}, {"topic": "pets"}]
    emb = EmbedlabEmbeddings(minilm())
    store = EmbedlabVectorStore.from_texts(
        texts, emb, metas, ids=["r", "l", "c"], path=tmp_path / "db", collection_name="docs"
    )
    assert store.similarity_search("a mortgage from the lender", k=1)[0].id == "l"
    assert [d.id for d in store.similarity_search("water", k=3, filter={"topic": "pets"})] == ["c"]
    scored = store.similarity_search_with_relevance_scores("kittens napping", k=3)
    assert scored[0][0].id == "c"
    assert all(0.0 <= score <= 1.0 for _, score in scored)
    assert scored[0][1] > scored[-1][1]
    retriever = store.as_retriever(search_kwargs={"k": 1})
    assert retriever.invoke("cats")[0].page_content == "Cats sleep a lot."
    store.close()
    # the rows are in an ordinary embedlab database: reopen it as a store
    again = EmbedlabVectorStore(emb, path=tmp_path / "db", collection_name="docs")
    assert again.collection is not None and again.collection.model is None
    assert {d.id for d in again.get_by_ids(["r", "l", "missing"])} == {"r", "l"}
    again.close()


def test_max_marginal_relevance_prefers_diverse_documents(tmp_path: Path) -> None:
    class Fixed:  # exact 2-D vectors, so the MMR choice is known
        def __init__(self) -> None:
            self.vectors = {"a": [1.0, 0.0], "a2": [0.99, -0.141], "b": [0.6, 0.8], "q": [1.0, 0.1]}

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [self.vectors[t] for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return self.vectors[text]

    store = EmbedlabVectorStore(Fixed(), path=tmp_path / "db", index="flat")  # type: ignore[arg-type]
    store.add_texts(["a", "a2", "b"], ids=["a", "a2", "b"])
    assert [d.id for d in store.similarity_search("q", k=2)] == ["a", "a2"]
    chosen = store.max_marginal_relevance_search("q", k=2, fetch_k=3, lambda_mult=0.3)
    assert [d.id for d in chosen] == ["a", "b"]
    store.close()


def test_store_on_an_open_collection_and_its_metric(tmp_path: Path) -> None:
    import embedlab

    with embedlab.Database(tmp_path / "db") as db:
        col = db.create_collection("e", dim=2, metric="euclidean", index="flat")
        col.add(["x"], [[3.0, 4.0]], documents=["far"])

        class Origin:
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return [[0.0, 0.0] for _ in texts]

            def embed_query(self, text: str) -> list[float]:
                return [0.0, 0.0]

        store = EmbedlabVectorStore(Origin(), collection=col)  # type: ignore[arg-type]
        [(doc, distance)] = store.similarity_search_with_score("anything", k=5)
        assert (doc.page_content, distance) == ("far", 5.0)
        assert np.isclose(store._select_relevance_score_fn()(0.0), 1.0)


def test_without_a_path_the_store_is_temporary() -> None:
    emb = EmbedlabEmbeddings(minilm())
    store = EmbedlabVectorStore.from_documents([Document(page_content="hello", id="h")], emb)
    assert store.similarity_search("hi", k=1)[0].id == "h"
    store.close()
