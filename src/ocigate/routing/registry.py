"""The model registry: which provider serves a model name, and where that knowledge came from.

A model is addressed as ``model`` (the first provider, in configuration order, that lists it) or as
``provider/model``. Each provider's models come from its upstream's listing (``/models``, or Oracle's
management API under IAM) when that answers with a non-empty list, merged with its configured list (Oracle's
API-key path has no listing). Every model has a kind (chat, embeddings or rerank): from the listing, else from
the model family of a dedicated endpoint, else from the catalogue or the name. Listings are asked again
periodically; a failed listing keeps the last good one.

:class:`RouteTable` gives every request its route: a configured one (``models:`` in the config file, several
deployments), else a route of the one deployment the registry names, made on first use and kept in the router.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from ocigate.catalog.metadata import ModelKind, model_kind
from ocigate.config.aliases import ModelAliases
from ocigate.config.policies import Timeouts
from ocigate.core.errors import GatewayError, ModelNotFound, ProviderUnavailable
from ocigate.providers.base import ListedModel, Provider
from ocigate.routing.router import Deployment, ModelRoute, Router


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    provider: str
    provider_type: str
    source: str  # "configured", "discovered", "emulator", or "unlisted" (tried while the catalogue is unreadable)
    kind: ModelKind = "chat"


@dataclass(slots=True)
class ProviderState:
    provider: Provider | None
    name: str
    type: str
    configured: tuple[str, ...]
    source: str
    disabled_reason: str | None = None
    discovered: tuple[ListedModel, ...] = ()
    discovery_note: str = "not asked yet"
    families: dict[str, str] = field(default_factory=dict)
    """Dedicated endpoints' names → the model family behind them, for their kind."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    catalogue: bool = False
    """Its models come from Oracle's catalogue (ListModels, under IAM): while that cannot be read, a
    ``provider/model`` name is tried as given rather than refused."""
    listing_error: str | None = None
    """Why its last listing failed (Oracle's reason and the fix, such as the policy to add); None once one works."""

    def kind_of(self, model: str) -> ModelKind:
        for listed in self.discovered:
            if model in (listed.id, listed.ocid):
                return listed.kind
        return model_kind(self.families.get(model, model))

    def models(self) -> list[ModelEntry]:
        origin = "emulator" if self.source == "emulator" else "configured"
        entries = [ModelEntry(m, self.name, self.type, origin, self.kind_of(m)) for m in self.configured]
        known = set(self.configured)
        entries += [
            ModelEntry(m.id, self.name, self.type, "discovered", m.kind) for m in self.discovered if m.id not in known
        ]
        return entries


@dataclass(slots=True)
class Target:
    provider: Provider
    upstream_model: str
    entry: ModelEntry


@dataclass
class Registry:
    states: list[ProviderState] = field(default_factory=list)
    _by_name: dict[str, tuple[ProviderState, ModelEntry]] = field(default_factory=dict)

    def state(self, name: str) -> ProviderState | None:
        return next((state for state in self.states if state.name == name), None)

    def add(self, state: ProviderState) -> None:
        self.states.append(state)
        self._rebuild()

    def _rebuild(self) -> None:
        table: dict[str, tuple[ProviderState, ModelEntry]] = {}
        for state in self.states:
            for entry in state.models():
                table.setdefault(f"{state.name}/{entry.id}", (state, entry))
        for state in self.states:
            for entry in state.models():
                table.setdefault(entry.id, (state, entry))
        self._by_name = table

    def entries(self) -> list[ModelEntry]:
        return [entry for state in self.states for entry in state.models()]

    def find(self, model: str) -> ModelEntry | None:
        found = self._by_name.get(model)
        return found[1] if found else None

    def resolve(self, model: str) -> Target:
        found = self._by_name.get(model) or self._unlisted(model)
        if found is None:
            raise ModelNotFound(self.unknown_message(model), param="model")
        state, entry = found
        if state.provider is None:
            raise ProviderUnavailable(
                f"Model '{model}' belongs to provider '{state.name}', which is out of service: "
                f"{state.disabled_reason} Fix the configuration and restart the gateway."
            )
        return Target(state.provider, entry.id, entry)

    def _unlisted(self, model: str) -> tuple[ProviderState, ModelEntry] | None:
        """``provider/model`` on a provider whose catalogue cannot be read: tried as given, since the model may
        well exist (Oracle answers 404 if it does not)."""
        name, _, upstream = model.partition("/")
        state = self.state(name)
        if not upstream or state is None or not state.catalogue or state.listing_error is None:
            return None
        return state, ModelEntry(upstream, state.name, state.type, "unlisted", model_kind(upstream))

    def unknown_message(self, model: str, visible: Callable[[str], bool] | None = None) -> str:
        """Why ``model`` is not served, listing the models there are (those ``visible`` lets through)."""
        known = sorted({entry.id for entry in self.entries() if visible is None or visible(entry.id)})
        listing = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "") if known else "none"
        unread = [state for state in self.states if state.listing_error]
        reasons = "".join(
            f" Provider '{state.name}' could not read Oracle's model catalogue: {state.listing_error}"
            + (f" Meanwhile a model can be named '{state.name}/<model>' to try it." if state.catalogue else "")
            for state in unread
        )
        return (
            f"The model '{model}' is not known to this gateway (known: {listing}).{reasons} To add it, list it in "
            "ORACLE_MODELS (comma-separated) or under models: of its provider in the config file, and restart; "
            "address a model as 'model' or 'provider/model'."
        )

    async def discover(self) -> None:
        """Ask every provider in service for its models, concurrently; a failure keeps the last good listing."""
        active = [state for state in self.states if state.provider is not None]
        results = await asyncio.gather(*(self._ask(state) for state in active), return_exceptions=True)
        for state, result in zip(active, results, strict=True):
            if isinstance(result, BaseException):
                kept = "the last listing" if state.discovered else "the configured list"
                why = result.message if isinstance(result, GatewayError) else type(result).__name__
                state.discovery_note = f"listing failed ({why}); serving {kept}"
                state.listing_error = why
        self._rebuild()

    @staticmethod
    async def _ask(state: ProviderState) -> None:
        assert state.provider is not None
        listed = await state.provider.list_models()
        state.listing_error = None
        if listed:
            unique: dict[str, ListedModel] = {}
            for model in listed:
                unique.setdefault(model.id, model)
            state.discovered = tuple(unique.values())
            state.discovery_note = f"the upstream listed {len(state.discovered)} models"
        else:
            state.discovered = ()
            state.discovery_note = "the upstream has no /models listing; serving the configured list"


@dataclass(frozen=True, slots=True)
class Routed:
    """A request's route, the deployment it pinned (if any) and the kind of model it serves."""

    route: ModelRoute
    pin: str | None
    kind: ModelKind
    model: str = ""
    """The model name served: the alias's target when the client sent an alias, else the name it sent."""


class RouteTable:
    """Model names to routes. Usage::

    table = RouteTable(registry, router)
    routed = table.resolve("gpt-oss")          # configured: its deployments, strategy and fallbacks
    routed = table.resolve("xai.grok-4")       # not configured: the registry's provider, one deployment
    """

    def __init__(self, registry: Registry, router: Router, aliases: ModelAliases | None = None) -> None:
        self.registry = registry
        self._registry = registry
        self.router = router
        self.aliases = aliases if aliases is not None else ModelAliases()
        self._kinds: dict[str, ModelKind] = {}
        self._deployments: dict[str, Deployment] = {}

    def deployment(self, state: ProviderState, model: str, weight: float = 1.0, priority: int = 0) -> Deployment:
        """The one deployment of ``model`` on ``state``'s provider (configured weight and priority kept)."""
        name = f"{state.name}/{model}"
        found = self._deployments.get(name)
        if found is None:
            assert state.provider is not None
            found = Deployment(name, state.provider, model, weight, priority, timeouts=state.timeouts)
            self._deployments[name] = found
        return found

    def add(self, route: ModelRoute) -> None:
        """A configured route; its kind is its first deployment's."""
        self.router.add(route)
        first = route.deployments[0]
        state = self._registry.state(first.provider.name)
        self._kinds[route.public_name] = state.kind_of(first.upstream_model) if state else "chat"

    def resolve(self, model: str) -> Routed:
        """The route of ``model``: an exact alias's target, else the name itself, else the target of the first
        alias pattern it matches (``model_aliases:``)."""
        aliases = self.aliases
        if not aliases:
            return self._resolve(model)
        target = aliases.exact.get(model)
        if target is not None:
            return self._resolve(target)
        try:
            return self._resolve(model)
        except ModelNotFound:
            target = aliases.match(model)
            if target is None:
                raise
        return self._resolve(target)

    def _resolve(self, model: str) -> Routed:
        resolved = self.router.resolve(model)
        if resolved is None:
            return self._from_registry(model)
        return Routed(resolved.route, resolved.pin, self._kinds.get(resolved.route.public_name, "chat"), model)

    def _from_registry(self, model: str) -> Routed:
        target = self._registry.resolve(model)  # raises ModelNotFound, ProviderUnavailable
        entry = target.entry
        state = self._registry.state(entry.provider)
        assert state is not None
        if entry.source == "unlisted":
            # Any name may be tried, so none is kept: the provider's unlisted names share one deployment name
            # (one circuit, one set of figures), and the route lives for this request only.
            unlisted = Deployment(f"{state.name}/*", target.provider, entry.id, timeouts=state.timeouts)
            return Routed(ModelRoute(model, (unlisted,)), None, entry.kind, model)
        route = ModelRoute(model, (self.deployment(state, target.upstream_model),))
        self._kinds[model] = entry.kind
        self.router.add(route)
        return Routed(route, None, entry.kind, model)
