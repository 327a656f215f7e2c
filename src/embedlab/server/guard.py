"""What stands at the door: the API key (compared in constant time) and the body limit.

Both are plain ASGI middleware, so they answer before FastAPI reads or parses a body.
Without a key every request passes (the server then listens on loopback only; see
:meth:`ServerSettings.check`). ``/``, ``/healthz`` and the page's assets need no key; the
page asks for one and sends it with its API calls.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from embedlab.server.errors import PayloadTooLargeError

__all__ = ["OPEN_PATHS", "BodyLimit", "KeyCheck"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/", "/healthz", "/favicon.ico"})


async def _answer(send: Send, status: int, kind: str, message: str) -> None:
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="embedlab"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class KeyCheck:
    """Refuse (401, no detail) requests without ``Authorization: Bearer KEY`` or
    ``X-API-Key: KEY`` when the server has a key."""

    def __init__(self, app: ASGIApp, key: str | None) -> None:
        self.app = app
        self.key = None if key is None else key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.key is None or scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if not self._allowed(scope):
            await _answer(send, 401, "UnauthorizedError", "missing or wrong API key")
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
            elif name == b"x-api-key":
                given = value.strip()
        return self.key is None or hmac.compare_digest(given, self.key)


class BodyLimit:
    """Refuse (413) a body larger than ``limit`` bytes: at once by its Content-Length, or
    as soon as a streamed body passes the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _answer(send, 413, "PayloadTooLargeError", self._message(int(value)))
                return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # the app's error handler answers 413
                    raise PayloadTooLargeError(self._message(seen))
            return message

        await self.app(scope, counting, send)

    def _message(self, size: int) -> str:
        return f"the request body is {size} bytes or more; this server accepts at most {self.limit}"
