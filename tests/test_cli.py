"""The `embedlab` console script, run as a subprocess: JSON contracts, oracles, error exits."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from cli_helpers import assert_user_error, cli_env, run_cli
from embedlab.datasets import default_analogies_path, default_word_pairs_path
from embedlab.io import load_vectors
from embedlab.text import tokenize
from embedlab.vectors import WordVectors

EPOCHS = 3
DIM = 16


@dataclass(frozen=True)
class Trained:
    model: Path
    document: dict[str, Any]
    wv: WordVectors
    corpus_words: int


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_corpus_path: Path) -> Trained:
    """One tiny CBOW model trained through the CLI, shared by the module's tests."""
    out = tmp_path_factory.mktemp("cli") / "model"
    result = run_cli(
        "train", "word2vec", tiny_corpus_path, "-o", out, "--json",
        "--dim", DIM, "--min-count", 1, "--epochs", EPOCHS, "--threads", 1, "--seed", 7,
        cwd=out.parent,
    )  # fmt: skip
    document = result.json()
    text = tiny_corpus_path.read_text(encoding="utf-8")
    corpus_words = sum(len(tokenize(line)) for line in text.splitlines())
    return Trained(out, document, load_vectors(out), corpus_words)


def test_train_json_document(trained: Trained) -> None:
    doc = trained.document
    for key in ("words", "seconds", "words_per_second", "vocab_size", "losses", "model"):
        assert key in doc
    assert doc["model"] == str(trained.model)
    assert doc["architecture"] == "cbow"
    assert doc["corpus_words"] == trained.corpus_words
    assert doc["words"] == trained.corpus_words * EPOCHS
    assert doc["epochs"] == EPOCHS
    assert doc["vocab_size"] == len(trained.wv)
    assert doc["seconds"] > 0 and doc["words_per_second"] > 0
    assert len(doc["losses"]) == EPOCHS and all(x > 0 for x in doc["losses"])
    assert sorted(p.name for p in trained.model.parent.iterdir()) == ["model"]  # nothing else
    assert sorted(p.name for p in trained.model.iterdir()) == [
        "config.json",
        "vectors.npy",
        "vocab.txt",
    ]
    assert trained.wv.dim == DIM
    assert trained.wv.config["params"]["seed"] == 7


def test_trained_vocabulary_matches_tokenize(trained: Trained, tiny_corpus_path: Path) -> None:
    text = tiny_corpus_path.read_text(encoding="utf-8")
    oracle = {t for line in text.splitlines() for t in tokenize(line)}
    assert set(trained.wv.keys) == oracle
    assert {"café", "don't", "queen's", "tiger"} <= oracle


def _cosine_oracle(wv: WordVectors, query: np.ndarray, exclude: set[str], k: int) -> list[str]:
    unit = wv.vectors / np.linalg.norm(wv.vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    order = [i for i in np.argsort(-scores, kind="stable") if wv.keys[i] not in exclude]
    return [wv.keys[i] for i in order[:k]]


def test_similar_json(trained: Trained) -> None:
    doc = run_cli("similar", trained.model, "king", "-k", 4, "--json").json()
    assert doc["word"] == "king"
    got = [n["key"] for n in doc["neighbours"]]
    wv = trained.wv
    assert got == _cosine_oracle(wv, wv["king"] / np.linalg.norm(wv["king"]), {"king"}, 4)
    for n in doc["neighbours"]:
        assert n["score"] == pytest.approx(wv.similarity("king", n["key"]), abs=1e-5)


def test_analogy_json(trained: Trained) -> None:
    doc = run_cli("analogy", trained.model, "man", "king", "woman", "-k", 3, "--json").json()
    assert (doc["a"], doc["b"], doc["c"]) == ("man", "king", "woman")
    wv = trained.wv

    def unit(w: str) -> np.ndarray:
        return wv[w] / np.linalg.norm(wv[w])

    query = unit("king") - unit("man") + unit("woman")
    expected = _cosine_oracle(wv, query, {"man", "king", "woman"}, 3)
    assert [n["key"] for n in doc["answers"]] == expected


def test_evaluate_with_small_files(trained: Trained, tmp_path: Path) -> None:
    analogies = tmp_path / "questions.txt"
    questions = [
        ("boy", "girl", "brother", "sister"),
        ("man", "woman", "king", "queen"),
        ("father", "mother", "boy", "girl"),
        ("king", "queen", "man", "woman"),
    ]
    lines = [": family"] + [" ".join(q) for q in questions] + ["unicorn dragon elf troll"]
    analogies.write_text("\n".join(lines) + "\n")
    pairs = tmp_path / "pairs.tsv"
    pair_rows = [
        ("tiger", "cat", 7.35), ("king", "queen", 8.58), ("bank", "money", 8.12),
        ("doctor", "nurse", 7.0), ("bread", "butter", 6.19), ("computer", "keyboard", 7.62),
        ("car", "fruit", 1.5), ("library", "tiger", 0.9), ("unicorn", "cat", 3.0),
    ]  # fmt: skip
    pairs.write_text(
        "# word1\tword2\tscore\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in pair_rows)
    )
    doc = run_cli(
        "evaluate", trained.model, "--analogies", analogies, "--pairs", pairs, "--json"
    ).json()

    wv = trained.wv
    unit = wv.vectors / np.linalg.norm(wv.vectors, axis=1, keepdims=True)
    correct = 0
    for a, b, c, d in questions:
        ia, ib, ic = (wv.get_index(w) for w in (a, b, c))
        scores = unit @ (unit[ib] - unit[ia] + unit[ic])
        scores[[ia, ib, ic]] = -np.inf
        correct += wv.keys[int(np.argmax(scores))] == d
    a_doc = doc["analogies"]
    assert (a_doc["answered"], a_doc["skipped"], a_doc["total"]) == (4, 1, 5)
    assert a_doc["correct"] == correct
    assert a_doc["accuracy"] == pytest.approx(correct / 4)
    assert [s["name"] for s in a_doc["sections"]] == ["family"]

    known = [(a, b, s) for a, b, s in pair_rows if a in wv and b in wv]
    model = [float(unit[wv.get_index(a)] @ unit[wv.get_index(b)]) for a, b, _ in known]
    human = [s for _, _, s in known]
    p_doc = doc["word_pairs"]
    assert (p_doc["pairs"], p_doc["oov_pairs"]) == (8, 1)
    assert p_doc["spearman"] == pytest.approx(stats.spearmanr(human, model).statistic, abs=1e-6)
    assert p_doc["pearson"] == pytest.approx(stats.pearsonr(human, model).statistic, abs=1e-5)


def test_evaluate_with_packaged_defaults(trained: Trained) -> None:
    doc = run_cli("evaluate", trained.model, "--json").json()
    questions = [
        line
        for line in default_analogies_path().read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(":")
    ]
    pairs = [
        line
        for line in default_word_pairs_path().read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    a_doc = doc["analogies"]
    assert a_doc["total"] == len(questions) == a_doc["answered"] + a_doc["skipped"]
    assert a_doc["answered"] > 0  # family questions over boy/girl/king/queen/... are answerable
    assert len(a_doc["sections"]) == 14
    p_doc = doc["word_pairs"]
    assert p_doc["pairs"] + p_doc["oov_pairs"] == len(pairs)
    assert p_doc["pairs"] >= 5
    assert -1.0 <= p_doc["spearman"] <= 1.0


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-bin", "glove", "embedlab"])
def test_convert_round_trip(trained: Trained, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / ("out" if fmt == "embedlab" else f"out.{fmt}")
    doc = run_cli("convert", trained.model, target, "--to", fmt, "--json").json()
    assert doc == {
        "source": str(trained.model),
        "target": str(target),
        "format": fmt,
        "count": len(trained.wv),
        "dim": DIM,
    }
    back = load_vectors(target)
    assert back.keys == trained.wv.keys
    if fmt in ("word2vec-bin", "embedlab"):
        assert np.array_equal(back.vectors, trained.wv.vectors)
    else:
        np.testing.assert_allclose(back.vectors, trained.wv.vectors, rtol=1e-6, atol=1e-7)
    # and the CLI reads the converted file back
    again = run_cli("similar", target, "queen", "-k", 3, "--json").json()
    wv = trained.wv
    assert [n["key"] for n in again["neighbours"]] == _cosine_oracle(wv, wv["queen"], {"queen"}, 3)


def test_error_missing_corpus(tmp_path: Path) -> None:
    result = run_cli("train", "word2vec", tmp_path / "nope.txt", "-o", tmp_path / "m", "--json")
    assert_user_error(result, "nope.txt")
    assert not (tmp_path / "m").exists()


def test_error_unknown_word(trained: Trained) -> None:
    assert_user_error(run_cli("similar", trained.model, "zyzzyva", "--json"), "zyzzyva")
    assert_user_error(run_cli("analogy", trained.model, "man", "king", "qqq"), "qqq")


def test_error_dim_zero(tiny_corpus_path: Path, tmp_path: Path) -> None:
    result = run_cli("train", "word2vec", tiny_corpus_path, "-o", tmp_path / "m", "--dim", 0)
    assert_user_error(result, "dim")
    assert not (tmp_path / "m").exists()


def test_error_unknown_format(trained: Trained, tmp_path: Path) -> None:
    result = run_cli("convert", trained.model, tmp_path / "out", "--to", "nonsense")
    assert_user_error(result, "nonsense", "word2vec")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content",
    [b"2 3\nalpha 1 2 3\nbeta 1 2\n", b"2 3\nalpha 1 2 3\nbeta 1 x 3\n", b"\x00\x01\x02 junk\n"],
    ids=["short-row", "non-numeric", "garbage"],
)
def test_error_malformed_vectors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.vec"
    path.write_bytes(content)
    assert_user_error(run_cli("similar", path, "alpha"))


def test_error_missing_model(tmp_path: Path) -> None:
    assert_user_error(run_cli("similar", tmp_path / "nothing", "a"), "nothing")


def test_module_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "embedlab.cli.main", "--help"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "similar" in proc.stdout and "train" in proc.stdout


@pytest.mark.slow
def test_demo_json(tmp_path: Path) -> None:
    result = run_cli(
        "demo", "--epochs", 1, "--json", "-o", tmp_path / "demo",
        "--pictures", tmp_path / "pics", timeout=600,
    )  # fmt: skip
    doc = result.json()
    training = doc["training"]
    assert training["epochs"] == 1
    assert training["words"] == training["corpus_words"] > 1_000_000
    assert training["vocab_size"] > 10_000
    assert doc["neighbours"], "no demo word was learned"
    for word, neighbours in doc["neighbours"].items():
        assert len(neighbours) == 5
        assert word not in [n["key"] for n in neighbours]
    assert doc["analogies"]
    evaluation = doc["evaluation"]
    assert evaluation["analogies"]["total"] == 19544
    assert 0.0 <= evaluation["analogies"]["accuracy"] <= 1.0
    assert evaluation["word_pairs"]["spearman"] > 0.05  # one epoch gives about 0.14
    assert doc["model"] == str(tmp_path / "demo")
    wv = load_vectors(tmp_path / "demo")
    assert len(wv) == training["vocab_size"] and wv.dim == 100
    fasttext = doc["fasttext"]
    assert fasttext["training"]["epochs"] == 1
    assert fasttext["training"]["vocab_size"] == training["vocab_size"]  # same corpus, same cut
    assert fasttext["unseen"], "every demo word for FastText was in the vocabulary"
    for word, neighbours in fasttext["unseen"].items():
        assert word not in wv  # really unseen
        assert len(neighbours) == 5 and all(-1.0 <= n["score"] <= 1.0 for n in neighbours)
    store = doc["store"]
    assert store["rows"] == training["vocab_size"]
    river = store["queries"][0]
    assert river["word"] == "river" and len(river["ids"]) == 5
    assert all(key.startswith("s") for key in store["queries"][1]["ids"])  # {"letter": "s"}
    assert all(d <= 0.45 for d in store["queries"][3]["distances"])  # max_distance 0.45
    pictures = doc["pictures"]
    assert pictures["png"] == str(tmp_path / "pics" / "words.png")
    assert Path(pictures["png"]).read_bytes().startswith(b"\x89PNG")
    assert pictures["html_points"] == 5000
    assert Path(pictures["html"]).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    docs = doc["documents"]
    assert docs["failed"] == [] and docs["files"] > 20 and docs["chunks"] >= docs["files"]
    best = {q["query"]: q["results"][0]["path"] for q in docs["queries"]}
    assert "file" in best["how do I read a file line by line"].lower()
    assert "exception" in best["catch an exception and clean up afterwards"].lower() or (
        "clean" in best["catch an exception and clean up afterwards"].lower()
    )


def test_train_fasttext_and_query_an_unseen_word(tiny_corpus_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "ft"
    result = run_cli(
        "train", "fasttext", tiny_corpus_path, "-o", out, "--min-count", "1", "--dim", "16",
        "--epochs", "2", "--buckets", "5000", "--json",
    )  # fmt: skip
    doc = result.json()
    assert doc["vocab_size"] > 0 and doc["words"] == doc["corpus_words"] * 2
    ft = load_vectors(out)
    unseen = "zzyzxq"
    assert unseen not in ft
    shown = run_cli("similar", out, unseen, "-k", "3", "--json")
    keys = [n["key"] for n in shown.json()["neighbours"]]
    query = ft[unseen] / np.linalg.norm(ft[unseen])
    unit = ft.vectors / np.linalg.norm(ft.vectors, axis=1, keepdims=True)
    assert keys == [ft.keys[i] for i in np.argsort(-(unit @ query), kind="stable")[:3]]


def test_error_fasttext_min_n_above_max_n(tiny_corpus_path: Path, tmp_path: Path) -> None:
    result = run_cli("train", "fasttext", tiny_corpus_path, "-o", tmp_path / "m", "--min-n", "5",
                     "--max-n", "3")  # fmt: skip
    assert_user_error(result, "min_n", "max_n")
