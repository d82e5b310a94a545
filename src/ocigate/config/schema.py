"""Which keys the config file may hold, at every level, and the unknown ones reported with the nearest known name.

A misspelt key must not be ignored: ``provider:`` would leave the gateway without providers, ``api_kye:`` would
leave a provider without its key, and either would be reported as something else. Every key is checked against
:data:`SCHEMA`; the values themselves are judged by the reader of each block (``providers.py``, ``routing.py``,
``rules.py``, ``pricing.py``). A new setting is added here and in its reader.

Usage::

    problems = unknown_keys(file)   # "ocigate.yaml:4:5: unknown setting 'api_kye' in providers.oracle; did
                                    #  you mean 'api_key'?"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocigate.config.diagnostics import nearest_names
from ocigate.config.memory import MEMORY_FIELDS
from ocigate.config.providers import DEDICATED_FIELDS, PROVIDER_FIELDS
from ocigate.config.retention import RETENTION_FIELDS
from ocigate.config.routing import (
    BREAKER_FIELDS,
    DEPLOYMENT_FIELDS,
    RETRY_FIELDS,
    ROUTE_FIELDS,
    ROUTING_FIELDS,
    TIMEOUT_FIELDS,
)
from ocigate.config.rules import RULE_FIELDS
from ocigate.config.yaml_file import MAX_DEPTH, ConfigFile, Key, dotted

PRICE_FIELDS = ("input", "output", "cached_input")


@dataclass(frozen=True, slots=True)
class Fields:
    """A mapping with these keys and no others; each key's value has its own shape."""

    keys: dict[str, Shape]


@dataclass(frozen=True, slots=True)
class Each:
    """A mapping of names the operator chooses (providers, models) to values of one shape."""

    value: Shape


@dataclass(frozen=True, slots=True)
class Items:
    """A list of values of one shape."""

    item: Shape


Shape = Fields | Each | Items | None
"""None: a plain value, or one whose shape its block's reader checks."""


def fields(*names: str, **nested: Shape) -> Fields:
    return Fields({**dict.fromkeys(names), **nested})


TIMEOUTS = fields(*TIMEOUT_FIELDS)
SCHEMA = fields(
    "ca_bundle",
    providers=Each(fields(*PROVIDER_FIELDS, timeouts=TIMEOUTS, dedicated=Each(fields(*DEDICATED_FIELDS)))),
    routing=fields(*ROUTING_FIELDS, retries=fields(*RETRY_FIELDS), breaker=fields(*BREAKER_FIELDS), timeouts=TIMEOUTS),
    models=Each(fields(*ROUTE_FIELDS, deployments=Items(fields(*DEPLOYMENT_FIELDS)))),
    request_rules=Each(fields(*RULE_FIELDS)),
    prices=Each(fields(*PRICE_FIELDS)),
    retention=fields(*RETENTION_FIELDS),
    model_aliases=None,
    memory=fields(*MEMORY_FIELDS),
)


def unknown_keys(file: ConfigFile) -> list[str]:
    """A sentence for each key of ``file`` that :data:`SCHEMA` does not know, with its place."""
    problems: list[str] = []
    _check(SCHEMA, file.data, (), file, problems)
    return problems


def _check(shape: Shape, value: Any, keys: tuple[Key, ...], file: ConfigFile, problems: list[str]) -> None:
    if len(keys) >= MAX_DEPTH:
        return
    if isinstance(shape, Fields) and isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and key in shape.keys:
                _check(shape.keys[key], child, (*keys, key), file, problems)
            else:
                problems.append(_unknown(key, shape, keys, file))
    elif isinstance(shape, Each) and isinstance(value, dict):
        for key, child in value.items():
            _check(shape.value, child, (*keys, str(key)), file, problems)
    elif isinstance(shape, Items) and isinstance(value, list):
        for index, child in enumerate(value):
            _check(shape.item, child, (*keys, index), file, problems)


def _unknown(key: object, shape: Fields, keys: tuple[Key, ...], file: ConfigFile) -> str:
    where = file.where(*keys, str(key))
    block = f"in {dotted(keys)}" if keys else "at the top level"
    known = list(shape.keys)
    nearest = nearest_names(str(key), known, 1)
    hint = f"did you mean '{nearest[0]}'?" if nearest else f"the settings here are {', '.join(known)}."
    return f"{where}: unknown setting '{key}' {block}; {hint}"
