"""Fine-tuning minilm on query/positive pairs: a toy domain's held-out MRR improves, the folder
loads as an encoder and records its origin, a stop writes nothing, bad pairs files are named."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli
from embedlab import encoders
from embedlab.errors import FormatError, InvalidParameterError
from embedlab.train.finetune import Pair, finetune, pairs_mrr, read_pairs

COLOURS = ["red", "blue", "green", "yellow", "purple", "black", "white", "brown"]
PARTS = ["valve", "pump", "gasket", "bearing", "filter", "sensor", "relay", "hose"]


def toy_pairs() -> list[Pair]:
    """Part codes (two letters of the colour, three of the part) -> what the part is: a
    code book the base model cannot know, which held-out codes share with the training ones."""
    pairs = [
        Pair(f"part {c[:2].upper()}{p[:3].upper()}", f"a {c} {p} for the pumping station")
        for c in COLOURS
        for p in PARTS
    ]
    order = np.random.default_rng(0).permutation(len(pairs))
    return [pairs[i] for i in order]


@pytest.mark.slow
def test_finetune_improves_held_out_mrr_and_loads(tmp_path: Path) -> None:
    source = tmp_path / "pairs.jsonl"
    source.write_text(
        "".join(json.dumps({"query": p.query, "positive": p.positive}) + "\n" for p in toy_pairs())
    )
    out = tmp_path / "model"
    result = run_cli(
        "finetune", "--pairs", source, "-o", out, "--epochs", "2", "--batch-size", "16",
        "--lr", "1e-4", "--eval-fraction", "0.25", "--json", timeout=600,
    )  # fmt: skip
    report = result.json()
    assert report["train_pairs"] == 48 and report["eval_pairs"] == 16
    assert report["mrr_after"] > report["mrr_before"] + 0.1, report
    provenance = json.loads((out / "embedlab_finetune.json").read_text())
    assert provenance["base_model"] == "minilm"
    assert provenance["pairs"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert provenance["params"]["epochs"] == 2.0
    # the folder loads as an encoder, and scores the held-out pairs as the run reported
    encoder = encoders.load(out)
    held = sorted(np.random.default_rng(0).permutation(64)[:16])
    held_out = [toy_pairs()[i] for i in held]
    got = pairs_mrr(lambda t: encoder.encode(t, normalize=True), held_out)
    assert got == pytest.approx(report["mrr_after"], abs=1e-3)


def test_a_stop_writes_nothing(tmp_path: Path) -> None:
    steps: list[int] = []
    report = finetune(
        "minilm",
        toy_pairs()[:24],
        tmp_path / "model",
        batch_size=8,
        eval_fraction=0.25,
        progress=lambda e: steps.append(e.step),
        should_stop=lambda: True,
    )
    assert report.stopped and report.steps_done == 1 and report.output is None
    assert report.mrr_after is None and 0.0 < report.mrr_before <= 1.0
    assert not (tmp_path / "model").exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"query": "a", "positive": "b"}\n{"query": "c"}\n', "line 2: missing field 'positive'"),
        ('{"query": "a", "positive": "b"}\n\n{"query": "a",\n', "line 3: not valid JSON"),
        ('["a", "b"]\n', "line 1: expected a JSON object"),
        ('{"query": "a", "positive": ""}\n', "line 1: field 'positive' must be a non-empty"),
        ('{"query": "a", "positive": "b", "answer": "c"}\n', "line 1: unknown field(s) 'answer'"),
        (
            '{"query": "a", "positive": "b", "negative": "n"}\n{"query": "c", "positive": "d"}\n',
            "line 2: every pair must have a 'negative' or none may",
        ),
        ("\n\n", "no pairs: the file is empty"),
    ],
)
def test_bad_pairs_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    source = tmp_path / "pairs.jsonl"
    source.write_text(content)
    with pytest.raises(FormatError) as caught:
        read_pairs(source)
    assert str(caught.value).startswith(str(source)) and message in str(caught.value)


def test_bad_pairs_through_the_cli(tmp_path: Path) -> None:
    source = tmp_path / "pairs.jsonl"
    source.write_text('{"query": "a", "positive": "b"}\n{"query": 3, "positive": "b"}\n')
    result = run_cli("finetune", "--pairs", source, "-o", tmp_path / "m")
    assert result.code == 2 and "line 2: field 'query' must be a non-empty string" in result.stderr
    assert not (tmp_path / "m").exists()


def test_pairs_with_negatives_and_mrr() -> None:
    pairs = read_pairs_text('{"query": "q1", "positive": "p1", "negative": "n1"}')
    assert pairs == [Pair("q1", "p1", "n1")]
    # an oracle encoder: q_i matches p_i exactly; negatives are distractors
    table = {"q1": [1.0, 0.0], "p1": [1.0, 0.0], "n1": [0.9, 0.1], "q2": [0.0, 1.0]}
    table |= {"p2": [0.6, 0.8], "n2": [0.0, 1.0]}

    def encode(texts: list[str]) -> np.ndarray:
        rows = np.array([table[t] for t in texts])
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    two = [Pair("q1", "p1", "n1"), Pair("q2", "p2", "n2")]
    assert pairs_mrr(encode, two) == pytest.approx((1.0 + 1 / 2) / 2)  # q2: n2 ranks first


def test_too_few_pairs(tmp_path: Path) -> None:
    two = [Pair("q1", "p1"), Pair("q2", "p2")]
    with pytest.raises(InvalidParameterError, match="at least 2 training pairs"):
        finetune("minilm", two, tmp_path / "m", eval_fraction=0.5)
    assert list(tmp_path.iterdir()) == []


def read_pairs_text(text: str) -> list[Pair]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.jsonl"
        path.write_text(text + "\n")
        return read_pairs(path)
