"""`embedlab search`: ranked chunks of a collection for a query (vector, keyword or hybrid)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from embedlab.cli._common import JsonOption, command, console, emit_json
from embedlab.cli.app import app
from embedlab.cli.db import DbOption, WhereOption, _json_object, _open
from embedlab.errors import FormatError, InvalidParameterError

if TYPE_CHECKING:
    from embedlab.search import SearchHit


@app.command("search")
@command
def search_command(
    query: str | None = typer.Argument(None, help="The query (or use --queries FILE)."),
    collection: str = typer.Option(..., "--collection", "-c", help="The collection to search."),
    k: int = typer.Option(5, "-k", help="How many results."),
    mode: str = typer.Option("hybrid", "--mode", help="vector, keyword or hybrid."),
    where: str | None = WhereOption,
    queries: Path | None = typer.Option(
        None, "--queries", help="One query a line (text, or JSONL with a 'query' field)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Encoder spec (default: the collection's model)."
    ),
    group_by: str | None = typer.Option(
        None,
        "--group-by",
        help="One result per value of this metadata key (default: one per file, path, when "
        "the collection was filled by `embedlab index`).",
    ),
    chunks: bool = typer.Option(
        False, "--chunks", help="Rank chunks, not the documents they come from."
    ),
    image: Path | None = typer.Option(
        None, "--image", help="Search an image collection by this example image."
    ),
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Rank a collection's documents for a query: by embedding, by BM25 keywords, or both
    fused (standardised scores added). A collection filled by `embedlab index` answers
    with files (each scored by its best chunk blended with its opening); --chunks ranks
    the chunks themselves."""
    from embedlab import encoders
    from embedlab.search import AUTO, SearchMode, search

    parsed = SearchMode.parse(mode, name="mode")
    if image is not None:
        _search_image(image, query, queries, collection, k, where, db, json_output)
        return
    if chunks and group_by is not None:
        raise InvalidParameterError("give --chunks (rank chunks) or --group-by KEY, not both")
    grouping = None if chunks else (group_by or AUTO)
    texts = _queries(query, queries)
    flt = _json_object(where, "--where")
    with _open(db) as database:
        col = database.get_collection(collection)
        encoder = None
        if parsed is not SearchMode.KEYWORD:
            spec = model or col.model
            if spec is None:
                raise InvalidParameterError(
                    f"collection {collection!r} records no model, so its queries cannot be "
                    "embedded; pass --model SPEC (the encoder its vectors were made with) "
                    "or search with --mode keyword"
                )
            encoder = encoders.load(spec)
        answers = [
            (
                text,
                search(col, text, encoder=encoder, mode=parsed, k=k, where=flt, group_by=grouping),
            )
            for text in texts
        ]
    if json_output:
        document: Any = [
            {"query": text, "results": [_hit_dict(h) for h in hits]} for text, hits in answers
        ]
        emit_json(document[0] if query is not None else document)
        return
    for text, hits in answers:
        console.print(_table(text, hits, parsed.value))


def _search_image(
    image: Path,
    query: str | None,
    queries: Path | None,
    collection: str,
    k: int,
    where: str | None,
    db: str,
    json_output: bool,
) -> None:
    """`search --image PATH`: the nearest images to an example image."""
    from embedlab.image_search import search_image

    if query is not None or queries is not None:
        raise InvalidParameterError("give --image PATH or a text query, not both")
    flt = _json_object(where, "--where")
    with _open(db) as database:
        hits = search_image(database.get_collection(collection), image, k=k, where=flt)
    if json_output:
        emit_json({"image": str(image), "results": [_hit_dict(h) for h in hits]})
        return
    table = Table(title=f"images like {image}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("image")
    for rank, hit in enumerate(hits, 1):
        table.add_row(str(rank), f"{hit.score:.4f}", str(hit.metadata.get("path", hit.id)))
    console.print(table)


def _queries(query: str | None, path: Path | None) -> list[str]:
    """The query, or the queries of a file (plain lines, or JSONL with a "query" field)."""
    if query is not None:
        if path is not None:
            raise InvalidParameterError("give a query or --queries FILE, not both")
        return [query]
    if path is None:
        raise InvalidParameterError("give a query or --queries FILE")
    out = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); --queries takes one query "
            "a line, or JSONL",
            path=str(path),
        ) from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"not JSON: {exc.msg}", path=str(path), line=number) from None
            if not isinstance(record, dict) or not isinstance(record.get("query"), str):
                raise FormatError(
                    'expected an object with a "query" string', path=str(path), line=number
                )
            line = record["query"]
        out.append(line)
    if not out:
        raise InvalidParameterError(f"{path} holds no queries")
    return out


def _hit_dict(hit: SearchHit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "score": hit.score,
        "path": hit.metadata.get("path"),
        "metadata": hit.metadata,
        "document": hit.document,
        "vector_rank": hit.vector_rank,
        "keyword_rank": hit.keyword_rank,
    }


def _table(query: str, hits: list[SearchHit], mode: str) -> Table:
    from embedlab.search import highlight

    table = Table(title=f"{mode} search: {query}", title_justify="left", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("source")
    table.add_column("snippet")
    for rank, hit in enumerate(hits, 1):
        snippet, spans = highlight(hit.document or "", query, width=200)
        text = Text(snippet)
        for start, end in spans:
            text.stylize("bold yellow", start, end)
        source = str(hit.metadata.get("path", hit.id))
        if "chunk" in hit.metadata:
            source += f" #{hit.metadata['chunk']}"
        table.add_row(str(rank), f"{hit.score:.4f}", source, text)
    if not hits:
        table.add_row("-", "-", "(no match)", "")
    return table
