"""LlamaIndex adapters. LlamaIndex publishes no standard test suite for vector stores or
embedding models (unlike langchain-tests), so these tests check the contract of
``BasePydanticVectorStore`` / ``BaseEmbedding`` method by method, against a pure-Python
oracle for filters, and end to end through ``VectorStoreIndex`` with the real MiniLM.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from embedlab.encoders import Encoder, load
from embedlab.errors import InvalidFilterError
from embedlab.integrations.llamaindex import EmbedlabEmbedding, EmbedlabVectorStore


@functools.cache
def minilm() -> Encoder:
    return load("minilm")


def _node(node_id: str, vector: list[float], doc: str, **metadata: Any) -> TextNode:
    node = TextNode(id_=node_id, text=f"text of {node_id}", embedding=vector, metadata=metadata)
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc)
    return node


NODES = [
    ("a", [1.0, 0.0, 0.0], "doc1", {"year": 2020, "lang": "en"}),
    ("b", [0.9, 0.1, 0.0], "doc1", {"year": 2021, "lang": "fr"}),
    ("c", [0.0, 1.0, 0.0], "doc2", {"year": 1999, "lang": "en"}),
    ("d", [0.0, 0.0, 1.0], "doc3", {"year": 2024}),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbedlabVectorStore]:
    vs = EmbedlabVectorStore(path=tmp_path / "db", index="flat")
    vs.add([_node(i, v, d, **m) for i, v, d, m in NODES])
    try:
        yield vs
    finally:
        vs.close()


def _ask(vs: EmbedlabVectorStore, vector: list[float], k: int = 4, **kw: Any) -> list[str]:
    return vs.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=k, **kw)).ids or []


def test_is_a_llamaindex_vector_store(store: EmbedlabVectorStore) -> None:
    assert isinstance(store, BasePydanticVectorStore)
    assert store.stores_text and store.client is not None


def test_query_returns_whole_nodes_nearest_first(store: EmbedlabVectorStore) -> None:
    result = store.query(VectorStoreQuery(query_embedding=[1.0, 0.05, 0.0], similarity_top_k=2))
    assert result.ids == ["a", "b"]
    sims = result.similarities or []
    assert sims[0] > sims[1] and np.isclose(sims[0], 0.99875, atol=1e-4)  # 1 - cosine distance
    node = (result.nodes or [])[0]
    assert node.node_id == "a" and node.get_content() == "text of a"
    assert node.metadata == {"year": 2020, "lang": "en"}
    assert node.ref_doc_id == "doc1"


def test_empty_store_answers_nothing(tmp_path: Path) -> None:
    vs = EmbedlabVectorStore(path=tmp_path / "db")
    assert _ask(vs, [1.0, 0.0]) == []
    assert vs.get_nodes(["x"]) == []
    vs.delete("doc")  # nothing to delete: no error
    vs.close()


ORACLE = {i: m for i, _, _, m in NODES}


@pytest.mark.parametrize(
    ("filters", "oracle"),
    [
        (
            MetadataFilters(filters=[MetadataFilter(key="lang", value="en")]),
            lambda m: m.get("lang") == "en",
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="year", value=2020, operator=">")]),
            lambda m: m["year"] > 2020,
        ),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="year", value=2000, operator="<"),
                    MetadataFilter(key="lang", value="fr"),
                ],
                condition=FilterCondition.OR,
            ),
            lambda m: m["year"] < 2000 or m.get("lang") == "fr",
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="lang", value=["fr", "de"], operator="in")]
            ),
            lambda m: m.get("lang") in ("fr", "de"),
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="lang", value="en", operator="!=")]),
            lambda m: m.get("lang") != "en",
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="lang", value="en")], condition=FilterCondition.NOT
            ),
            lambda m: m.get("lang") != "en",  # NOT of an equality
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="lang", value=None, operator="is_empty")]),
            lambda m: "lang" not in m,
        ),
    ],
)
def test_filters_agree_with_a_python_oracle(
    store: EmbedlabVectorStore, filters: MetadataFilters, oracle: Any
) -> None:
    expected = {key for key, meta in ORACLE.items() if oracle(meta)}
    assert set(_ask(store, [1.0, 1.0, 1.0], k=10, filters=filters)) == expected
    assert {n.node_id for n in store.get_nodes(filters=filters)} == expected


def test_text_match_filters_are_refused(store: EmbedlabVectorStore) -> None:
    bad = MetadataFilters(filters=[MetadataFilter(key="lang", value="e", operator="text_match")])
    with pytest.raises(InvalidFilterError, match="'text_match' operator is not supported"):
        _ask(store, [1.0, 0.0, 0.0], filters=bad)


def test_doc_ids_and_node_ids_restrict_the_query(store: EmbedlabVectorStore) -> None:
    assert _ask(store, [0.0, 0.0, 1.0], doc_ids=["doc1"]) == ["b", "a"]
    assert _ask(store, [1.0, 0.0, 0.0], k=1, node_ids=["c", "d"]) in (["c"], ["d"])
    assert _ask(store, [0.0, 1.0, 0.1], k=2, node_ids=["c", "d", "a"]) == ["c", "d"]


def test_delete_by_ref_doc_nodes_and_clear(store: EmbedlabVectorStore) -> None:
    store.delete("doc1")
    assert sorted(_ask(store, [1.0, 0.0, 0.0])) == ["c", "d"]
    store.delete_nodes(["c"])
    assert _ask(store, [1.0, 0.0, 0.0]) == ["d"]
    store.add([_node(i, v, d, **m) for i, v, d, m in NODES])
    store.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="lang", value="en")]))
    assert sorted(_ask(store, [1.0, 0.0, 0.0])) == ["b", "d"]
    store.clear()
    assert _ask(store, [1.0, 0.0, 0.0]) == []


def test_adding_an_id_again_replaces_it(store: EmbedlabVectorStore) -> None:
    store.add([_node("a", [0.0, 0.0, 1.0], "doc9", year=1)])
    [node] = store.get_nodes(["a"])
    assert node.metadata == {"year": 1} and node.ref_doc_id == "doc9"
    assert set(_ask(store, [0.0, 0.0, 1.0], k=2)) == {"a", "d"}  # both at distance 0
    assert len(store.get_nodes()) == len(NODES)


async def test_async_methods(store: EmbedlabVectorStore) -> None:
    query = VectorStoreQuery(query_embedding=[0.0, 1.0, 0.0], similarity_top_k=1)
    assert (await store.aquery(query)).ids == ["c"]
    await store.async_add([_node("e", [0.0, 1.0, 0.0], "doc4")])
    await store.adelete("doc2")
    assert (await store.aquery(query)).ids == ["e"]
    assert [n.node_id for n in await store.aget_nodes(["e"])] == ["e"]


def test_keyword_mode_is_bm25(tmp_path: Path) -> None:
    vs = EmbedlabVectorStore(path=tmp_path / "db", index="flat")
    nodes = [
        TextNode(id_="r", text="the river bank flooded", embedding=[1.0, 0.0]),
        TextNode(id_="l", text="a loan from the bank of england", embedding=[0.0, 1.0]),
    ]
    vs.add(nodes)
    query = VectorStoreQuery(
        query_str="england loan", mode=VectorStoreQueryMode.TEXT_SEARCH, similarity_top_k=2
    )
    assert vs.query(query).ids == ["l"]
    vs.close()


def test_embedding_model_contract() -> None:
    model = EmbedlabEmbedding(minilm())
    query = model.get_query_embedding("how do cats sleep")
    texts = model.get_text_embedding_batch(["Cats nap all day.", "Stock markets fell."])
    assert isinstance(query, list) and isinstance(query[0], float) and len(query) == 384
    assert len(texts) == 2 and all(len(t) == 384 for t in texts)
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-5)  # normalized by default
    sims = [float(np.dot(query, t)) for t in texts]
    assert sims[0] > sims[1]
    assert model.similarity(query, texts[0]) == pytest.approx(sims[0], abs=1e-6)
    assert model.get_text_embedding("Cats nap all day.") == pytest.approx(texts[0], abs=1e-6)
    assert model.model_name == "minilm"


async def test_embedding_model_async() -> None:
    model = EmbedlabEmbedding(minilm())
    one = await model.aget_query_embedding("hello")
    many = await model.aget_text_embedding_batch(["hello", "world"])
    assert one == pytest.approx(many[0], abs=1e-6) and len(many) == 2


def test_vector_store_index_end_to_end_and_reopened(tmp_path: Path) -> None:
    embed = EmbedlabEmbedding(minilm())
    texts = {
        "r": "The river bank flooded after the storm.",
        "l": "She took out a bank loan to buy a house.",
        "c": "Cats sleep for most of the day.",
    }
    nodes = [TextNode(id_=key, text=text, metadata={"key": key}) for key, text in texts.items()]
    store = EmbedlabVectorStore(path=tmp_path / "db", collection_name="docs")
    index = VectorStoreIndex(
        nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed
    )
    [hit] = index.as_retriever(similarity_top_k=1).retrieve("a mortgage from the lender")
    assert hit.node.node_id == "l" and hit.node.get_content() == texts["l"]
    assert hit.score is not None and 0.0 < hit.score <= 1.0
    store.close()
    reopened = EmbedlabVectorStore(path=tmp_path / "db", collection_name="docs")
    again = VectorStoreIndex.from_vector_store(reopened, embed_model=embed)
    [hit] = again.as_retriever(similarity_top_k=1).retrieve("kittens napping")
    assert hit.node.node_id == "c" and hit.node.metadata == {"key": "c"}
    reopened.close()
