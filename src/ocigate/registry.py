"""The model registry: which provider serves a model name, and where that knowledge came from.

A model is addressed as ``model`` (the first provider, in configuration order, that lists it) or as
``provider/model``. Each provider's models come from its upstream's ``/models`` when that answers with a
non-empty list, else from its configured list (Oracle's API-key path has no ``/models``), merged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ocigate.errors import ModelNotFound, ProviderUnavailable
from ocigate.providers.base import Provider


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    provider: str
    provider_type: str
    source: str  # "configured", "discovered" or "emulator"


@dataclass(slots=True)
class ProviderState:
    provider: Provider | None
    name: str
    type: str
    configured: tuple[str, ...]
    source: str
    disabled_reason: str | None = None
    discovered: tuple[str, ...] = ()
    discovery_note: str = "not asked yet"

    def models(self) -> list[ModelEntry]:
        origin = "emulator" if self.source == "emulator" else "configured"
        entries = [ModelEntry(m, self.name, self.type, origin) for m in self.configured]
        known = set(self.configured)
        entries += [ModelEntry(m, self.name, self.type, "discovered") for m in self.discovered if m not in known]
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
        found = self._by_name.get(model)
        if found is None:
            raise ModelNotFound(self.unknown_message(model), param="model")
        state, entry = found
        if state.provider is None:
            raise ProviderUnavailable(
                f"Model '{model}' belongs to provider '{state.name}', which is out of service: "
                f"{state.disabled_reason} Fix the configuration and restart the gateway."
            )
        return Target(state.provider, entry.id, entry)

    def unknown_message(self, model: str) -> str:
        known = sorted({entry.id for entry in self.entries()})
        listing = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "") if known else "none"
        return (
            f"The model '{model}' is not known to this gateway (known: {listing}). To add it, list it in "
            "ORACLE_MODELS (comma-separated) or under models: of its provider in the config file, and restart; "
            "address a model as 'model' or 'provider/model'."
        )

    async def discover(self) -> None:
        """Ask every provider in service for its models, concurrently; failures leave the configured list."""
        active = [state for state in self.states if state.provider is not None]
        results = await asyncio.gather(*(self._ask(state) for state in active), return_exceptions=True)
        for state, result in zip(active, results, strict=True):
            if isinstance(result, BaseException):
                state.discovery_note = f"listing failed ({type(result).__name__}); serving the configured list"
        self._rebuild()

    @staticmethod
    async def _ask(state: ProviderState) -> None:
        assert state.provider is not None
        listed = await state.provider.list_models()
        if listed:
            state.discovered = tuple(dict.fromkeys(listed))
            state.discovery_note = f"the upstream listed {len(listed)} models"
        else:
            state.discovered = ()
            state.discovery_note = "the upstream has no /models listing; serving the configured list"
