"""The server's HTTP rules against a real uvicorn: the API key, limits, the one error shape,
CORS, /healthz and /metrics, text search and file ingestion, and a clean SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest

import embedlab
from embedlab import Client
from embedlab.encoders.static import StaticEncoder
from embedlab.errors import CollectionNotFoundError, InvalidParameterError
from embedlab.server import Limits, ServerSettings, create_app
from embedlab.server.errors import LimitExceededError, PayloadTooLargeError
from embedlab.store import Database
from server_helpers import running

KEY = "s3cret-key-for-tests"
WORDS = ["river", "bank", "water", "loan", "money", "credit", "fish", "boat"]


def toy_encoder() -> StaticEncoder:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(WORDS), 16)).astype(np.float32)
    vectors[1] = vectors[0] + 0.1 * vectors[1]  # bank ~ river
    return StaticEncoder(embedlab.WordVectors(WORDS, vectors), name="toy")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    limits = Limits(
        max_body_bytes=200_000,
        max_inputs=8,
        max_tokens=50,
        max_k=100,
        max_dim=1024,
        max_metadata_bytes=200,
        max_upload_bytes=20_000,
    )
    settings = ServerSettings(api_key=KEY, limits=limits, models={})
    db = Database(tmp_path_factory.mktemp("http") / "db")
    with running(create_app(db, {"toy": toy_encoder()}, settings)) as base:
        yield base


@pytest.fixture
def http(url: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


@pytest.fixture
def client(url: str) -> Iterator[Client]:
    with Client(url, api_key=KEY) as c:
        yield c
        for info in c.list_collections():
            c.delete_collection(info.name)


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    return dict(body["error"])


# -- the key -------------------------------------------------------------------------------
def test_key_is_required_and_says_nothing(url: str, client: Client) -> None:
    client.create_collection("private", dim=2, index="flat").add(["secret-id"], [[1, 0]])
    for headers in ({}, {"Authorization": "Bearer wrong-key-123"}, {"X-API-Key": KEY[:-1]}):
        for method, path in [
            ("GET", "/v1/collections"),
            ("POST", "/v1/collections/private/get"),
            ("GET", "/metrics"),
            ("GET", "/openapi.json"),
        ]:
            answer = httpx2.request(method, url + path, headers=headers, json={})
            assert answer.status_code == 401
            assert "secret" not in answer.text and "private" not in answer.text
            assert error_of(answer)["message"] == "missing or wrong API key"
    assert httpx2.get(url + "/v1/collections", headers={"X-API-Key": KEY}).status_code == 200
    assert httpx2.get(url + "/healthz").json()["status"] == "ok"
    assert "<html" in httpx2.get(url + "/").text.lower()


def test_non_loopback_bind_needs_a_key() -> None:
    with pytest.raises(InvalidParameterError, match="not loopback"):
        ServerSettings(host="0.0.0.0").check()
    with pytest.raises(InvalidParameterError, match="not loopback"):
        ServerSettings(host="192.168.1.5").check()
    ServerSettings(host="0.0.0.0", api_key=KEY).check()
    ServerSettings(host="::1").check()


# -- limits --------------------------------------------------------------------------------
def test_limits(http: httpx2.Client, client: Client) -> None:
    big = http.post(
        "/v1/embeddings", content=b"x" * 300_000, headers={"Content-Type": "application/json"}
    )
    assert big.status_code == 413 and error_of(big)["type"] == "PayloadTooLargeError"
    many = http.post("/v1/embeddings", json={"input": ["river"] * 9})
    assert many.status_code == 422 and "at most 8 per request" in error_of(many)["message"]
    long = http.post("/v1/embeddings", json={"input": ["river " * 60]})
    assert long.status_code == 422 and "60 tokens" in error_of(long)["message"]
    col = client.create_collection("lim", dim=2, index="flat", model="toy")
    col.add(["a"], [[1, 0]])
    with pytest.raises(LimitExceededError, match="texts holds 9 items"):
        col.query_texts(["river"] * 9)
    with pytest.raises(LimitExceededError, match=r"range \[1, 100\]. Got 101"):
        col.query([1, 0], k=101)
    with pytest.raises(LimitExceededError, match=r"'dim' parameter .* \[1, 1024\]"):
        client.create_collection("wide", dim=2048)
    with pytest.raises(PayloadTooLargeError, match=r"metadata\[0\] is \d+ bytes"):
        col.add(["b"], [[0, 1]], metadata=[{"note": "x" * 300}])
    assert col.count() == 1


def test_collection_names_cannot_traverse(http: httpx2.Client) -> None:
    for name in ["../evil", "a/b", "..", "x\\y"]:
        made = http.post("/v1/collections", json={"name": name, "dim": 2})
        assert made.status_code == 400, name
        assert "path separators" in error_of(made)["message"]
    assert http.get("/v1/collections/..%2Fetc").status_code == 404


# -- the error shape -----------------------------------------------------------------------
def test_errors_map_to_statuses_never_500(http: httpx2.Client, client: Client) -> None:
    client.create_collection("e", dim=2, index="flat").add(["a"], [[1, 0]])
    cases = [
        ("GET", "/v1/collections/nope", None, 404, "CollectionNotFoundError"),
        ("POST", "/v1/collections", {"name": "e", "dim": 2}, 409, "CollectionExistsError"),
        (
            "POST",
            "/v1/collections/e/add",
            {"ids": ["a"], "vectors": [[0, 1]]},
            409,
            "DuplicateIdError",
        ),
        (
            "POST",
            "/v1/collections/e/query",
            {"queries": [1, 0], "where": {"g": {"$re": 1}}},
            400,
            "InvalidFilterError",
        ),
        (
            "POST",
            "/v1/collections/e/add",
            {"ids": ["z"], "vectors": [[1, 2, 3]]},
            400,
            "DimensionMismatchError",
        ),
        (
            "POST",
            "/v1/collections/e/add",
            {"ids": "zz", "vectors": "nonsense"},
            400,
            "InvalidParameterError",
        ),
        (
            "POST",
            "/v1/collections/e/query",
            {"queries": "text?", "k": "ten"},
            400,
            "InvalidParameterError",
        ),
        ("POST", "/v1/collections/e/query", {"texts": ["river"]}, 400, "InvalidParameterError"),
        ("POST", "/v1/collections/e/search", {"query": ""}, 400, "InvalidParameterError"),
        (
            "POST",
            "/v1/collections/e/update",
            {"ids": ["nope"], "documents": ["x"]},
            404,
            "UnknownKeyError",
        ),
        ("POST", "/v1/embeddings", {"input": 5}, 422, "InvalidParameterError"),
        ("GET", "/v1/nothing-here", None, 404, "NotFound"),
    ]
    for method, path, body, status, kind in cases:
        answer = http.request(method, path, json=body)
        assert (answer.status_code, error_of(answer)["type"]) == (status, kind), (path, body)
    broken = http.post(
        "/v1/collections/e/get", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    with pytest.raises(CollectionNotFoundError, match="unknown collection 'nope'"):
        client.get_collection("nope")


def test_cors_is_off_by_default(url: str) -> None:
    headers = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    answer = httpx2.options(url + "/v1/embeddings", headers=headers)
    assert "access-control-allow-origin" not in answer.headers


# -- health, metrics -----------------------------------------------------------------------
def test_metrics_are_prometheus_text(http: httpx2.Client, client: Client) -> None:
    client.create_collection("m", dim=2, index="flat").add(["a", "b"], [[1, 0], [0, 1]])
    http.post("/v1/embeddings", json={"input": ["river bank"]})
    text = http.get("/metrics").text
    assert 'embedlab_collection_rows{collection="m"} 2' in text
    assert 'route="/v1/embeddings",status="200"' in text
    assert "embedlab_request_seconds_bucket" in text
    assert "embedlab_encode_queue_depth 0" in text
    assert "embedlab_encode_batch_inputs_count" in text


# -- search and ingestion ------------------------------------------------------------------
def test_search_and_text_queries(client: Client) -> None:
    enc = toy_encoder()
    docs = ["river water fish", "loan money credit", "boat on the river"]
    col = client.create_collection("s", dim=16, index="flat", model="toy")
    col.add(
        ["d1", "d2", "d3"], enc.encode(docs), metadata=[{"n": i} for i in range(3)], documents=docs
    )
    embedded = embedlab.Database  # the library's own answer, for comparison
    assert embedded is not None
    for mode in ("vector", "keyword", "hybrid"):
        hits = col.search("bank river", mode=mode, k=2)
        assert hits and hits[0].id in {"d1", "d3"}, mode
    hits = col.search("money", mode="keyword", k=3)
    assert [h.id for h in hits] == ["d2"]
    found = col.query_texts(["credit loan"], k=1)
    assert found[0].ids == ("d2",)
    raw = client.request("POST", "/v1/collections/s/search", {"query": "river", "mode": "keyword"})
    first = raw["hits"][0]
    start, end = first["highlights"][0]
    assert first["snippet"][start:end].lower() == "river"


def test_ingest_uploads(client: Client, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Rivers\n\nFish swim in river water near the bank.\n")
    (tmp_path / "b.txt").write_text("A loan is money lent on credit.\n")
    report = client.get_or_create_collection("docs", dim=16, index="flat", model="toy")
    answer = report.ingest([tmp_path / "a.md", tmp_path / "b.txt"])
    assert answer["files_indexed"] == 2 and answer["chunks_added"] >= 2
    hits = report.search("loan credit", mode="keyword", k=5, group_by="path")
    assert hits[0].metadata["path"].endswith("b.txt")
    again = report.ingest([tmp_path / "b.txt"])  # the same file again: unchanged
    assert again["files_unchanged"] == 1 and again["chunks_added"] == 0
    too_big = tmp_path / "big.txt"
    too_big.write_text("river " * 5000)
    with pytest.raises(PayloadTooLargeError):
        report.ingest([too_big])


# -- shutdown ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_sigterm_finishes_in_flight_requests_and_closes(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embedlab",
            "serve",
            "--db",
            str(tmp_path / "db"),
            "--port",
            str(port),
            "--model",
            "minilm",
            "--grace",
            "600",  # a crowded CI machine may need long for the request below
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx2.get(base + "/healthz").status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        with Client(base) as client:
            col = client.create_collection("kept", dim=2, index="hnsw")
            col.add([f"r{i}" for i in range(50)], np.random.default_rng(1).normal(size=(50, 2)))
        texts = [
            f"sentence number {i} about a slow shutdown and many words" * 4 for i in range(300)
        ]
        answers: list[Any] = []

        def slow() -> None:
            body = {"input": texts}
            answers.append(httpx2.post(base + "/v1/embeddings", json=body, timeout=900))
            answers.append(time.monotonic())

        worker = threading.Thread(target=slow)
        worker.start()
        time.sleep(0.5)  # the request is in flight (300 texts take seconds even when idle)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=900)
        # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit says why
        assert proc.wait(timeout=120) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert answers and answers[0].status_code == 200
    assert len(answers[0].json()["data"]) == 300
    assert answers[1] > signalled  # it was answered after the signal, not before
    with Database(tmp_path / "db") as db:  # closed cleanly: index saved, rows all there
        col = db.get_collection("kept")
        assert col.count() == 50
        assert col.verify().ok
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert "Traceback" not in output
    assert "Application shutdown complete" in output


# -- found by schemathesis ------------------------------------------------------------------
@pytest.mark.parametrize("include", [None, 0, {"metadata": 1}])
def test_include_that_is_not_a_list_is_a_400(
    http: httpx2.Client, client: Client, include: Any
) -> None:
    client.create_collection("inc", dim=2, index="flat").add(["a"], [[1, 0]])
    for path, body in [
        ("get", {"include": include}),
        ("query", {"queries": [1, 0], "include": include}),
    ]:
        answer = http.post(f"/v1/collections/inc/{path}", json=body)
        assert answer.status_code == 400, (path, answer.text)
        assert "include must be a str or a list" in error_of(answer)["message"]


def test_cli_refuses_unsafe_binds(tmp_path: Path) -> None:
    from cli_helpers import assert_user_error, run_cli

    db = tmp_path / "db"
    assert_user_error(run_cli("serve", "--db", db, "--host", "0.0.0.0"), "needs an API key")
    unset = "EMBEDLAB_TEST_KEY_THAT_IS_NOT_SET"
    assert_user_error(run_cli("serve", "--db", db, "--api-key-env", unset), "is not set")
    assert not db.exists()  # refused before anything was opened
