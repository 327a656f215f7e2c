"""`embedlab eval retrieval | ann`: retrieval metrics of runs, and ANN recall sweeps.

(`embedlab evaluate MODEL`, the word-vector evaluation, lives in cli/query.py.)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer
from rich.table import Table

from embedlab.cli._common import JsonOption, command, console, emit_json, fail
from embedlab.cli.app import app

eval_app = typer.Typer(
    help="Evaluate retrieval runs against qrels, and ANN indexes against exact search.",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")


@eval_app.command("retrieval")
@command
def retrieval(
    qrels: Path = typer.Option(..., "--qrels", help="Relevance judgements (TREC qrels or JSONL)."),
    run: list[Path] = typer.Option(
        ..., "--run", help="A run (TREC or JSONL); give two to compare them."
    ),
    measure: list[str] = typer.Option(
        None, "--measure", help="P@k, recall@k, MRR, MAP, nDCG@k, nDCG_exp@k (repeatable)."
    ),
    test: str = typer.Option(
        "randomization", "--test", help="Paired test for two runs: randomization | bootstrap."
    ),
    samples: int = typer.Option(10_000, "--samples", help="Samples of the paired test."),
    seed: int = typer.Option(0, "--seed", help="Seed of the paired test."),
    json_output: bool = JsonOption,
) -> None:
    """Score runs with trec_eval's conventions; with two runs, test their difference."""
    from embedlab.eval import DEFAULT_MEASURES, compare_runs, evaluate_run, read_qrels, read_run

    if len(run) > 2:
        raise fail(f"give one run, or two to compare; got {len(run)}")
    judgements = read_qrels(qrels)
    runs = [read_run(p) for p in run]
    measures = list(measure) if measure else list(DEFAULT_MEASURES)
    results = [evaluate_run(judgements, r, measures) for r in runs]
    tests = []
    if len(runs) == 2:
        tests = compare_runs(
            judgements, runs[0], runs[1], measures, method=test, samples=samples, seed=seed
        )
    if json_output:
        doc = {"runs": [{"run": str(p), **r.to_dict()} for p, r in zip(run, results, strict=True)]}
        if tests:
            doc["comparison"] = [
                {**dataclasses.asdict(t), "explanation": t.describe()} for t in tests
            ]
        emit_json(doc)
        return
    for path, result in zip(run, results, strict=True):
        console.print(f"[bold]{path}[/]", highlight=False)
        console.print(result.describe(), highlight=False)
    if tests:
        table = Table(title=f"A = {run[0].name}, B = {run[1].name}", title_justify="left")
        for column in ("measure", "A", "B", "A - B", "p", "test"):
            table.add_column(column, justify="left" if column in ("measure", "test") else "right")
        for t in tests:
            table.add_row(
                t.measure,
                f"{t.mean_a:.4f}",
                f"{t.mean_b:.4f}",
                f"{t.difference:+.4f}",
                f"{t.p_value:.4g}",
                t.method,
            )
        console.print(table)
        console.print(
            "p: two-sided paired p-value over the judged queries; small p (say < 0.05) means "
            "a difference this large would be unlikely if the runs were equally good.",
            highlight=False,
        )


@eval_app.command("ann")
@command
def ann(
    collection: str = typer.Argument(..., help="The collection's name."),
    db: Path = typer.Option(
        Path("embedlab.db"), "--db", envvar="EMBEDLAB_DB", help="The database folder."
    ),
    k: int = typer.Option(10, "-k", "--k", help="Neighbours per query (recall@k)."),
    queries: int = typer.Option(200, "--queries", help="Stored vectors drawn as queries."),
    values: str | None = typer.Option(
        None, "--values", help="Comma-separated ef_search / nprobe values to try."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the query sample."),
    json_output: bool = JsonOption,
) -> None:
    """Recall@k of the collection's index against exact search, and queries/s, per setting."""
    from embedlab.errors import MissingFileError
    from embedlab.eval import ann_sweep
    from embedlab.store import Database

    if not (db / "embedlab.sqlite").is_file():
        raise MissingFileError(f"no database at {db} (make one with `embedlab db create`)")
    picked = None
    if values:
        try:
            picked = [int(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise fail(f"--values must be comma-separated integers; got {values!r}") from None
    with Database(db) as database:
        report = ann_sweep(
            database.get_collection(collection), k=k, n_queries=queries, values=picked, seed=seed
        )
    if json_output:
        emit_json({**dataclasses.asdict(report), "explanation": report.describe()})
        return
    console.print(report.describe(), highlight=False)
