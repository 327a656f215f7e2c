"""One collection of the PostgreSQL backend: a table of rows with a pgvector column.

Vectors travel as pgvector's text form (``[1.5,2,...]``; Python's shortest float repr,
which reads back to the same float32). Rows are never changed in place: upsert and update
delete the old row and insert a new one, so ``get()`` without ids lists rows in the order
they were last written, as in the embedded store.

The query planner is in :mod:`embedlab.store.backend.postgres._planner`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from embedlab.errors import (
    CollectionNotFoundError,
    DimensionMismatchError,
    DuplicateIdError,
    InvalidParameterError,
    StoreCorruptError,
    UnknownKeyError,
)
from embedlab.store._inputs import Batch, Include, show_values
from embedlab.store._records import CollectionRow
from embedlab.store._state import Spec
from embedlab.store.backend.base import Patches
from embedlab.store.backend.postgres._planner import OPS, nearest, plan
from embedlab.store.backend.postgres._sql import document_sql, where_sql
from embedlab.store.filters import DocumentFilter, Where
from embedlab.store.metadata import Metadata, check_metadata, metadata_to_json
from embedlab.store.results import CollectionInfo, GetResult, QueryResult, VerifyReport

if TYPE_CHECKING:
    from embedlab.store.backend.postgres.database import PostgresDatabase

__all__ = ["PostgresCollection", "create_items_table", "items_table"]

R = TypeVar("R", bound=GetResult)


def items_table(collection_id: int) -> str:
    """The table of a collection's rows (named by its integer id, never by user text)."""
    return f"embedlab_items_{int(collection_id)}"


def create_items_table(cur: Any, spec: Spec) -> None:
    """Create a collection's table, its keyword index and (for hnsw) its vector index."""
    table = items_table(spec.id)
    kind = f"bit({spec.dim})" if spec.binary else f"vector({spec.dim})"
    cur.execute(
        f"CREATE TABLE {table} (label bigserial PRIMARY KEY, id text NOT NULL UNIQUE,"
        f" vector {kind} NOT NULL, metadata jsonb NOT NULL DEFAULT '{{}}', document text,"
        " tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(document, '')))"
        " STORED)"
    )
    cur.execute(f"CREATE INDEX {table}_tsv ON {table} USING gin (tsv)")
    ops = OPS.get(spec.metric)
    if spec.kind == "hnsw" and ops is not None:
        m, ef = int(spec.params["M"]), int(spec.params["ef_construction"])
        cur.execute(
            f"CREATE INDEX {table}_ann ON {table} USING hnsw (vector {ops})"
            f" WITH (m = {m}, ef_construction = {ef})"
        )


class PostgresCollection:
    """A collection held in a PostgreSQL table (see the module docstring for the planner)."""

    def __init__(self, db: PostgresDatabase, row: Sequence[Any]) -> None:
        self._db = db
        self._row = CollectionRow(
            id=int(row[0]),
            name=str(row[1]),
            dim=int(row[2]),
            metric=str(row[3]),
            index_kind=str(row[4]),
            index_params=dict(row[5] if isinstance(row[5], dict) else json.loads(row[5])),
            model=row[6],
            created=float(row[7]),
            seq=int(row[8]),
            generation=0,
        )
        self._spec = Spec.from_row(self._row)
        self.table = items_table(self._spec.id)
        self._index_known: bool | None = None

    @property
    def spec(self) -> Spec:
        return self._spec

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def pending(self) -> int:
        return 0  # the server indexes each row inside its write

    def renamed(self, name: str) -> None:
        """Take the name the collection now has (renamed through this database handle)."""
        self._spec = replace(self._spec, name=name)

    # -- facts ------------------------------------------------------------------------
    def count(self) -> int:
        with self._tx() as cur:
            return int(cur.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0])

    def info(self) -> CollectionInfo:
        with self._tx() as cur:
            return self.read_info(cur)

    def read_info(self, cur: Any) -> CollectionInfo:
        """Settings and live count (inside the caller's transaction)."""
        count = int(cur.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0])
        spec = self._spec
        return CollectionInfo(
            name=spec.name,
            dim=spec.dim,
            metric=spec.metric.value,
            index=spec.kind,
            index_params=spec.index_params,
            model=spec.model,
            count=count,
            created=self._row.created,
        )

    def sequence(self) -> int:
        with self._tx() as cur:
            row = cur.execute(
                "SELECT seq FROM embedlab_collections WHERE id = %s", (self._spec.id,)
            ).fetchone()
            if row is None:
                raise CollectionNotFoundError(self.name, self._db.names())
            return int(row[0])

    def check_table(self, cur: Any) -> None:
        """The table exists and its vector column has the collection's dimension."""
        row = cur.execute(
            "SELECT a.atttypmod FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE c.relname = %s AND a.attname = 'vector'",
            (self.table,),
        ).fetchone()
        if row is None:
            raise StoreCorruptError(
                f"collection {self.name!r} has no table {self.table} on the server",
                path=self._db.url,
            )
        if int(row[0]) != self._spec.dim:
            raise DimensionMismatchError(
                f"collection {self.name!r} is recorded with {self._spec.dim} dimensions, but "
                f"its table {self.table} holds {int(row[0])}-dimensional vectors"
            )

    # -- writing ----------------------------------------------------------------------
    def add(self, batch: Batch) -> None:
        if not batch.ids:
            return
        with self._tx() as cur:
            self._next_seq(cur)
            existing = [
                r[0]
                for r in cur.execute(
                    f"SELECT id FROM {self.table} WHERE id = ANY(%s)", (batch.ids,)
                )
            ]
            if existing:
                order = {key: i for i, key in enumerate(batch.ids)}
                existing.sort(key=order.__getitem__)
                raise DuplicateIdError(
                    f"collection {self.name!r} already has {len(existing)} of these ids: "
                    f"{show_values(existing)}; upsert replaces them"
                )
            self._insert(cur, batch)

    def upsert(self, batch: Batch) -> None:
        if not batch.ids:
            return
        with self._tx() as cur:
            self._next_seq(cur)
            cur.execute(f"DELETE FROM {self.table} WHERE id = ANY(%s)", (batch.ids,))
            self._insert(cur, batch)

    def update(
        self,
        keys: list[str],
        *,
        vectors: npt.NDArray[Any] | None,
        patches: Patches | None,
        documents: list[str | None] | None,
    ) -> None:
        if not keys:
            return
        with self._tx() as cur:
            self._next_seq(cur)
            rows = cur.execute(
                f"SELECT id, vector::text, metadata, document FROM {self.table}"
                " WHERE id = ANY(%s) FOR UPDATE",
                (keys,),
            ).fetchall()
            stored = {r[0]: r for r in rows}
            missing = [key for key in keys if key not in stored]
            if missing:
                raise UnknownKeyError(missing[0], what=f"id in collection {self.name!r}")
            merged: list[Metadata] = []
            for i, key in enumerate(keys):
                meta: Metadata = dict(stored[key][2])
                if patches is not None:
                    removed, changes = patches[i]
                    meta = {k: v for k, v in meta.items() if k not in removed}
                    meta.update(changes)
                merged.append(check_metadata(meta))
            texts = (
                [stored[key][1] for key in keys]
                if vectors is None
                else [self._vector_text(v) for v in vectors]
            )
            docs = documents if documents is not None else [stored[key][3] for key in keys]
            cur.execute(f"DELETE FROM {self.table} WHERE id = ANY(%s)", (keys,))
            self._copy(cur, keys, texts, merged, docs)

    def delete(self, keys: list[str] | None, where: Where, where_document: DocumentFilter) -> int:
        params: list[Any] = []
        condition = self._condition(keys, where, where_document, params)
        with self._tx() as cur:
            self._next_seq(cur)
            cur.execute(f"DELETE FROM {self.table} AS t WHERE {condition}", params)
            deleted = int(cur.rowcount)
            if not deleted:  # nothing changed: the sequence number stays
                cur.execute(
                    "UPDATE embedlab_collections SET seq = seq - 1 WHERE id = %s",
                    (self._spec.id,),
                )
            return deleted

    # -- reading ----------------------------------------------------------------------
    def get(
        self,
        keys: list[str] | None,
        where: Where,
        where_document: DocumentFilter,
        *,
        offset: int,
        limit: int | None,
        include: frozenset[Include],
    ) -> GetResult:
        params: list[Any] = []
        columns = self._columns(include)
        if keys is not None:
            condition = self._condition(None, where, where_document, params)
            sql = (
                f"SELECT {columns} FROM unnest(%s::text[]) WITH ORDINALITY AS k(id, ord)"
                f" JOIN {self.table} t ON t.id = k.id WHERE {condition}"
                " ORDER BY k.ord OFFSET %s LIMIT %s"
            )
            params = [keys, *params, offset, limit]
        else:
            condition = self._condition(None, where, where_document, params)
            sql = (
                f"SELECT {columns} FROM {self.table} t WHERE {condition}"
                " ORDER BY t.label OFFSET %s LIMIT %s"
            )
            params = [*params, offset, limit]
        with self._tx() as cur:
            rows = cur.execute(sql, params).fetchall()
        return self._result(rows, include, GetResult)

    def query(
        self,
        queries: npt.NDArray[Any],
        k: int,
        where: Where,
        where_document: DocumentFilter,
        *,
        include: frozenset[Include],
        overrides: Mapping[str, int] | None,
        exact_threshold: int,
        max_distance: float | None,
    ) -> list[QueryResult]:
        params: list[Any] = []
        condition = self._condition(None, where, where_document, params)
        filtered = not where.is_all() or not where_document.is_all()
        columns = self._columns(include)
        out: list[QueryResult] = []
        with self._read() as cur:
            ef = plan(
                cur,
                self._db,
                self._spec,
                self.table,
                self._indexed,
                k,
                condition,
                params,
                filtered,
                overrides,
                exact_threshold,
            )
            for query in queries:
                text = self._vector_text(query)
                rows = nearest(
                    cur,
                    self._spec,
                    self.table,
                    columns,
                    condition,
                    params,
                    text,
                    k,
                    exact=ef is None,
                )
                if ef is not None and len(rows) < k:
                    # the index's candidates ran out (under a filter): answer exactly
                    rows = nearest(
                        cur, self._spec, self.table, columns, condition, params, text, k, exact=True
                    )
                    ef = None
                if not rows and self._empty(cur):
                    raise InvalidParameterError(
                        f"collection {self.name!r} is empty; add vectors before querying it"
                    )
                result = self._result(rows, include, QueryResult, distances=True)
                if max_distance is not None:
                    result = _within(result, max_distance)
                out.append(result)
        return out

    def _empty(self, cur: Any) -> bool:
        return bool(cur.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {self.table})").fetchone()[0])

    def keyword_query(
        self,
        terms: Sequence[str],
        k: int,
        where: Where,
        where_document: DocumentFilter,
        *,
        include: frozenset[Include],
    ) -> QueryResult:
        params: list[Any] = [" | ".join(f"'{term}'" for term in terms)]
        condition = self._condition(None, where, where_document, params)
        sql = (
            f"SELECT {self._columns(include)}, -ts_rank_cd(t.tsv, q) AS distance"
            f" FROM {self.table} t, to_tsquery('english', %s) q"
            f" WHERE t.tsv @@ q AND {condition} ORDER BY distance, t.label LIMIT %s"
        )
        with self._tx() as cur:
            rows = cur.execute(sql, [*params, k]).fetchall()
        return self._result(rows, include, QueryResult, distances=True)

    # -- maintenance ------------------------------------------------------------------
    def compact(self) -> int:
        """Deleted rows are gone at once in PostgreSQL; VACUUM gives their space back."""
        with self._db.lock:
            self._db.check_open()
            self._db.conn.execute(f"VACUUM (ANALYZE) {self.table}")
        return 0

    def rebuild_index(self) -> None:
        ops = OPS.get(self._spec.metric)
        with self._tx() as cur:
            if self._spec.kind == "ivf" and ops is not None:
                lists = int(self._spec.params["nlist"])
                cur.execute(f"DROP INDEX IF EXISTS {self.table}_ann")
                cur.execute(
                    f"CREATE INDEX {self.table}_ann ON {self.table} USING ivfflat"
                    f" (vector {ops}) WITH (lists = {lists})"
                )
            else:
                cur.execute(f"REINDEX TABLE {self.table}")
        self._index_known = None

    def verify(self) -> VerifyReport:
        with self._tx() as cur:
            problems: list[str] = []
            try:
                self.check_table(cur)
            except (StoreCorruptError, DimensionMismatchError) as exc:
                problems.append(str(exc))
            rows = int(cur.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0])
            indexed = self._has_index(cur)
        return VerifyReport(
            collection=self.name,
            rows=rows,
            deleted_pending=0,
            index_vectors=rows if indexed else 0,
            index_file="kept by the server" if indexed else "none (exact scans)",
            problems=tuple(problems),
        )

    def save_index(self) -> None:
        """The server keeps its indexes current with every write."""
        self.count()

    def wait_for_index(self) -> None:
        """Nothing waits (each write indexed its rows); refresh the planner's statistics."""
        with self._tx() as cur:
            cur.execute(f"ANALYZE {self.table}")

    # -- internals --------------------------------------------------------------------
    def _tx(self) -> Any:
        """A write (or consistent read) transaction, with server errors typed."""
        self._db.check_open()
        return _Guarded(self, self._db.transaction)

    def _read(self) -> Any:
        """A cursor outside a transaction, with server errors typed."""
        self._db.check_open()
        return _Guarded(self, self._db.reading)

    def _next_seq(self, cur: Any) -> int:
        """Take the next sequence number (this locks the collection's row until commit)."""
        row = cur.execute(
            "UPDATE embedlab_collections SET seq = seq + 1 WHERE id = %s RETURNING seq",
            (self._spec.id,),
        ).fetchone()
        if row is None:
            raise CollectionNotFoundError(self.name, self._names(cur))
        return int(row[0])

    @staticmethod
    def _names(cur: Any) -> list[str]:
        return [r[0] for r in cur.execute("SELECT name FROM embedlab_collections ORDER BY name")]

    def _insert(self, cur: Any, batch: Batch) -> None:
        texts = [self._vector_text(v) for v in batch.vectors]
        self._copy(cur, batch.ids, texts, batch.metadata, batch.documents)

    def _copy(
        self,
        cur: Any,
        keys: Sequence[str],
        texts: Sequence[str],
        metadata: Sequence[Metadata],
        documents: Sequence[str | None],
    ) -> None:
        with cur.copy(f"COPY {self.table} (id, vector, metadata, document) FROM STDIN") as copy:
            for row in zip(keys, texts, map(metadata_to_json, metadata), documents, strict=True):
                copy.write_row(row)

    def _vector_text(self, vector: npt.NDArray[Any]) -> str:
        """pgvector's text form of one stored-form vector (packed bits for hamming)."""
        if self._spec.binary:
            bits = np.unpackbits(np.asarray(vector, dtype=np.uint8))[: self._spec.dim]
            return (bits + 48).astype(np.uint8).tobytes().decode()
        return "[" + ",".join(map(repr, vector.tolist())) + "]"

    def _condition(
        self,
        keys: list[str] | None,
        where: Where,
        where_document: DocumentFilter,
        params: list[Any],
    ) -> str:
        parts = []
        if keys is not None:
            parts.append("t.id = ANY(%s)")
            params.append(keys)
        if not where.is_all():
            parts.append(where_sql(where, params, "t.metadata"))
        if not where_document.is_all():
            parts.append(document_sql(where_document, params, "t.document"))
        return " AND ".join(parts) if parts else "true"

    def _columns(self, include: frozenset[Include]) -> str:
        columns = ["t.id"]
        columns.append("t.metadata" if Include.METADATA in include else "NULL")
        columns.append("t.document" if Include.DOCUMENTS in include else "NULL")
        columns.append("t.vector::text" if Include.VECTORS in include else "NULL")
        return ", ".join(columns)

    def _indexed(self, cur: Any) -> bool:
        """Whether the vector index exists (looked up once per collection object, and again
        after rebuild_index)."""
        if self._index_known is None:
            self._index_known = self._has_index(cur)
        return self._index_known

    def _has_index(self, cur: Any) -> bool:
        row = cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{self.table}_ann",)).fetchone()
        return bool(row[0])

    def _result(
        self,
        rows: Sequence[Sequence[Any]],
        include: frozenset[Include],
        kind: type[R],
        *,
        distances: bool = False,
    ) -> R:
        fields: dict[str, Any] = {"ids": tuple(r[0] for r in rows)}
        if Include.METADATA in include:
            fields["metadata"] = tuple(dict(r[1]) for r in rows)
        if Include.DOCUMENTS in include:
            fields["documents"] = tuple(r[2] for r in rows)
        if Include.VECTORS in include:
            fields["vectors"] = self._parse_vectors([r[3] for r in rows])
        if distances:
            fields["distances"] = np.array([r[4] for r in rows], dtype=np.float32)
        return kind._make(**fields)

    def _parse_vectors(self, texts: list[str]) -> npt.NDArray[Any]:
        spec = self._spec
        if spec.binary:
            if not texts:
                return np.zeros((0, spec.dim), dtype=np.uint8)
            data = np.frombuffer("".join(texts).encode(), dtype=np.uint8) - 48
            return data.reshape(len(texts), spec.dim).astype(np.uint8)
        if not texts:
            return np.zeros((0, spec.dim), dtype=np.float32)
        joined = ",".join(text[1:-1] for text in texts)
        return np.array(joined.split(","), dtype=np.float32).reshape(len(texts), spec.dim)


class _Guarded:
    """A transaction or cursor of the collection's database whose server errors that
    name a caller's mistake come out typed (a dropped collection, a refused value)."""

    def __init__(self, collection: PostgresCollection, opener: Callable[[], Any]) -> None:
        self._collection = collection
        self._opener = opener
        self._inner: Any = None

    def __enter__(self) -> Any:
        self._inner = self._opener()
        return self._inner.__enter__()

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        try:
            suppressed = bool(self._inner.__exit__(kind, exc, tb))
        except Exception as raised:  # a new error from the commit or the rollback
            self._translate(raised)
            raise
        if exc is not None and not suppressed:
            self._translate(exc)
        return suppressed

    def _translate(self, exc: BaseException) -> None:
        """Raise the typed error for a server error that names a caller's mistake."""
        import psycopg

        if isinstance(exc, psycopg.errors.UndefinedTable):
            raise CollectionNotFoundError(
                self._collection.name, self._collection._db.names()
            ) from None
        if isinstance(exc, psycopg.DataError):
            raise InvalidParameterError(
                f"PostgreSQL refused a value of this write: {str(exc).splitlines()[0]}"
            ) from None


def _within(result: QueryResult, max_distance: float) -> QueryResult:
    keep = np.flatnonzero(result.distances <= max_distance)
    if len(keep) == len(result.distances):
        return result
    fields: dict[str, Any] = {
        "ids": tuple(result.ids[i] for i in keep),
        "distances": result.distances[keep],
    }
    if result.metadata is not None:
        fields["metadata"] = tuple(result.metadata[i] for i in keep)
    if result.documents is not None:
        fields["documents"] = tuple(result.documents[i] for i in keep)
    if result.vectors is not None:
        fields["vectors"] = result.vectors[keep]
    return QueryResult._make(**fields)
