"""`embedlab serve`: the HTTP server (OpenAI-compatible embeddings, REST, a search page)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from embedlab.cli._common import command, fail
from embedlab.cli.app import app


@app.command("serve")
@command
def serve_command(
    db: Path = typer.Option(Path("embedlab.db"), "--db", help="The database folder to serve."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    model: list[str] = typer.Option(
        ["minilm"], "--model", help="Encoder spec to serve (repeat for several; NAME=SPEC)."
    ),
    backend: str = typer.Option("torch", "--backend", help="torch or onnx."),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable holding the API key."
    ),
    matryoshka: list[str] = typer.Option(
        [], "--matryoshka", help="A served model trained for Matryoshka truncation."
    ),
    batch_wait_ms: float = typer.Option(
        5.0, "--batch-wait-ms", help="How long to collect encode requests (0: no batching)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="The model's threads (default: the backend's, every core)."
    ),
    grace: int = typer.Option(
        30, "--grace", help="Seconds in-flight requests get to finish on SIGTERM."
    ),
    cors_origin: list[str] = typer.Option(
        [], "--cors-origin", help="Allow browser calls from this origin (off by default)."
    ),
) -> None:
    """Serve a database and models over HTTP until SIGTERM or Ctrl-C."""
    from embedlab.server.run import serve
    from embedlab.server.settings import ServerSettings

    key = None
    if api_key_env is not None:
        key = os.environ.get(api_key_env)
        if not key:
            raise fail(f"--api-key-env {api_key_env}: that environment variable is not set")
    models = {}
    for spec in model:
        name, _, rest = spec.partition("=")
        models[name if rest else spec] = rest or spec
    settings = ServerSettings(
        host=host,
        port=port,
        models=models,
        backend=backend,
        api_key=key,
        matryoshka=frozenset(matryoshka),
        batch_wait_ms=batch_wait_ms,
        cors_origins=tuple(cors_origin),
        threads=threads,
        grace=grace,
    )
    serve(db, settings)
