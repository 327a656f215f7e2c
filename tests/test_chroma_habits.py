"""Chroma habits on the store, checked against chromadb itself on the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embedlab
from embedlab.errors import (
    CollectionExistsError,
    InvalidFilterError,
    InvalidParameterError,
    UnsupportedOptionError,
)

chromadb = pytest.importorskip("chromadb")

rng = np.random.default_rng(7)
IDS = [f"d{i}" for i in range(40)]
VECTORS = rng.normal(size=(40, 8)).astype(np.float32)
METAS = [{"n": i % 5, "even": i % 2 == 0} for i in range(40)]
DOCS = [f"document {i} about {'apples' if i % 3 else 'pears'}" for i in range(40)]
QUERIES = rng.normal(size=(3, 8)).astype(np.float32)


@pytest.fixture(scope="module")
def theirs() -> Any:
    client = chromadb.EphemeralClient()
    col = client.create_collection(
        "ref", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    col.add(ids=IDS, embeddings=VECTORS.tolist(), metadatas=METAS, documents=DOCS)
    return col


@pytest.fixture
def ours(tmp_path: Path) -> Any:
    db = embedlab.Database(tmp_path / "db")
    col = db.create_collection("ref", index="flat")  # no dim: the first add fixes it
    col.add(ids=IDS, embeddings=VECTORS.tolist(), metadatas=METAS, documents=DOCS)
    yield col
    db.close()


def same(mine: dict[str, Any], reference: dict[str, Any]) -> None:
    assert mine["ids"] == reference["ids"]
    for key in ("metadatas", "documents"):
        assert mine[key] == reference[key]
    np.testing.assert_allclose(
        np.array(mine["distances"]), np.array(reference["distances"]), atol=1e-5
    )


@pytest.mark.parametrize(
    "where",
    [
        None,
        {"n": {"$gte": 3}},
        {"$and": [{"even": True}, {"n": {"$in": [0, 2, 4]}}]},
        {"#document": {"$contains": "pears"}},
        {"$and": [{"#document": {"$contains": "apples"}}, {"n": {"$lt": 2}}]},
    ],
)
def test_query_answers_as_chroma_does(ours: Any, theirs: Any, where: Any) -> None:
    mine = ours.query(query_embeddings=QUERIES.tolist(), n_results=5, where=where)
    reference = theirs.query(query_embeddings=QUERIES.tolist(), n_results=5, where=where)
    same(mine.to_dict(), dict(reference))
    assert mine["documents"][0] == reference["documents"][0]
    assert mine.to_dict()["included"] == ["metadatas", "documents", "distances"]
    with_doc = ours.query(
        query_embeddings=QUERIES[0], n_results=4, where_document={"$contains": "pears"}
    )
    ref_doc = theirs.query(
        query_embeddings=QUERIES[0].tolist(), n_results=4, where_document={"$contains": "pears"}
    )
    same(with_doc.to_dict(), dict(ref_doc))


def test_get_peek_count_and_upsert_as_chroma(ours: Any, theirs: Any) -> None:
    assert ours.count() == theirs.count() == 40
    got, ref = ours.get(ids="d3"), theirs.get(ids="d3")
    assert got["ids"] == ref["ids"] and got["metadatas"] == ref["metadatas"]
    got = ours.get(where={"n": 1}, include=["documents"])
    ref = theirs.get(where={"n": 1}, include=["documents"])
    assert got["ids"] == ref["ids"] and got["documents"] == ref["documents"]
    peek = ours.peek(3)
    np.testing.assert_allclose(
        np.array(peek["embeddings"]), theirs.peek(3)["embeddings"], atol=1e-6
    )
    ours.upsert(ids=["d1"], embeddings=[VECTORS[2].tolist()], metadatas=[{"n": 9}])
    assert ours.get(ids=["d1"])["metadatas"] == [{"n": 9}]
    res = ours.query(query_embeddings=VECTORS[2], n_results=2, include=["embeddings"])
    assert sorted(res["ids"][0]) == ["d1", "d2"] and res["documents"] is None


def test_document_keys_nowhere_else_are_refused(ours: Any) -> None:
    with pytest.raises(InvalidFilterError, match=r'where\["\$or"\]\[0\]\["#document"\]'):
        ours.get(where={"$or": [{"#document": {"$contains": "x"}}, {"n": 1}]})
    with pytest.raises(InvalidFilterError, match="Chroma special key"):
        ours.query(VECTORS[0], where={"#embedding": 1})


def test_refusals_name_the_option(ours: Any) -> None:
    with pytest.raises(UnsupportedOptionError, match="no metadata of their own"):
        ours.modify(name="other", metadata={"a": 1})
    ours.modify(name="ref")  # nothing to change
    assert ours.name == "ref"
    with pytest.raises(UnsupportedOptionError, match="uris"):
        ours.add(ids=["x"], embeddings=[VECTORS[0].tolist()], uris=["file:///x"])
    with pytest.raises(InvalidParameterError, match="not both"):
        ours.query(QUERIES, n_results=2, k=3, query_embeddings=None)
    with pytest.raises(InvalidParameterError, match="no encoder"):
        ours.query(query_texts=["apples"])
    assert ours.count() == 40


def test_pending_collection_rules(tmp_path: Path) -> None:
    db = embedlab.Database(tmp_path / "db")
    col = db.create_collection("later")
    assert col.count() == 0 and len(col.get()) == 0 and "dim=None" in repr(col)
    with pytest.raises(InvalidParameterError, match="no dimension"):
        col.query([1.0, 2.0])
    with pytest.raises(InvalidParameterError, match="fixes its dimension"):
        col.add(ids=["a"])
    col.add("a", embeddings=[1.0, 2.0, 3.0], metadatas={"k": 1})
    assert col.dim == 3 and db.get_collection("later") is col
    assert db.get_or_create_collection("later").count() == 1
    with pytest.raises(CollectionExistsError):
        db.create_collection("later")
    db.close()


def test_texts_go_through_the_collection_encoder(tmp_path: Path) -> None:
    """Documents and query texts are embedded by the collection's model (a static one here;
    tests/migration/chroma_quickstart.py runs the default, all-MiniLM-L6-v2)."""
    keys = ["pineapple", "hawaii", "oranges", "spain", "fruit"]
    wv = embedlab.WordVectors(keys, np.eye(5, dtype=np.float32) + 0.1)
    wv.save_word2vec_format(tmp_path / "w.vec")
    db = embedlab.Database(tmp_path / "db")
    col = db.create_collection("texts", dim=5, model=f"static:{tmp_path / 'w.vec'}")
    col.add(ids=["p", "o"], documents=["pineapple hawaii", "oranges spain"])
    res = col.query(query_texts="hawaii", n_results=1)
    assert res["ids"] == [["p"]]
    from embedlab.encoders import load

    expected = load(col.model).encode(["oranges spain"])[0]
    got = col.get(ids="o", include=["embeddings"])["embeddings"][0]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    db.close()
