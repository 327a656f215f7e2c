"""`embedlab finetune` (a sentence encoder on query/positive pairs) and `embedlab distill`
(a static encoder from a transformer): thin adapters over embedlab.train.finetune and
embedlab.encoders.distilled."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from embedlab.cli._common import (
    EXIT_INTERRUPTED,
    JsonOption,
    command,
    console,
    emit_json,
    err_console,
)
from embedlab.cli.app import app


@app.command("finetune")
@command
def finetune(
    pairs: Path = typer.Option(
        ..., "--pairs", help='JSONL: {"query": ..., "positive": ...[, "negative": ...]} a line.'
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Folder to write the model to."),
    model: str = typer.Option("minilm", "--model", help="A registered name or a model folder."),
    eval_pairs: Path | None = typer.Option(
        None, "--eval-pairs", help="Held-out pairs (default: --eval-fraction of --pairs)."
    ),
    eval_fraction: float = typer.Option(0.1, "--eval-fraction", help="Share held out."),
    epochs: float = typer.Option(1.0, "--epochs", help="Passes over the training pairs."),
    batch_size: int = typer.Option(32, "--batch-size", help="Pairs per step (in-batch negatives)."),
    learning_rate: float = typer.Option(2e-5, "--lr", help="Peak learning rate (AdamW)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (split, order, dropout)."),
    json_output: bool = JsonOption,
) -> None:
    """Fine-tune a sentence encoder on query/positive pairs (multiple-negatives ranking loss).

    The held-out MRR@10 is measured before and after. Ctrl-C stops after the current step
    and writes nothing.
    """
    from embedlab.train.finetune import FinetuneProgress
    from embedlab.train.finetune import finetune as run

    shown = not json_output and err_console.is_terminal
    bar = Progress(
        TextColumn("[bold]fine-tuning"),
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        TextColumn("{task.fields[loss]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not shown,
        transient=True,
    )
    task = bar.add_task("steps", total=None, loss="")

    def draw(event: FinetuneProgress) -> None:
        loss = "" if event.loss is None else f"loss {event.loss:.4f}"
        bar.update(task, completed=event.step, total=event.steps, loss=loss)

    with _first_interrupt_stops() as stop, bar:
        report = run(
            model,
            pairs,
            output,
            eval_pairs=eval_pairs,
            eval_fraction=eval_fraction,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            progress=draw,
            should_stop=stop.is_set,
        )
    if report.stopped:
        err_console.print(
            f"interrupted after {report.steps_done} of {report.steps} steps; nothing was written",
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if json_output:
        emit_json(report.to_dict())
        return
    console.print(
        f"[green]saved[/] the fine-tuned {report.base_model} to [bold]{report.output}[/] · "
        f"{report.train_pairs:,} training pairs, {report.steps} steps in {report.seconds:.0f} s "
        f"({report.cpu_seconds / 60:.1f} CPU minutes) · held-out MRR@10 "
        f"{report.mrr_before:.3f} -> {report.mrr_after or 0.0:.3f} ({report.eval_pairs} pairs)"
    )


@app.command("distill")
@command
def distill(
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Folder to write (default: the cache static: reads)."
    ),
    model: str = typer.Option("minilm", "--model", help="A registered name or a model folder."),
    pca_dims: int = typer.Option(256, "--pca-dims", help="Dimensions kept by PCA."),
    json_output: bool = JsonOption,
) -> None:
    """Distil a transformer into a static encoder (model2vec's recipe).

    Without -o, builds the cache of `static:minilm-distilled` ahead of its first use.
    """
    from embedlab.encoders import distilled

    shown = not json_output and err_console.is_terminal
    bar = Progress(
        TextColumn("[bold]distilling"),
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not shown,
        transient=True,
    )
    task = bar.add_task("tokens", total=None)

    def draw(event: distilled.DistillProgress) -> None:
        bar.update(task, completed=event.tokens_done, total=event.tokens_total)

    with bar:
        if output is None:
            if model != "minilm" or pca_dims != 256:
                raise typer.BadParameter("without -o only the default minilm recipe is cached")
            encoder = distilled.load_named("minilm-distilled", progress=draw)
            where = "the cache"
        else:
            encoder = distilled.distill(model, pca_dims=pca_dims, progress=draw)
            encoder.save(output)
            where = str(output)
    seconds = float(encoder.config.get("seconds") or 0.0)
    if json_output:
        emit_json({"name": encoder.name, "tokens": len(encoder.tokens), "dim": encoder.dim,
                   "seconds": seconds, "output": where})  # fmt: skip
        return
    console.print(
        f"[green]ready[/] {encoder.name}: {len(encoder.tokens):,} tokens x {encoder.dim} dims "
        f"in {where} (distilled in {seconds:.0f} s)"
    )


@contextmanager
def _first_interrupt_stops() -> Iterator[threading.Event]:
    """An event the first Ctrl-C sets (the second interrupts as usual); main thread only."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
