"""`embedlab cluster | duplicates | outliers`: analyses over a model or a collection.

SOURCE is a model (a folder or a vectors file) when that path exists, else the name of a
collection in the database given by --db.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from embedlab.cli._common import JsonOption, command, console, emit_json
from embedlab.cli.app import app

SourceArgument = typer.Argument(
    ..., help="A model folder or vectors file, or the name of a collection in --db."
)
DbOption = typer.Option(
    Path("embedlab.db"), "--db", envvar="EMBEDLAB_DB", help="The database folder (collections)."
)


@contextmanager
def open_source(source: str, db: Path) -> Iterator[Any]:
    """The analysis Source for a model path or a collection name (open while in use)."""
    from embedlab.analysis import as_source
    from embedlab.errors import MissingFileError

    if Path(source).exists():
        from embedlab.io import load_vectors

        yield as_source(load_vectors(source))
        return
    if not (db / "embedlab.sqlite").is_file():
        raise MissingFileError(f"{source!r} is neither a model path nor a collection in {db}")
    from embedlab.store import Database

    with Database(db) as database:
        yield as_source(database.get_collection(source))


@app.command()
@command
def cluster(
    source: str = SourceArgument,
    k: int | None = typer.Option(None, "--k", "-k", help="k-means with this many clusters."),
    min_cluster_size: int | None = typer.Option(
        None, "--min-cluster-size", help="HDBSCAN with this smallest cluster size instead."
    ),
    umap: int | None = typer.Option(None, "--umap", help="Reduce to this many dims first."),
    write_metadata: str | None = typer.Option(
        None, "--write-metadata", help="Store each row's cluster id under this metadata key."
    ),
    seed: int = typer.Option(0, "--seed"),
    db: Path = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Cluster the vectors; name each cluster by its terms and most central members."""
    from embedlab.analysis import cluster as run
    from embedlab.analysis import write_labels
    from embedlab.errors import InvalidParameterError

    if k is not None and min_cluster_size is not None:
        raise InvalidParameterError("give --k (k-means) or --min-cluster-size (HDBSCAN), not both")
    with open_source(source, db) as src:
        if min_cluster_size is not None:
            result = run(src, method="hdbscan", min_cluster_size=min_cluster_size,
                         reduce_to=umap, seed=seed)  # fmt: skip
        else:
            result = run(src, method="kmeans", k=k, reduce_to=umap, seed=seed)
        if write_metadata is not None:
            write_labels(src, result.labels, write_metadata)
    if json_output:
        emit_json(result.to_dict() | {"written": write_metadata})
        return
    table = Table(title=f"{len(result.clusters)} clusters, {result.noise} noise rows",
                  title_justify="left")  # fmt: skip
    for name in ("cluster", "size", "terms", "central members"):
        table.add_column(name)
    for c in result.clusters:
        table.add_row(str(c.label), str(c.size), ", ".join(t for t, _ in c.terms),
                      ", ".join(c.central))  # fmt: skip
    console.print(table)
    if write_metadata is not None:
        console.print(f"wrote the cluster id to metadata key {write_metadata!r}")


@app.command()
@command
def duplicates(
    source: str = SourceArgument,
    threshold: float = typer.Option(0.95, "--threshold", help="Cosine similarity at least."),
    top: int | None = typer.Option(None, "--top", help="The N most similar pairs instead."),
    show: int = typer.Option(20, "--show", help="Pairs and groups to print."),
    exact: bool = typer.Option(
        False, "--exact", help="Scan every pair, even from 20,000 rows (an inverted file there)."
    ),
    db: Path = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Near-duplicate pairs (cosine), and the groups they join into."""
    from embedlab.analysis import find_duplicates

    with open_source(source, db) as src:
        result = find_duplicates(src, threshold=threshold, top=top, exact=True if exact else None)
    if json_output:
        emit_json(result.to_dict())
        return
    table = Table(title=f"{len(result)} pairs, {len(result.groups)} groups", title_justify="left")
    for name in ("a", "b", "similarity"):
        table.add_column(name)
    for p in result.pairs()[:show]:
        table.add_row(p.a, p.b, f"{p.similarity:.4f}")
    console.print(table)
    for group in result.groups[:show]:
        console.print(f"group of {len(group)}: " + ", ".join(group[:10]), highlight=False)


@app.command()
@command
def outliers(
    source: str = SourceArgument,
    method: str = typer.Option("lof", "--method", help="lof or knn (k-th neighbour distance)."),
    k: int = typer.Option(20, "--k", "-k", help="Neighbours per row."),
    show: int = typer.Option(20, "--show", help="Rows to print."),
    db: Path = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Rows ranked by how unusual they are among their neighbours."""
    from embedlab.analysis import find_outliers

    with open_source(source, db) as src:
        result = find_outliers(src, method=method, k=k)
    if json_output:
        emit_json(result.to_dict(show))
        return
    table = Table(title=f"most unusual rows ({result.method.value}, k={result.k})",
                  title_justify="left")  # fmt: skip
    table.add_column("id")
    table.add_column("score", justify="right")
    for key, score in result.top(show):
        table.add_row(key, f"{score:.4f}")
    console.print(table)


classify_app = typer.Typer(
    help="Train classifiers on embeddings; predict new texts.", no_args_is_help=True
)
app.add_typer(classify_app, name="classify")


@classify_app.command("train")
@command
def classify_train(
    source: str = SourceArgument,
    label_key: str = typer.Option(..., "--label-key", help="The metadata key holding labels."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to save the classifier."),
    kind: str = typer.Option("logistic", "--kind", help="logistic or knn."),
    k: int = typer.Option(10, "--k", "-k", help="Neighbours (knn)."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds (0: none)."),
    encoder: str | None = typer.Option(
        None, "--encoder", help="The encoder `predict` uses for texts (default: the model's)."
    ),
    db: Path = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Cross-validate, then fit on every row and save (JSON + .npy, no pickle)."""
    from embedlab.analysis import cross_validate, fit_classifier

    with open_source(source, db) as src:
        labels = src.labels(label_key)
        cv = cross_validate(src, labels, kind=kind, folds=folds, k=k) if folds else None
        name = encoder or (src.collection.model if src.collection is not None else None)
        clf = fit_classifier(src, labels, kind=kind, k=k, encoder=name)
    clf.save(output)
    report = {"saved": str(output), "classes": list(clf.classes), "encoder": name,
              "cross_validation": None if cv is None else cv.to_dict()}  # fmt: skip
    if json_output:
        emit_json(report)
        return
    if cv is not None:
        console.print(f"{cv.kind.value}: {folds}-fold accuracy {cv.accuracy:.4f}, "
                      f"macro-F1 {cv.macro_f1:.4f}")  # fmt: skip
    console.print(f"saved a {len(clf.classes)}-class classifier to {output}")


@classify_app.command("predict")
@command
def classify_predict(
    classifier: Path = typer.Argument(..., help="A folder written by `classify train`."),
    texts: list[str] = typer.Argument(..., help="Texts to classify."),
    encoder: str | None = typer.Option(None, "--encoder", help="Override the saved encoder."),
    json_output: bool = JsonOption,
) -> None:
    """Predict the class of each text, encoding it with the classifier's encoder."""
    from embedlab.analysis import Classifier
    from embedlab.encoders import load

    clf = Classifier.load(classifier)
    predicted = clf.predict_texts(texts, load(encoder) if encoder else None)
    if json_output:
        rows = zip(texts, predicted, strict=True)
        emit_json({"predictions": [{"text": t, "label": p} for t, p in rows]})
        return
    for text, label in zip(texts, predicted, strict=True):
        console.print(f"{label}\t{text}", highlight=False)


recommend_app = typer.Typer(
    help="item2vec recommendations from baskets (one basket a line, items split by spaces).",
    no_args_is_help=True,
)
app.add_typer(recommend_app, name="recommend")
BasketsArgument = typer.Argument(..., help="A text file: one basket a line, items by spaces.")


def _read_baskets(path: Path) -> list[list[str]]:
    from embedlab.errors import MissingFileError

    if not path.is_file():
        raise MissingFileError(f"no baskets file at {path}")
    with path.open(encoding="utf-8") as handle:
        return [line.split() for line in handle if line.strip()]


@recommend_app.command("train")
@command
def recommend_train(
    baskets: Path = BasketsArgument,
    output: Path = typer.Option(..., "--output", "-o", help="The model folder to write."),
    dim: int = typer.Option(64, "--dim"),
    epochs: int = typer.Option(20, "--epochs"),
    ns_exponent: float = typer.Option(0.75, "--ns-exponent", help="Negative sampling power."),
    seed: int = typer.Option(1, "--seed"),
    json_output: bool = JsonOption,
) -> None:
    """Train item vectors (skip-gram over baskets) and save them as a model folder (the
    output vectors too, which `recommend for` scores with)."""
    from embedlab.analysis import item2vec_model

    model = item2vec_model(_read_baskets(baskets), dim=dim, epochs=epochs,
                           ns_exponent=ns_exponent, seed=seed)  # fmt: skip
    model.save(output)
    wv = model.vectors
    if json_output:
        emit_json({"saved": str(output), "items": len(wv), "dim": wv.dim})
        return
    console.print(f"saved {len(wv)} item vectors ({wv.dim}-d) to {output}")


@recommend_app.command("for")
@command
def recommend_for(
    model: str = typer.Argument(..., help="Item vectors (a model folder or vectors file)."),
    items: list[str] = typer.Argument(..., help="The items the user has."),
    k: int = typer.Option(10, "--k", "-k"),
    json_output: bool = JsonOption,
) -> None:
    """Recommend k items for a user who has ITEMS (those excluded): skip-gram's score
    (output vectors + log count) for a `recommend train` folder, else cosine."""
    from embedlab.analysis import ItemModel, recommend
    from embedlab.analysis.recommend import CONTEXT_FILE
    from embedlab.io import load_vectors

    if (Path(model) / CONTEXT_FILE).is_file():
        recs = recommend(ItemModel.load(model), items, k=k)
    else:
        recs = recommend(load_vectors(model), items, k=k)
    if json_output:
        emit_json({"items": items, "recommendations": [r._asdict() for r in recs]})
        return
    for r in recs:
        console.print(f"{r.score:.4f}\t{r.key}", highlight=False)


@recommend_app.command("evaluate")
@command
def recommend_evaluate(
    baskets: Path = BasketsArgument,
    k: int = typer.Option(10, "--k", "-k"),
    dim: int = typer.Option(64, "--dim"),
    epochs: int = typer.Option(20, "--epochs"),
    ns_exponent: float = typer.Option(0.75, "--ns-exponent"),
    seed: int = typer.Option(0, "--seed"),
    json_output: bool = JsonOption,
) -> None:
    """Hold out one item per basket: hit-rate@k and nDCG@k, item2vec (skip-gram's score,
    and the cosine) vs popularity."""
    from embedlab.analysis import (
        context_ranker,
        evaluate,
        holdout_split,
        item2vec_model,
        popularity_ranker,
        vector_ranker,
    )

    split = holdout_split(_read_baskets(baskets), seed=seed)
    model = item2vec_model(split.train, dim=dim, epochs=epochs, ns_exponent=ns_exponent,
                           seed=seed + 1)  # fmt: skip
    report = {
        "item2vec": evaluate(context_ranker(model), split, k).to_dict(),
        "item2vec_cosine": evaluate(vector_ranker(model.vectors), split, k).to_dict(),
        "popularity": evaluate(popularity_ranker(split.train), split, k).to_dict(),
    }
    if json_output:
        emit_json(report)
        return
    for name, r in report.items():
        console.print(f"{name}: hit-rate@{k} {r['hit_rate']:.4f}  nDCG@{k} {r['ndcg']:.4f}  "
                      f"({r['users']} users)")  # fmt: skip


@app.command()
@command
def align(
    source: str = typer.Argument(..., help="The vectors to rotate (model folder or file)."),
    target: str = typer.Argument(..., help="The space to rotate them into."),
    pairs: Path | None = typer.Option(
        None, "--pairs", help="Seed pairs, 'source target' a line (default: shared keys)."
    ),
    test: Path | None = typer.Option(None, "--test", help="Test pairs: report precision@1."),
    iterations: int = typer.Option(0, "--iterations", help="Refinement rounds."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the rotated vectors."),
    json_output: bool = JsonOption,
) -> None:
    """Rotate SOURCE onto TARGET (orthogonal Procrustes) and save the rotated vectors."""
    from embedlab.analysis import align as run
    from embedlab.io import load_vectors

    result = run(load_vectors(source), load_vectors(target),
                 None if pairs is None else _read_pairs(pairs), iterations=iterations)  # fmt: skip
    result.mapped().save(output)
    report: dict[str, Any] = {"saved": str(output), "pairs_used": len(result.pairs)}
    if test is not None:
        report["precision_at_1"] = result.precision_at_1(_read_pairs(test))
    if json_output:
        emit_json(report)
        return
    for key, value in report.items():
        console.print(f"{key}: {value}", highlight=False)


def _read_pairs(path: Path) -> list[tuple[str, str]]:
    from embedlab.errors import FormatError, MissingFileError

    if not path.is_file():
        raise MissingFileError(f"no pairs file at {path}")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise FormatError(f"expected 'source target', got {line!r}", path=str(path),
                              line=number)  # fmt: skip
        out.append((fields[0], fields[1]))
    return out
