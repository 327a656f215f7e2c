"""`embedlab demo`: the main job on the embedded defaults, in a few tens of seconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.panel import Panel
from rich.table import Table

from embedlab.cli._common import JsonOption, command, console, emit_json
from embedlab.cli._demo_docs import docs_act, show_docs
from embedlab.cli.app import app

if TYPE_CHECKING:
    from embedlab.eval import AnalogyResult, WordPairsResult
    from embedlab.train import TrainingStats
    from embedlab.vectors import Neighbor, WordVectors

DEMO_WORDS = ("dog", "music", "river", "doctor", "red", "computer", "king", "happy")
DEMO_UNSEEN = ("unseeable", "unfriendliness", "dogness", "overcooked")
"""Words that are not in the sample corpus's vocabulary, for FastText to compose."""
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
    pictures: Path | None = typer.Option(
        None, "--pictures", help="Folder for the PNG and HTML pictures (default: a temp folder)."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Train skip-gram vectors on the bundled corpus, then show neighbours, analogies, scores;
    then FastText, which also gives vectors to words it never saw."""
    from embedlab.datasets import sample_corpus_path
    from embedlab.eval import evaluate_analogies, evaluate_word_pairs
    from embedlab.io import save_folder
    from embedlab.train import FastText, Word2Vec

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
    if not json_output:
        _show_word2vec(stats, neighbours, analogies, scores_a, scores_p, output)
        console.print(
            Panel.fit(
                "Training FastText (CBOW, words + character 3-6-grams) on the same corpus:\n"
                "words it never saw get vectors composed from their n-grams.",
                title="embedlab demo, part 2",
            )
        )
    fasttext = FastText(dim=100, window=5, min_count=5, epochs=epochs, threads=threads)
    ft = fasttext.train(corpus, progress=not json_output)
    unseen = {w: ft.most_similar(w, k=5) for w in DEMO_UNSEEN if w not in ft.vocab}
    if not json_output:
        console.print(_neighbour_table("words FastText never saw (cosine)", "unseen word", unseen))
        console.print(
            Panel.fit(
                "Storing the skip-gram vectors in the embedded vector database (SQLite + an\n"
                "HNSW index), with metadata, then filtered and range queries.",
                title="embedlab demo, part 3",
            )
        )
    store = _store_act(wv)
    if not json_output:
        _show_store(store)
        console.print(
            Panel.fit(
                "Indexing the bundled documents (pages of the Python tutorial) with the\n"
                "all-MiniLM-L6-v2 sentence encoder, then semantic + keyword (hybrid) search.",
                title="embedlab demo, part 4",
            )
        )
    docs = docs_act(progress=not json_output)
    if not json_output:
        show_docs(docs)
        console.print(
            Panel.fit(
                "Pictures of the skip-gram vectors: a PCA plot of the 300 most frequent words\n"
                "(PNG) and the offline HTML projector of the 5,000 most frequent (open it in a\n"
                "browser: zoom, hover, search, click a word for its nearest neighbours).",
                title="embedlab demo, part 5",
            )
        )
    drawn = _pictures_act(wv, pictures)
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
                "fasttext": {
                    "training": fasttext.stats.to_dict() if fasttext.stats else None,
                    "unseen": {w: [n._asdict() for n in ns] for w, ns in unseen.items()},
                },
                "store": store,
                "documents": docs,
                "pictures": drawn,
            }
        )
        return
    console.print(f"PNG:  {drawn['png']}\nHTML: {drawn['html']}", highlight=False)


def _pictures_act(wv: WordVectors, folder: Path | None) -> dict[str, Any]:
    """Write a PCA PNG of frequent words and the HTML projector; return where they are."""
    import tempfile

    from embedlab.viz import plot_points, points_from_array, points_from_vectors

    folder = folder or Path(tempfile.gettempdir()) / "embedlab-demo"
    folder.mkdir(parents=True, exist_ok=True)
    png = plot_points(points_from_vectors(wv, limit=300), folder / "words.png", title="PCA")
    n = min(5000, len(wv))
    bands = [(500, "top 500"), (2000, "500-2,000"), (n, f"2,000-{n:,}")]
    rank_band = [next(name for end, name in bands if i < end) for i in range(n)]
    counts = wv.counts
    metadata = [
        {"frequency": rank_band[i], "count": int(counts[i]) if counts is not None else 0}
        for i in range(n)
    ]
    pts = points_from_array(wv.vectors[:n], wv.keys[:n], metadata)
    page = plot_points(pts, folder / "words.html", color_by_field="frequency", title="words")
    return {"png": str(png.path), "html": str(page.path), "html_points": page.points}


DEMO_STORE_QUERIES: tuple[tuple[str, dict[str, Any] | None, float | None], ...] = (
    ("river", None, None),
    ("river", {"letter": "s"}, None),
    ("doctor", {"length": {"$gte": 9}}, None),
    ("music", None, 0.45),
)


def _store_act(wv: WordVectors) -> dict[str, Any]:
    """Add every word with metadata to a collection in a temporary database, then query it."""
    import tempfile
    import time

    from embedlab.store import Database

    keys = list(wv.keys)
    counts = wv.counts
    metadata = [
        {"letter": key[0], "length": len(key), "count": int(counts[i]) if counts is not None else 0}
        for i, key in enumerate(keys)
    ]
    with tempfile.TemporaryDirectory() as folder, Database(folder) as db:
        col = db.create_collection("words", dim=wv.dim, metric="cosine", index="hnsw")
        start = time.perf_counter()
        for begin in range(0, len(keys), 5000):
            end = begin + 5000
            col.add(keys[begin:end], wv.vectors[begin:end], metadata[begin:end])
        insert_seconds = time.perf_counter() - start
        answers = []
        start = time.perf_counter()
        for word, where, radius in DEMO_STORE_QUERIES:
            res = col.query(wv[word], k=6, where=where, max_distance=radius, include=("metadata",))
            answers.append(
                {
                    "word": word,
                    "where": where,
                    "max_distance": radius,
                    "ids": [key for key in res.ids if key != word][:5],
                    "distances": [
                        float(d)
                        for key, d in zip(res.ids, res.distances, strict=True)
                        if key != word
                    ][:5],
                }
            )
        query_ms = (time.perf_counter() - start) / len(DEMO_STORE_QUERIES) * 1000
        return {
            "rows": len(col),
            "insert_seconds": insert_seconds,
            "vectors_per_second": len(keys) / insert_seconds,
            "query_ms": query_ms,
            "queries": answers,
        }


def _show_store(store: dict[str, Any]) -> None:
    """Print the third part: insert speed and the filtered / range answers."""
    console.print(
        f"{store['rows']:,} words stored with their metadata in {store['insert_seconds']:.1f} s "
        f"([bold]{store['vectors_per_second']:,.0f} vectors/s[/], durable), "
        f"{store['query_ms']:.1f} ms a query"
    )
    table = Table(title="queries against the collection", title_justify="left")
    table.add_column("query", style="bold")
    table.add_column("filter")
    table.add_column("nearest five")
    for answer in store["queries"]:
        condition = json.dumps(answer["where"]) if answer["where"] else "-"
        if answer["max_distance"] is not None:
            condition = f"within cosine distance {answer['max_distance']}"
        found = ", ".join(
            f"{key} [dim]{d:.2f}[/]"
            for key, d in zip(answer["ids"], answer["distances"], strict=True)
        )
        table.add_row(answer["word"], condition, found or "(none)")
    console.print(table)
    console.print(
        "Keep a database with `embedlab db import-vectors MODEL --collection words` and query it "
        'with `embedlab db query words --vector-file q.npy --where \'{"letter": "s"}\'`.'
    )


def _show_word2vec(
    stats: TrainingStats,
    neighbours: dict[str, list[Neighbor]],
    analogies: dict[tuple[str, str, str], list[Neighbor]],
    scores_a: AnalogyResult,
    scores_p: WordPairsResult,
    output: Path | None,
) -> None:
    """Print the first part: speed, neighbours, analogies, standard scores."""
    console.print(
        f"{stats.vocab_size:,} words learned from {stats.corpus_words:,} words x {stats.epochs} "
        f"epochs in {stats.seconds:.1f} s ([bold]{stats.words_per_second:,.0f} words/s[/])"
    )
    console.print(_neighbour_table("nearest neighbours (cosine)", "word", neighbours))
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


def _neighbour_table(title: str, first: str, rows: dict[str, list[Neighbor]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first, style="bold")
    table.add_column("neighbours")
    for word, ns in rows.items():
        table.add_row(word, ", ".join(f"{n.key} [dim]{n.score:.2f}[/]" for n in ns))
    return table
