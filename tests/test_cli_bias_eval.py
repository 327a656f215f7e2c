"""`embedlab bias` and `embedlab eval retrieval | ann` through the console script."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli
from embedlab.bias import weat, weat_test
from embedlab.io import load_vectors, save_vectors
from embedlab.store import Database
from embedlab.vectors import WordVectors


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Vectors for weat7's words (math nearer male terms) and some gendered and plain words."""
    rng = np.random.default_rng(0)
    test = weat_test("weat7")
    g = rng.standard_normal(24)
    keys, rows = [], []
    lean = {"math": 0.8, "arts": -0.8, "male_terms": 1.0, "female_terms": -1.0}
    for s in (*test.targets, *test.attributes):
        for w in s.words:
            keys.append(w)
            rows.append(rng.standard_normal(24) + lean[s.name] * g)
    for f, m in (("she", "he"), ("woman", "man"), ("girl", "boy"), ("mother", "father")):
        for w, sign in ((f, -1), (m, 1)):
            if w not in keys:
                keys.append(w)
                rows.append(rng.standard_normal(24) + sign * 1.5 * g)
    for i in range(60):
        keys.append(f"plain{i}")
        rows.append(rng.standard_normal(24))
    path = tmp_path_factory.mktemp("bias") / "model"
    save_vectors(WordVectors(keys, np.array(rows)), path)
    return path


def test_bias_one_test_json_matches_the_library(model: Path) -> None:
    doc = run_cli("bias", model, "--test", "weat7", "--json").json()
    (result,) = doc["results"]
    expected = weat(load_vectors(model), weat_test("weat7"))
    assert result["effect_size"] == pytest.approx(expected.effect_size)
    assert result["p_method"] == "exact" and result["ddof"] == 1
    assert "Measured" in result["explanation"]
    text = run_cli("bias", model, "--test", "weat7")
    assert text.code == 0 and "Effect size d = +" in text.stdout and "One-sided p" in text.stdout


def test_bias_all_tests_skips_those_lacking_words(model: Path) -> None:
    doc = run_cli("bias", model, "--json", "--permutations", "2000").json()
    assert [r["test"] for r in doc["results"]] == ["weat7"]
    assert {s["test"] for s in doc["skipped"]} == {f"weat{i}" for i in range(1, 11)} - {"weat7"}
    out = run_cli("bias", model, "--test", "weat1")
    assert out.code == 2 and "too few words" in out.stderr and "aster" in out.stderr


def test_bias_with_word_set_files(model: Path, tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("numbers: math, algebra, geometry, calculus\nart: poetry, art, dance\n")
    attributes = tmp_path / "attributes.txt"
    attributes.write_text("m: male man boy brother\nf: female woman girl sister unknownword\n")
    doc = run_cli("bias", model, "--targets", targets, "--attributes", attributes, "--json").json()
    (result,) = doc["results"]
    assert result["targets"] == ["numbers", "art"]
    assert result["missing"]["f"] == ["unknownword"]
    assert result["effect_size"] > 0
    lonely = run_cli("bias", model, "--targets", targets)
    assert lonely.code == 2 and "go together" in lonely.stderr


def test_bias_debias_writes_new_vectors(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "debiased"
    doc = run_cli("bias", model, "--test", "weat7", "--debias", "-o", out, "--json").json()
    assert load_vectors(out).keys == load_vectors(model).keys
    assert doc["before"][0]["test"] == doc["after"][0]["test"] == "weat7"
    assert abs(doc["after"][0]["effect_size"]) < abs(doc["before"][0]["effect_size"])
    assert doc["hidden_bias"]["after"]["mean_abs_projection"] < 1e-5
    assert "hidden" in doc["hidden_bias"]["explanation"]
    refused = run_cli("bias", model, "--debias")
    assert refused.code == 2 and "-o" in refused.stderr


def test_bias_on_a_collection_equals_the_model(model: Path, tmp_path: Path) -> None:
    db = tmp_path / "db"
    loaded = run_cli("db", "import-vectors", model, "--collection", "words", "--db", db)
    assert loaded.code == 0, loaded.stderr
    on_model = run_cli("bias", model, "--test", "weat7", "--json").json()["results"][0]
    on_rows = run_cli("bias", db, "--collection", "words", "--test", "weat7", "--json").json()
    assert on_rows["results"][0]["effect_size"] == pytest.approx(on_model["effect_size"], abs=1e-6)
    out = tmp_path / "debiased"
    done = run_cli("bias", db, "--collection", "words", "--test", "weat7", "--debias", "-o", out)
    assert done.code == 0, done.stderr
    assert sorted(load_vectors(out).keys) == sorted(load_vectors(model).keys)
    missing = run_cli("bias", db, "--collection", "nope", "--test", "weat7")
    assert missing.code == 2 and "nope" in missing.stderr


def test_eval_retrieval_one_and_two_runs(tmp_path: Path) -> None:
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("".join(f"q{i} 0 d{i} 1\n" for i in range(8)))
    good = tmp_path / "good.txt"
    good.write_text("".join(f"q{i} Q0 d{i} 1 2.0 a\nq{i} Q0 x 2 1.0 a\n" for i in range(8)))
    bad = tmp_path / "bad.txt"
    bad.write_text("".join(f"q{i} Q0 x 1 2.0 b\nq{i} Q0 d{i} 2 1.0 b\n" for i in range(8)))
    one = run_cli("eval", "retrieval", "--qrels", qrels, "--run", good, "--json").json()
    assert one["runs"][0]["mean"]["MRR"] == 1.0
    two = run_cli(
        "eval", "retrieval", "--qrels", qrels, "--run", good, "--run", bad, "--measure", "MRR",
        "--json",
    ).json()  # fmt: skip
    (comparison,) = two["comparison"]
    assert comparison["difference"] == pytest.approx(0.5)
    assert comparison["p_value"] == pytest.approx(2 / 256)  # exact: 8 queries, 2^8 sign sets
    text = run_cli("eval", "retrieval", "--qrels", qrels, "--run", good, "--run", bad)
    assert text.code == 0 and "two-sided paired p-value" in text.stdout
    dup = tmp_path / "dup.txt"
    dup.write_text("q0 Q0 d0 1 2.0 a\nq0 Q0 d0 2 1.0 a\n")
    refused = run_cli("eval", "retrieval", "--qrels", qrels, "--run", dup)
    assert refused.code == 2 and "appears twice" in refused.stderr


def test_eval_ann(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with Database(tmp_path / "db") as db:
        col = db.create_collection("v", dim=8, index="hnsw")
        col.add([str(i) for i in range(500)], rng.normal(size=(500, 8)))
    doc = run_cli(
        "eval", "ann", "v", "--db", tmp_path / "db", "--values", "4,64", "--queries", "50",
        "--json",
    ).json()  # fmt: skip
    assert doc["parameter"] == "ef_search" and [r["value"] for r in doc["rows"]] == [4, 64]
    assert doc["rows"][1]["recall"] > 0.9
    text = run_cli("eval", "ann", "v", "--db", tmp_path / "db", "--values", "64")
    assert text.code == 0 and "recall@10" in text.stdout
    missing = run_cli("eval", "ann", "v", "--db", tmp_path / "nope")
    assert missing.code == 2 and "no database" in missing.stderr
