"""``Client``: the embedded :class:`~embedlab.store.Database` interface, over HTTP.

Code moves from embedded to served by changing one line::

    db = embedlab.Database("my.db")                         # in-process
    db = embedlab.Client("http://127.0.0.1:8000", api_key=KEY)   # through `embedlab serve`

``create_collection`` / ``get_collection`` / ``list_collections`` / ``delete_collection``
and each collection's ``add`` / ``upsert`` / ``update`` / ``delete`` / ``get`` /
``query`` / ``keyword_query`` take the same arguments and return the same result types;
a refused call raises the same error class with the same message (the server sends the
class name). Only httpx2 is needed (what the ``openai`` package uses), not the server
extra.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import numpy as np
import numpy.typing as npt

from embedlab import errors as library_errors
from embedlab.errors import (
    EmbedlabError,
    MissingDependencyError,
    UnknownKeyError,
    UnsupportedOptionError,
)
from embedlab.search import SearchHit
from embedlab.server import errors as server_errors
from embedlab.store.metadata import check_metadata
from embedlab.store.results import CollectionInfo, GetResult, QueryResult, VerifyReport

__all__ = ["Client", "RemoteCollection"]

_DEFAULT_INCLUDE = ("metadata", "documents")


class Client:
    """A database served by ``embedlab serve``, used as if it were embedded.

    Example:
        >>> import embedlab
        >>> db = embedlab.Client("http://127.0.0.1:8000", api_key="...")  # doctest: +SKIP
        >>> col = db.create_collection("docs", dim=3, index="flat")  # doctest: +SKIP
        >>> col.add(["a"], [[1.0, 0.0, 0.0]])  # doctest: +SKIP
        >>> col.query([1.0, 0.0, 0.0], k=1).ids  # doctest: +SKIP
        ('a',)
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        try:
            import httpx2
        except ImportError as exc:  # pragma: no cover - installed with the server extra
            raise MissingDependencyError(
                "embedlab.Client needs httpx2: pip install 'embedlab[server]'"
            ) from exc
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx2.Client(base_url=self.url, headers=headers, timeout=timeout)

    # -- transport --------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, **options: Any) -> Any:
        """One call; an error answer raises the library's error class with its message."""
        if body is not None:
            options["content"] = json.dumps(body, default=_plain).encode()
            options["headers"] = {"Content-Type": "application/json"}
        response = self._http.request(method, path, **options)
        try:
            document = response.json()
        except ValueError:
            document = None
        if response.status_code >= 400:
            raise _error(response.status_code, document)
        return document

    # -- collections ------------------------------------------------------------------
    def create_collection(
        self,
        name: str,
        *,
        dim: int,
        metric: str = "cosine",
        index: str = "hnsw",
        index_params: Mapping[str, int] | None = None,
        model: str | None = None,
    ) -> RemoteCollection:
        """As :meth:`Database.create_collection`."""
        return self._create(name, dim, metric, index, index_params, model, get_or_create=False)

    def get_or_create_collection(
        self,
        name: str,
        *,
        dim: int,
        metric: str = "cosine",
        index: str = "hnsw",
        index_params: Mapping[str, int] | None = None,
        model: str | None = None,
    ) -> RemoteCollection:
        """As :meth:`Database.get_or_create_collection`."""
        return self._create(name, dim, metric, index, index_params, model, get_or_create=True)

    def get_collection(self, name: str) -> RemoteCollection:
        """As :meth:`Database.get_collection`."""
        return RemoteCollection(self, _info(self.request("GET", _path(name))))

    def list_collections(self) -> list[CollectionInfo]:
        """As :meth:`Database.list_collections`."""
        document = self.request("GET", "/v1/collections")
        return [_info(item) for item in document["collections"]]

    def delete_collection(self, name: str) -> None:
        """As :meth:`Database.delete_collection`."""
        self.request("DELETE", _path(name))

    def rename_collection(self, name: str, new_name: str) -> None:
        """As :meth:`Database.rename_collection`."""
        self.request("POST", _path(name) + "/rename", {"name": new_name})

    # -- beyond the store -------------------------------------------------------------
    def embed(self, texts: Sequence[str], *, model: str | None = None) -> npt.NDArray[np.float32]:
        """Unit vectors of texts from the server's ``/v1/embeddings`` (base64, exact)."""
        body: dict[str, Any] = {"input": list(texts), "encoding_format": "base64"}
        if model is not None:
            body["model"] = model
        document = self.request("POST", "/v1/embeddings", body)
        rows = sorted(document["data"], key=lambda item: item["index"])
        decoded = [np.frombuffer(base64.b64decode(r["embedding"]), dtype="<f4") for r in rows]
        return np.stack(decoded).astype(np.float32) if decoded else np.zeros((0, 0), np.float32)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def _create(
        self,
        name: str,
        dim: int,
        metric: str,
        index: str,
        index_params: Mapping[str, int] | None,
        model: str | None,
        *,
        get_or_create: bool,
    ) -> RemoteCollection:
        body = {
            "name": name,
            "dim": dim,
            "metric": metric,
            "index": index,
            "index_params": index_params,
            "model": model,
            "get_or_create": get_or_create,
        }
        return RemoteCollection(self, _info(self.request("POST", "/v1/collections", body)))


class RemoteCollection:
    """A served collection with :class:`~embedlab.store.Collection`'s interface."""

    def __init__(self, client: Client, info: CollectionInfo) -> None:
        self._client = client
        self._info = info

    name = property(lambda self: self._info.name)
    dim = property(lambda self: self._info.dim)
    metric = property(lambda self: self._info.metric)
    index = property(lambda self: self._info.index)
    index_params = property(lambda self: dict(self._info.index_params))
    model = property(lambda self: self._info.model)

    def __repr__(self) -> str:
        return (
            f"RemoteCollection({self.name!r}, dim={self.dim}, metric={self.metric!r}, "
            f"index={self.index!r}, model={self.model!r})"
        )

    def __len__(self) -> int:
        return self.count()

    def count(self) -> int:
        """Live rows."""
        return self.info().count

    def info(self) -> CollectionInfo:
        """Settings and size."""
        self._info = _info(self._client.request("GET", _path(self.name)))
        return self._info

    def add(
        self,
        ids: Sequence[str],
        vectors: npt.ArrayLike | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        documents: Sequence[str | None] | None = None,
        *,
        model: str | None = None,
    ) -> None:
        """As :meth:`Collection.add`; without vectors the server embeds the documents."""
        self._call(
            "add", ids=ids, vectors=vectors, metadata=metadata, documents=documents, model=model
        )

    def upsert(
        self,
        ids: Sequence[str],
        vectors: npt.ArrayLike | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        documents: Sequence[str | None] | None = None,
        *,
        model: str | None = None,
    ) -> None:
        """As :meth:`Collection.upsert`."""
        self._call(
            "upsert", ids=ids, vectors=vectors, metadata=metadata, documents=documents, model=model
        )

    def update(
        self,
        ids: Sequence[str],
        *,
        vectors: npt.ArrayLike | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        documents: Sequence[str | None] | None = None,
        model: str | None = None,
    ) -> None:
        """As :meth:`Collection.update`."""
        self._call(
            "update", ids=ids, vectors=vectors, metadata=metadata, documents=documents, model=model
        )

    def delete(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
    ) -> int:
        """As :meth:`Collection.delete`."""
        document = self._call("delete", ids=ids, where=where, where_document=where_document)
        return int(document["deleted"])

    def get(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
        include: Iterable[str] | str = _DEFAULT_INCLUDE,
    ) -> GetResult:
        """As :meth:`Collection.get`."""
        document = self._call(
            "get",
            ids=ids,
            where=where,
            where_document=where_document,
            limit=limit,
            offset=offset,
            include=_listed(include),
        )
        result: GetResult = self._result(document, GetResult)
        return result

    def query(self, queries: npt.ArrayLike, k: int = 10, **options: Any) -> Any:
        """As :meth:`Collection.query`: one result for one vector, a list for a matrix."""
        if "include" in options:
            options["include"] = _listed(options["include"])
        document = self._call("query", queries=queries, k=k, **options)
        if "results" in document:
            return [self._result(item, QueryResult) for item in document["results"]]
        return self._result(document["result"], QueryResult)

    def query_texts(self, texts: Sequence[str], k: int = 10, **options: Any) -> list[QueryResult]:
        """Query with texts, embedded by the server with the collection's model."""
        if "include" in options:
            options["include"] = _listed(options["include"])
        document = self._call("query", texts=list(texts), k=k, **options)
        return [self._result(item, QueryResult) for item in document["results"]]

    def keyword_query(
        self,
        text: str,
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        include: Iterable[str] | str = _DEFAULT_INCLUDE,
    ) -> QueryResult:
        """As :meth:`Collection.keyword_query`."""
        document = self._call(
            "keyword",
            text=text,
            k=k,
            where=where,
            where_document=where_document,
            include=_listed(include),
        )
        result: QueryResult = self._result(document["result"], QueryResult)
        return result

    def search(self, query: str, **options: Any) -> list[SearchHit]:
        """As :func:`embedlab.search.search` on this collection (the server embeds)."""
        document = self._call("search", query=query, **options)
        return [
            SearchHit(
                id=hit["id"],
                score=hit["score"],
                document=hit["document"],
                metadata=hit["metadata"],
                vector_rank=hit["vector_rank"],
                keyword_rank=hit["keyword_rank"],
            )
            for hit in document["hits"]
        ]

    def ingest(self, paths: Iterable[str | os.PathLike[str]], **form: Any) -> dict[str, Any]:
        """Upload files to be chunked, embedded and stored; the server's ingest report."""
        files = [("files", (Path(p).name, Path(p).read_bytes())) for p in paths]
        data = {key: str(value) for key, value in form.items()}
        answer: dict[str, Any] = self._client.request(
            "POST", _path(self.name) + "/ingest", files=files, data=data
        )
        return answer

    def modify(
        self, name: str | None = None, metadata: Mapping[str, Any] | None = None, **options: Any
    ) -> None:
        """As :meth:`Collection.modify` (Chroma's form): ``name=`` renames it on the server."""
        if metadata or any(value is not None for value in options.values()):
            raise UnsupportedOptionError(
                "modify(): only name= is supported; embedlab collections have no metadata "
                "of their own"
            )
        if name is not None and name != self.name:
            info = self._client.request("POST", _path(self.name) + "/rename", {"name": name})
            self._info = _info(info)

    def compact(self) -> int:
        """As :meth:`Collection.compact`."""
        return int(self._call("compact")["purged"])

    def verify(self) -> VerifyReport:
        """As :meth:`Collection.verify` (the server's files are checked, not local ones)."""
        answer = self._call("verify")
        fields = {f.name: answer[f.name] for f in dataclasses.fields(VerifyReport)}
        return VerifyReport(**{**fields, "problems": tuple(fields["problems"])})

    def rebuild_index(self) -> None:
        """As :meth:`Collection.rebuild_index`."""
        self._call("rebuild-index")

    def save_index(self) -> None:
        """As :meth:`Collection.save_index`."""
        self._call("save-index")

    def wait_for_index(self) -> None:
        """As :meth:`Collection.wait_for_index` (the server waits; mind the timeout)."""
        self._call("wait-for-index")

    def _call(self, action: str, **body: Any) -> Any:
        if isinstance(body.get("metadata"), Sequence):
            _check_sendable(body["metadata"])
        return self._client.request("POST", f"{_path(self.name)}/{action}", body)

    def _result(self, document: dict[str, Any], kind: type[Any]) -> Any:
        fields: dict[str, Any] = {"ids": tuple(document["ids"])}
        if "metadata" in document:
            fields["metadata"] = tuple(document["metadata"])
        if "documents" in document:
            fields["documents"] = tuple(document["documents"])
        if "vectors" in document:
            hamming = self.metric == "hamming"
            dtype = np.uint8 if hamming else np.float32
            fields["vectors"] = np.asarray(document["vectors"], dtype=dtype).reshape(-1, self.dim)
        if kind is QueryResult:
            fields["distances"] = np.asarray(document.get("distances", []), dtype=np.float32)
        return kind._make(**fields)


def _path(name: object) -> str:
    return "/v1/collections/" + quote(str(name), safe="")


def _listed(include: Iterable[str] | str) -> Any:
    return include if isinstance(include, str) else list(include)


def _info(document: Mapping[str, Any]) -> CollectionInfo:
    return CollectionInfo(**{key: document[key] for key in CollectionInfo.__dataclass_fields__})


def _plain(value: Any) -> Any:
    """JSON for numpy values (arrays as nested lists, NaN kept for the server to refuse)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot send a {type(value).__name__} to the server")


def _check_sendable(metadata: Sequence[Any]) -> None:
    """Metadata that JSON cannot carry as it is (sets, non-str keys) is checked here, by
    the library's own rule, so it is refused with the message an embedded call gives."""
    for i, meta in enumerate(metadata):
        if isinstance(meta, Mapping) and not _json_faithful(meta):
            check_metadata({k: v for k, v in meta.items() if v is not None}, where=f"metadata[{i}]")


def _json_faithful(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _json_faithful(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_faithful(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool | np.generic)


def _error(status: int, document: Any) -> EmbedlabError:
    """The library error an error answer names (the same class, the same message)."""
    detail = document.get("error", {}) if isinstance(document, dict) else {}
    kind = str(detail.get("type", ""))
    message = str(detail.get("message", f"HTTP {status}"))
    cls = getattr(library_errors, kind, None) or getattr(server_errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, EmbedlabError)):
        if status == 404:
            cls = UnknownKeyError
        elif status == 422 or 400 <= status < 500:
            cls = library_errors.InvalidParameterError
        else:
            return server_errors.ServerError(message, status=status)
    error: EmbedlabError = cls.__new__(cls)
    Exception.__init__(error, message)
    if isinstance(error, UnknownKeyError):
        error.message, error.key, error.suggestions = message, "", ()
    for attribute in ("path", "line", "status"):
        setattr(error, attribute, status if attribute == "status" else None)
    if isinstance(error, library_errors.RemoteEncoderError):
        error.attempts = 1
    return error
