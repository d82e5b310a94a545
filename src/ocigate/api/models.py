"""``GET /v1/models`` and ``GET /v1/models/{id}`` in OpenAI's shape, plus the health endpoints and ``/metrics``."""

from __future__ import annotations

import builtins
import hmac
import time
from collections.abc import Callable
from typing import Any, Protocol

from ocigate.catalog.metadata import model_metadata
from ocigate.config.aliases import ModelAliases
from ocigate.core.asgi import Request, Response, json_response
from ocigate.core.errors import AuthenticationFailed, ModelNotFound, NotFound
from ocigate.governance.auth import presented_key
from ocigate.governance.keys import visible_models
from ocigate.routing.registry import ModelEntry, Registry


class ModelRoutes:
    def __init__(self, registry: Registry, created: int | None = None, aliases: ModelAliases | None = None) -> None:
        self._registry = registry
        self._created = created if created is not None else int(time.time())
        self._aliases = aliases if aliases is not None else ModelAliases()

    def _public_id(self, entry: ModelEntry) -> str:
        """The plain id where it reaches this entry, else ``provider/model``."""
        return entry.id if self._registry.find(entry.id) == entry else f"{entry.provider}/{entry.id}"

    def _card(self, entry: ModelEntry, public_id: str) -> dict[str, Any]:
        """OpenAI's model object, plus what VS Code and agents need to know of the model (the same figures
        that ``ocigate vscode`` writes)."""
        meta = model_metadata(entry.id)
        return {
            "id": public_id,
            "object": "model",
            "created": self._created,
            "owned_by": entry.provider_type,
            "provider": entry.provider,
            "source": entry.source,
            "kind": entry.kind,
            "context_window": meta["context_window"],
            "max_input_tokens": meta["maxInputTokens"],
            "max_output_tokens": meta["maxOutputTokens"],
            "capabilities": {
                "tool_calling": meta["toolCalling"],
                "vision": meta["vision"],
                "thinking": meta["thinking"],
            },
        }

    async def list(self, request: Request) -> Response:
        """The models the caller may use: all of them for the master key, a team key's allowed ones."""
        visible = visible_models(request.state.get("key"))
        cards = [self._card(entry, self._public_id(entry)) for entry in self._registry.entries()]
        data = cards if visible is None else [card for card in cards if visible(card["id"])]
        data += self._alias_cards(visible)
        body: dict[str, Any] = {"object": "list", "data": data}
        if self._aliases.patterns:
            body["model_aliases"] = [
                {"pattern": pattern, "model": target}
                for pattern, target in self._aliases.patterns
                if visible is None or visible(target)
            ]
        return json_response(body)

    def _alias_cards(self, visible: Callable[[str], bool] | None) -> builtins.list[dict[str, Any]]:
        """A card for each exact alias (``model_aliases:``) whose model the caller may use: the model's own, under
        the alias's name, with ``alias_of`` naming the model."""
        cards = []
        for alias, target in self._aliases.exact.items():
            if visible is not None and not visible(target):
                continue
            entry = self._registry.find(target)
            card: dict[str, Any] = {"id": alias, "object": "model", "created": self._created, "owned_by": "ocigate"}
            if entry is not None:
                card = self._card(entry, alias)
            card["alias_of"] = target
            cards.append(card)
        return cards

    async def get(self, request: Request) -> Response:
        model = request.path_tail
        visible = visible_models(request.state.get("key"))
        entry = self._registry.find(model)
        if entry is None or (visible is not None and not visible(model)):
            raise ModelNotFound(self._registry.unknown_message(model, visible), param="model")
        return json_response(self._card(entry, model))


class Resilience(Protocol):
    """What /readyz and /metrics show of routing: deployments, circuits and secrets (``app.Runtime``)."""

    def deployments(self) -> list[dict[str, object]]: ...

    def secrets(self) -> dict[str, dict[str, object]]: ...

    def render_metrics(self, accept: str) -> tuple[bytes, str]: ...


class HealthRoutes:
    def __init__(
        self,
        registry: Registry,
        is_ready: Callable[[], bool],
        resilience: Resilience | None = None,
        master_key: str | None = None,
    ) -> None:
        self._registry = registry
        self._is_ready = is_ready
        self._resilience = resilience
        self._master_key = master_key.encode("utf-8") if master_key else None

    async def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        providers = [
            {
                "name": state.name,
                "type": state.type,
                "in_service": state.provider is not None,
                "models": len(state.models()),
                **({"problem": state.disabled_reason} if state.disabled_reason else {}),
                "discovery": state.discovery_note,
                **({"catalogue_error": state.listing_error} if state.listing_error else {}),
            }
            for state in self._registry.states
        ]
        # Ready once some provider in service has a model: a gateway whose catalogue cannot be read and that has no
        # configured model could answer nothing. Open circuits do not make it unready: routing skips them, and a
        # restart would not help.
        started = bool(self._is_ready())
        ready = started and any(p["in_service"] and p["models"] for p in providers)
        status = "ready" if ready else ("no models" if started else "starting")
        body: dict[str, object] = {"status": status}
        if not self._is_master(request):
            # Providers, regions, circuits and secrets' state are the operator's: others learn only whether to
            # send traffic (a load balancer needs no more).
            return json_response(body, 200 if ready else 503)
        body["providers"] = providers
        if self._resilience is not None:
            body["deployments"] = self._resilience.deployments()
            body["secrets"] = self._resilience.secrets()
        return json_response(body, 200 if ready else 503)

    def _is_master(self, request: Request) -> bool:
        """The master key was presented, or the gateway has none (loopback only)."""
        if self._master_key is None:
            return True
        key = presented_key(request)
        return key is not None and hmac.compare_digest(key.encode("utf-8"), self._master_key)

    async def metrics(self, request: Request) -> Response:
        """Prometheus text (or OpenMetrics when asked for), behind the master key when one is set."""
        if not self._is_master(request):
            raise AuthenticationFailed("/metrics needs the gateway's key as 'Authorization: Bearer <key>'.")
        if self._resilience is None:
            raise NotFound("No metrics are collected.")
        body, content_type = self._resilience.render_metrics(request.headers.get("accept", ""))
        return Response(body, 200, [(b"content-type", content_type.encode("latin-1"))])
