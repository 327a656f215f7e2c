"""What the routes share: the database, the served models and their batchers, the limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from embedlab.errors import InvalidParameterError, UnknownKeyError
from embedlab.server.batcher import MicroBatcher
from embedlab.server.served import ServedModel
from embedlab.server.settings import Limits
from embedlab.server.telemetry import Telemetry
from embedlab.store import Database

__all__ = ["Hub", "hub_of"]


@dataclass
class Hub:
    """The state one app serves from (``app.state.hub``)."""

    db: Database
    models: Mapping[str, ServedModel]
    limits: Limits
    telemetry: Telemetry
    batchers: dict[str, MicroBatcher] = field(default_factory=dict)

    @property
    def default_model(self) -> str:
        return next(iter(self.models))

    def model(self, name: str | None) -> tuple[ServedModel, MicroBatcher]:
        """A served model by name (None: the first one) and its batcher."""
        if name is None:
            name = self.default_model
        if name not in self.models:
            raise UnknownKeyError(name, sorted(self.models), what="model")
        return self.models[name], self.batchers[name]

    def model_for(self, collection: Any) -> tuple[ServedModel, MicroBatcher]:
        """The served model that embeds text for a collection (the one it records)."""
        recorded = collection.model
        if recorded is None or recorded not in self.models:
            served = ", ".join(repr(m) for m in self.models)
            raise InvalidParameterError(
                f"collection {collection.name!r} holds embeddings of model {recorded!r}, "
                f"which this server does not run (it runs {served}); send vectors, or start "
                f"the server with --model {recorded}"
            )
        return self.model(recorded)


def hub_of(request: Request) -> Hub:
    """The hub of the app serving ``request`` (a FastAPI dependency)."""
    hub: Hub = request.app.state.hub
    return hub
