"""The models a gateway with this configuration serves, and the URL its clients reach it at.

The registry is built the way ``ocigate serve`` builds it (and ``ocigate models`` prints it): the providers are
started, their upstreams asked for models, then everything is closed again. With no Oracle provider that means
the bundled emulator's models.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from ocigate.catalog.metadata import model_kind
from ocigate.config.settings import Settings, load_settings
from ocigate.routing.registry import ModelEntry, Registry

# A gateway listening on every address is still reached on loopback from the machine that runs this command.
_ANY_ADDRESS = frozenset({"0.0.0.0", "::", "[::]", ""})


@dataclass(frozen=True, slots=True)
class ServedModels:
    chat: list[str] = field(default_factory=list)
    embeddings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things the user should know about the list, for stderr."""


def root_of(url: str) -> str:
    """The gateway's address without a trailing ``/`` or ``/v1``: both forms are what users paste."""
    return url.strip().rstrip("/").removesuffix("/v1")


def gateway_root(url: str | None, settings: Settings) -> str:
    """The given URL's root, else ``http://OCIGATE_HOST:OCIGATE_PORT`` (``https://`` when the gateway serves TLS)."""
    if url is not None:
        return root_of(url)
    host = "127.0.0.1" if settings.host in _ANY_ADDRESS else settings.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme = "https" if settings.tls is not None else "http"
    return f"{scheme}://{host}:{settings.port}"


def public_ids(registry: Registry) -> list[tuple[str, ModelEntry]]:
    """Each entry under the name that reaches it: its id, or ``provider/id`` where another provider has the id."""
    named: dict[str, ModelEntry] = {}
    for entry in registry.entries():
        name = entry.id if registry.find(entry.id) == entry else f"{entry.provider}/{entry.id}"
        named.setdefault(name, entry)
    return list(named.items())


def classify(registry: Registry, *, emulator: bool) -> ServedModels:
    served = ServedModels()
    for name, _ in public_ids(registry):
        kind = model_kind(name)
        if kind == "chat":
            served.chat.append(name)
        elif kind == "embeddings":
            served.embeddings.append(name)
    for state in registry.states:
        if state.provider is None:
            served.notes.append(
                f"provider '{state.name}' is out of service with this configuration ({state.disabled_reason}); "
                "its models are listed anyway."
            )
    if emulator:
        served.notes.append(
            "No Oracle provider is configured: these are the bundled emulator's models, which `ocigate serve` "
            "serves in that case."
        )
    return served


async def served_models(settings: Settings) -> ServedModels:
    from ocigate.app.runtime import Runtime

    # The runtime's start-up warnings are written for a person watching `ocigate serve`; the caller reports
    # what matters here through ServedModels.notes. A level, not `disabled`: the embedded emulator's
    # uvicorn.Config runs logging.config.dictConfig, which re-enables every existing logger.
    logging.getLogger("ocigate").setLevel(logging.CRITICAL)
    runtime = Runtime(settings)
    await runtime.start()
    try:
        if runtime.discovery is not None:
            await runtime.discovery
        return classify(runtime.registry, emulator=runtime.emulator is not None)
    finally:
        await runtime.stop()


def load(config_file: str | None) -> Settings:
    return load_settings(os.environ, config_file=config_file)
