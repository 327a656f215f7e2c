"""`embedlab db …`: the embedded vector database (collections, rows, filters, search)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer
from rich.table import Table

from embedlab.cli._common import (
    JsonOption,
    command,
    console,
    emit_json,
)
from embedlab.cli._db_write import report_write, write_rows
from embedlab.cli.app import app
from embedlab.errors import (
    DimensionMismatchError,
    InvalidParameterError,
    MissingFileError,
    UnknownKeyError,
)
from embedlab.store.filters import MAX_DEPTH

if TYPE_CHECKING:
    from embedlab.store import Collection, CollectionInfo, Database, GetResult
    from embedlab.store._readers import RowStream

db_app = typer.Typer(help="Store, filter and search vectors in a database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

_SQLITE_FILE = "embedlab.sqlite"  # what marks a folder as a database (see store.database)
_SNIPPET = 60

DbOption = typer.Option(
    "embedlab.db", "--db", envvar="EMBEDLAB_DB", help="Its folder, or a postgresql:// URL."
)
NameArgument = typer.Argument(..., help="The collection's name.")
WhereOption = typer.Option(None, "--where", help='Metadata filter as JSON: \'{"lang": "en"}\'.')
WhereDocumentOption = typer.Option(None, "--where-document", help="Document filter as JSON.")
ParamOption = typer.Option(
    None, "--param", help="An index parameter as KEY=INT, or recall=FLOAT (repeatable)."
)
IdsOption = typer.Option(None, "--id", help="A row id (repeatable).")
BatchSizeOption = typer.Option(1000, "--batch-size", help="Rows written per transaction.")
UpsertOption = typer.Option(False, "--upsert", help="Replace rows whose id is already stored.")
MetricOption = typer.Option("cosine", "--metric", help="cosine|dot|euclidean|manhattan|hamming")
IndexOption = typer.Option("hnsw", "--index", help="flat, hnsw, ivf, ivf-pq or binary.")


# -- collections ----------------------------------------------------------------------------
@db_app.command("create")
@command
def create(
    name: str = NameArgument,
    dim: int = typer.Option(..., "--dim", help="Vector dimensions."),
    metric: str = MetricOption,
    index: str = IndexOption,
    param: list[str] | None = ParamOption,
    model: str | None = typer.Option(None, "--model", help="The embedding model's name."),
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Create an empty collection; its dimension, metric, index and model are then fixed."""
    params = _index_params(param)
    with _open(db, create=True) as database:
        info = database.create_collection(
            name, dim=dim, metric=metric, index=index, index_params=params, model=model
        ).info()
    if json_output:
        emit_json(dataclasses.asdict(info))
        return
    console.print(
        f"[green]created[/] collection [bold]{name}[/] ({info.dim} dims, {info.metric}, "
        f"{info.index}) in {_shown(db)}"
    )


@db_app.command("list")
@command
def list_(db: str = DbOption, json_output: bool = JsonOption) -> None:
    """The collections with their size and settings."""
    with _open(db) as database:
        infos = database.list_collections()
    if json_output:
        emit_json({"database": _shown(db), "collections": [dataclasses.asdict(i) for i in infos]})
        return
    table = Table(title=f"collections in {_shown(db)}", title_justify="left")
    for column in ("name", "count", "dim", "metric", "index", "model"):
        table.add_column(column, justify="right" if column in ("count", "dim") else "left")
    for i in infos:
        table.add_row(i.name, f"{i.count:,}", str(i.dim), i.metric, i.index, i.model or "")
    console.print(table)


@db_app.command("info")
@command
def info(name: str = NameArgument, db: str = DbOption, json_output: bool = JsonOption) -> None:
    """One collection's settings, size, index parameters and calibrated search breadth."""
    with _open(db) as database:
        collection = database.get_collection(name)
        collection.wait_for_index()  # indexes and calibrates what the last writer left
        details = collection.info()
    if json_output:
        emit_json(dataclasses.asdict(details))
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in dataclasses.asdict(details).items():
        if key == "index_params":
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif key == "created":
            value = datetime.fromtimestamp(value).isoformat(timespec="seconds")
        elif key == "count":
            value = f"{value:,}"
        elif key == "calibration" and value is not None:
            value = (
                f"{value['param']}={value['value']}: recall@10 {value['recall']:.3f} for "
                f"target {value['target']} on {value['sample']} sample queries, "
                f"{value['rows']:,} rows, {value['seconds']:.2f} s"
            )
        table.add_row(key, "" if value is None else str(value))
    console.print(table)


@db_app.command("drop")
@command
def drop(name: str = NameArgument, db: str = DbOption, json_output: bool = JsonOption) -> None:
    """Delete a collection with all its rows and its index."""
    with _open(db) as database:
        database.delete_collection(name)
    if json_output:
        emit_json({"dropped": name})
        return
    console.print(f"[green]dropped[/] collection [bold]{name}[/]")


# -- writing --------------------------------------------------------------------------------
@db_app.command("add")
@command
def add(
    name: str = NameArgument,
    vectors: Path | None = typer.Option(None, "--vectors", help="A 2-D .npy matrix."),
    metadata: Path | None = typer.Option(None, "--metadata", help="JSONL, a line per vector."),
    documents: Path | None = typer.Option(None, "--documents", help=".txt or .jsonl, ditto."),
    ids: Path | None = typer.Option(None, "--ids", help="With --vectors: one id per line."),
    jsonl: Path | None = typer.Option(None, "--jsonl", help="JSONL rows with a vector field."),
    parquet: Path | None = typer.Option(None, "--parquet", help="Parquet rows (needs pyarrow)."),
    vector_field: str = typer.Option("vector", "--vector-field", help="Field of the vector."),
    id_field: str | None = typer.Option(
        None, "--id-field", help="Field of the id (default: 'id'; row numbers if no row has one)."
    ),
    document_field: str = typer.Option("document", "--document-field", help="Document field."),
    upsert: bool = UpsertOption,
    batch_size: int = BatchSizeOption,
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Add rows from a .npy matrix (with metadata, documents and ids files), JSONL or Parquet.

    In JSONL and Parquet rows every field besides the id, vector and document is metadata,
    unless the row has a "metadata" object. Ids are row numbers (from 0) only when no row
    has an id field; a named --id-field must be in every row. The whole file is checked
    before the first row is written: a refused import changes nothing.
    """
    from embedlab.store import _readers

    sources = {"--vectors": vectors, "--jsonl": jsonl, "--parquet": parquet}
    given = [option for option, path in sources.items() if path is not None]
    if len(given) != 1:
        raise InvalidParameterError(
            f"give exactly one of --vectors, --jsonl, --parquet; got {len(given)}"
        )
    if vectors is None and (metadata or documents or ids):
        raise InvalidParameterError("--metadata, --documents and --ids go with --vectors")
    fields = _readers.RowFields(
        id=id_field or "id",
        vector=vector_field,
        document=document_field,
        id_required=id_field is not None,
    )
    with _open(db) as database:
        col = database.get_collection(name)

        def stream() -> RowStream:
            if vectors is not None:
                sides = {"metadata": metadata, "documents": documents, "ids": ids}
                return _readers.npy_rows(vectors, **sides, dim=col.dim, batch_size=batch_size)
            read = _readers.jsonl_rows if jsonl is not None else _readers.parquet_rows
            source = jsonl if jsonl is not None else parquet
            return read(source, fields=fields, dim=col.dim, batch_size=batch_size)  # type: ignore[arg-type]

        written = write_rows(col, stream, upsert=upsert, progress=not json_output)
        report_write(col, written, upsert=upsert, json_output=json_output)


@db_app.command("import-vectors")
@command
def import_vectors(
    model_path: str = typer.Argument(..., help="A model folder or a word2vec/GloVe/fastText file."),
    collection: str = typer.Option(..., "--collection", help="The collection to fill."),
    index: str | None = typer.Option(
        None, "--index", help="For a new collection: flat, hnsw (default), ivf, ivf-pq, binary."
    ),
    metric: str | None = typer.Option(
        None, "--metric", help="For a new collection: cosine (default), dot, euclidean, ..."
    ),
    param: list[str] | None = ParamOption,
    model: str | None = typer.Option(
        None, "--model", help="Model name (default: an existing collection's, else the folder's)."
    ),
    upsert: bool = UpsertOption,
    batch_size: int = BatchSizeOption,
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Store trained word vectors, one row per word (creating the collection if missing).

    Each word is an id, with metadata {"count": n} when the counts are known. Into an
    existing collection the vectors take its settings (what you give must agree with
    them); a new collection made here is removed again if the import fails.
    """
    from embedlab.io import load_vectors
    from embedlab.store._readers import word_vector_rows

    wv, params = load_vectors(model_path), _index_params(param)
    with _open(db, create=True) as database:
        existing = {info.name: info for info in database.list_collections()}.get(collection)
        if existing is not None:
            _check_agrees(existing, dim=wv.dim, metric=metric, index=index, params=params)
            model = model or existing.model
            col = database.get_collection(collection)
        else:
            model = model or _model_name(Path(model_path))
            col = database.create_collection(
                collection,
                dim=wv.dim,
                metric=metric or "cosine",
                index=index or "hnsw",
                index_params=params,
                model=model,
            )
        try:
            stream = lambda: word_vector_rows(wv, batch_size=batch_size)  # noqa: E731
            written = write_rows(col, stream, upsert=upsert, progress=not json_output, model=model)
        except BaseException:
            if existing is None and col.count() == 0:
                database.delete_collection(collection)  # leave nothing behind
            raise
        report_write(col, written, upsert=upsert, json_output=json_output)


def _check_agrees(
    info: CollectionInfo,
    *,
    dim: int,
    metric: str | None,
    index: str | None,
    params: dict[str, float],
) -> None:
    """Refuse settings the user gave that differ from an existing collection's."""
    if dim != info.dim:
        raise DimensionMismatchError(
            f"collection {info.name!r} holds {info.dim}-dimensional vectors; "
            f"the model's are {dim}-dimensional"
        )
    given = {"--metric": (metric, info.metric), "--index": (index, info.index)}
    for option, (value, stored) in given.items():
        if value is not None and value.strip().lower().replace("_", "-") != stored:
            raise InvalidParameterError(
                f"collection {info.name!r} exists with {option} {stored}; got {value!r} "
                f"(leave {option} out to use the collection's)"
            )
    for key, number in params.items():
        if info.index_params.get(key) != number:
            raise InvalidParameterError(
                f"collection {info.name!r} exists with index parameters "
                f"{info.index_params}; got --param {key}={number}"
            )


@db_app.command("delete")
@command
def delete(
    name: str = NameArgument,
    id: list[str] | None = IdsOption,
    where: str | None = WhereOption,
    where_document: str | None = WhereDocumentOption,
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Delete rows by id and/or filter (both given: rows matching both)."""
    if not id and where is None and where_document is None:
        raise InvalidParameterError("give --id, --where or --where-document (or use `db drop`)")
    with _open(db) as database:
        col = database.get_collection(name)
        deleted = col.delete(
            id or None,
            where=_json_object(where, "--where"),
            where_document=_json_object(where_document, "--where-document"),
        )
        count = col.count()
    if json_output:
        emit_json({"collection": name, "deleted": deleted, "count": count})
        return
    console.print(f"[green]deleted[/] {deleted:,} rows from [bold]{name}[/] ({count:,} left)")


@db_app.command("compact")
@command
def compact(name: str = NameArgument, db: str = DbOption, json_output: bool = JsonOption) -> None:
    """Drop deleted rows for good and give their disk space back."""
    before = _folder_size(db)
    with _open(db) as database:
        purged = database.get_collection(name).compact()
    after = _folder_size(db)
    if json_output:
        sizes = {"bytes_before": before, "bytes_after": after}
        emit_json({"collection": name, "purged": purged, **sizes})
        return
    if before is None or after is None:  # a server: VACUUM gives the space back there
        console.print(f"[green]compacted[/] [bold]{name}[/] on {_shown(db)}")
        return
    console.print(
        f"[green]compacted[/] [bold]{name}[/]: purged {purged:,} deleted rows; database "
        f"folder {before / 1024:,.1f} KB -> {after / 1024:,.1f} KB"
    )


@db_app.command("verify")
@command
def verify(name: str = NameArgument, db: str = DbOption, json_output: bool = JsonOption) -> None:
    """Check stored rows, index file and index against each other; exit 1 on problems."""
    with _open(db) as database:
        report = database.get_collection(name).verify()
    if json_output:
        emit_json({**dataclasses.asdict(report), "ok": report.ok})
    else:
        console.print(
            f"[bold]{report.collection}[/]: {report.rows:,} rows, {report.deleted_pending:,} "
            f"deleted awaiting compaction, {report.index_vectors:,} vectors in the index; "
            f"index file: {report.index_file}"
        )
        for problem in report.problems:
            console.print(f"[red]problem:[/] {problem}", highlight=False)
        console.print("[green]ok[/]" if report.ok else f"[red]{len(report.problems)} problem(s)")
    if not report.ok:
        raise typer.Exit(1)


# -- reading --------------------------------------------------------------------------------
@db_app.command("get")
@command
def get(
    name: str = NameArgument,
    id: list[str] | None = IdsOption,
    where: str | None = WhereOption,
    where_document: str | None = WhereDocumentOption,
    limit: int | None = typer.Option(None, "--limit", help="Most rows (default: all ids, or 10)."),
    offset: int = typer.Option(0, "--offset", help="Rows to skip first."),
    include_vectors: bool = typer.Option(False, "--include-vectors", help="Show the vectors."),
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Rows by id (in the order asked) or by filter (in insertion order)."""
    include = ["metadata", "documents"] + (["vectors"] if include_vectors else [])
    with _open(db) as database:
        result = database.get_collection(name).get(
            id or None,
            where=_json_object(where, "--where"),
            where_document=_json_object(where_document, "--where-document"),
            limit=limit if limit is not None or id else 10,
            offset=offset,
            include=include,
        )
    if json_output:
        emit_json({"collection": name, **result.to_dict()})
        return
    _show_rows(f"{len(result)} rows of {name!r}", result, ranked=False)


@db_app.command("query")
@command
def query(
    name: str = NameArgument,
    vector: str | None = typer.Option(None, "--vector", help='Comma-separated: "0.1,0.2,…".'),
    vector_file: Path | None = typer.Option(None, "--vector-file", help=".npy of one vector."),
    id: str | None = typer.Option(None, "--id", help="Use this stored row's vector."),
    k: int = typer.Option(10, "-k", "--k", help="How many neighbours."),
    where: str | None = WhereOption,
    where_document: str | None = WhereDocumentOption,
    max_distance: float | None = typer.Option(None, "--max-distance", help="Farthest match."),
    ef_search: int | None = typer.Option(None, "--ef-search", help="HNSW search breadth."),
    param: list[str] | None = typer.Option(None, "--param", help="Search parameter KEY=INT."),
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """The k nearest rows to a vector, nearest first, optionally filtered."""
    from embedlab.store import QueryResult

    search_params = _params(param) | ({} if ef_search is None else {"ef_search": ef_search})
    with _open(db) as database:
        col = database.get_collection(name)
        result = col.query(
            _query_vector(col, vector, vector_file, id),
            k=k,
            where=_json_object(where, "--where"),
            where_document=_json_object(where_document, "--where-document"),
            max_distance=max_distance,
            search_params=search_params or None,
        )
    if not isinstance(result, QueryResult):  # one vector gives one result
        raise RuntimeError("a single query vector gave several results")
    if json_output:
        emit_json({"collection": name, "k": k, **result.to_dict()})
        return
    _show_rows(f"nearest in {name!r}", result, ranked=True)


@db_app.command("copy")
@command
def copy_(
    source: str = typer.Argument(..., help="A database folder or postgresql:// URL."),
    destination: str = typer.Argument(..., help="A database folder or postgresql:// URL."),
    collection: list[str] | None = typer.Option(
        None, "--collection", help="Copy only this collection (repeatable)."
    ),
    index: str | None = typer.Option(None, "--index", help="Another index kind for new ones."),
    batch_size: int = BatchSizeOption,
    json_output: bool = JsonOption,
) -> None:
    """Copy collections with their ids, vectors, metadata, documents and model between
    databases (embedded <-> PostgreSQL); run it again to resume an interrupted copy."""
    from embedlab.store import Database
    from embedlab.store.copy import copy_collections
    from embedlab.store.database import is_server_url

    if not is_server_url(source) and not (Path(source) / _SQLITE_FILE).is_file():
        raise MissingFileError(f"no database at {source}")
    with Database(source) as src, Database(destination) as dst:
        reports = copy_collections(src, dst, collection, index=index, batch_size=batch_size)
    if json_output:
        emit_json({"collections": [dataclasses.asdict(r) for r in reports]})
        return
    for r in reports:
        console.print(
            f"[green]copied[/] {r.collection}: {r.written:,} rows written, "
            f"{r.skipped:,} already there"
        )


# -- helpers --------------------------------------------------------------------------------
@contextmanager
def _open(location: str | Path, *, create: bool = False) -> Iterator[Database]:
    """The database at a folder or a ``postgresql://`` URL; only create and
    import-vectors may make a new folder."""
    from embedlab.store import Database
    from embedlab.store.database import is_server_url

    if is_server_url(location):
        with Database(location) as database:
            yield database
        return
    path = Path(location)
    if not create and not (path / _SQLITE_FILE).is_file():
        raise MissingFileError(f"no database at {path} (make one with `embedlab db create`)")
    with Database(path) as database:
        yield database


def _shown(location: str | Path) -> str:
    """A folder or URL for messages (a URL without its password)."""
    from embedlab.store.database import _hide_password, is_server_url

    return _hide_password(str(location)) if is_server_url(location) else str(location)


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """Parse a filter option's JSON; the error names the option."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameterError(
            f"{option} is not valid JSON: {exc.msg} at character {exc.pos}; got {text!r}"
        ) from None
    except RecursionError:
        raise InvalidParameterError(
            f"{option} nests too deeply (filters nest at most {MAX_DEPTH} levels); got {text!r}"
        ) from None
    if not isinstance(value, dict):
        raise InvalidParameterError(
            f"{option} must be a JSON object; got {type(value).__name__} {text!r}"
        )
    return value


def _index_params(items: list[str] | None) -> dict[str, float]:
    """--param options of a new collection: KEY=INT, and recall=FLOAT (a recall target)."""
    recall = [item for item in items or [] if item.partition("=")[0].strip() == "recall"]
    params: dict[str, float] = dict(_params([i for i in items or [] if i not in recall]))
    for item in recall:
        try:
            params["recall"] = float(item.partition("=")[2])
        except ValueError:
            raise InvalidParameterError(f"--param expects recall=FLOAT; got {item!r}") from None
    return params


def _params(items: list[str] | None) -> dict[str, int]:
    """--param KEY=INT options as a dict."""
    params: dict[str, int] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            params[key.strip()] = int(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise InvalidParameterError(f"--param expects KEY=INT; got {item!r}")
    return params


def _query_vector(
    col: Collection, text: str | None, file: Path | None, row_id: str | None
) -> np.ndarray:
    """The one query vector from --vector, --vector-file or --id."""
    if sum(x is not None for x in (text, file, row_id)) != 1:
        raise InvalidParameterError("give exactly one of --vector, --vector-file, --id")
    if text is not None:
        try:
            return np.array([float(x) for x in text.strip("[] ").split(",")], dtype=np.float32)
        except ValueError:
            raise InvalidParameterError(
                f"--vector expects comma-separated numbers such as 0.1,0.2; got {text!r}"
            ) from None
    if file is not None:
        from embedlab.store._readers import npy_vector

        return npy_vector(file)
    found = col.get([str(row_id)], include="vectors")
    if not len(found) or found.vectors is None:
        raise UnknownKeyError(str(row_id), what="id")
    return np.asarray(found.vectors[0])


def _show_rows(title: str, result: GetResult, *, ranked: bool) -> None:
    """Rows as a table: rank and distance for a query, metadata, document, vector."""
    table = Table(title=title, title_justify="left")
    columns = ["#", "id", "distance"] if ranked else ["id"]
    columns += ["metadata", "document"] + (["vector"] if result.vectors is not None else [])
    for column in columns:
        table.add_column(column, justify="right" if column in ("#", "distance") else "left")
    for rank, row in enumerate(result, start=1):
        cells = [str(rank), row.id, f"{row.distance:.4f}"] if ranked else [row.id]
        cells += [json.dumps(row.metadata, ensure_ascii=False) if row.metadata else ""]
        cells += [_snippet(row.document)]
        if row.vector is not None:
            cells += [_snippet(np.array2string(row.vector, precision=3, separator=","))]
        table.add_row(*cells)
    console.print(table)


def _snippet(text: str | None) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…"


def _model_name(path: Path) -> str:
    """A model's default name: its folder's name, or its file's name without extensions."""
    return path.resolve().name if path.is_dir() else Path(path.name.removesuffix(".gz")).stem


def _folder_size(location: str | Path) -> int | None:
    """The bytes in a database folder (None for a server URL)."""
    from embedlab.store.database import is_server_url

    if is_server_url(location):
        return None
    return sum(f.stat().st_size for f in Path(location).rglob("*") if f.is_file())


from embedlab.cli import db_versions  # noqa: E402, F401 - registers reembed, versions, drop-version
