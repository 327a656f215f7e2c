"""`embedlab train …`: train static word vectors on a corpus."""

from __future__ import annotations

from pathlib import Path

import typer

from embedlab.cli._common import JsonOption, command, console, emit_json
from embedlab.cli.app import app

train_app = typer.Typer(help="Train word vectors on your own corpus.", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("word2vec")
@command
def word2vec(
    corpus: str = typer.Argument(..., help="A text file (.gz too), a directory or a glob."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder to write the model to."),
    dim: int = typer.Option(100, "--dim", help="Vector dimensions."),
    window: int = typer.Option(5, "--window", help="Largest distance to a context word."),
    min_count: int = typer.Option(5, "--min-count", help="Ignore words seen fewer times."),
    negative: int = typer.Option(5, "--negative", help="Negative samples per target."),
    sample: float = typer.Option(1e-3, "--sample", help="Subsampling threshold (0: off)."),
    epochs: int = typer.Option(5, "--epochs", help="Passes over the corpus."),
    sg: bool = typer.Option(False, "--sg/--cbow", help="Skip-gram or CBOW (the default)."),
    alpha: float = typer.Option(0.025, "--alpha", help="Initial learning rate."),
    threads: int = typer.Option(0, "--threads", help="Worker threads (0: every core)."),
    seed: int = typer.Option(1, "--seed", help="Random seed."),
    json_output: bool = JsonOption,
) -> None:
    """Train Word2Vec (skip-gram or CBOW, negative sampling) and save it as a model folder."""
    from embedlab.io import save_folder
    from embedlab.train import Word2Vec

    model = Word2Vec(
        dim=dim,
        window=window,
        min_count=min_count,
        negative=negative,
        sample=sample,
        epochs=epochs,
        sg=sg,
        alpha=alpha,
        threads=threads,
        seed=seed,
    )
    wv = model.train(corpus, progress=not json_output)
    save_folder(wv, output)
    stats = model.stats
    if stats is None:  # train() always sets it; keeps the type checker honest
        raise RuntimeError("training finished without statistics")
    if json_output:
        emit_json(
            {"model": str(output), "architecture": "skipgram" if sg else "cbow", **stats.to_dict()}
        )
        return
    console.print(
        f"[green]saved[/] {stats.vocab_size:,} words x {dim} dims to [bold]{output}[/] · "
        f"{stats.corpus_words:,} corpus words x {stats.epochs} epochs in {stats.seconds:.1f} s "
        f"({stats.words_per_second:,.0f} words/s) · final loss {stats.losses[-1]:.4f}"
    )
