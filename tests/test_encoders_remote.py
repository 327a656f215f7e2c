"""RemoteEncoder against a real OpenAI-compatible HTTP server on loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from embedlab.encoders.remote import RemoteEncoder, RemoteEncoderError
from embedlab.errors import EmbedlabError, InvalidParameterError

DIM = 8


def fake_vector(text: str) -> list[float]:
    """A deterministic vector per text."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32).tolist()


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Server:
    """What the handler saw, and a script of replies to give before the normal ones."""

    url: str
    requests: list[dict[str, object]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    script: list[Reply | Callable[[list[str]], Reply]] = field(default_factory=list)
    reverse: bool = False


def _handler(state: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.headers.append(dict(self.headers))
            if self.path != "/v1/embeddings":
                self._send(404, {}, b'{"error": {"message": "no such route"}}')
                return
            if state.script:
                step = state.script.pop(0)
                self._send(*(step(body["input"]) if callable(step) else step))
                return
            data = [
                {"object": "embedding", "index": i, "embedding": fake_vector(t)}
                for i, t in enumerate(body["input"])
            ]
            if state.reverse:  # the API does not promise order; index does
                data.reverse()
            self._send(200, {}, json.dumps({"object": "list", "data": data}).encode())

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


class QuietServer(ThreadingHTTPServer):
    """A client that gave up (the timeout test) is expected, not worth a traceback."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="")
    httpd = QuietServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def encoder(url: str, **options: object) -> RemoteEncoder:
    settings: dict[str, object] = {"backoff": 0.001, "timeout": 5, "max_retries": 3}
    settings.update(options)
    return RemoteEncoder(url, "fake-model", **settings)  # type: ignore[arg-type]


def test_batches_and_order(server: Server) -> None:
    server.reverse = True
    texts = [f"text number {i}" for i in range(10)]
    enc = encoder(server.url, batch_size=4)
    out = enc.encode(texts)
    assert out.dtype == np.float32 and out.shape == (10, DIM)
    np.testing.assert_allclose(out, np.array([fake_vector(t) for t in texts], np.float32))
    sizes = [len(r["input"]) for r in server.requests]  # type: ignore[arg-type]
    assert sizes[0] == 4 and sorted(sizes[1:]) == [2, 4]  # the first learns dim; then at once
    assert all(r["model"] == "fake-model" for r in server.requests)
    assert enc.dim == DIM and len(server.requests) == 3  # learned, no extra request
    enc.encode(texts, batch_size=5)
    assert len(server.requests) == 5


def test_normalize_prompt_and_probe(server: Server) -> None:
    enc = encoder(server.url)
    assert enc.dim == DIM and len(server.requests) == 1  # one probe when dim is unknown
    out = enc.encode(["hello"], normalize=True, prompt="query: ")
    assert server.requests[-1]["input"] == ["query: hello"]
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    assert enc.encode([]).shape == (0, DIM)


def test_429_then_success_respects_retry_after(server: Server) -> None:
    server.script = [(429, {"Retry-After": "0.2"}, b'{"error": {"message": "slow down"}}')]
    enc = encoder(server.url)
    start = time.perf_counter()
    out = enc.encode(["a", "b"])
    assert time.perf_counter() - start >= 0.2
    assert len(server.requests) == 2
    np.testing.assert_allclose(out[1], fake_vector("b"))


def test_500s_until_max_retries_give_a_clear_error(server: Server) -> None:
    server.script = [(500, {}, b'{"error": {"message": "boom"}}')] * 10
    enc = encoder(server.url, max_retries=2)
    with pytest.raises(RemoteEncoderError, match=r"after 3 attempt\(s\): HTTP 500: boom") as info:
        enc.encode(["a"])
    assert len(server.requests) == 3
    assert info.value.status == 500 and info.value.attempts == 3
    assert isinstance(info.value, EmbedlabError) and isinstance(info.value, RuntimeError)


def test_503_then_success(server: Server) -> None:
    server.script = [(503, {}, b"down for maintenance")] * 2
    out = encoder(server.url).encode(["a"])
    assert len(server.requests) == 3
    np.testing.assert_allclose(out[0], fake_vector("a"))


def test_malformed_json_is_a_clear_error_after_retries(server: Server) -> None:
    server.script = [(200, {}, b"<html>not json</html>")] * 10
    with pytest.raises(RemoteEncoderError, match=r"after 2 attempt\(s\): the answer is not JSON"):
        encoder(server.url, max_retries=1).encode(["a"])
    assert len(server.requests) == 2


def test_wrong_shape_is_a_clear_error(server: Server) -> None:
    def short(texts: list[str]) -> Reply:
        data = [{"index": 0, "embedding": fake_vector(texts[0])}]
        return 200, {}, json.dumps({"data": data}).encode()

    server.script = [short] * 10
    with pytest.raises(RemoteEncoderError, match="sent 2 texts but the answer holds 1"):
        encoder(server.url, max_retries=1).encode(["a", "b"])
    server.script = []
    with pytest.raises(RemoteEncoderError, match=r"returned 8-dimensional embeddings.*expected 4"):
        encoder(server.url, dim=4).encode(["a"])


def test_other_4xx_fail_at_once(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.script = [(401, {}, b'{"error": {"message": "invalid api key"}}')]
    with pytest.raises(
        RemoteEncoderError, match=r"HTTP 401: invalid api key.*OPENAI_API_KEY is not set"
    ):
        encoder(server.url).encode(["a"])
    assert len(server.requests) == 1
    with pytest.raises(RemoteEncoderError, match="HTTP 404: no such route"):
        encoder(server.url.removesuffix("/v1")).encode(["a"])


def test_server_down_is_a_clear_error_after_retries() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    enc = encoder(f"http://127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(RemoteEncoderError, match=r"after 3 attempt\(s\): cannot connect") as info:
        enc.encode(["a"])
    assert info.value.status is None and enc.requests_sent == 3


def test_timeout_is_retried(server: Server) -> None:
    def slow(texts: list[str]) -> Reply:
        time.sleep(0.5)
        return 200, {}, b"{}"

    server.script = [slow]
    out = encoder(server.url, timeout=0.1).encode(["a"])
    np.testing.assert_allclose(out[0], fake_vector("a"))
    assert len(server.requests) == 2


def test_api_key_from_env_is_sent_and_never_shown(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDLAB_TEST_KEY", "sk-secret-123")
    enc = encoder(server.url, api_key_env="EMBEDLAB_TEST_KEY")
    enc.encode(["a"])
    assert server.headers[-1]["Authorization"] == "Bearer sk-secret-123"
    server.script = [(403, {}, b'{"error": {"message": "forbidden"}}')]
    with pytest.raises(RemoteEncoderError) as info:
        enc.encode(["a"])
    assert "sk-secret" not in str(info.value) and "sk-secret" not in repr(enc)
    no_key = encoder(server.url, api_key_env=None)
    no_key.encode(["a"])
    assert "Authorization" not in server.headers[-1]


def test_from_spec(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = RemoteEncoder.from_spec(f"fake-model@{server.url}", backoff=0.001)
    assert enc.model == "fake-model" and enc.url == server.url + "/embeddings"
    assert enc.encode(["a"]).shape == (1, DIM)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    openai = RemoteEncoder.from_spec("text-embedding-3-small")
    assert openai.base_url == "https://api.openai.com/v1" and openai.dim == 1536  # no probe
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    assert RemoteEncoder.from_spec("m").base_url == server.url
    assert RemoteEncoder.from_spec("m", base_url="http://x:1/v1").base_url == "http://x:1/v1"
    with pytest.raises(InvalidParameterError, match=r"unknown option.*'colour'"):
        RemoteEncoder.from_spec("m", colour="red")


def test_blank_texts_get_the_zero_vector_without_a_request(server: Server) -> None:
    enc = encoder(server.url, batch_size=2)
    out = enc.encode(["", "a", "  ", "b", "c"], normalize=True)
    assert [r["input"] for r in server.requests] == [["a", "b"], ["c"]]
    assert not out[0].any() and not out[2].any()
    np.testing.assert_allclose(np.linalg.norm(out[[1, 3, 4]], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(
        out[3] * np.linalg.norm(fake_vector("b")), fake_vector("b"), rtol=1e-5
    )
    enc.encode(["", ""])
    assert len(server.requests) == 2  # nothing to send, dim already known
    enc.encode([""], prompt="query: ")
    assert server.requests[-1]["input"] == ["query: "]


def test_bad_arguments_are_refused_before_sending(server: Server) -> None:
    enc = encoder(server.url)
    with pytest.raises(InvalidParameterError, match="list of str"):
        enc.encode(b"abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="item 1 is int"):
        enc.encode(["a", 3])  # type: ignore[list-item]
    with pytest.raises(InvalidParameterError, match="base_url"):
        RemoteEncoder("localhost:8080", "m")
    with pytest.raises(InvalidParameterError, match="max_retries"):
        RemoteEncoder(server.url, "m", max_retries=-1)
    assert server.requests == []


def test_base64_dimensions_usage_and_one_text(server: Server) -> None:
    def shortened(texts: list[str]) -> Reply:
        body = server.requests[-1]
        size = int(body["dimensions"])  # type: ignore[call-overload]
        data = []
        for i, text in enumerate(texts):
            row = np.asarray(fake_vector(text)[:size], dtype="<f4")
            encoded = (
                base64.b64encode(row.tobytes()).decode()
                if body["encoding_format"] == "base64"
                else row.tolist()
            )
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        usage = {"prompt_tokens": 3 * len(texts), "total_tokens": 3 * len(texts)}
        return 200, {}, json.dumps({"data": data, "usage": usage}).encode()

    server.script = [shortened, shortened]
    enc = encoder(server.url, dimensions=4)
    assert enc.dim == 4 and enc.name.endswith("#4")  # known from dimensions: no probe
    one = enc.encode("hello")
    assert one.shape == (4,)
    np.testing.assert_array_equal(one, np.asarray(fake_vector("hello")[:4], np.float32))
    assert server.requests[-1]["encoding_format"] == "base64"
    assert server.requests[-1]["dimensions"] == 4
    floats = encoder(server.url, dimensions=4, encoding_format="float")
    np.testing.assert_array_equal(floats.encode(["a", "b"]), enc_rows(["a", "b"], 4))
    assert enc.usage == {"prompt_tokens": 3, "total_tokens": 3}
    assert floats.usage["total_tokens"] == 6
    with pytest.raises(InvalidParameterError, match="encoding_format"):
        encoder(server.url, encoding_format="bytes")


def enc_rows(texts: list[str], size: int) -> np.ndarray:
    return np.array([fake_vector(t)[:size] for t in texts], dtype=np.float32)


def test_batches_go_concurrently_over_pooled_connections(server: Server) -> None:
    import time as clock

    inflight: list[int] = [0, 0]  # now, most

    def slow(texts: list[str]) -> Reply:
        inflight[0] += 1
        inflight[1] = max(inflight[1], inflight[0])
        clock.sleep(0.2)
        inflight[0] -= 1
        data = [{"index": i, "embedding": fake_vector(t)} for i, t in enumerate(texts)]
        return 200, {}, json.dumps({"data": data}).encode()

    server.script = [slow] * 8
    enc = encoder(server.url, batch_size=1, dim=DIM, max_concurrency=4)
    texts = [f"t{i}" for i in range(8)]
    started = clock.perf_counter()
    out = enc.encode(texts)
    took = clock.perf_counter() - started
    np.testing.assert_allclose(out, enc_rows(texts, DIM))
    assert inflight[1] >= 2 and took < 8 * 0.2  # overlapped, in input order
    connection = {h.get("Connection", "keep-alive").lower() for h in server.headers}
    assert connection == {"keep-alive"}  # the pooled client keeps connections open
    enc.close()


def test_backoff_is_jittered(server: Server) -> None:
    server.script = [(503, {}, b"busy")] * 3
    enc = encoder(server.url, backoff=0.05, max_retries=3)
    started = time.perf_counter()
    enc.encode(["a"])
    waited = time.perf_counter() - started
    assert 0.05 * 7 * 0.5 <= waited < 0.05 * 7 * 1.5 + 1.0  # 0.05 * (1 + 2 + 4) x [0.5, 1.5)
    factors = {enc._jitter.random() for _ in range(5)}
    assert len(factors) == 5
