"""The demo's last part: index the bundled documents with minilm and answer a few queries."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from embedlab.cli._common import console
from embedlab.errors import MissingDependencyError

DEMO_DOC_QUERIES = (
    "how do I read a file line by line",
    "what is a list comprehension",
    "catch an exception and clean up afterwards",
)


def docs_act(*, progress: bool) -> dict[str, Any]:
    """Index the bundled documents into a temporary database and run the demo queries."""
    import tempfile

    from embedlab import encoders
    from embedlab.datasets import sample_docs_path
    from embedlab.ingest import index_paths
    from embedlab.search import highlight, search
    from embedlab.store import Database

    try:
        encoder = encoders.load("minilm")
    except MissingDependencyError as exc:
        return {"skipped": str(exc)}
    root = sample_docs_path() / "tutorial"  # not the folder's README and licence
    with tempfile.TemporaryDirectory() as folder, Database(folder) as db:
        report = index_paths(root, db, "docs", encoder, progress=progress)
        col = db.get_collection("docs")
        answers = []
        for query in DEMO_DOC_QUERIES:
            hits = search(col, query, encoder=encoder, mode="hybrid", k=3, group_by="path")
            results = []
            for hit in hits:
                snippet, spans = highlight(hit.document or "", query, width=160)
                path = str(hit.metadata.get("path", hit.id))
                results.append(
                    {
                        "path": path.removeprefix(str(root)).lstrip("/"),
                        "title": hit.metadata.get("title"),
                        "score": hit.score,
                        "snippet": snippet,
                        "spans": spans,
                    }
                )
            answers.append({"query": query, "results": results})
    return {
        "files": report.files_indexed,
        "chunks": report.chunks_added,
        "seconds": report.seconds,
        "encode_share": report.encode_share,
        "failed": [f.path for f in report.failed],
        "queries": answers,
    }


def show_docs(docs: dict[str, Any]) -> None:
    """Print the indexing figures and the best answers to each query."""
    if "skipped" in docs:
        console.print(f"[yellow]skipped:[/] {docs['skipped']}")
        return
    console.print(
        f"{docs['files']} documents → {docs['chunks']} chunks embedded with minilm and stored "
        f"in {docs['seconds']:.1f} s ({docs['encode_share']:.0%} of it encoding)"
    )
    for answer in docs["queries"]:
        table = Table(title=f"hybrid search: {answer['query']}", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("document")
        table.add_column("snippet")
        for rank, result in enumerate(answer["results"], 1):
            text = Text(result["snippet"])
            for start, end in result["spans"]:
                text.stylize("bold yellow", start, end)
            table.add_row(str(rank), result["title"] or result["path"], text)
        console.print(table)
    console.print(
        "Index your own folder with `embedlab index ./my-docs --collection docs` and ask it "
        '`embedlab search "your question" --collection docs`.'
    )
