"""Keyword (SQLite FTS5, BM25) and hybrid search over a collection, and `embedlab search`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_helpers import assert_user_error, run_cli
from embedlab import WordVectors
from embedlab.encoders.static import StaticEncoder
from embedlab.errors import InvalidParameterError, ModelMismatchError
from embedlab.search import highlight, search
from embedlab.store import Collection, Database

# Synonyms share a direction, so vector search finds what keyword search cannot.
WORDS = {
    "car": [1, 0, 0, 0],
    "automobile": [1, 0, 0, 0.1],
    "wash": [0, 1, 0, 0],
    "laundry": [0, 1, 0, 0.1],
    "river": [0, 0, 1, 0],
    "stream": [0, 0, 1, 0.1],
    "day": [0.1, 0.1, 0.1, 1],
}
DOCS = {
    "d1": "automobile repair and automobile parts",
    "d2": "car wash day",
    "d3": "laundry day at the stream",
    "d4": "the river flooded the road",
}


@pytest.fixture
def encoder() -> StaticEncoder:
    wv = WordVectors(list(WORDS), np.array(list(WORDS.values()), dtype=np.float32))
    return StaticEncoder(wv, name="toy")


@pytest.fixture
def docs(tmp_path: Path, encoder: StaticEncoder) -> Collection:
    db = Database(tmp_path / "db")
    col = db.create_collection("docs", dim=4, index="flat", model="toy")
    texts = list(DOCS.values())
    col.add(list(DOCS), encoder.encode(texts), [{"n": i} for i in range(4)], texts)
    return col


def test_keyword_query_ranks_by_bm25_with_stemming(docs: Collection) -> None:
    res = docs.keyword_query("automobiles", k=5)  # Porter stemming: automobiles -> automobil
    assert res.ids == ("d1",)
    assert res.documents == (DOCS["d1"],)
    both = docs.keyword_query("day river", k=5)
    assert set(both.ids) == {"d2", "d3", "d4"}
    assert list(both.distances) == sorted(both.distances)  # BM25: lower is better


def test_keyword_query_follows_deletes_filters_and_compaction(docs: Collection) -> None:
    assert docs.keyword_query("day", k=5, where={"n": 2}).ids == ("d3",)
    docs.delete(ids=["d3"])
    assert docs.keyword_query("day", k=5).ids == ("d2",)
    docs.upsert(["d2"], [[0, 1, 0, 0]], documents=["a quiet stream"])
    assert docs.keyword_query("day", k=5).ids == ()
    docs.compact()
    assert docs.keyword_query("stream", k=5).ids == ("d2",)


@pytest.mark.parametrize("text", ['bank" OR (river', "NEAR(a b)", "-day", "col:day*"])
def test_keyword_query_never_interprets_fts_syntax(docs: Collection, text: str) -> None:
    docs.keyword_query(text, k=3)  # no sqlite3.OperationalError: only the words count


@pytest.mark.parametrize("text", ["", "  ", "!?", 3])
def test_keyword_query_needs_a_word(docs: Collection, text: object) -> None:
    with pytest.raises(InvalidParameterError, match="keyword query"):
        docs.keyword_query(text, k=3)  # type: ignore[arg-type]


def test_modes_differ_and_hybrid_fuses_them(docs: Collection, encoder: StaticEncoder) -> None:
    keyword = [h.id for h in search(docs, "car", encoder=encoder, mode="keyword", k=4)]
    vector = [h.id for h in search(docs, "car", encoder=encoder, mode="vector", k=2)]
    hybrid = search(docs, "car", encoder=encoder, mode="hybrid", k=3, fusion="rrf")
    assert keyword == ["d2"]  # only d2 contains the word
    assert vector[0] == "d1"  # "automobile" is closest in meaning
    assert [h.id for h in hybrid][:2] == ["d2", "d1"]  # in both rankings beats one
    assert hybrid[0].vector_rank is not None and hybrid[0].keyword_rank == 1
    assert hybrid[1].keyword_rank is None
    assert hybrid[0].score > hybrid[1].score


@pytest.fixture
def chunks(tmp_path: Path, encoder: StaticEncoder) -> Collection:
    """Twelve identical chunks of document a, then one chunk each of b and c, and one
    chunk with no path."""
    db = Database(tmp_path / "chunks")
    col = db.create_collection("chunks", dim=4, index="flat", model="toy")
    texts = ["car car"] * 12 + ["automobile repair", "river stream", "a car by the river"]
    ids = [f"a#{i}" for i in range(12)] + ["b#0", "c#0", "loose"]
    metadata: list[dict[str, Any]] = [{"path": "a"}] * 12 + [{"path": "b"}, {"path": "c"}, {}]
    col.add(ids, encoder.encode(texts), metadata, texts)
    return col


def test_group_by_ranks_documents_by_their_best_chunk(
    chunks: Collection, encoder: StaticEncoder
) -> None:
    def ids(mode: str, k: int, **options: Any) -> list[str]:
        return [h.id for h in search(chunks, "car", encoder=encoder, mode=mode, k=k, **options)]

    assert all(i.startswith("a#") for i in ids("vector", 3))  # chunks: a fills the top
    # a's twelve chunks fill the first fetch (4 x k rows); the next, larger one finds the rest
    grouped = ids("vector", 3, group_by="path")
    assert grouped[0].startswith("a#") and grouped[1:] == ["b#0", "loose"]
    assert len(ids("vector", 10, group_by="path")) == 4  # a, b, c and the chunk with no path
    keyword = ids("keyword", 5, group_by="path")
    assert keyword[0].startswith("a#") and keyword[1:] == ["loose"]
    hybrid = search(
        chunks, "car", encoder=encoder, mode="hybrid", k=3, group_by="path", fusion="rrf"
    )
    assert [h.id[0] for h in hybrid] == ["a", "l", "b"]  # in both rankings beats one
    assert (hybrid[0].vector_rank, hybrid[0].keyword_rank) == (1, 1)  # ranks among groups
    assert (hybrid[1].vector_rank, hybrid[1].keyword_rank) == (3, 2)
    for bad in ("", 3):
        with pytest.raises(InvalidParameterError, match="group_by"):
            search(chunks, "car", encoder=encoder, group_by=bad)  # type: ignore[arg-type]


def test_search_refuses_another_model(docs: Collection) -> None:
    other = StaticEncoder(WordVectors(["car"], np.ones((1, 4), np.float32)), name="other")
    with pytest.raises(ModelMismatchError, match=r"'toy'.*'other'"):
        search(docs, "car", encoder=other, mode="vector")


def test_databases_from_before_the_keyword_index_are_indexed_on_open(tmp_path: Path) -> None:
    with Database(tmp_path / "db") as db:
        col = db.create_collection("c", dim=2, index="flat")
        col.add(["a"], [[1, 0]], documents=["river bank"])
    with sqlite3.connect(tmp_path / "db" / "embedlab.sqlite") as conn:
        conn.execute("DELETE FROM meta WHERE key = 'fts'")
        conn.execute("INSERT INTO items_fts(items_fts) VALUES ('delete-all')")
    with Database(tmp_path / "db") as db:
        assert db.get_collection("c").keyword_query("bank").ids == ("a",)


def test_highlight_marks_query_words() -> None:
    text, spans = highlight("Rivers rise; the river bank floods.", "river bank", width=100)
    assert [text[s:e] for s, e in spans] == ["river", "bank"]


def test_search_command(docs: Collection, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    docs._db.close()
    result = run_cli("search", "day", "--collection", "docs", "--mode", "keyword", "--db", db)
    assert result.code == 0, result.stderr
    assert "car wash day" in result.stdout
    one = run_cli("search", "stream", "-c", "docs", "--mode", "keyword", "--db", db, "--json")
    assert [r["id"] for r in one.json()["results"]] == ["d3"]
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"query": "river"}) + "\nday\n", encoding="utf-8")
    many = run_cli(
        "search", "-c", "docs", "--mode", "keyword", "--queries", str(queries), "--db", db, "--json"
    )
    answers = many.json()
    assert [a["query"] for a in answers] == ["river", "day"]
    assert answers[0]["results"][0]["id"] == "d4"
    bad = run_cli("search", "x", "-c", "docs", "--mode", "sideways", "--db", db)
    assert_user_error(bad, "mode")


def test_search_command_groups_by_a_metadata_key(chunks: Collection, tmp_path: Path) -> None:
    chunks._db.close()
    args = ("search", "car", "-c", "chunks", "--mode", "keyword", "--db", str(tmp_path / "chunks"))
    flat = run_cli(*args, "-k", "3", "--json").json()["results"]
    grouped = run_cli(*args, "-k", "3", "--group-by", "path", "--json").json()["results"]
    assert [r["id"][0] for r in flat] == ["a", "a", "a"]
    assert [r["id"][0] for r in grouped] == ["a", "l"]


def test_group_by_a_key_no_row_has_is_refused(chunks: Collection, encoder: StaticEncoder) -> None:
    for mode in ("vector", "keyword", "hybrid"):
        with pytest.raises(InvalidParameterError, match=r"'nokey'.*no row of collection"):
            search(chunks, "car", encoder=encoder, mode=mode, group_by="nokey")
    chunks._db.close()
    args = ("search", "car", "-c", "chunks", "--mode", "keyword", "--db", str(chunks._db.path))
    assert_user_error(run_cli(*args, "--group-by", "nokey"), "nokey", "metadata key")


def test_search_command_on_a_collection_without_a_model_asks_for_one(tmp_path: Path) -> None:
    with Database(tmp_path / "db") as db:
        db.create_collection("bare", dim=4, index="flat").add(
            ["a"], [[1, 0, 0, 0]], documents=["car"]
        )
    result = run_cli("search", "car", "-c", "bare", "--db", str(tmp_path / "db"))
    assert_user_error(result, "'bare' records no model", "--model")
    assert "folder" not in result.stderr
    keyword = run_cli(
        "search", "car", "-c", "bare", "--mode", "keyword", "--db", str(tmp_path / "db")
    )
    assert keyword.code == 0, keyword.stderr


def test_score_fusion_adds_standardised_scores(docs: Collection, encoder: StaticEncoder) -> None:
    query = "car wash day river"
    by_vector = search(docs, query, encoder=encoder, mode="vector", k=50)
    by_keyword = search(docs, query, encoder=encoder, mode="keyword", k=50)
    expected: dict[str, float] = {}
    for hits, weight in ((by_vector, 1.0), (by_keyword, 0.5)):
        raw = np.array([h.score for h in hits])
        z = dict(zip([h.id for h in hits], (raw - raw.mean()) / raw.std(), strict=True))
        for key in {h.id for h in by_vector + by_keyword}:
            expected[key] = expected.get(key, 0.0) + weight * z.get(key, min(z.values()))
    assert len(by_keyword) > 1 and len(by_keyword) < len(by_vector)  # some fill, some spread
    hybrid = search(docs, query, encoder=encoder, k=10)  # fusion="scores", weight 0.5
    assert [h.id for h in hybrid] == sorted(expected, key=lambda key: (-expected[key], key))
    assert [h.score for h in hybrid] == pytest.approx(sorted(expected.values(), reverse=True))
    with pytest.raises(InvalidParameterError, match="fusion"):
        search(docs, query, encoder=encoder, fusion="sum")


def test_a_lone_keyword_match_still_counts_in_score_fusion(
    docs: Collection, encoder: StaticEncoder
) -> None:
    hybrid = search(docs, "car", encoder=encoder, k=4)  # only d2 has the word
    vector = search(docs, "car", encoder=encoder, mode="vector", k=4)
    raw = np.array([h.score for h in vector])
    z = dict(zip([h.id for h in vector], (raw - raw.mean()) / raw.std(), strict=True))
    # one keyword match has no spread: it scores 0 and the documents it missed -1
    keyword_part = {h.id: h.score - z[h.id] for h in hybrid}
    assert keyword_part == pytest.approx({"d1": -0.5, "d2": 0.0, "d3": -0.5, "d4": -0.5})


@pytest.fixture
def files(tmp_path: Path, encoder: StaticEncoder) -> Collection:
    """Rows as index_paths writes them: ids path#n, metadata path and chunk. Document x
    opens off topic and answers in its second chunk; y opens on topic."""
    db = Database(tmp_path / "files")
    col = db.create_collection("files", dim=4, index="flat", model="toy")
    rows = {
        "/x#0": "laundry laundry wash",
        "/x#1": "car car",
        "/y#0": "car automobile day",
        "/y#1": "river stream",
        "/z#0": "river day",
    }
    meta = [{"path": i.split("#")[0], "chunk": int(i.split("#")[1])} for i in rows]
    col.add(list(rows), encoder.encode(list(rows.values())), meta, list(rows.values()))
    return col


def test_chunks_from_files_are_ranked_as_documents_unless_chunks_are_asked_for(
    files: Collection, encoder: StaticEncoder
) -> None:
    for mode in ("vector", "keyword", "hybrid"):
        hits = search(files, "car river", encoder=encoder, mode=mode, k=5)
        paths = [h.metadata["path"] for h in hits]
        assert len(paths) == len(set(paths))  # one hit per document
        chunks = search(files, "car river", encoder=encoder, mode=mode, k=5, group_by=None)
        assert len({h.metadata["path"] for h in chunks}) < len(chunks)  # chunks repeat paths
    files._db.close()
    db = str(files._db.path)
    # the toy encoder cannot be loaded by name; keyword mode shows the CLI's grouping
    kw = ("search", "car river", "-c", "files", "--mode", "keyword", "--db", db, "--json")
    documents = run_cli(*kw).json()["results"]
    assert len({r["path"] for r in documents}) == len(documents) == 3
    chunks = run_cli(*kw, "--chunks").json()["results"]
    assert len(chunks) == 4
    assert_user_error(run_cli(*kw, "--chunks", "--group-by", "path"), "--chunks", "--group-by")


def test_a_document_scores_its_best_chunk_blended_with_its_lead(
    files: Collection, encoder: StaticEncoder
) -> None:
    def order(**options: Any) -> list[str]:
        hits = search(files, "car", encoder=encoder, mode="vector", k=3, **options)
        return [h.metadata["path"] for h in hits]

    assert order(lead_weight=0) == ["/x", "/y", "/z"]  # x's second chunk is "car car"
    assert order() == ["/y", "/x", "/z"]  # x opens with laundry; y opens with cars
    hit = search(files, "car", encoder=encoder, mode="vector", k=1, where={"chunk": 1})[0]
    assert hit.id == "/x#1"  # a filter that hides the leads leaves the best chunk alone
    with pytest.raises(InvalidParameterError, match="lead_weight"):
        search(files, "car", encoder=encoder, lead_weight=2)
