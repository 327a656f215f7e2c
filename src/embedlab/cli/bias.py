"""`embedlab bias MODEL`: WEAT (or SEAT) audits, and hard debiasing with before/after."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from embedlab.cli._common import JsonOption, command, console, emit_json, fail
from embedlab.cli.app import app

if TYPE_CHECKING:
    from embedlab.bias import WeatResult, WeatTest


@app.command()
@command
def bias(
    model: str = typer.Argument(
        ...,
        help="Word vectors (model folder or .vec/.bin file); with --sentences an encoder; "
        "with --collection a database folder.",
    ),
    collection: str | None = typer.Option(
        None,
        "--collection",
        help="A collection of MODEL (a database): its ids are the words (e.g. filled by "
        "`db import-vectors`); with --sentences, SEAT with the collection's own model.",
    ),
    test: list[str] = typer.Option(
        None, "--test", help="A bundled WEAT test, weat1 … weat10 (repeatable; default: all)."
    ),
    targets: Path | None = typer.Option(
        None, "--targets", help="File with two target word sets ('name: w1, w2, …' lines)."
    ),
    attributes: Path | None = typer.Option(
        None, "--attributes", help="File with two attribute word sets (same format)."
    ),
    sentences: bool = typer.Option(
        False, "--sentences", help="MODEL is a sentence encoder (minilm, …): run SEAT."
    ),
    debias: bool = typer.Option(
        False, "--debias", help="Hard-debias along the gender direction; needs -o."
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Where to save debiased vectors."
    ),
    permutations: int = typer.Option(100_000, "--permutations", help="Samples for sampled p."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampled p-values."),
    json_output: bool = JsonOption,
) -> None:
    """Measure association biases with WEAT (Caliskan et al. 2017) or SEAT (May et al. 2019).

    With --debias, hard-debias the vectors (Bolukbasi et al. 2016), save them to -o, show
    WEAT before and after, and what the debiasing hides (Gonen and Goldberg 2019).
    """
    from embedlab.bias import WeatTest, read_word_sets, weat_test, weat_tests

    if (targets is None) != (attributes is None):
        raise fail("--targets and --attributes go together (two word sets each)")
    if debias and output is None:
        raise fail("--debias writes new vectors: give -o/--output")
    if debias and sentences:
        raise fail("--debias works on word vectors, not on a sentence encoder")
    chosen: list[WeatTest]
    explicit = True
    if targets is not None and attributes is not None:
        x, y = read_word_sets(targets)
        a, b = read_word_sets(attributes)
        chosen = [WeatTest(f"{targets.stem}/{attributes.stem}", (x, y), (a, b), "your word sets")]
        if test:
            raise fail("give either --test or --targets/--attributes, not both")
    elif test:
        chosen = [weat_test(name) for name in test]
    else:
        chosen, explicit = list(weat_tests().values()), False
    options: dict[str, Any] = {"permutations": permutations, "seed": seed}
    if sentences:
        from embedlab.bias import seat
        from embedlab.encoders import load

        encoder = load(_collection_model(model, collection) if collection else model)
        results = [seat(encoder, t, **options) for t in chosen]
        _report(results, [], json_output=json_output)
        return
    wv = _word_vectors(model, collection, chosen, every_row=debias)
    results, skipped = _run_all(wv, chosen, explicit, options)
    if not debias or output is None:
        _report(results, skipped, json_output=json_output)
        return
    _debias(wv, results, skipped, output, options, json_output=json_output)


def _collection_model(folder: str, name: str) -> str:
    """The model a collection was filled with (its recorded provenance)."""
    from embedlab.store import Database

    with Database(folder) as db:
        model = db.get_collection(name).model
    if model is None:
        raise fail(f"collection {name!r} records no model; give the encoder as MODEL instead")
    return model


def _word_vectors(
    folder_or_model: str, collection: str | None, tests: list[WeatTest], *, every_row: bool
) -> Any:
    """The vectors the tests need: a model file, or a collection's rows (the test words'
    only, unless every row is needed, as debiasing does)."""
    if collection is None:
        from embedlab.io import load_vectors

        return load_vectors(folder_or_model)
    from embedlab.bias import as_word_vectors
    from embedlab.store import Database

    words = {w for t in tests for group in (*t.targets, *t.attributes) for w in group.words}
    with Database(folder_or_model) as db:
        found = db.get_collection(collection)
        return as_word_vectors(found, keys=None if every_row else sorted(words))


def _run_all(
    wv: Any, tests: list[WeatTest], explicit: bool, options: dict[str, Any]
) -> tuple[list[WeatResult], list[tuple[str, str]]]:
    """WEAT of each test; with the default 'all tests', tests lacking words are skipped."""
    from embedlab.bias import weat
    from embedlab.errors import MissingWordsError

    results, skipped = [], []
    for t in tests:
        try:
            results.append(weat(wv, t, **options))
        except MissingWordsError as exc:
            if explicit:
                raise
            skipped.append((t.name, str(exc)))
    return results, skipped


_LEGEND = (
    "d: effect size (Cohen's d, ddof=1, -2 … +2; |d| 0.2 small, 0.5 medium, 0.8 large): "
    "positive means the first target set sits nearer the first attribute set. p: one-sided "
    "permutation p-value (exact when the re-partitions are few, else sampled): small p "
    "means the association is unlikely to be chance."
)


def _report(
    results: list[WeatResult], skipped: list[tuple[str, str]], *, json_output: bool
) -> None:
    if json_output:
        emit_json(
            {
                "results": [r.to_dict() for r in results],
                "skipped": [{"test": n, "reason": why} for n, why in skipped],
            }
        )
        return
    if len(results) == 1 and not skipped:
        console.print(results[0].describe(), highlight=False)
        return
    _table(results)
    for name, why in skipped:
        console.print(f"[yellow]skipped[/] {name}: {why}", highlight=False)
    console.print(_LEGEND, highlight=False)


def _table(results: list[WeatResult], after: list[WeatResult] | None = None) -> None:
    table = Table(title="WEAT" if after is None else "WEAT before / after", title_justify="left")
    for column in ("test", "targets", "attributes", "d", "p", "p method", "missing"):
        table.add_column(column, justify="right" if column in ("d", "p") else "left")
    if after is not None:
        table.add_column("d after", justify="right")
        table.add_column("p after", justify="right")
    for i, r in enumerate(results):
        missing = sum(len(v) for v in r.missing.values())
        row = [
            r.test,
            " vs ".join(r.targets),
            " vs ".join(r.attributes),
            f"{r.effect_size:+.3f}",
            f"{r.p_value:.3g}",
            r.scores.p_method,
            str(missing) if missing else "",
        ]
        if after is not None:
            row += [f"{after[i].effect_size:+.3f}", f"{after[i].p_value:.3g}"]
        table.add_row(*row)
    console.print(table)


def _debias(
    wv: Any,
    results: list[WeatResult],
    skipped: list[tuple[str, str]],
    output: Path,
    options: dict[str, Any],
    *,
    json_output: bool,
) -> None:
    from embedlab.bias import (
        EQUALIZE_PAIRS,
        GENDER_PAIRS,
        GENDER_SPECIFIC,
        bias_direction,
        hard_debias,
        hidden_bias,
        weat,
        weat_tests,
    )
    from embedlab.io import save_vectors

    direction = bias_direction(wv, GENDER_PAIRS)
    result = hard_debias(wv, direction)
    save_vectors(result.vectors, output)
    tests = weat_tests()
    after = [
        weat(result.vectors, tests[r.test], **options) if r.test in tests else r for r in results
    ]
    specific = [w for p in (*EQUALIZE_PAIRS, *GENDER_PAIRS) for w in p] + list(GENDER_SPECIFIC)
    n = max(2, min(500, len(wv) // 8))
    hidden = hidden_bias(wv, result.vectors, direction, n=n, exclude=specific)
    if json_output:
        emit_json(
            {
                "output": str(output),
                "direction": {
                    "pairs": direction.pairs,
                    "explained": direction.explained,
                    "explanation": direction.describe(),
                },
                "debias": {
                    "neutralised": result.neutralised,
                    "equalised": result.equalised,
                    "explanation": result.describe(),
                },
                "before": [r.to_dict() for r in results],
                "after": [r.to_dict() for r in after],
                "skipped": [{"test": t, "reason": why} for t, why in skipped],
                "hidden_bias": {
                    "words": hidden.words,
                    "before": hidden.before.__dict__,
                    "after": hidden.after.__dict__,
                    "explanation": hidden.describe(),
                },
            }
        )
        return
    console.print(direction.describe(), highlight=False)
    console.print(result.describe(), highlight=False)
    _table(results, after)
    console.print(_LEGEND, highlight=False)
    console.print(hidden.describe(), highlight=False)
    console.print(f"[green]wrote[/] {len(result.vectors):,} debiased vectors to {output}")
