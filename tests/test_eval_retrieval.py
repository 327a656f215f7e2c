"""embedlab.eval retrieval metrics against hand values and pytrec_eval (trec_eval's code),
run files, paired significance tests, search evaluation and ANN recall."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from embedlab.encoders.static import StaticEncoder
from embedlab.errors import FormatError, InvalidParameterError
from embedlab.eval import (
    ann_recall,
    ann_sweep,
    compare_runs,
    evaluate_run,
    evaluate_search,
    exact_neighbours,
    paired_test,
    parse_measure,
    ranking,
    read_qrels,
    read_run,
    write_run,
)
from embedlab.store import Database
from embedlab.vectors import WordVectors

QRELS = {"q1": {"d1": 1, "d2": 0, "d3": 2, "d4": 1}, "q2": {"d5": 1}, "q3": {"d6": 3}}
RUN = {
    "q1": {"d2": 0.9, "d1": 0.8, "d7": 0.7, "d3": 0.6, "d9": 0.5},
    "q2": {"d8": 0.4, "d5": 0.4},  # tie: trec_eval puts d8 first (ids descending)
    "q4": {"d1": 1.0},  # not judged
}


def test_metrics_against_hand_computed_values() -> None:
    r = evaluate_run(
        QRELS, RUN, ["P@2", "P@5", "recall@5", "MRR", "MAP", "nDCG@5", "nDCG_exp@5", "MAP@2"]
    )
    q1, q2, q3 = r.per_query["q1"], r.per_query["q2"], r.per_query["q3"]
    # q1 ranking: d2(0) d1(1) d7(-) d3(2) d9(-); relevant d1, d3, d4
    assert q1["P@2"] == pytest.approx(1 / 2)
    assert q1["P@5"] == pytest.approx(2 / 5)
    assert q1["recall@5"] == pytest.approx(2 / 3)
    assert q1["MRR"] == pytest.approx(1 / 2)
    assert q1["MAP"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert q1["MAP@2"] == pytest.approx((1 / 2) / 3)
    dcg = 1 / np.log2(3) + 2 / np.log2(5)
    idcg = 2 + 1 / np.log2(3) + 1 / np.log2(4)
    assert q1["nDCG@5"] == pytest.approx(dcg / idcg)
    dcg_exp = 1 / np.log2(3) + 3 / np.log2(5)
    idcg_exp = 3 + 1 / np.log2(3) + 1 / np.log2(4)
    assert q1["nDCG_exp@5"] == pytest.approx(dcg_exp / idcg_exp)
    # q2: the tie puts d8 before d5
    assert q2["MRR"] == pytest.approx(1 / 2)
    # q3 is judged but has no results: every measure counts 0
    assert all(v == 0.0 for v in q3.values())
    assert r.missing_queries == ("q3",) and r.unjudged_queries == ("q4",)
    assert r.mean["MRR"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    partial = evaluate_run(QRELS, RUN, ["MRR"], complete=False)
    assert partial.mean["MRR"] == pytest.approx(1 / 2)
    assert "trec_eval -c" in r.describe() and "q4" in r.describe()


def test_ranking_breaks_ties_by_descending_id_as_trec_eval() -> None:
    assert ranking({"a": 1.0, "c": 1.0, "b": 1.0, "z": 0.5, "y": 2.0}) == ["y", "c", "b", "a", "z"]


def test_measure_names() -> None:
    assert parse_measure("ndcg_cut_10").name == "nDCG@10"
    assert parse_measure("P_5").name == "P@5"
    assert parse_measure("recip_rank").name == "MRR"
    with pytest.raises(InvalidParameterError, match="needs a cut-off"):
        parse_measure("recall")
    with pytest.raises(InvalidParameterError, match="unknown measure 'f1'"):
        parse_measure("f1")


def _random_case(rng: np.random.Generator, ties: bool) -> tuple[dict, dict]:
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for q in range(25):
        docs = [f"d{i}" for i in range(int(rng.integers(1, 60)))]
        judged = rng.choice(docs, size=int(rng.integers(1, len(docs) + 1)), replace=False)
        qrels[f"q{q}"] = {str(d): int(rng.integers(0, 4)) for d in judged}
        pool = docs + [f"x{i}" for i in range(10)]
        got = rng.choice(pool, size=int(rng.integers(1, len(pool))), replace=False)
        run[f"q{q}"] = {
            str(d): float(rng.integers(0, 4)) if ties else float(rng.random()) for d in got
        }
    return qrels, run


ANCHOR = {
    "P@5": "P_5",
    "P@20": "P_20",
    "recall@10": "recall_10",
    "recall@100": "recall_100",
    "MRR": "recip_rank",
    "MAP": "map",
    "MAP@10": "map_cut_10",
    "nDCG@10": "ndcg_cut_10",
    "nDCG": "ndcg",
}


@pytest.mark.parametrize("ties", [False, True])
def test_metrics_equal_pytrec_eval_on_random_runs(ties: bool) -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = np.random.default_rng(11 if ties else 7)
    for _ in range(10):
        qrels, run = _random_case(rng, ties)
        ours = evaluate_run(qrels, run, list(ANCHOR))
        theirs = pytrec_eval.RelevanceEvaluator(qrels, set(ANCHOR.values())).evaluate(run)
        for q in qrels:
            for mine, name in ANCHOR.items():
                assert ours.per_query[q][mine] == pytest.approx(theirs[q][name], abs=1e-9)
        # exponential gain = linear gain on relevance 2^r - 1
        exp_qrels = {q: {d: 2**r - 1 for d, r in docs.items()} for q, docs in qrels.items()}
        exp_theirs = pytrec_eval.RelevanceEvaluator(exp_qrels, {"ndcg_cut_10"}).evaluate(run)
        exp_ours = evaluate_run(qrels, run, ["nDCG_exp@10"])
        for q in qrels:
            assert exp_ours.per_query[q]["nDCG_exp@10"] == pytest.approx(
                exp_theirs[q]["ndcg_cut_10"], abs=1e-9
            )


def test_trec_and_jsonl_files_round_trip(tmp_path: Path) -> None:
    qrels_path = tmp_path / "qrels.txt"
    qrels_path.write_text("q1 0 d1 1\nq1 0 d2 0\n\nq2 0 d5 2\n")
    assert read_qrels(qrels_path) == {"q1": {"d1": 1, "d2": 0}, "q2": {"d5": 2}}
    run_path = tmp_path / "run.txt"
    write_run({"q1": {"d1": 0.5, "d2": 0.75}}, run_path, tag="t")
    assert run_path.read_text().splitlines() == ["q1 Q0 d2 1 0.75 t", "q1 Q0 d1 2 0.5 t"]
    assert read_run(run_path) == {"q1": {"d1": 0.5, "d2": 0.75}}
    jsonl = tmp_path / "run.jsonl"
    jsonl.write_text(
        json.dumps({"query_id": "q1", "doc_id": "d1", "score": 2})
        + "\n"
        + json.dumps({"qid": 7, "docid": "d2", "score": 1.5})
        + "\n"
    )
    assert read_run(jsonl) == {"q1": {"d1": 2.0}, "7": {"d2": 1.5}}
    jq = tmp_path / "qrels.jsonl"
    jq.write_text(json.dumps({"query_id": "q1", "doc_id": "d1", "relevance": 1}) + "\n")
    assert read_qrels(jq) == {"q1": {"d1": 1}}


def test_bad_run_and_qrels_files(tmp_path: Path) -> None:
    dup = tmp_path / "dup.txt"
    dup.write_text("q1 Q0 d1 1 2.0 t\nq1 Q0 d2 2 1.0 t\nq1 Q0 d1 3 0.5 t\n")
    with pytest.raises(FormatError, match=r"line 3: document 'd1' appears twice .* line 1"):
        read_run(dup)
    short = tmp_path / "short.txt"
    short.write_text("q1 d1 1\n")
    with pytest.raises(FormatError, match="expected 4 fields"):
        read_qrels(short)
    with pytest.raises(FormatError, match="expected 6 fields"):
        read_run(short)
    bad = tmp_path / "bad.txt"
    bad.write_text("q1 0 d1 high\n")
    with pytest.raises(FormatError, match="relevance must be an integer"):
        read_qrels(bad)
    js = tmp_path / "bad.jsonl"
    js.write_text('{"query_id": "q1", "doc": "d1", "score": 1}\n')
    with pytest.raises(FormatError, match="'doc_id'"):
        read_run(js)


def _brute_randomization(a: np.ndarray, b: np.ndarray) -> float:
    d = a - b
    observed = abs(d.mean())
    count = total = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        count += abs(np.dot(signs, d) / len(d)) >= observed - 1e-12
        total += 1
    return count / total


def test_randomization_test_exact_and_sampled() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.random(10), rng.random(10)
    exact = paired_test(a, b)
    assert exact.method == "randomization (exact)" and exact.samples == 1024
    assert exact.p_value == pytest.approx(_brute_randomization(a, b))
    sampled = paired_test(a, b, max_exact=0, samples=40_000, seed=3)
    assert sampled.method == "randomization (sampled)"
    assert abs(sampled.p_value - exact.p_value) < 0.015
    assert paired_test(a, b, max_exact=0, samples=40_000, seed=3).p_value == sampled.p_value


def test_bootstrap_and_run_comparison() -> None:
    rng = np.random.default_rng(4)
    a = rng.random(60)
    better = paired_test(a + 0.2, a, method="bootstrap", samples=5000)
    assert better.p_value < 0.001 and better.ci_low == pytest.approx(0.2)
    same = paired_test(a, a[::-1], method="bootstrap", samples=5000)
    assert same.p_value > 0.05
    assert same.ci_low is not None and same.ci_high is not None
    assert same.ci_low <= same.difference <= same.ci_high
    rows = compare_runs(QRELS, RUN, {"q1": {"d1": 1.0}}, ["MRR", "P@1"])
    assert [r.measure for r in rows] == ["MRR", "P@1"]
    assert rows[0].mean_b == pytest.approx(1 / 3)
    with pytest.raises(InvalidParameterError, match="'method'"):
        paired_test(a, a, method="t-test")


def _toy_collection(tmp_path: Path) -> tuple[Database, StaticEncoder]:
    wv = WordVectors(
        ["car", "auto", "wash", "soap", "road"],
        [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0.2], [0.5, 0, 0, 1]],
    )
    enc = StaticEncoder(wv, name="toy")
    db = Database(tmp_path / "db")
    col = db.create_collection("docs", dim=4, index="flat", model="toy")
    texts = ["auto repair", "wash day", "soap and wash", "road trip"]
    col.add(
        ["a#0", "b#0", "b#1", "c#0"],
        enc.encode(texts),
        documents=texts,
        metadata=[{"path": "a"}, {"path": "b"}, {"path": "b"}, {"path": "c"}],
    )
    return db, enc


def test_evaluate_search_on_a_collection(tmp_path: Path) -> None:
    db, enc = _toy_collection(tmp_path)
    col = db.get_collection("docs")
    queries = {"q1": "car", "q2": "soap", "unjudged": "road"}
    qrels = {"q1": {"a#0": 1}, "q2": {"b#1": 1, "b#0": 1, "missing#9": 1}}
    r = evaluate_search(col, queries, qrels, encoder=enc, mode="vector", measures=["MRR", "P@1"])
    assert r.result.mean["MRR"] == pytest.approx(1.0)
    assert r.unknown_ids == {"q2": ("missing#9",)}
    assert "not in the collection" in r.describe()
    assert set(r.run) == {"q1", "q2"}
    by_path = evaluate_search(
        col,
        queries,
        {"q1": {"a": 1}, "q2": {"b": 1}},
        encoder=enc,
        mode="vector",
        measures=["P@1", "recall@2"],
        doc_key="path",
    )
    assert by_path.result.mean == {"P@1": 1.0, "recall@2": 1.0}
    assert next(iter(by_path.run["q2"])) == "b"
    assert by_path.unknown_ids == {}
    db.close()


def test_exact_neighbours_against_sorting() -> None:
    rng = np.random.default_rng(0)
    x, q = rng.normal(size=(100, 6)), rng.normal(size=(5, 6))
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
        x / np.linalg.norm(x, axis=1, keepdims=True)
    ).T
    assert exact_neighbours(x, q, 7, "cosine").tolist() == np.argsort(-cos, axis=1)[:, :7].tolist()
    dist = ((q[:, None] - x[None]) ** 2).sum(axis=2)
    assert (
        exact_neighbours(x, q, 3, "euclidean").tolist() == np.argsort(dist, axis=1)[:, :3].tolist()
    )


def test_ann_recall_flat_is_exact_and_hnsw_sweep_improves(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    data = rng.normal(size=(3000, 16)).astype(np.float32)
    db = Database(tmp_path / "db")
    flat = db.create_collection("flat", dim=16, index="flat")
    flat.add([str(i) for i in range(3000)], data)
    assert ann_recall(flat, k=10, n_queries=50) == 1.0
    hnsw = db.create_collection("hnsw", dim=16, index="hnsw", index_params={"M": 4})
    hnsw.add([str(i) for i in range(3000)], data)
    report = ann_sweep(hnsw, k=10, n_queries=100, values=[1, 10, 400], repeats=1)
    recalls = [row.recall for row in report.rows]
    assert report.parameter == "ef_search" and report.self_queries
    assert recalls[0] < recalls[2] and recalls[2] > 0.97
    assert all(row.queries_per_second > 0 for row in report.rows)
    assert "ef_search" in report.describe()
    outside = ann_sweep(hnsw, k=5, queries=rng.normal(size=(20, 16)), values=[400], repeats=1)
    assert not outside.self_queries and outside.rows[0].recall > 0.95
    ivf = db.create_collection("ivf", dim=16, index="ivf", index_params={"nlist": 32})
    ivf.add([str(i) for i in range(3000)], data)
    ivf_report = ann_sweep(ivf, k=10, n_queries=50, repeats=1)
    assert ivf_report.parameter == "nprobe"
    assert [row.value for row in ivf_report.rows] == [1, 2, 4, 8, 16, 32]
    assert ivf_report.rows[-1].recall == pytest.approx(1.0)  # nprobe = nlist: every list
    db.close()
