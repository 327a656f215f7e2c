"""The HTTP server under load, against the embedded library and against Infinity.

    python benchmarks/server.py queries        # HTTP, 8 clients vs embedded, 1 client
    python benchmarks/server.py embeddings     # 16 clients, batching on vs off (vs Infinity)
    python benchmarks/server.py load           # mixed load: errors, lost writes, memory
    python benchmarks/server.py schema         # schemathesis against /openapi.json
    python benchmarks/server.py all

Every server is a real `embedlab serve` subprocess on 127.0.0.1 (a free port); clients are
threads of this process, each with its own pooled httpx2 connection. All traffic stays on
loopback; every phase is bounded in time (``--seconds``).

queries: a collection of ``--rows`` random unit vectors (384-d, seed 0; HNSW by default,
``--index flat`` for a scan-bound case). The embedded side runs ``Collection.query`` in one
thread of this process for ``--seconds``; the HTTP side runs 8 clients posting the same
kind of query (a vector, k=10, metadata and documents included) to the server, which opened
the same folder. Target (issue 13): HTTP keeps >= 50% of embedded single-client throughput.

embeddings: 16 clients each post one WordNet gloss at a time to /v1/embeddings (minilm,
``--backend``: onnx int8 by default), against a server with micro-batching
(``--batch-wait-ms 5``) and one without (``0``). Target: >= 2x. With ``--infinity PYTHON``
(the python of Infinity's own environment; it runs through ``_infinity_launch.py``),
Infinity serves ``--infinity-model`` (a folder with an ONNX export for its optimum engine,
the fastest on CPU) with ``--engine`` and gets the same clients. All servers run at once
and the clients visit them in turn for ``--rounds`` rounds of ``--seconds`` (medians
reported), so the machine's changing load hits each alike. Vectors are compared with
sentence-transformers' (cosine >= 0.99 for "equal vectors").

load: 16 clients for ``--seconds`` mixing vector queries (60%), adds of 1-8 rows (``--adds``,
20%, into their own collection) and single-sentence embeddings (the rest): errors, requests/s,
p50/p99 per kind, every acknowledged id read back at the end, and the server's RSS
sampled each second after ``--warmup`` seconds of the same load (first quarter vs last
quarter, and the least-squares slope in MB per minute).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from embedlab.store import Database  # noqa: E402

DIM = 384


# -- servers ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(command: list[str], port: int, health: str = "/healthz") -> Iterator[tuple[str, int]]:
    """Run a server command until the block ends; yields (base url, pid)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    env["INFINITY_ANONYMOUS_USAGE_STATS"] = "0"  # Infinity: no usage reports
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        yield from _serving(proc, log, f"http://127.0.0.1:{port}", health)


def _serving(
    proc: subprocess.Popen[bytes], log: Any, base: str, health: str
) -> Iterator[tuple[str, int]]:
    try:
        deadline = time.monotonic() + 300
        while True:
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(base + health, timeout=5).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError("server did not start:\n" + log.read().decode()[-3000:])
            time.sleep(0.25)
        yield base, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def embedlab_server(
    db: Path, port: int, *, wait_ms: float = 5.0, backend: str = "torch", threads: int = 0
) -> Any:
    extra = ["--threads", str(threads)] if threads else []
    return server(
        [
            sys.executable,
            "-m",
            "embedlab",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--model",
            "minilm",
            "--backend",
            backend,
            "--batch-wait-ms",
            str(wait_ms),
            *extra,
        ],
        port,
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- clients ---------------------------------------------------------------------------------
def hammer(
    clients: int,
    seconds: float,
    work: Callable[[httpx2.Client, int, random.Random], str],
    base: str,
) -> dict[str, Any]:
    """``clients`` threads calling ``work`` until ``seconds`` pass; latencies per kind."""
    stop = time.monotonic() + seconds
    latencies: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def run(worker: int) -> None:
        rng = random.Random(worker)
        mine: dict[str, list[float]] = {}
        with httpx2.Client(base_url=base, timeout=60) as http:
            n = 0
            while time.monotonic() < stop:
                start = time.perf_counter()
                try:
                    kind = work(http, worker * 1_000_000 + n, rng)
                except Exception as exc:  # counted, reported
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                finally:
                    n += 1
                mine.setdefault(kind, []).append(time.perf_counter() - start)
        with lock:
            for kind, values in mine.items():
                latencies.setdefault(kind, []).extend(values)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(w,)) for w in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    total = sum(len(v) for v in latencies.values())
    return {
        "requests": total,
        "seconds": elapsed,
        "rps": total / elapsed,
        "errors": len(errors),
        "error_examples": errors[:3],
        "latency_ms": {
            kind: {
                "n": len(v),
                "p50": 1000 * statistics.median(v),
                "p99": 1000 * float(np.quantile(v, 0.99)),
            }
            for kind, v in latencies.items()
        },
    }


def checked(response: httpx2.Response) -> Any:
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    return response.json()


def glosses(n: int) -> list[str]:
    path = ROOT / "src" / "embedlab" / "data" / "wordnet-glosses.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = [line.split(":", 1)[-1].strip() for line in f]
    random.Random(0).shuffle(lines)
    return lines[:n]


# -- phases ----------------------------------------------------------------------------------
def build_collection(folder: Path, rows: int, index: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(rows, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with Database(folder) as db:
        col = db.create_collection("bench", dim=DIM, index=index, model="minilm")
        for start in range(0, rows, 5000):
            ids = [f"r{i}" for i in range(start, min(rows, start + 5000))]
            col.add(
                ids,
                vectors[start : start + len(ids)],
                metadata=[{"n": i} for i in range(start, start + len(ids))],
                documents=[f"row {i}" for i in range(start, start + len(ids))],
            )
        col.wait_for_index()
        col.save_index()
    queries = rng.normal(size=(1000, DIM)).astype(np.float32)
    return queries / np.linalg.norm(queries, axis=1, keepdims=True)


def phase_queries(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Embedded and HTTP take turns, ``--rounds`` times (medians reported), so a change in
    the machine's load hits both alike."""
    folder = work / f"queries-{args.index}-{args.rows}"
    queries = build_collection(folder, args.rows, args.index)
    bodies = [json.dumps({"queries": q.tolist(), "k": 10}).encode() for q in queries]
    headers = {"Content-Type": "application/json"}

    def one(http: httpx2.Client, n: int, rng: random.Random) -> str:
        checked(
            http.post(
                "/v1/collections/bench/query", content=bodies[n % len(bodies)], headers=headers
            )
        )
        return "query"

    embedded_runs: list[float] = []
    http_runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        with Database(folder) as db:
            col = db.get_collection("bench")
            for q in queries[:50]:
                col.query(q, k=10)  # warm
            done, stop = 0, time.monotonic() + args.seconds
            start = time.perf_counter()
            while time.monotonic() < stop:
                col.query(queries[done % len(queries)], k=10)
                done += 1
            embedded_runs.append(done / (time.perf_counter() - start))
        with embedlab_server(folder, free_port(), backend=args.backend) as (base, _):
            hammer(8, 2, one, base)  # warm
            http_runs.append(hammer(8, args.seconds, one, base))
    embedded = statistics.median(embedded_runs)
    http_qps = statistics.median(r["rps"] for r in http_runs)
    ratio = http_qps / embedded
    return {
        "index": args.index,
        "rows": args.rows,
        "rounds": args.rounds,
        "embedded_1_client_qps_per_round": [round(v, 1) for v in embedded_runs],
        "http_8_clients_qps_per_round": [round(r["rps"], 1) for r in http_runs],
        "embedded_1_client_qps": embedded,
        "http_8_clients_qps": http_qps,
        "http_errors": sum(r["errors"] for r in http_runs),
        "http_latency_ms": http_runs[-1]["latency_ms"],
        "ratio_per_round": [
            round(r["rps"] / e, 2) for r, e in zip(http_runs, embedded_runs, strict=True)
        ],
        "ratio": ratio,
        "target": ">= 0.5",
        "pass": ratio >= 0.5,
    }


def phase_embeddings(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every server runs at once (idle ones cost nothing); the clients visit them in
    turn, ``--rounds`` times, so a change in the machine's load hits all of them alike."""
    sentences = glosses(20_000)
    probe = sentences[:64]
    from embedlab.encoders._loading import locate

    folder = locate("minilm").path
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(folder), device="cpu").encode(
        probe, normalize_embeddings=True
    )
    targets: dict[str, tuple[str, str]] = {}  # label -> (path, model name)
    mine = ("batching_on", "batching_off")
    with contextlib.ExitStack() as stack:
        db = work / "embeddings-db"
        bases: dict[str, str] = {}
        for label, wait in (("batching_on", args.batch_wait_ms), ("batching_off", 0.0)):
            serving = embedlab_server(
                db, free_port(), wait_ms=wait, backend=args.backend, threads=args.threads
            )
            bases[label] = stack.enter_context(serving)[0]
            targets[label] = ("/v1/embeddings", "minilm")
        for model_dir in (args.infinity_model or [str(folder)]) if args.infinity else []:
            port = free_port()
            launcher = str(ROOT / "benchmarks" / "_infinity_launch.py")
            command = [args.infinity, launcher, "v2", "--model-id", model_dir]
            command += ["--engine", args.engine, "--device", "cpu"]
            command += ["--pooling-method", args.infinity_pooling]
            command += ["--port", str(port), "--host", "127.0.0.1"]
            command += ["--batch-size", str(args.infinity_batch_size)]
            label = f"infinity {Path(model_dir).name}"
            bases[label] = stack.enter_context(server(command, port, health="/health"))[0]
            targets[label] = ("/embeddings", model_dir)
        rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in bases}
        for _ in range(args.rounds):
            for label, base in bases.items():
                path, model = targets[label]

                def one(
                    http: httpx2.Client,
                    n: int,
                    rng: random.Random,
                    path: str = path,
                    model: str = model,
                ) -> str:
                    body = {"model": model, "input": sentences[n % len(sentences)]}
                    checked(http.post(path, json=body))
                    return "embed"

                hammer(16, 1, one, base)  # warm the connections
                rounds[label].append(hammer(16, args.seconds, one, base))
        out: dict[str, Any] = {
            "clients": 16,
            "seconds_per_round": args.seconds,
            "rounds": args.rounds,
            "backend": args.backend,
            "threads": args.threads or "default",
            "batch_wait_ms": args.batch_wait_ms,
        }
        for label, base in bases.items():
            path, model = targets[label]
            batch = _mean_batch(httpx2.get(base + "/metrics").text) if label in mine else None
            answer = checked(
                httpx2.post(base + path, json={"model": model, "input": probe}, timeout=120)
            )
            rows = sorted(answer["data"], key=lambda d: d["index"])  # Infinity's come unordered
            got = np.array([d["embedding"] for d in rows], dtype=np.float32)
            got /= np.linalg.norm(got, axis=1, keepdims=True)
            runs = rounds[label]
            out[label] = {
                "rps_per_round": [round(r["rps"], 1) for r in runs],
                "rps": statistics.median(r["rps"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
                "error_examples": [e for r in runs for e in r["error_examples"]][:3],
                "p50_ms": statistics.median(r["latency_ms"]["embed"]["p50"] for r in runs),
                "p99_ms": statistics.median(r["latency_ms"]["embed"]["p99"] for r in runs),
                "min_cosine_to_sentence_transformers": float(
                    np.min(np.sum(got * reference, axis=1))
                ),
            }
            if batch is not None:
                out[label]["mean_batch_inputs"] = batch
            else:
                out[label]["engine"] = f"{args.engine}, pooling {args.infinity_pooling}"
    out["ratio_on_vs_off"] = out["batching_on"]["rps"] / out["batching_off"]["rps"]
    out["ratio_on_vs_off_per_round"] = [
        round(a["rps"] / b["rps"], 2)
        for a, b in zip(rounds["batching_on"], rounds["batching_off"], strict=True)
    ]
    equal = [  # Infinity's configurations that answer equal vectors; the fastest is the anchor
        label
        for label in bases
        if label not in mine and out[label]["min_cosine_to_sentence_transformers"] >= 0.99
    ]
    if equal:
        best = max(equal, key=lambda label: out[label]["rps"])
        out["infinity_anchor"] = best
        out["ratio_embedlab_vs_infinity"] = out["batching_on"]["rps"] / out[best]["rps"]
        out["ratio_vs_infinity_per_round"] = [
            round(a["rps"] / b["rps"], 2)
            for a, b in zip(rounds["batching_on"], rounds[best], strict=True)
        ]
    return out


def _mean_batch(metrics: str) -> float:
    values = {}
    for line in metrics.splitlines():
        if line.startswith("embedlab_encode_batch_inputs_sum"):
            values["sum"] = float(line.split()[-1])
        if line.startswith("embedlab_encode_batch_inputs_count"):
            values["count"] = float(line.split()[-1])
    return values.get("sum", 0.0) / max(values.get("count", 1.0), 1.0)


def phase_load(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    folder = work / "load-db"
    queries = build_collection(folder, 20_000, "hnsw")
    with Database(folder) as db:
        db.create_collection("writes", dim=DIM, index="flat")
    sentences = glosses(5000)
    acknowledged: list[str] = []
    lock = threading.Lock()

    def one(http: httpx2.Client, n: int, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.6:
            body = {"queries": queries[n % len(queries)].tolist(), "k": 10}
            checked(http.post("/v1/collections/bench/query", json=body))
            return "query"
        if roll < 0.6 + args.adds:
            count = rng.randint(1, 8)
            ids = [f"w{time.monotonic_ns()}-{n}-{j}" for j in range(count)]
            vectors = np.random.default_rng(n).normal(size=(count, DIM)).tolist()
            checked(http.post("/v1/collections/writes/add", json={"ids": ids, "vectors": vectors}))
            with lock:
                acknowledged.extend(ids)
            return "add"
        checked(http.post("/v1/embeddings", json={"input": sentences[n % len(sentences)]}))
        return "embed"

    port = free_port()
    samples: list[float] = []
    serving = embedlab_server(folder, port, backend=args.backend, threads=args.threads)
    with serving as (base, pid):
        hammer(16, args.warmup, one, base)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(1.0):
                samples.append(rss_mb(pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        result = hammer(16, args.seconds, one, base)
        done.set()
        sampler.join()
        stored = checked(
            httpx2.post(
                base + "/v1/collections/writes/get",
                json={"ids": acknowledged, "include": []},
                timeout=120,
            )
        )
    quarter = max(1, len(samples) // 4)
    first, last = statistics.mean(samples[:quarter]), statistics.mean(samples[-quarter:])
    slope = float(np.polyfit(np.arange(len(samples)), samples, 1)[0]) * 60 if samples else 0.0
    row_bytes = DIM * 4 * 2 / 1e6  # the vector in SQLite's cache and in the flat index
    return {
        **result,
        "acknowledged_ids": len(acknowledged),
        "acknowledged_ids_read_back": len(stored["ids"]),
        "lost_writes": len(acknowledged) - len(stored["ids"]),
        "rss_mb_first_quarter": first,
        "rss_mb_last_quarter": last,
        "rss_growth_mb": last - first,
        "rss_slope_mb_per_minute": slope,
        "warmup_seconds": args.warmup,
        "rss_mb_every_5s": [round(v) for v in samples[::5]],
        "data_added_mb_estimate": len(acknowledged) * row_bytes,
    }


def phase_schema(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    folder = work / "schema-db"
    build_collection(folder, 200, "flat")
    port = free_port()
    with embedlab_server(folder, port) as (base, _):
        config = work / "schemathesis.toml"
        config.write_text('[parameters]\n"path.name" = "bench"\n')  # the collection built above
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            base + "/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            str(args.examples),
            "--max-failures",
            "20",
            "--request-timeout",
            "60",
            "--no-color",
            "--seed",
            "1",
        ]
        started = time.perf_counter()
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=args.seconds * 20, cwd=work
        )
        elapsed = time.perf_counter() - started
    tail = proc.stdout[-4000:]
    return {"exit_code": proc.returncode, "seconds": elapsed, "output_tail": tail}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=["queries", "embeddings", "load", "schema", "all"])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--index", default="hnsw")
    parser.add_argument("--backend", default="onnx", help="the served model's backend")
    parser.add_argument("--threads", type=int, default=0, help="the served model's threads")
    parser.add_argument(
        "--infinity", default=None, help="the python of the environment Infinity is installed in"
    )
    parser.add_argument("--infinity-batch-size", type=int, default=32, help="its default")
    parser.add_argument("--engine", default="optimum")
    parser.add_argument(
        "--infinity-model",
        action="append",
        help="a model folder Infinity loads (for optimum: one holding an ONNX export); repeat "
        "to measure several (the fastest with equal vectors is the anchor)",
    )
    parser.add_argument(
        "--infinity-pooling",
        default="mean",
        help="Infinity's --pooling-method (its optimum engine infers CLS pooling for minilm)",
    )
    parser.add_argument(
        "--adds", type=float, default=0.2, help="load: share of adds (0: data stays constant)"
    )
    parser.add_argument("--warmup", type=float, default=15.0, help="load: seconds before sampling")
    parser.add_argument("--rounds", type=int, default=3, help="queries, embeddings: turns per side")
    parser.add_argument("--batch-wait-ms", type=float, default=5.0, help="embeddings: window")
    parser.add_argument("--examples", type=int, default=20, help="schemathesis examples")
    args = parser.parse_args()
    phases = ["queries", "embeddings", "load", "schema"] if args.phase == "all" else [args.phase]
    results = {}
    with tempfile.TemporaryDirectory(prefix="embedlab-server-bench-") as tmp:
        for phase in phases:
            results[phase] = globals()[f"phase_{phase}"](args, Path(tmp))
            print(json.dumps({phase: results[phase]}, indent=2), flush=True)


if __name__ == "__main__":
    main()
