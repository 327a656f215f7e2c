"""What the store's API tests share: the tiny collection's shape and checks that a refused
call changed nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from embedlab.store import Collection, Database

DIM = 4
ALL = ("metadata", "documents", "vectors")


def snapshot(collection: Collection) -> dict[str, Any]:
    """Everything stored, as plain lists (vectors included)."""
    return collection.get(include=ALL).to_dict()


def names(db: Database) -> list[str]:
    return [info.name for info in db.list_collections()]


def refused(
    call: Callable[[], object],
    error: type[BaseException],
    *fragments: str,
    unchanged: Callable[[], object],
) -> None:
    """``call`` raises ``error`` with every fragment in its message, and changes nothing."""
    before = unchanged()
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert unchanged() == before
