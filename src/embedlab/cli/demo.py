"""`embedlab demo`: the main job on the embedded defaults, in a few tens of seconds."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.panel import Panel
from rich.table import Table

from embedlab.cli._common import JsonOption, command, console, emit_json
from embedlab.cli.app import app

DEMO_WORDS = ("dog", "music", "river", "doctor", "red", "computer", "king", "happy")
DEMO_ANALOGIES = (
    ("walk", "walked", "run"),
    ("france", "french", "germany"),
    ("man", "king", "woman"),
    ("big", "bigger", "small"),
)


@app.command()
@command
def demo(
    epochs: int = typer.Option(5, "--epochs", help="Training passes over the sample corpus."),
    threads: int = typer.Option(0, "--threads", help="Worker threads (0: every core)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Also save the model here."),
    json_output: bool = JsonOption,
) -> None:
    """Train skip-gram vectors on the bundled corpus, then show neighbours, analogies, scores."""
    from embedlab.datasets import sample_corpus_path
    from embedlab.eval import evaluate_analogies, evaluate_word_pairs
    from embedlab.io import save_folder
    from embedlab.train import Word2Vec

    corpus = sample_corpus_path()
    if not json_output:
        console.print(
            Panel.fit(
                "Training Word2Vec (skip-gram, 100 dims) on the bundled sample corpus:\n"
                "WordNet 3.0 glosses, 117,659 lines, 1.77 M words (see embedlab/data/README.md).",
                title="embedlab demo",
            )
        )
    model = Word2Vec(sg=True, dim=100, window=5, min_count=5, epochs=epochs, threads=threads)
    wv = model.train(corpus, progress=not json_output)
    stats = model.stats
    if stats is None:
        raise RuntimeError("training finished without statistics")
    if output is not None:
        save_folder(wv, output)
    neighbours = {w: wv.most_similar(w, k=5) for w in DEMO_WORDS if w in wv}
    analogies = {
        (a, b, c): wv.analogy(a, b, c, k=3)
        for a, b, c in DEMO_ANALOGIES
        if a in wv and b in wv and c in wv
    }
    scores_a = evaluate_analogies(wv)
    scores_p = evaluate_word_pairs(wv)
    if json_output:
        emit_json(
            {
                "training": stats.to_dict(),
                "neighbours": {w: [n._asdict() for n in ns] for w, ns in neighbours.items()},
                "analogies": [
                    {"a": a, "b": b, "c": c, "answers": [n._asdict() for n in ns]}
                    for (a, b, c), ns in analogies.items()
                ],
                "evaluation": {"analogies": scores_a.to_dict(), "word_pairs": scores_p.to_dict()},
                "model": str(output) if output else None,
            }
        )
        return
    console.print(
        f"{stats.vocab_size:,} words learned from {stats.corpus_words:,} words x {stats.epochs} "
        f"epochs in {stats.seconds:.1f} s ([bold]{stats.words_per_second:,.0f} words/s[/])"
    )
    table = Table(title="nearest neighbours (cosine)", title_justify="left")
    table.add_column("word", style="bold")
    table.add_column("neighbours")
    for word, ns in neighbours.items():
        table.add_row(word, ", ".join(f"{n.key} [dim]{n.score:.2f}[/]" for n in ns))
    console.print(table)
    table = Table(title="analogies  a : b :: c : ?", title_justify="left")
    table.add_column("question", style="bold")
    table.add_column("best three answers")
    for (a, b, c), ns in analogies.items():
        table.add_row(f"{a} : {b} :: {c} : ?", ", ".join(n.key for n in ns))
    console.print(table)
    console.print(
        f"Google analogies: [bold]{scores_a.accuracy:.3f}[/] accuracy on {scores_a.answered:,} "
        f"answerable questions · WordSim-353 Spearman: [bold]{scores_p.spearman:.3f}[/]\n"
        "(a 1.77 M-word corpus is small: expect far better with more text — "
        "`embedlab train word2vec YOUR_CORPUS -o model`)"
    )
    if output is not None:
        console.print(f"model saved to [bold]{output}[/]: try `embedlab similar {output} dog`")
