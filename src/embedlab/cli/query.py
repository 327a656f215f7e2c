"""`embedlab similar | analogy | evaluate | convert`: use trained vectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer
from rich.table import Table

from embedlab.cli._common import JsonOption, command, console, emit_json
from embedlab.cli.app import app
from embedlab.vectors import Neighbor

ModelArgument = typer.Argument(
    ..., help="A model folder, or a word2vec/GloVe/fastText .vec file (text or binary)."
)


def _show_ranked(
    title: str, rows: Sequence[Neighbor], *, json_output: bool, json_key: str, **question: str
) -> None:
    """Print ranked words as a table, or as one JSON document with the question."""
    if json_output:
        emit_json({**question, json_key: [n._asdict() for n in rows]})
        return
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("word")
    table.add_column("score", justify="right")
    for rank, (key, score) in enumerate(rows, start=1):
        table.add_row(str(rank), key, f"{score:.4f}")
    console.print(table)


@app.command()
@command
def similar(
    model: str = ModelArgument,
    word: str = typer.Argument(..., help="The word to find neighbours of."),
    k: int = typer.Option(10, "-k", "--k", help="How many neighbours."),
    json_output: bool = JsonOption,
) -> None:
    """Nearest neighbours of a word by cosine similarity."""
    from embedlab.io import load_vectors

    neighbours = load_vectors(model).most_similar(word, k=k)
    _show_ranked(
        f"nearest to {word!r}",
        neighbours,
        json_output=json_output,
        json_key="neighbours",
        word=word,
    )


@app.command()
@command
def analogy(
    model: str = ModelArgument,
    a: str = typer.Argument(..., help="A in A:B :: C:?"),
    b: str = typer.Argument(..., help="B in A:B :: C:?"),
    c: str = typer.Argument(..., help="C in A:B :: C:?"),
    k: int = typer.Option(5, "-k", "--k", help="How many answers."),
    method: str = typer.Option("add", "--method", help="add (3CosAdd) or mul (3CosMul)."),
    json_output: bool = JsonOption,
) -> None:
    """Solve A:B :: C:? (for example man king woman → queen)."""
    from embedlab.io import load_vectors

    answers = load_vectors(model).analogy(a, b, c, k=k, method=method)
    _show_ranked(
        f"{a} : {b} :: {c} : ?", answers, json_output=json_output, json_key="answers", a=a, b=b, c=c
    )


@app.command()
@command
def evaluate(
    model: str = ModelArgument,
    analogies: Path | None = typer.Option(
        None, "--analogies", help="Analogy questions (default: the Google set)."
    ),
    pairs: Path | None = typer.Option(
        None, "--pairs", help="Word pairs with human scores (default: WordSim-353)."
    ),
    restrict_vocab: int = typer.Option(
        30000, "--restrict-vocab", help="Answer analogies among this many most frequent words."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Analogy accuracy and word-pair correlation against human scores."""
    from embedlab.eval import evaluate_analogies, evaluate_word_pairs
    from embedlab.io import load_vectors

    wv = load_vectors(model)
    result_a = evaluate_analogies(wv, analogies, restrict_vocab=restrict_vocab)
    result_p = evaluate_word_pairs(wv, pairs)
    if json_output:
        emit_json({"analogies": result_a.to_dict(), "word_pairs": result_p.to_dict()})
        return
    table = Table(title="analogies (3CosAdd)", title_justify="left")
    for column in ("section", "correct", "answered", "skipped", "accuracy"):
        table.add_column(column, justify="left" if column == "section" else "right")
    for s in result_a.sections:
        table.add_row(s.name, str(s.correct), str(s.answered), str(s.skipped), f"{s.accuracy:.3f}")
    table.add_row(
        "[bold]total",
        str(result_a.correct),
        str(result_a.answered),
        str(result_a.skipped),
        f"[bold]{result_a.accuracy:.3f}",
    )
    console.print(table)
    console.print(
        f"word pairs: Spearman [bold]{result_p.spearman:.3f}[/], Pearson {result_p.pearson:.3f} "
        f"over {result_p.pairs} pairs ({result_p.oov_ratio:.1%} out of vocabulary)"
    )


@app.command()
@command
def convert(
    source: str = typer.Argument(..., help="Vectors to read (any supported format)."),
    target: Path = typer.Argument(..., help="Where to write."),
    to: str = typer.Option(..., "--to", help="embedlab | word2vec | word2vec-bin | glove"),
    json_output: bool = JsonOption,
) -> None:
    """Convert vectors between the embedlab folder, word2vec (text/binary) and GloVe formats."""
    from embedlab.io import VectorFormat, check_save_path, load_vectors, save_vectors

    fmt = VectorFormat.parse(to, name="to")
    check_save_path(target, fmt)
    wv = load_vectors(source)
    save_vectors(wv, target, format=fmt)
    if json_output:
        emit_json(
            {
                "source": source,
                "target": str(target),
                "format": fmt.value,
                "count": len(wv),
                "dim": wv.dim,
            }
        )
        return
    console.print(f"[green]wrote[/] {len(wv):,} vectors x {wv.dim} dims to {target} ({fmt.value})")
