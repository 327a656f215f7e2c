"""BiLM: a tiny model learns two planted senses; save/load; checkpoints and resume; bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab import encoders
from embedlab._progress import EpochProgress
from embedlab.encoders.bilm import BiLMEncoder
from embedlab.errors import CorpusError, FormatError, InvalidParameterError, UnknownKeyError
from embedlab.train import BiLM

RIVER = ["river", "water", "fish", "boat", "shore", "mud", "stream", "reeds"]
MONEY = ["money", "loan", "cash", "deposit", "account", "interest", "credit", "wages"]
TINY = {
    "dim": 16,
    "hidden": 32,
    "layers": 1,
    "window": 16,
    "batch_size": 8,
    "vocab_size": 50,
    "min_count": 1,
    "threads": 1,
}


def sense_sentence(rng: np.random.Generator, topic: list[str]) -> str:
    """Two topic words, 'bank', two more topic words: the sense shows on both sides."""
    words = rng.choice(topic, size=4)
    return f"{words[0]} {words[1]} bank {words[2]} {words[3]}"


def planted(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [sense_sentence(rng, RIVER if i % 2 else MONEY) for i in range(n)]


@pytest.fixture(scope="module")
def trained() -> BiLMEncoder:
    encoder: BiLMEncoder = BiLM(**TINY, epochs=3, lr=0.005, seed=4).train(planted(600, 1))
    return encoder


def centroid_accuracy(a: np.ndarray, b: np.ndarray) -> float:
    """Nearest-centroid accuracy of held-out rows, centroids from the first half of each."""
    ca, cb = a[: len(a) // 2].mean(0), b[: len(b) // 2].mean(0)
    test = [(r, 0) for r in a[len(a) // 2 :]] + [(r, 1) for r in b[len(b) // 2 :]]

    def cos(x: np.ndarray, y: np.ndarray) -> float:
        return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12))

    return float(np.mean([(cos(r, cb) > cos(r, ca)) == bool(label) for r, label in test]))


def test_planted_senses_separate_in_context_not_in_layer_zero(trained: BiLMEncoder) -> None:
    rng = np.random.default_rng(99)  # unseen sentences
    river = [sense_sentence(rng, RIVER) for _ in range(20)]
    money = [sense_sentence(rng, MONEY) for _ in range(20)]

    def bank(encoder: BiLMEncoder, texts: list[str]) -> np.ndarray:
        return np.stack([encoder.word_in_context(t, "bank") for t in texts])

    top = BiLMEncoder(trained.net, trained.words, layer=1)  # the LSTMs' layer
    assert centroid_accuracy(bank(top, river), bank(top, money)) >= 0.9
    # Control: the context-free layer 0 gives 'bank' one vector whatever the sense.
    flat = BiLMEncoder(trained.net, trained.words, layer=0)
    zero_river, zero_money = bank(flat, river), bank(flat, money)
    np.testing.assert_allclose(zero_river, np.repeat(zero_money[:1], 20, axis=0), atol=1e-5)
    assert centroid_accuracy(zero_river, zero_money) <= 0.5


def test_save_load_round_trip(trained: BiLMEncoder, tmp_path: Path) -> None:
    texts = ["the river bank", "cash in the bank", "", "an unseen wordzzz"]
    trained.save(tmp_path / "m")
    loaded = encoders.load(f"bilm:{tmp_path / 'm'}")
    assert isinstance(loaded, BiLMEncoder) and isinstance(loaded, encoders.Encoder)
    assert loaded.dim == trained.dim == 32 and loaded.max_tokens is None
    assert loaded.words == trained.words
    vectors = loaded.encode(texts)
    np.testing.assert_array_equal(vectors, trained.encode(texts))
    assert vectors.dtype == np.float32 and not vectors[2].any() and vectors[3].any()
    unit = loaded.encode(texts[:2], normalize=True)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)
    tokens, rows = loaded.encode_tokens("The River bank")
    assert tokens == ["the", "river", "bank"] and rows.shape == (3, 32)
    top = encoders.load(f"bilm:{tmp_path / 'm'}", layer=1).encode(texts[:1])
    assert not np.allclose(top, vectors[:1])


def test_loading_refuses_damage(trained: BiLMEncoder, tmp_path: Path) -> None:
    trained.save(tmp_path / "m")
    vocab = tmp_path / "m" / "vocab.txt"
    vocab.write_text("\n".join(vocab.read_text(encoding="utf-8").splitlines()[:-1]) + "\n")
    with pytest.raises(FormatError, match="does not match the softmax size"):
        BiLMEncoder.load(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="no BiLM model folder"):
        BiLMEncoder.load(tmp_path / "nothing")


def test_bad_word_and_options(trained: BiLMEncoder) -> None:
    with pytest.raises(UnknownKeyError, match="'loan'"):
        trained.word_in_context("the river bank", "loan")
    with pytest.raises(InvalidParameterError, match="'layer' parameter"):
        BiLMEncoder(trained.net, trained.words, layer=2)
    with pytest.raises(InvalidParameterError, match="must hold 2 numbers"):
        BiLMEncoder(trained.net, trained.words, weights=[1.0])


def test_resume_after_interrupt_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    corpus = planted(200, 2)
    params = {**TINY, "epochs": 2, "seed": 5}
    straight = BiLM(**params).train(corpus)

    def interrupt(event: object) -> None:
        if isinstance(event, EpochProgress):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        BiLM(**params).train(corpus, callback=interrupt, checkpoint=tmp_path / "ck")
    assert (tmp_path / "ck" / "checkpoint.json").is_file()
    trainer = BiLM(**params)
    resumed = trainer.train(corpus, checkpoint=tmp_path / "ck", resume=True)
    assert trainer.stats is not None and trainer.stats.resumed_from_step == 1
    assert trainer.stats.steps == straight_steps(params, corpus)
    for (name, a), b in zip(
        straight.net.state_dict().items(), resumed.net.state_dict().values(), strict=True
    ):
        assert np.array_equal(a.numpy(), b.numpy()), name
    # A checkpoint from other parameters is refused, naming the difference.
    with pytest.raises(InvalidParameterError, match=r"lr=0.002 \(now 0.01\)"):
        BiLM(**{**params, "lr": 0.01}).train(corpus, checkpoint=tmp_path / "ck", resume=True)


def straight_steps(params: dict[str, int], corpus: list[str]) -> int:
    tokens = sum(len(line.split()) + 1 for line in corpus)
    windows = tokens // params["window"]
    return params["epochs"] * -(-windows // params["batch_size"])


def test_bad_corpora_are_typed_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match="empty"):
        BiLM(**TINY).train(empty)
    with pytest.raises(CorpusError, match="empty"):
        BiLM(**TINY).train(["...", "!!"])
    with pytest.raises(CorpusError, match="fewer than one window of 16"):
        BiLM(**TINY).train(["a b c"])
    with pytest.raises(InvalidParameterError, match="needs checkpoint"):
        BiLM(**TINY).train(["a b c"], resume=True)
    with pytest.raises(InvalidParameterError, match="valid parameters are"):
        BiLM(dims=3)
    with pytest.raises(InvalidParameterError, match="'dim' parameter"):
        BiLM(dim=1)


def test_cli_trains_saves_and_refuses_an_empty_corpus(tmp_path: Path) -> None:
    from cli_helpers import assert_invoke_error, invoke, invoke_json

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(planted(100, 3)) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    small = ["--dim", "8", "--hidden", "16", "--layers", "1", "--window", "8"]
    report = invoke_json("train", "bilm", corpus, "-o", out, *small, "--min-count", "1")
    assert report["kind"] == "bilm" and report["tokens_trained"] > 0
    assert report["model"] == str(out) and not (tmp_path / "model.checkpoint").exists()
    assert encoders.load(f"bilm:{out}").encode(["river bank"]).shape == (1, 16)
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    result = invoke("train", "bilm", tmp_path / "empty.txt", "-o", tmp_path / "m2", *small)
    assert_invoke_error(result, "empty")
    assert not (tmp_path / "m2").exists()
