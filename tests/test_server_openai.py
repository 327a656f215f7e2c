"""POST /v1/embeddings against a real uvicorn, driven by the official ``openai`` package:
float and base64, token arrays, dimensions, usage, long inputs, and the micro-batcher
keeping concurrent requests apart."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import openai
import pytest

from embedlab import errors as embedlab_errors
from embedlab.encoders import load
from embedlab.encoders.compression import truncate_matryoshka
from embedlab.server import ServerSettings, create_app
from embedlab.store import Database
from server_helpers import running


@pytest.fixture(scope="module")
def minilm() -> Any:
    return load("minilm")


@pytest.fixture(scope="module")
def url(minilm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """minilm served twice: as itself, and declared Matryoshka-trained (to test truncation)."""
    settings = ServerSettings(matryoshka=frozenset({"minilm-mrl"}), batch_wait_ms=20)
    db = Database(tmp_path_factory.mktemp("openai") / "db")
    app = create_app(db, {"minilm": minilm, "minilm-mrl": minilm}, settings)
    with running(app) as base:
        yield base


@pytest.fixture
def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)


def reference(minilm: Any, texts: list[str]) -> np.ndarray:
    return np.asarray(minilm.encode(texts, normalize=True), dtype=np.float32)


TEXTS = ["The cat sat on the mat.", "Quantum computers use qubits.", "Paris is in France."]


def test_float_and_base64_match_the_library(client: openai.OpenAI, minilm: Any) -> None:
    floats = client.embeddings.create(model="minilm", input=TEXTS, encoding_format="float")
    b64 = client.embeddings.create(model="minilm", input=TEXTS)  # openai asks base64, decodes
    asked = client.embeddings.create(model="minilm", input=TEXTS, encoding_format="base64")
    raw = [np.frombuffer(base64.b64decode(str(d.embedding)), "<f4") for d in asked.data]
    expected = reference(minilm, TEXTS)
    got_float = np.array([d.embedding for d in floats.data], dtype=np.float32)
    got_b64 = np.array([d.embedding for d in b64.data], dtype=np.float32)
    np.testing.assert_array_equal(np.array(raw), got_b64)
    assert [d.index for d in floats.data] == [0, 1, 2]
    np.testing.assert_array_equal(got_float, got_b64)  # JSON carries float32 exactly
    np.testing.assert_allclose(got_float, expected, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(got_float, axis=1), 1.0, atol=1e-5)
    tokens = sum(minilm.count_tokens(t) for t in TEXTS)
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == tokens
    assert floats.model == "minilm"


def test_raw_base64_is_little_endian_float32(url: str, minilm: Any) -> None:
    body = {"model": "minilm", "input": "hello", "encoding_format": "base64"}
    answer = httpx2.post(url + "/v1/embeddings", json=body).json()
    raw = base64.b64decode(answer["data"][0]["embedding"])
    assert len(raw) == 384 * 4
    np.testing.assert_allclose(
        np.frombuffer(raw, dtype="<f4"), reference(minilm, ["hello"])[0], atol=2e-6
    )


def test_single_string_and_token_arrays(client: openai.OpenAI, minilm: Any) -> None:
    one = client.embeddings.create(model="minilm", input="Paris is in France.")
    assert len(one.data) == 1
    ids = minilm._ids(["Paris is in France.", "The cat sat on the mat."])
    by_ids = client.embeddings.create(model="minilm", input=ids)
    flat = client.embeddings.create(model="minilm", input=ids[0])  # one list of ints
    expected = reference(minilm, ["Paris is in France.", "The cat sat on the mat."])
    np.testing.assert_allclose([d.embedding for d in by_ids.data], expected, atol=2e-6)
    np.testing.assert_allclose(flat.data[0].embedding, expected[0], atol=2e-6)
    assert by_ids.usage.prompt_tokens == len(ids[0]) + len(ids[1])


def test_long_inputs_are_windowed_and_reported(url: str, minilm: Any) -> None:
    long_text = " ".join(f"word{i} and more" for i in range(300))  # far beyond 256 tokens
    body = {"model": "minilm", "input": ["short", long_text]}
    answer = httpx2.post(url + "/v1/embeddings", json=body, timeout=120).json()  # 7 windows
    assert answer["embedlab"] == {
        "window_tokens": minilm.tokens_per_window,
        "inputs_over_window": 1,
    }
    got = np.array([d["embedding"] for d in answer["data"]], dtype=np.float32)
    np.testing.assert_allclose(got, reference(minilm, ["short", long_text]), atol=2e-6)
    assert answer["usage"]["prompt_tokens"] == 1 + minilm.count_tokens(long_text)


def test_dimensions_exact_or_refused(client: openai.OpenAI, minilm: Any) -> None:
    same = client.embeddings.create(model="minilm", input=["a"], dimensions=384)
    assert len(same.data[0].embedding) == 384
    with pytest.raises(openai.BadRequestError, match="not trained for Matryoshka"):
        client.embeddings.create(model="minilm", input=["a"], dimensions=64)
    cut = client.embeddings.create(model="minilm-mrl", input=TEXTS, dimensions=64)
    got = np.array([d.embedding for d in cut.data], dtype=np.float32)
    assert got.shape == (3, 64)
    np.testing.assert_allclose(got, truncate_matryoshka(reference(minilm, TEXTS), 64), atol=2e-6)
    with pytest.raises(openai.BadRequestError, match="has 384 dimensions"):
        client.embeddings.create(model="minilm-mrl", input=["a"], dimensions=500)


def test_unknown_model_and_bad_input(client: openai.OpenAI, url: str) -> None:
    with pytest.raises(openai.NotFoundError, match="unknown model 'gpt-x'"):
        client.embeddings.create(model="gpt-x", input=["a"])
    with pytest.raises(openai.BadRequestError, match="must not be empty"):
        client.embeddings.create(model="minilm", input=[])
    answer = httpx2.post(url + "/v1/embeddings", json={"model": "minilm", "input": [1, "a"]})
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "InvalidParameterError"
    answer = httpx2.post(url + "/v1/embeddings", json={"input": [[999_999]]})
    assert answer.status_code == 400
    assert "token ids of this model are ints in [0, 30522)" in answer.json()["error"]["message"]


def test_models_list(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["minilm", "minilm-mrl"]


def test_concurrent_clients_get_their_own_vectors(url: str, minilm: Any) -> None:
    """48 clients at once, each with its own texts (1 to 3 of them): every answer holds
    exactly that client's vectors, in its order, and requests were batched together."""
    texts = [
        [f"client {c} sentence {j} about topic {c * 7 + j}" for j in range(1 + c % 3)]
        for c in range(48)
    ]
    expected = {c: reference(minilm, t) for c, t in enumerate(texts)}

    def ask(c: int) -> tuple[int, np.ndarray]:
        with openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0) as one:
            answer = one.embeddings.create(model="minilm", input=texts[c])
        return c, np.array([d.embedding for d in answer.data], dtype=np.float32)

    with ThreadPoolExecutor(max_workers=48) as pool:
        answers = list(pool.map(ask, range(48)))
    for c, got in answers:
        assert got.shape == expected[c].shape
        np.testing.assert_allclose(got, expected[c], atol=1e-5)
    metrics = httpx2.get(url + "/metrics").text
    count = int(re.search(r"embedlab_encode_batch_inputs_count (\d+)", metrics).group(1))
    total = float(re.search(r"embedlab_encode_batch_inputs_sum (\S+)", metrics).group(1))
    assert total / count > 1.5  # requests shared model calls


def test_path_of_an_upload_stays_inside(tmp_path: Path) -> None:
    from embedlab.errors import InvalidParameterError
    from embedlab.server.search_api import _file_name

    assert _file_name("notes.md") == "notes.md"
    for bad in ["../x.md", "a/../../b.txt", ".hidden", "", "dir/evil.txt", "..\\x.txt"]:
        with pytest.raises(InvalidParameterError, match="plain file name"):
            _file_name(bad)


def test_client_embed_is_exact(url: str, minilm: Any) -> None:
    from embedlab import Client

    with Client(url) as client:
        got = client.embed(TEXTS)
        assert got.dtype == np.float32 and got.shape == (3, 384)
        np.testing.assert_allclose(got, reference(minilm, TEXTS), atol=2e-6)
        with pytest.raises(embedlab_errors.UnknownKeyError, match="unknown model 'nope'"):
            client.embed(["a"], model="nope")
