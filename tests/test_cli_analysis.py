"""`embedlab cluster | duplicates | outliers` as a user runs them (real processes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from cli_helpers import run_cli
from embedlab.store import Database


def _collection(path: Path) -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = np.eye(3, 8, dtype=np.float32) * 5
    x = np.concatenate([c + 0.3 * rng.normal(size=(20, 8)) for c in centres]).astype(np.float32)
    x[59] = x[0] * 1.0001  # a planted near-copy of row 0
    x[58] = 5 * np.eye(8, dtype=np.float32)[7]  # a planted outlier, alone in its direction
    docs = ["red apple"] * 20 + ["blue sea"] * 20 + ["loud engine"] * 20
    with Database(path) as db:
        col = db.create_collection("items", dim=8, metric="cosine")
        col.add([f"i{n}" for n in range(60)], x, documents=docs)
    return x


def test_cluster_writes_ids_into_metadata(tmp_path: Path) -> None:
    _collection(tmp_path / "db")
    res = run_cli("cluster", "items", "--db", tmp_path / "db", "--k", "3",
                  "--write-metadata", "topic", "--json")  # fmt: skip
    assert res.stderr == ""  # faiss says nothing about 20 rows per centroid
    out = res.json()
    assert len(out["clusters"]) == 3 and sum(c["size"] for c in out["clusters"]) == 60
    assert {"apple", "engine"} <= {c["terms"][0] for c in out["clusters"]}
    with Database(tmp_path / "db") as db:
        meta = db.get_collection("items").get(include="metadata").metadata
    assert meta is not None
    topics = [m["topic"] for m in meta]
    assert len(set(topics[:20])) == 1 and topics[0] != topics[25]


def test_duplicates_and_outliers_commands(tmp_path: Path) -> None:
    _collection(tmp_path / "db")
    dup = run_cli("duplicates", "items", "--db", tmp_path / "db", "--threshold", "0.9999",
                  "--exact", "--json").json()  # fmt: skip
    assert [(p["a"], p["b"]) for p in dup["pairs"]] == [("i0", "i59")] and dup["exact"] is True
    out = run_cli("outliers", "items", "--db", tmp_path / "db", "--k", "5", "--json").json()
    assert out["top"][0]["id"] == "i58"


def test_bad_input_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    _collection(tmp_path / "db")
    res = run_cli("cluster", "items", "--db", tmp_path / "db", "--k", "500",
                  "--write-metadata", "topic")  # fmt: skip
    assert res.code == 2 and "k=500 needs at least 500 rows; got 60" in res.stderr
    assert "Traceback" not in res.stderr
    with Database(tmp_path / "db") as db:
        meta = db.get_collection("items").get(include="metadata").metadata
    assert meta is not None and all("topic" not in m for m in meta)
    res = run_cli("duplicates", "nothing", "--db", tmp_path / "db")
    assert res.code == 2 and "unknown collection 'nothing'" in res.stderr


def test_classify_train_then_predict_texts(tmp_path: Path) -> None:
    from embedlab.encoders.static import StaticEncoder
    from embedlab.vectors import WordVectors

    words = ["cat", "dog", "cow", "car", "bus", "van"]
    wv = WordVectors(words, np.eye(6, dtype=np.float32) + 0.05)
    wv.save(tmp_path / "model")
    groups = {"animal": words[:3], "other": words[3:]}
    pairs = [(g, f"{a} {b}") for g, ws in groups.items() for a in ws for b in ws if a != b]
    labels, texts = [g for g, _ in pairs], [t for _, t in pairs]
    with Database(tmp_path / "db") as db:
        col = db.create_collection("t", dim=6, metric="cosine")
        col.add([str(i) for i in range(len(texts))], StaticEncoder(wv).encode(texts),
                 metadata=[{"kind": y} for y in labels], documents=texts)  # fmt: skip
    spec = f"static:{tmp_path / 'model'}"
    out = run_cli("classify", "train", "t", "--db", tmp_path / "db", "--label-key", "kind",
                  "-o", tmp_path / "clf", "--encoder", spec, "--folds", "3",
                  "--json").json()  # fmt: skip
    assert out["classes"] == ["animal", "other"]
    assert out["cross_validation"]["accuracy"] > 0.8
    assert (tmp_path / "clf" / "coef.npy").is_file()
    pred = run_cli("classify", "predict", tmp_path / "clf", "cat cow", "bus van", "--json").json()
    assert [p["label"] for p in pred["predictions"]] == ["animal", "other"]
    res = run_cli("classify", "train", "t", "--db", tmp_path / "db", "--label-key", "nope",
                  "-o", tmp_path / "clf2")  # fmt: skip
    assert res.code == 2 and "no metadata key 'nope'" in res.stderr
    assert not (tmp_path / "clf2").exists()


def test_recommend_train_for_and_evaluate(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(300):
        g = int(rng.integers(3))
        lines.append(" ".join(f"g{g}.{j}" for j in rng.choice(6, size=3, replace=False)))
    (tmp_path / "baskets.txt").write_text("\n".join(lines) + "\n")
    out = run_cli("recommend", "train", tmp_path / "baskets.txt", "-o", tmp_path / "m",
                  "--dim", "8", "--epochs", "10", "--json").json()  # fmt: skip
    assert out["items"] == 18
    assert (tmp_path / "m" / "output_vectors.npy").is_file()  # what `for` scores with
    recs = run_cli("recommend", "for", tmp_path / "m", "g1.0", "g1.1", "-k", "3", "--json").json()
    keys = [r["key"] for r in recs["recommendations"]]
    assert len(keys) == 3 and all(k.startswith("g1.") and k not in ("g1.0", "g1.1") for k in keys)
    shutil.copytree(tmp_path / "m", tmp_path / "plain")  # input vectors only: the cosine
    (tmp_path / "plain" / "output_vectors.npy").unlink()
    plain = run_cli("recommend", "for", tmp_path / "plain", "g1.0", "-k", "2", "--json").json()
    assert all(r["key"].startswith("g1.") for r in plain["recommendations"])
    ev = run_cli("recommend", "evaluate", tmp_path / "baskets.txt", "-k", "3", "--dim", "8",
                 "--epochs", "10", "--json").json()  # fmt: skip
    assert ev["item2vec"]["hit_rate"] > ev["popularity"]["hit_rate"]
    assert ev["item2vec_cosine"]["users"] == ev["item2vec"]["users"]


def test_align_command(tmp_path: Path) -> None:
    from embedlab.vectors import WordVectors

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8))
    r, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    WordVectors([f"e{i}" for i in range(100)], x).save(tmp_path / "en")
    WordVectors([f"f{i}" for i in range(100)], x @ r).save(tmp_path / "fr")
    (tmp_path / "seed.txt").write_text("".join(f"e{i} f{i}\n" for i in range(20)))
    (tmp_path / "test.txt").write_text("".join(f"e{i}\tf{i}\n" for i in range(20, 100)))
    pairs = ("--pairs", tmp_path / "seed.txt", "--test", tmp_path / "test.txt")
    out = run_cli("align", tmp_path / "en", tmp_path / "fr", *pairs, "-o", tmp_path / "out",
                  "--json").json()  # fmt: skip
    assert out["precision_at_1"] == 1.0 and out["pairs_used"] == 20
    (tmp_path / "bad.txt").write_text("e1 f1\ne2\n")
    res = run_cli("align", tmp_path / "en", tmp_path / "fr", "--pairs", tmp_path / "bad.txt",
                  "-o", tmp_path / "out2")  # fmt: skip
    assert res.code == 2 and "bad.txt, line 2: expected 'source target'" in res.stderr
