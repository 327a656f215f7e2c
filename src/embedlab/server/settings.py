"""What a server is configured with: its limits and its settings (frozen dataclasses)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError

__all__ = ["Limits", "ServerSettings", "is_loopback"]


@dataclass(frozen=True)
class Limits:
    """Request limits; a request over one gets a 413 (sizes) or 422 (counts) naming it.

    Example:
        >>> Limits(max_inputs=16).max_inputs
        16
    """

    max_body_bytes: int = 32 * 1024 * 1024
    max_inputs: int = 2048  # inputs per /v1/embeddings request (as OpenAI)
    max_tokens: int = 300_000  # tokens per /v1/embeddings request (as OpenAI)
    max_k: int = 10_000  # results per query (the store's own ceiling)
    max_dim: int = 65_536  # dimension of a new collection (the store's own ceiling)
    max_metadata_bytes: int = 64 * 1024  # one row's metadata, as JSON
    max_upload_bytes: int = 16 * 1024 * 1024  # all files of one ingest request

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            check_int(name, getattr(self, name), minimum=1)


@dataclass(frozen=True)
class ServerSettings:
    """How the server runs: where it listens, its model(s), its key and its batching.

    ``models`` maps a served model name to an encoder spec (``encoders.load``); the first
    is the default for ``/v1/embeddings``. ``matryoshka`` names the models trained for
    Matryoshka truncation (``dimensions`` smaller than the model's is refused for others).
    ``batch_wait_ms`` is how long the micro-batcher collects requests (0: no batching).

    Example:
        >>> ServerSettings(host="0.0.0.0").check()
        Traceback (most recent call last):
        ...
        embedlab.errors.InvalidParameterError: binding to '0.0.0.0' (not loopback) needs ...
    """

    host: str = "127.0.0.1"
    port: int = 8000
    models: dict[str, str] = field(default_factory=lambda: {"minilm": "minilm"})
    backend: str = "torch"
    api_key: str | None = None
    matryoshka: frozenset[str] = frozenset()
    batch_wait_ms: float = 5.0
    batch_max_tokens: int = 16_384
    batch_max_inputs: int = 256
    cors_origins: tuple[str, ...] = ()
    threads: int | None = None  # the model's intra-op threads (None: the backend's default)
    grace: int = 30  # seconds in-flight requests get to finish on SIGTERM
    limits: Limits = field(default_factory=Limits)

    def check(self) -> ServerSettings:
        """Refuse unsafe or impossible settings (a non-loopback bind without a key)."""
        if not is_loopback(self.host) and not self.api_key:
            raise InvalidParameterError(
                f"binding to {self.host!r} (not loopback) needs an API key; "
                "set one with --api-key-env VAR (the name of an environment variable)"
            )
        if self.api_key is not None and len(self.api_key) < 8:
            raise InvalidParameterError(
                f"an API key must be at least 8 characters; got {len(self.api_key)}"
            )
        if not self.models:
            raise InvalidParameterError("a server needs at least one model")
        if self.batch_wait_ms < 0:
            raise InvalidParameterError(f"batch_wait_ms must be >= 0; got {self.batch_wait_ms!r}")
        check_int("port", self.port, minimum=0, maximum=65_535)
        check_int("grace", self.grace, minimum=0)
        if self.threads is not None:
            check_int("threads", self.threads, minimum=1)
        return self


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
