"""`embedlab index | embed`: turn documents into a searchable collection, texts into vectors."""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import typer
from rich.table import Table

from embedlab.cli._common import (
    EXIT_INTERRUPTED,
    JsonOption,
    command,
    console,
    emit_json,
    err_console,
    status_console,
)
from embedlab.cli.app import app
from embedlab.errors import InvalidParameterError, MissingDependencyError

if TYPE_CHECKING:
    from embedlab.encoders import Encoder
    from embedlab.encoders.image import ImageEncoding
    from embedlab.ingest import IngestReport

DbOption = typer.Option(Path("embedlab.db"), "--db", envvar="EMBEDLAB_DB", help="Its folder.")
ModelOption = typer.Option(
    "minilm", "--model", help="An encoder: minilm, static:PATH, openai:MODEL, a model folder."
)
RayAddressOption = typer.Option(
    None,
    "--address",
    envvar="RAY_ADDRESS",
    help="A Ray cluster to join (auto, HOST:6379, ray://HOST:10001); implies --ray.",
)
RayWorkersOption = typer.Option(
    None, "--workers", help="Ray actors holding the model (default: one per CPU); implies --ray."
)
PARQUET_PIP = "pip install 'embedlab[parquet]'"


class Backend(enum.StrEnum):
    """How a transformer model runs."""

    TORCH = "torch"
    ONNX = "onnx"


@app.command("index")
@command
def index(
    paths: list[Path] = typer.Argument(..., help="Files, folders or globs ('docs/**/*.md')."),
    collection: str = typer.Option(..., "--collection", "-c", help="The collection to fill."),
    model: str = ModelOption,
    chunk_tokens: int = typer.Option(128, "--chunk-tokens", help="Tokens per chunk, at most."),
    overlap: int = typer.Option(16, "--overlap", help="Tokens a chunk repeats from the last."),
    batch_size: int = typer.Option(64, "--batch-size", help="Chunks embedded at a time."),
    images: bool = typer.Option(
        False, "--images", help="Index image files (implied by an image-only --model)."
    ),
    db: Path = DbOption,
    ray: bool = typer.Option(False, "--ray", help="Read, chunk and embed on a Ray cluster."),
    address: str | None = RayAddressOption,
    workers: int | None = RayWorkersOption,
    json_output: bool = JsonOption,
) -> None:
    """Read .txt, .md, .html and .pdf files, chunk, embed and store them (incrementally).

    Unchanged files are skipped by content hash, changed ones re-chunked, and files gone
    from the given folders removed. Ctrl-C stops after the batch in progress. With an
    image encoder (--model efficientnet-lite0, or clip:PATH with --images), folders are
    walked for jpg, png, webp, … images instead: one row per image; unreadable, damaged
    or too large images are reported and skipped. With --ray
    the reading, chunking and embedding run on Ray workers (a local cluster, or the one at
    --address) and this process writes.
    """
    from embedlab.encoders import load
    from embedlab.encoders.image import is_image_encoder
    from embedlab.ingest import index_images, index_paths

    encoder = load(model)
    if images or (is_image_encoder(encoder) and not getattr(encoder, "reads_texts", True)):
        report = index_images(
            [str(p) for p in paths],
            db,
            collection,
            cast("ImageEncoding", encoder),
            batch_size=batch_size,
        )
    else:
        report = index_paths(
            [str(p) for p in paths],
            db,
            collection,
            encoder,
            chunk_tokens=chunk_tokens,
            overlap=overlap,
            batch_size=batch_size,
            progress=not json_output,
            executor="ray" if ray or address is not None or workers is not None else "local",
            ray_address=address,
            workers=workers,
        )
    if json_output:
        emit_json({"database": str(db), **report.to_dict()})
    else:
        _show_report(report, db)
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)


@app.command("embed")
@command
def embed(
    texts: list[str] | None = typer.Argument(None, help="Texts to embed (or use --input)."),
    model: str = typer.Option(..., "--model", help="An encoder: minilm, static:PATH, …"),
    input_file: Path | None = typer.Option(None, "--input", "-i", help="A text a line."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write .npy or .parquet."),
    backend: Backend | None = typer.Option(None, "--backend", help="torch or onnx."),
    batch_size: int = typer.Option(32, "--batch-size", help="Texts per model pass."),
    normalize: bool = typer.Option(False, "--normalize", help="Scale vectors to length 1."),
    prompt: str | None = typer.Option(None, "--prompt", help="Put before every text."),
    ray: bool = typer.Option(False, "--ray", help="--input is a .jsonl/.parquet dataset: Ray."),
    address: str | None = RayAddressOption,
    workers: int | None = RayWorkersOption,
    text_column: str = typer.Option("text", "--text-column", help="With --ray: the text."),
    id_column: str | None = typer.Option(None, "--id-column", help="With --ray: row ids."),
    collection: str | None = typer.Option(None, "--collection", "-c", help="With --ray."),
    db: Path = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Embed texts; print the vectors (a JSON array a line) or write them with -o.

    With --json, one document reports count, dim, seconds (encoding only) and
    texts_per_second, and holds the vectors when there is no -o. With --ray, --input is a
    .jsonl or .parquet file (or folder) read by Ray Data and encoded on Ray workers; -o
    names a folder for Parquet files, or --collection (and --db) a collection to fill.
    """
    if ray or address is not None or workers is not None:
        _embed_on_ray(
            input_file,
            model,
            output,
            collection,
            db,
            text_column,
            id_column,
            batch_size,
            normalize,
            workers,
            address,
            json_output,
        )
        return
    items = _texts(texts, input_file)
    if output is not None and output.suffix.lower() not in (".npy", ".parquet"):
        raise InvalidParameterError(f"-o must end in .npy or .parquet; got {str(output)!r}")
    if output is not None:
        from embedlab.io import check_output_path

        check_output_path(output, folder=False)  # before encoding, not after
    encoder = _load(model, backend)
    began = time.perf_counter()
    vectors = encoder.encode(items, batch_size=batch_size, normalize=normalize, prompt=prompt)
    seconds = time.perf_counter() - began
    if output is not None:
        _save(output, items, vectors)
    facts: dict[str, Any] = {
        "model": encoder.name,
        "dim": encoder.dim,
        "count": len(items),
        "seconds": seconds,
        "texts_per_second": len(items) / seconds if seconds > 0 else 0.0,
        "output": None if output is None else str(output),
    }
    if json_output:
        emit_json(facts if output is not None else {**facts, "vectors": vectors})
        return
    summary = (
        f"embedded {len(items):,} texts with [bold]{encoder.name}[/] ({encoder.dim} dims) in "
        f"{seconds:.2f} s ({facts['texts_per_second']:,.1f} texts/s)"
    )
    if output is not None:
        console.print(f"{summary} -> {output}", highlight=False)
        return
    for row in vectors:
        print("[" + ", ".join(f"{x:.6g}" for x in row.tolist()) + "]")
    err_console.print(summary, highlight=False)


# -- helpers --------------------------------------------------------------------------------
def _embed_on_ray(
    source: Path | None,
    model: str,
    output: Path | None,
    collection: str | None,
    db: Path,
    text_column: str,
    id_column: str | None,
    batch_size: int,
    normalize: bool,
    workers: int | None,
    address: str | None,
    json_output: bool,
) -> None:
    """`embed --ray`: a dataset through Ray Data into Parquet files or a collection."""
    from embedlab.ingest.ray_data import embed_dataset

    if source is None:
        raise InvalidParameterError("--ray embeds a dataset: give --input FILE.jsonl|.parquet")
    report = embed_dataset(
        source,
        model,
        output=output,
        db=db if collection is not None else None,
        collection=collection,
        text_column=text_column,
        id_column=id_column,
        batch_size=batch_size,
        normalize=normalize,
        workers=workers,
        address=address,
    )
    if json_output:
        emit_json(report.to_dict())
        return
    console.print(
        f"embedded {report.rows:,} rows with [bold]{report.model}[/] on Ray in "
        f"{report.seconds:.1f} s ({report.rows_per_second:,.1f} rows/s) -> {report.output}",
        highlight=False,
    )


def _show_report(report: IngestReport, db: Path) -> None:
    """A short table of what the run did, then the files that failed and why."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = (
        ("files seen", report.files_seen),
        ("indexed", report.files_indexed),
        ("unchanged", report.files_unchanged),
        ("removed", report.files_removed),
        ("failed", report.files_failed),
        ("chunks added", report.chunks_added),
        ("chunks removed", report.chunks_removed),
    )
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    table.add_row("seconds", f"{report.seconds:.2f} ({report.encode_share:.0%} encoding)")
    console.print(
        f"[green]indexed[/] into [bold]{report.collection}[/] ({report.model}) in {db}",
        highlight=False,
    )
    console.print(table)
    if report.failed:
        console.print(f"[yellow]failed files[/] ({len(report.failed):,}), not indexed:")
    for failure in report.failed:  # one line each, however long, so it can be grepped
        reason = failure.reason.removesuffix("; skipped")
        console.print(f"  {failure.path}: {reason}", highlight=False, soft_wrap=True)
    if report.interrupted:
        status_console.print("interrupted: run the same command again to finish", highlight=False)


def _texts(texts: list[str] | None, input_file: Path | None) -> list[str]:
    """The texts from the arguments, or one per line of --input (not both)."""
    if bool(texts) == (input_file is not None):
        raise InvalidParameterError("give texts as arguments or --input FILE (one of them)")
    if input_file is None:
        return list(texts or [])
    try:
        lines = input_file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InvalidParameterError(
            f"--input {str(input_file)!r} is not UTF-8 text (byte offset {exc.start})"
        ) from None
    if not lines:
        raise InvalidParameterError(f"--input {str(input_file)!r} holds no lines")
    return lines


def _load(spec: str, backend: Backend | None) -> Encoder:
    """Load an encoder, passing --backend only when given (onnx: transformer models only)."""
    from embedlab.encoders import load

    if backend is None:
        return load(spec)
    return load(spec, backend=backend.value)


def _save(path: Path, texts: list[str], vectors: np.ndarray) -> None:
    """Vectors as a float32 .npy matrix, or Parquet rows (document, vector) that
    `embedlab db add --parquet` reads back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".npy":
        np.save(path, np.asarray(vectors, dtype=np.float32))
        return
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError(f"writing Parquet needs pyarrow: {PARQUET_PIP}") from None
    rows = np.asarray(vectors, dtype=np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(rows.reshape(-1)), rows.shape[1])
    pq.write_table(pa.table({"document": texts, "vector": column}), path)
