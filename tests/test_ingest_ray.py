"""Indexing on Ray: a real local cluster of two worker processes (started once for the
module), the same rows as the local executor, incremental re-runs, a worker process killed
mid-batch, Ctrl-C, and `embedlab index --ray --address` joining the cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_helpers import cli_env
from embedlab.encoders import Encoder, load
from embedlab.ingest import distributed, index_paths
from embedlab.store import Database
from test_ingest import paragraph, static_spec


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray cluster with two worker CPUs; its address. Under CI it must start."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("Ray is not installed: pip install 'embedlab[ray]'")
    try:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    except Exception:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("a local Ray cluster could not start here")
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    return static_spec(tmp_path_factory.mktemp("static"))


def write_docs(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = "\n\n".join(paragraph(3, seed=100 * i + k) for k in range(3))
        (folder / f"doc{i:02d}.txt").write_text(text, encoding="utf-8")
    return folder


def rows(path: Path) -> dict[str, tuple[dict[str, Any], str, list[float]]]:
    with Database(path) as db:
        got = db.get_collection("docs").get(include=["metadata", "documents", "vectors"])
    assert got.metadata is not None and got.documents is not None and got.vectors is not None
    return {
        i: ({k: v for k, v in m.items() if k != "mtime"}, d or "", np.round(v, 5).tolist())
        for i, m, d, v in zip(got.ids, got.metadata, got.documents, got.vectors, strict=True)
    }


def test_ray_writes_what_the_local_executor_writes_and_reruns_incrementally(
    tmp_path: Path, cluster: str, spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distributed, "_UNIT_FILES", 3)  # several units for two workers
    docs = write_docs(tmp_path / "docs", 8)
    options: dict[str, Any] = {"chunk_tokens": 24, "overlap": 4, "progress": False}
    local = index_paths(docs, tmp_path / "local", "docs", spec, **options)
    ray = index_paths(docs, tmp_path / "ray", "docs", spec, executor="ray", **options)
    assert (ray.executor, ray.files_indexed, ray.chunks_added) == ("ray", 8, local.chunks_added)
    assert ray.retries == 0 and not ray.interrupted and ray.encode_seconds > 0
    assert rows(tmp_path / "ray") == rows(tmp_path / "local")
    # edit one file, delete one, add one, break one: the same incremental outcome as local
    (docs / "doc01.txt").write_text("The river bank has fish.", encoding="utf-8")
    (docs / "doc02.txt").unlink()
    (docs / "new.md").write_text("# Boats\n\nThe boat sat on the water.", encoding="utf-8")
    (docs / "doc03.txt").write_bytes(b"\xff\xfe\x00broken \x00")
    again_local = index_paths(docs, tmp_path / "local", "docs", spec, **options)
    again = index_paths(docs, tmp_path / "ray", "docs", spec, executor="ray", **options)
    for report in (again_local, again):
        assert (report.files_indexed, report.files_unchanged, report.files_removed) == (2, 5, 1)
    assert [f.path for f in again.failed] == [f.path for f in again_local.failed]
    assert again.chunks_removed == again_local.chunks_removed
    assert rows(tmp_path / "ray") == rows(tmp_path / "local")


def slow_encoder(inner: Encoder, marks: Path, seconds: float) -> Encoder:
    """An encoder that notes its process id in ``marks`` and waits before each batch
    (defined here so Ray ships the class itself to its workers)."""

    class Slow:
        def __init__(self) -> None:
            self.inner, self.name, self.dim = inner, inner.name, inner.dim
            self.max_tokens = inner.max_tokens

        def encode(self, texts: Sequence[str], **options: Any) -> Any:
            (marks / f"{os.getpid()}-{time.monotonic_ns()}").touch()
            time.sleep(seconds)
            return self.inner.encode(texts, **options)

    return Slow()  # type: ignore[return-value]


def first_pid(marks: Path, timeout: float = 120.0) -> int:
    """The process id of the first worker that began a batch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(marks.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        if found:
            return int(found[0].name.split("-")[0])
        time.sleep(0.05)
    raise AssertionError("no worker began a batch")


def test_a_worker_killed_mid_batch_is_retried_and_nothing_is_written_twice_or_lost(
    tmp_path: Path, cluster: str, spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distributed, "_UNIT_FILES", 2)
    docs = write_docs(tmp_path / "docs", 6)
    options: dict[str, Any] = {"chunk_tokens": 24, "overlap": 4, "progress": False}
    index_paths(docs, tmp_path / "local", "docs", spec, **options)
    marks = tmp_path / "marks"
    marks.mkdir()
    slow = slow_encoder(load(spec), marks, 1.0)
    killed: list[int] = []

    def kill_first_worker() -> None:
        pid = first_pid(marks)
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)  # mid-batch: it sleeps a second before encoding
        killed.append(pid)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    report = index_paths(docs, tmp_path / "ray", "docs", slow, executor="ray", **options)
    killer.join()
    assert killed and report.retries >= 1
    assert (report.files_indexed, report.failed, report.interrupted) == (6, (), False)
    assert rows(tmp_path / "ray") == rows(tmp_path / "local")


def test_ctrl_c_during_a_ray_ingest_leaves_whole_files_and_a_rerun_finishes(
    tmp_path: Path, cluster: str, spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distributed, "_UNIT_FILES", 1)
    docs = write_docs(tmp_path / "docs", 8)
    options: dict[str, Any] = {"chunk_tokens": 24, "overlap": 4, "progress": False}
    index_paths(docs, tmp_path / "local", "docs", spec, **options)
    marks = tmp_path / "marks"
    marks.mkdir()
    slow = slow_encoder(load(spec), marks, 0.5)
    handler = signal.getsignal(signal.SIGINT)

    def interrupt_after_a_few_batches() -> None:
        deadline = time.monotonic() + 120
        while len(list(marks.iterdir())) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=interrupt_after_a_few_batches)
    thread.start()
    report = index_paths(docs, tmp_path / "ray", "docs", slow, executor="ray", **options)
    thread.join()
    assert report.interrupted and report.files_indexed < 8
    assert signal.getsignal(signal.SIGINT) is handler
    partial, whole = rows(tmp_path / "ray"), rows(tmp_path / "local")
    for path in {meta["path"] for meta, _, _ in partial.values()}:  # no file stored in part
        assert {i for i, r in partial.items() if r[0]["path"] == path} == {
            i for i, r in whole.items() if r[0]["path"] == path
        }
    rest = index_paths(docs, tmp_path / "ray", "docs", spec, executor="ray", **options)
    assert rest.files_indexed + report.files_indexed == 8 and not rest.interrupted
    assert rows(tmp_path / "ray") == whole


def test_cli_index_ray_joins_a_running_cluster(tmp_path: Path, cluster: str, spec: str) -> None:
    docs = write_docs(tmp_path / "docs", 3)
    command = [sys.executable, "-m", "embedlab", "index", str(docs), "-c", "docs"]
    command += [
        "--model",
        spec,
        "--db",
        str(tmp_path / "db"),
        "--chunk-tokens",
        "24",
        "--overlap",
        "4",
    ]
    command += ["--ray", "--address", cluster, "--json"]
    done = subprocess.run(command, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["executor"], report["files_indexed"], report["retries"]) == ("ray", 3, 0)
    wrong = [*command[:-3], "--address", "127.0.0.1:1", "--json"]
    done = subprocess.run(wrong, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "cannot start or join the Ray cluster" in done.stderr


def test_embed_dataset_through_ray_data_to_parquet_and_to_a_collection(
    tmp_path: Path, cluster: str, spec: str
) -> None:
    import pyarrow.dataset as pads

    from embedlab.ingest.ray_data import embed_dataset

    texts = [paragraph(1, seed=i) for i in range(40)]
    source = tmp_path / "rows.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    expected = load(spec).encode(texts, normalize=True)
    report = embed_dataset(source, spec, output=tmp_path / "out", batch_size=8)
    table = pads.dataset(tmp_path / "out", format="parquet").to_table()
    assert report.rows == table.num_rows == 40
    got = dict(zip(table.column("id").to_pylist(), table.column("vector").to_pylist(), strict=True))
    np.testing.assert_allclose([got[f"r{i}"] for i in range(40)], expected, atol=1e-5)
    into = embed_dataset(
        source, spec, db=tmp_path / "db", collection="rows", id_column="id", batch_size=8
    )
    assert into.rows == 40
    with Database(tmp_path / "db") as db:
        col = db.get_collection("rows")
        stored = col.get(ids=["r3", "r17"], include=["vectors", "documents"])
        assert col.count() == 40 and col.model == load(spec).name
    assert list(stored.documents or ()) == [texts[3], texts[17]]
    np.testing.assert_allclose(stored.vectors, expected[[3, 17]], atol=1e-5)


def test_ray_workers_write_to_postgresql_themselves(
    tmp_path: Path, cluster: str, spec: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embedlab.ingest import pipeline
    from store_backends import fresh_pg

    monkeypatch.setattr(distributed, "_UNIT_FILES", 2)  # four units over two workers
    url = fresh_pg(pg_url)
    docs = write_docs(tmp_path / "docs", 8)
    options: dict[str, Any] = {"chunk_tokens": 24, "overlap": 4, "progress": False}
    index_paths(docs, tmp_path / "local", "docs", spec, **options)

    def not_here(self: Any, item: Any) -> None:
        raise AssertionError(f"the caller wrote {item.path}; the workers should have")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline._Run, "_store", not_here)  # the caller must not write
        report = index_paths(docs, url, "docs", spec, executor="ray", workers=2, **options)
        assert (report.files_indexed, report.chunks_added) == (8, len(rows(tmp_path / "local")))
        assert rows(url) == rows(tmp_path / "local")  # type: ignore[arg-type]
        # incremental, as the local executor: an edit, a removal, a new file
        (docs / "doc01.txt").write_text("The river bank has fish.", encoding="utf-8")
        (docs / "doc02.txt").unlink()
        (docs / "new.md").write_text("# Boats\n\nThe boat sat on the water.", encoding="utf-8")
        again = index_paths(docs, url, "docs", spec, executor="ray", workers=2, **options)
    again_local = index_paths(docs, tmp_path / "local", "docs", spec, **options)
    for r in (again, again_local):
        assert (r.files_indexed, r.files_unchanged, r.files_removed) == (2, 6, 1)
    assert again.chunks_removed == again_local.chunks_removed
    assert rows(url) == rows(tmp_path / "local")  # type: ignore[arg-type]


def test_reembed_encodes_on_ray_workers(
    tmp_path: Path, cluster: str, spec: str, encoder_b: str
) -> None:
    from embedlab.ingest.reembed import reembed

    texts = [paragraph(1, seed=i) for i in range(30)]
    old, new = load(spec), load(encoder_b)
    with Database(tmp_path / "db") as db:
        col = db.create_collection("docs", dim=old.dim, metric="cosine", model=old.name)
        col.add([f"t{i}" for i in range(30)], old.encode(texts), documents=texts)
        report = reembed(db, "docs", encoder_b, batch_size=8, executor="ray", workers=2)
        assert (report.executor, report.encoded, report.retired_as) == ("ray", 30, "docs@v1")
        got = db.get_collection("docs").get(include=["vectors", "documents"])
    assert got.documents is not None
    want = new.encode(list(got.documents))
    np.testing.assert_allclose(got.vectors, want, atol=1e-5)


@pytest.fixture(scope="module")
def encoder_b(tmp_path_factory: pytest.TempPathFactory) -> str:
    return static_spec(tmp_path_factory.mktemp("static_b"), seed=7)
