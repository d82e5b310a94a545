"""The ``model_aliases:`` block: names clients send (Claude Code's ``claude-sonnet-4-5``…) for models the gateway
serves.

Usage (``ocigate.yaml``)::

    model_aliases:
      claude-sonnet-*: xai.grok-4          # a glob pattern (*, ?, [...]): any name it matches
      claude-haiku-*: openai.gpt-oss-20b
      gpt-4o: openai.gpt-oss-120b          # an exact name

Each target must be a name the gateway serves: a route under ``models:``, a model a provider lists in its
``models:`` (or a dedicated endpoint's name), ``provider/model`` for a configured provider, or a model of Oracle's
catalogue. A target the gateway could never serve, a target that is itself an alias, or a value that is not a
string is an error the gateway refuses to start on, naming the alias. The aliases apply on every model route (chat,
Responses, Messages, embeddings) and are listed by ``/v1/models``; an exact alias wins over a served name of the
same spelling, a pattern applies only to names that are not served otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

from ocigate.catalog.models import find_model
from ocigate.config.providers import ProviderConfig
from ocigate.config.routing import RouteConfig

_GLOB = frozenset("*?[")


def is_pattern(name: str) -> bool:
    return any(character in _GLOB for character in name)


def read_model_aliases(
    raw: Any, routes: Sequence[RouteConfig], providers: Sequence[ProviderConfig]
) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """The ``(name, target)`` pairs in the file's order, and a problem for each alias that cannot work."""
    if raw is None:
        return (), []
    if not isinstance(raw, dict):
        return (), ["model_aliases: must map model names (or glob patterns) to the model each stands for."]
    served = _served(routes, providers)
    names = {provider.name for provider in providers}
    aliases: list[tuple[str, str]] = []
    problems: list[str] = []
    for name, target in raw.items():
        where = f"model_aliases.{name}"
        if not isinstance(target, str) or not target.strip():
            problems.append(f"{where}: the target must be the name of a model this gateway serves.")
            continue
        target = target.strip()
        if target in raw or any(is_pattern(str(other)) and fnmatchcase(target, str(other)) for other in raw):
            problems.append(f"{where}: the target '{target}' is itself an alias; name the model it stands for.")
            continue
        provider, slash, model = target.partition("/")
        if not (target in served or find_model(target) or (slash and provider in names and model)):
            problems.append(
                f"{where}: '{target}' is not a model this gateway serves; name a model under models:, one a "
                f"provider lists, provider/model, or a model of Oracle's catalogue."
            )
            continue
        aliases.append((str(name), target))
    return tuple(aliases), problems


def _served(routes: Sequence[RouteConfig], providers: Sequence[ProviderConfig]) -> set[str]:
    served = {route.public_name for route in routes}
    for provider in providers:
        served.update(provider.served_models)
    return served


class ModelAliases:
    """The aliases, looked up per request: an exact name by one dict look-up, patterns only for a name the gateway
    does not serve otherwise (their answers are kept, up to :data:`MEMO` names)."""

    MEMO = 4096

    def __init__(self, pairs: Sequence[tuple[str, str]] = ()) -> None:
        self.exact = {name: target for name, target in pairs if not is_pattern(name)}
        self.patterns = [(name, target) for name, target in pairs if is_pattern(name)]
        self._matched: dict[str, str | None] = {}

    def __bool__(self) -> bool:
        return bool(self.exact or self.patterns)

    def match(self, name: str) -> str | None:
        """The target of the first pattern ``name`` matches, in the file's order."""
        if name in self._matched:
            return self._matched[name]
        found = next((target for pattern, target in self.patterns if fnmatchcase(name, pattern)), None)
        if len(self._matched) < self.MEMO:
            self._matched[name] = found
        return found
