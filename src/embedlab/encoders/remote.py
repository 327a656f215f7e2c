"""RemoteEncoder: any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

Requests go through one pooled ``httpx2`` client (kept-alive connections; the client the
``openai`` package uses, from the ``server`` extra), or ``urllib.request`` when httpx2 is
not installed. Texts go out in batches of ``batch_size``, up to ``max_concurrency``
batches at once; each request is retried with jittered exponential backoff (``backoff *
2**n`` seconds times a random factor in [0.5, 1.5), so that clients refused together do
not retry together; or the server's ``Retry-After`` when it sends one) on HTTP 408, 429 and 5xx, on
a connection that fails or times out, and on a response body that is not the expected
JSON. Other HTTP 4xx answers (a bad key, an unknown model) fail at once. The API key is
read from an environment variable and sent as ``Authorization: Bearer ...``; it never
appears in a message or a repr.

Errors::

    RemoteEncoderError(EmbedlabError, RuntimeError)   the endpoint failed: down, timed out,
                                                      an HTTP error, or a malformed answer
    InvalidParameterError(ValueError)                 a bad argument (checked before sending)

Empty or blank texts are not sent (the OpenAI API rejects them): they get the zero
vector, as with the static encoder. Answers are asked for as base64 (little-endian float32,
a third of the JSON float size; ``encoding_format="float"`` asks for lists, and either form
is read), ``dimensions=N`` asks a model that can shorten its vectors (text-embedding-3) for
N of them, and :attr:`RemoteEncoder.usage` adds up the tokens the server reports.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import math
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_float, check_int
from embedlab.encoders.base import check_texts
from embedlab.errors import InvalidParameterError, RemoteEncoderError
from embedlab.metrics import normalize as unit_rows

__all__ = ["DEFAULT_BASE_URL", "RemoteEncoder", "RemoteEncoderError"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_RETRY_STATUS = frozenset({408, 429})
_MAX_RETRY_AFTER = 60.0
_MESSAGE_CHARS = 300
_KNOWN_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
"""Dimensions of OpenAI's models, so that reading ``dim`` sends no probe for them."""


class _Retryable(Exception):
    """One failed attempt that a later attempt may fix."""

    def __init__(self, reason: str, *, status: int | None = None, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait


class RemoteEncoder:
    """Encode texts with an OpenAI-compatible embeddings endpoint.

    ``dim`` may be given (OpenAI's own models are known); otherwise it is learned from the
    first answer, and reading :attr:`dim` before any encoding sends one short request
    (so does ``isinstance(enc, Encoder)`` on Python 3.11, which reads every protocol
    member). A known ``dim`` is checked against every answer, but not sent to the server.

    Example:
        >>> enc = RemoteEncoder("http://localhost:8080/v1", "bge-small", api_key_env=None)
        >>> enc.encode(["a query", "a passage"]).shape  # doctest: +SKIP
        (2, 384)
    """

    max_tokens: int | None = None
    """Unknown: the server enforces its own input limit."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        batch_size: int = 64,
        timeout: float = 30,
        max_retries: int = 5,
        backoff: float = 0.5,
        dim: int | None = None,
        name: str | None = None,
        dimensions: int | None = None,
        encoding_format: str = "base64",
        max_concurrency: int = 4,
    ) -> None:
        _check_url(base_url)
        if not isinstance(model, str) or not model:
            raise InvalidParameterError(
                f"The 'model' parameter must be a non-empty str. Got {model!r}."
            )
        if api_key_env is not None and (not isinstance(api_key_env, str) or not api_key_env):
            raise InvalidParameterError(
                "The 'api_key_env' parameter must name an environment variable, or be None. "
                f"Got {api_key_env!r}."
            )
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/embeddings"
        self.model = model
        self.api_key_env = api_key_env
        self.batch_size = check_int("batch_size", batch_size)
        self.timeout = check_float("timeout", timeout, inclusive_min=False)
        self.max_retries = check_int("max_retries", max_retries, minimum=0)
        self.backoff = check_float("backoff", backoff)
        self.dimensions = None if dimensions is None else check_int("dimensions", dimensions)
        if encoding_format not in ("base64", "float"):
            raise InvalidParameterError(
                f"The 'encoding_format' parameter must be 'base64' or 'float'. "
                f"Got {encoding_format!r}."
            )
        self.encoding_format = encoding_format
        self.max_concurrency = check_int("max_concurrency", max_concurrency)
        known = self.dimensions or _KNOWN_DIMS.get(model)
        self._dim = known if dim is None else check_int("dim", dim)
        if self.dimensions is not None and self._dim != self.dimensions:
            raise InvalidParameterError(
                f"dim={dim} and dimensions={dimensions} disagree; give one of them"
            )
        default_name = f"remote:{model}@{self.base_url}"
        if self.dimensions is not None:
            default_name += f"#{self.dimensions}"  # shortened vectors are another model
        self.name: str = name if name is not None else default_name
        self.requests_sent = 0
        """How many HTTP requests this encoder has made (retries included)."""
        self.usage = {"prompt_tokens": 0, "total_tokens": 0}
        """Tokens the server reported (OpenAI's ``usage``), summed over every answer."""
        self._lock = threading.Lock()
        self._client: Any = None
        self._jitter = random.Random()

    @classmethod
    def from_spec(cls, spec: str, *, require_url: bool = False, **options: Any) -> RemoteEncoder:
        """Build an encoder from ``MODEL`` or ``MODEL@URL`` plus keyword options.

        The base URL is, in order: the ``base_url`` option, the URL in the spec, the
        ``OPENAI_BASE_URL`` environment variable, then ``https://api.openai.com/v1``.
        The other options are the constructor's keyword arguments.

        Example:
            >>> enc = RemoteEncoder.from_spec("bge-small@http://localhost:8080/v1", dim=384)
            >>> enc.model, enc.url, enc.dim
            ('bge-small', 'http://localhost:8080/v1/embeddings', 384)
        """
        if not isinstance(spec, str) or not spec.strip():
            raise InvalidParameterError(
                f"A remote model spec must be 'MODEL' or 'MODEL@URL'. Got {spec!r}."
            )
        model, url = spec.strip(), None
        for scheme in ("@http://", "@https://"):
            at = model.find(scheme)
            if at > 0:
                model, url = model[:at], model[at + 1 :]
                break
        else:
            if "@" in model:
                rest = model.partition("@")[2]
                raise InvalidParameterError(
                    f"A remote model spec is 'MODEL' or 'MODEL@URL' with an http:// or "
                    f"https:// URL; got {rest!r} after the '@' in {spec!r}."
                )
        base_url = options.pop("base_url", None) or url or os.environ.get("OPENAI_BASE_URL")
        if require_url and not base_url:
            raise InvalidParameterError(
                f"'remote:{spec}' names no endpoint: use remote:MODEL@URL (for example "
                "remote:bge-small@http://localhost:8080/v1), the base_url option or "
                "OPENAI_BASE_URL; for OpenAI itself use openai:MODEL"
            )
        valid = {"api_key_env", "batch_size", "timeout", "max_retries", "backoff", "dim", "name"}
        valid |= {"dimensions", "encoding_format", "max_concurrency"}
        unknown = sorted(set(options) - valid)
        if unknown:
            raise InvalidParameterError(
                f"unknown option(s) {', '.join(map(repr, unknown))} for a remote encoder; "
                f"valid options are base_url, {', '.join(sorted(valid))}"
            )
        return cls(base_url or DEFAULT_BASE_URL, model, **options)

    @property
    def dim(self) -> int:
        """Number of dimensions (asks the server once when it was not given)."""
        if self._dim is None:
            self._request(["dimension probe"])
        if self._dim is None:  # pragma: no cover - _request sets it or raises
            raise RemoteEncoderError(f"{self.url} did not report a dimension")
        return self._dim

    def __repr__(self) -> str:
        return f"RemoteEncoder({self.base_url!r}, {self.model!r}, dim={self._dim})"

    def close(self) -> None:
        """Close the pooled HTTP connections (a later request opens new ones)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def encode(
        self,
        texts: Sequence[str] | str,
        *,
        batch_size: int | None = None,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
    ) -> npt.NDArray[np.float32]:
        """Encode texts as a float32 (n, dim) matrix, ``batch_size`` texts a request.

        ``batch_size`` defaults to the encoder's own; ``prompt`` is prepended to each text.
        A text that is empty or blank (prompt included) is not sent and gets the zero
        vector.

        Example:
            >>> enc = RemoteEncoder("http://localhost:8080/v1", "bge-small")
            >>> enc.encode(["hello"], normalize=True).dtype  # doctest: +SKIP
            dtype('float32')
        """
        single = isinstance(texts, str)
        items = check_texts([texts] if single else texts)
        step = self.batch_size if batch_size is None else check_int("batch_size", batch_size)
        if prompt is not None:
            if not isinstance(prompt, str):
                raise InvalidParameterError(
                    f"The 'prompt' parameter must be a str or None. Got {prompt!r}."
                )
            items = [prompt + text for text in items]
        sent = [i for i, text in enumerate(items) if text.strip()]
        spans = [(a, min(a + step, len(sent))) for a in range(0, len(sent), step)]
        workers = min(self.max_concurrency, len(spans))
        if workers > 1 and self._dim is None:  # learn the width once, then fan out
            first = self._request([items[i] for i in sent[spans[0][0] : spans[0][1]]])
            parts = [first, *self._batches(items, sent, spans[1:], workers, show_progress)]
        else:
            parts = self._batches(items, sent, spans, workers, show_progress)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        if parts:
            out[sent] = np.concatenate(parts, axis=0)
        if normalize and len(out):
            out = unit_rows(out)
        return out[0] if single else out

    def _batches(
        self,
        items: list[str],
        sent: list[int],
        spans: list[tuple[int, int]],
        workers: int,
        show_progress: bool,
    ) -> list[np.ndarray]:
        """The answers to each span of the texts to send, in order, up to workers at once."""
        batches = [[items[i] for i in sent[a:b]] for a, b in spans]
        if workers <= 1:
            return [self._request(batch) for batch in _shown(batches, show_progress)]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embedlab-remote") as pool:
            futures = [pool.submit(self._request, batch) for batch in batches]
            try:
                return [future.result() for future in _shown(futures, show_progress)]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    # -- one batch, with retries --------------------------------------------------------
    def _request(self, batch: list[str]) -> np.ndarray:
        """Send one batch, retrying what may pass; the (len(batch), dim) float32 answer."""
        key_env = self.api_key_env
        if key_env is not None and _needs_key(self.url) and not os.environ.get(key_env, "").strip():
            raise RemoteEncoderError(  # before any request: retries could not help
                f"{self.base_url} needs an API key, but the environment variable {key_env} "
                "is not set; export it (or name another with api_key_env=...)",
                attempts=0,
            )
        request: dict[str, Any] = {"model": self.model, "input": batch}
        request["encoding_format"] = self.encoding_format
        if self.dimensions is not None:
            request["dimensions"] = self.dimensions
        body = json.dumps(request).encode("utf-8")
        attempts = 0
        while True:
            attempts += 1
            with self._lock:
                self.requests_sent += 1
            try:
                return self._parse(self._post(body), len(batch))
            except _Retryable as failure:
                if attempts > self.max_retries:
                    raise RemoteEncoderError(
                        f"POST {self.url} failed after {attempts} attempt(s): {failure.reason}",
                        status=failure.status,
                        attempts=attempts,
                    ) from None
                delay = self.backoff * 2 ** (attempts - 1) * (0.5 + self._jitter.random())
                if failure.wait is not None:
                    delay = max(delay, failure.wait)
                time.sleep(delay)
            except RemoteEncoderError as error:
                error.attempts = attempts
                raise

    def _post(self, body: bytes) -> bytes:
        """The raw body of a 2xx answer; _Retryable or RemoteEncoderError otherwise."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        client = self._pooled()
        if client is not None:
            return self._post_pooled(client, body, headers)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as error:
            status = error.code
            detail = _error_detail(error)
            if status in _RETRY_STATUS or 500 <= status < 600:
                wait = _retry_after(error.headers.get("Retry-After"))
                raise _Retryable(f"HTTP {status}{detail}", status=status, wait=wait) from None
            raise RemoteEncoderError(
                f"POST {self.url} was refused with HTTP {status}{detail}"
                + (_hint(status, self.api_key_env)),
                status=status,
            ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            # refused, reset, DNS, a timeout, or an answer cut short
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            if isinstance(reason, TimeoutError):
                raise _Retryable(f"no answer within {self.timeout:g} s") from None
            raise _Retryable(f"cannot connect ({reason})") from None

    def _count_usage(self, usage: object) -> None:
        """Add a response's ``usage`` token counts to :attr:`usage`."""
        if not isinstance(usage, Mapping):
            return
        with self._lock:
            for key in ("prompt_tokens", "total_tokens"):
                value = usage.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    self.usage[key] += value

    def _pooled(self) -> Any:
        """The shared httpx2 client (made once), or None without httpx2."""
        if self._client is None:
            try:
                import httpx2
            except ImportError:
                return None
            with self._lock:
                if self._client is None:
                    limits = httpx2.Limits(max_connections=max(self.max_concurrency, 1))
                    self._client = httpx2.Client(timeout=self.timeout, limits=limits)
        return self._client

    def _post_pooled(self, client: Any, body: bytes, headers: dict[str, str]) -> bytes:
        """_post over the pooled client: the same retry and refusal rules."""
        import httpx2

        try:
            response = client.post(self.url, content=body, headers=headers)
        except httpx2.TimeoutException:
            raise _Retryable(f"no answer within {self.timeout:g} s") from None
        except (httpx2.TransportError, OSError) as error:
            raise _Retryable(f"cannot connect ({error})") from None
        status = response.status_code
        if 200 <= status < 300:
            data: bytes = response.content
            return data
        detail = _detail_text(response.content)
        if status in _RETRY_STATUS or 500 <= status < 600:
            wait = _retry_after(response.headers.get("Retry-After"))
            raise _Retryable(f"HTTP {status}{detail}", status=status, wait=wait)
        raise RemoteEncoderError(
            f"POST {self.url} was refused with HTTP {status}{detail}"
            + (_hint(status, self.api_key_env)),
            status=status,
        )

    def _parse(self, raw: bytes, n: int) -> np.ndarray:
        """The embeddings of a response body, in input order; _Retryable when malformed."""
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            preview = raw[:80].decode("utf-8", "replace")
            raise _Retryable(f"the answer is not JSON ({error}); it starts {preview!r}") from None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise _Retryable("the answer has no 'data' list")
        if len(data) != n:
            raise _Retryable(f"sent {n} texts but the answer holds {len(data)} embeddings")
        rows: list[Any] = [None] * n
        for position, item in enumerate(data):
            if isinstance(item, dict) and isinstance(item.get("embedding"), str):
                item = dict(item, embedding=_from_base64(item["embedding"], position))
            if not isinstance(item, dict) or not isinstance(
                item.get("embedding"), list | np.ndarray
            ):
                raise _Retryable(f"data[{position}] has no 'embedding' list")
            index = item.get("index", position)
            if not isinstance(index, int) or not 0 <= index < n or rows[index] is not None:
                raise _Retryable(f"data[{position}] has a bad or repeated index {index!r}")
            rows[index] = item["embedding"]
        lengths = {len(row) for row in rows}
        if len(lengths) != 1 or 0 in lengths:
            raise _Retryable(f"embeddings of different or zero lengths {sorted(lengths)}")
        try:
            matrix = np.asarray(rows, dtype=np.float32)
        except (TypeError, ValueError):
            raise _Retryable("an embedding holds something other than numbers") from None
        if not np.all(np.isfinite(matrix)):
            raise _Retryable("an embedding holds NaN or infinity")
        dim = matrix.shape[1]
        self._count_usage(payload.get("usage"))
        if self._dim is None:
            self._dim = dim
        elif dim != self._dim:
            raise RemoteEncoderError(
                f"{self.url} returned {dim}-dimensional embeddings for model {self.model!r}; "
                f"expected {self._dim}"
            )
        return matrix


def _shown(items: list[Any], show: bool) -> Iterator[Any]:
    """items, drawn as a rich progress bar (advancing as each is consumed) when show is set."""
    if not show:
        return iter(items)
    from rich.progress import track

    from embedlab._progress import stderr_console

    return iter(track(items, description="encoding (remote)", console=stderr_console()))


def _from_base64(text: str, position: int) -> np.ndarray:
    """A base64 embedding (little-endian float32 bytes) as a float32 row."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise _Retryable(f"data[{position}] holds an embedding string that is not base64") from None
    if len(raw) % 4:
        raise _Retryable(f"data[{position}]: {len(raw)} base64 bytes are not float32 values")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def _detail_text(raw: bytes) -> str:
    """': message' from an error body ({"error": {"message": ...}} or text), shortened."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        payload = None
    if isinstance(payload, Mapping):
        inner = payload.get("error", payload)
        message = inner.get("message") if isinstance(inner, Mapping) else inner
        if isinstance(message, str):
            text = message
    text = " ".join(text.split())
    if len(text) > _MESSAGE_CHARS:
        text = text[:_MESSAGE_CHARS] + "…"
    return f": {text}" if text else ""


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def _error_detail(error: urllib.error.HTTPError) -> str:
    """': message' from an HTTPError's body, shortened."""
    try:
        raw = error.read()
    except OSError:
        return ""
    return _detail_text(raw)


def _hint(status: int, api_key_env: str | None) -> str:
    """A line on what to check for an authentication failure."""
    if status not in (401, 403):
        return ""
    if api_key_env is None:
        return "; no API key is sent (api_key_env=None)"
    if not os.environ.get(api_key_env):
        return f"; the environment variable {api_key_env} is not set"
    return f"; check the key in the environment variable {api_key_env}"


def _check_url(url: object) -> None:
    """An http(s) URL with a host and no spaces, or InvalidParameterError."""
    from urllib.parse import urlsplit

    ok = isinstance(url, str) and not any(c.isspace() for c in url)
    if ok:
        try:
            parts = urlsplit(str(url))
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            _ = parts.port  # a port that is not a number raises ValueError
        except ValueError:
            ok = False
    if not ok:
        raise InvalidParameterError(
            "The 'base_url' parameter must be an http:// or https:// URL with a host, such as "
            f"http://localhost:8080/v1. Got {url!r}."
        )


def _needs_key(url: str) -> bool:
    """Whether the endpoint is one that always needs a key (OpenAI's own API)."""
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").endswith("api.openai.com")
