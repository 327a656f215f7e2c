"""`embedlab plot | plot-analogy`: pictures of embeddings (PNG or the offline HTML page)."""

from __future__ import annotations

from pathlib import Path

import typer

from embedlab.cli._common import JsonOption, command, console, emit_json
from embedlab.cli.app import app
from embedlab.errors import InvalidParameterError


@app.command()
@command
def plot(
    source: str = typer.Argument(
        ..., help="A model folder or vectors file; or a database folder with --collection."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="The picture: out.png or out.html."),
    words: str | None = typer.Option(None, "--words", help="Comma-separated words to show."),
    collection: str | None = typer.Option(None, "--collection", help="A collection to show."),
    limit: int | None = typer.Option(
        None,
        "--limit",
        help="At most this many points (sampled with --seed; a model: its most "
        "frequent words). Default: 500 words of a model; a collection: up to the page's cap.",
    ),
    method: str = typer.Option("pca", "--method", help="pca, tsne or umap."),
    color_by: str | None = typer.Option(
        None, "--color-by", help="A metadata field to colour points by (collections)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for sampling and the projection."),
    clusters: int | None = typer.Option(
        None,
        "--clusters",
        help="Group the points into K clusters in the original space (k-means), write each "
        "cluster's name (its most distinctive terms) on the picture, colour by cluster.",
    ),
    json_output: bool = JsonOption,
) -> None:
    """Project vectors to 2-D and draw them: a labelled PNG, or one offline HTML page with
    zoom, hover, search and nearest neighbours in the original space."""
    from embedlab.viz import (
        MAX_PAGE_POINTS,
        MAX_PNG_POINTS,
        plot_points,
        points_from_collection,
        points_from_vectors,
    )

    if words is not None and collection is not None:
        raise InvalidParameterError("give --words or --collection, not both")
    if collection is not None:
        from embedlab.store import Database

        if limit is None:  # read no more rows than the picture can show
            limit = MAX_PAGE_POINTS if output.suffix.lower() == ".html" else MAX_PNG_POINTS
        with Database(source) as db:
            points = points_from_collection(db.get_collection(collection), limit=limit, seed=seed)
    else:
        from embedlab.io import load_vectors

        model = load_vectors(source)
        chosen = None if words is None else [w.strip() for w in words.split(",") if w.strip()]
        points = points_from_vectors(model, chosen, limit=500 if limit is None else limit)
    result = plot_points(
        points, output, method=method, color_by_field=color_by, seed=seed, clusters=clusters
    )
    if json_output:
        emit_json(
            {
                "output": str(result.path),
                "points": result.points,
                "method": result.method,
                "notes": list(result.notes),
            }
        )
        return
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"wrote {result.path} ({result.points:,} points, {result.method})")


@app.command("plot-analogy")
@command
def plot_analogy_command(
    model: str = typer.Argument(..., help="A model folder or vectors file."),
    a: str = typer.Argument(..., help="A in A:B :: C:D (man)"),
    b: str = typer.Argument(..., help="B (king)"),
    c: str = typer.Argument(..., help="C (woman)"),
    d: str | None = typer.Argument(None, help="D (queen); default: the model's answer"),
    output: Path = typer.Option(..., "-o", "--output", help="The PNG to write."),
    neighbours: int = typer.Option(4, "--neighbours", help="Neighbours shown per word."),
    json_output: bool = JsonOption,
) -> None:
    """Draw the analogy's parallelogram in the PCA plane of its words and their neighbours."""
    from embedlab.io import load_vectors
    from embedlab.viz import plot_analogy

    if output.suffix.lower() != ".png":
        raise InvalidParameterError(f"output {str(output)!r}: expected a file name ending in .png")
    drawn = plot_analogy(load_vectors(model), a, b, c, d, path=output, neighbours=neighbours)
    if json_output:
        emit_json(
            {
                "output": str(drawn.path),
                "words": list(drawn.words),
                "neighbours": list(drawn.neighbours),
                "cosine_d_target": drawn.cosine_d_target,
            }
        )
        return
    w = drawn.words
    console.print(
        f"{w[0]} : {w[1]} :: {w[2]} : {w[3]}; cos({w[3]}, {w[1]} - {w[0]} + {w[2]}) = "
        f"{drawn.cosine_d_target:.3f}",
        highlight=False,
    )
    console.print(f"wrote {drawn.path}")
