"""The package logger: ``logging.getLogger("embedlab")`` and its children.

The library never configures logging (a ``NullHandler`` on the package logger, the root
logger left alone); applications attach their own handlers, and the CLI attaches one on
stderr for ``-v`` / ``-vv``.

Example:
    >>> import logging
    >>> logging.getLogger("embedlab").handlers[0].__class__.__name__
    'NullHandler'
"""

from __future__ import annotations

import logging

__all__ = ["get_logger", "show_on_stderr"]

_PACKAGE = "embedlab"
logging.getLogger(_PACKAGE).addHandler(logging.NullHandler())


def get_logger(module: str) -> logging.Logger:
    """The logger of one embedlab module (``get_logger(__name__)``)."""
    return logging.getLogger(module if module.startswith(_PACKAGE) else f"{_PACKAGE}.{module}")


def show_on_stderr(level: int) -> logging.Handler:
    """Attach a one-line stderr handler to the package logger at ``level`` (the CLI's -v)."""
    package = logging.getLogger(_PACKAGE)
    for handler in package.handlers:
        if getattr(handler, "_embedlab_cli", False):
            package.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._embedlab_cli = True  # type: ignore[attr-defined]
    package.addHandler(handler)
    package.setLevel(level)
    return handler
