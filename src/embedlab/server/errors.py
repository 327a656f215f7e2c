"""The one place where errors become HTTP answers.

Every answer that is not a success has the body ``{"error": {"type": ..., "message": ...}}``
(OpenAI's shape, so its clients show the message). Library errors keep their class name as
``type``, which is how :class:`~embedlab.server.client.Client` raises the same class again::

    404  UnknownKeyError, CollectionNotFoundError       (a name or id that is not there)
    409  CollectionExistsError, DuplicateIdError        (clashes with what is stored)
    413  PayloadTooLargeError                           (body, upload or metadata too big)
    422  LimitExceededError, request validation         (too many inputs/tokens, k, dim)
    400  every other EmbedlabError that is a ValueError (bad parameters, filters, vectors)
    401  UnauthorizedError                              (missing or wrong API key; no detail)
    503  StoreLockedError                               (the write lock stayed taken; retry)
    502  RemoteEncoderError                             (the model behind us failed)
    500  anything else: a bug, logged; the body says nothing more than "internal error"

A user's mistake never becomes a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from embedlab.errors import (
    CollectionExistsError,
    DuplicateIdError,
    EmbedlabError,
    InvalidParameterError,
    RemoteEncoderError,
    StoreLockedError,
    UnknownKeyError,
)

if TYPE_CHECKING:  # fastapi is imported where used: the Client imports this module too
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

__all__ = [
    "LimitExceededError",
    "PayloadTooLargeError",
    "ServerError",
    "UnauthorizedError",
    "error_response",
    "install_error_handlers",
    "status_for",
]

log = logging.getLogger("embedlab.server")


class PayloadTooLargeError(InvalidParameterError):
    """A request body, upload or row of metadata larger than the server accepts (413)."""


class LimitExceededError(InvalidParameterError):
    """More inputs, tokens, results or dimensions than the server accepts (422)."""


class UnauthorizedError(EmbedlabError, PermissionError):
    """A missing or wrong API key (401)."""


class ServerError(EmbedlabError, RuntimeError):
    """An answer the client cannot map to a library error (a 5xx, or an unknown type)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (UnauthorizedError, 401),
    (PayloadTooLargeError, 413),
    (LimitExceededError, 422),
    (UnknownKeyError, 404),
    (CollectionExistsError, 409),
    (DuplicateIdError, 409),
    (StoreLockedError, 503),
    (RemoteEncoderError, 502),
    (ValueError, 400),  # every other EmbedlabError a caller can fix is a ValueError
)


def status_for(exc: BaseException) -> int:
    """The HTTP status for an error (500 for anything that is not a user's mistake).

    Example:
        >>> from embedlab.errors import CollectionNotFoundError
        >>> status_for(CollectionNotFoundError("x")), status_for(RuntimeError("bug"))
        (404, 500)
    """
    if isinstance(exc, EmbedlabError):
        for kind, status in _STATUS:
            if isinstance(exc, kind):
                return status
    return 500


def error_response(status: int, kind: str, message: str) -> JSONResponse:
    """An error answer in the one body shape."""
    from fastapi.responses import JSONResponse

    headers = {"Retry-After": "1"} if status == 503 else None
    body = {"error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def exception_response(exc: BaseException) -> JSONResponse:
    """The answer for an exception raised by a route (or the library under it)."""
    status = status_for(exc)
    if status == 500:
        log.error("internal error", exc_info=exc)
        return error_response(500, "InternalError", "internal error")
    if isinstance(exc, UnauthorizedError):
        return error_response(401, "UnauthorizedError", "missing or wrong API key")
    return error_response(status, type(exc).__name__, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Route every error an app can raise through :func:`exception_response`."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    async def on_library_error(request: Request, exc: Exception) -> JSONResponse:
        return exception_response(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        errors: Sequence[Any] = exc.errors() if isinstance(exc, RequestValidationError) else []
        return error_response(422, "InvalidParameterError", _describe(errors))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        detail = exc.detail if isinstance(exc, StarletteHTTPException) else "internal error"
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "HTTPError")
        return error_response(status, kind, str(detail))

    app.add_exception_handler(EmbedlabError, on_library_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_library_error)


def _describe(errors: Sequence[Any]) -> str:
    """pydantic's validation errors as one line: ``body.input: Field required; ...``."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
