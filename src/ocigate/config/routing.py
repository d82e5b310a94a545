"""``models:`` and ``routing:`` in the config file, and the ``OCIGATE_*`` variables that tune them, for ``config.py``.

::

    routing:
      retries: {max_attempts: 3, base_delay: 0.25, max_delay: 8, jitter: true, honour_retry_after: true}
      budget: 600                        # seconds per request, every attempt and sleep included
      stream_failover: headers           # or first_block
      breaker: {failure_threshold: 5, cooldown: 30, half_open_probes: 1}
      timeouts: {connect: 10, first_byte: 60, idle: 120, reply: 600}   # defaults; a provider's timeouts: win
    models:
      gpt-oss:
        strategy: least_in_flight        # weighted_random, round_robin, least_in_flight, lowest_latency
        deployments:
          - {provider: oracle-ord, model: openai.gpt-oss-120b, weight: 2}
          - {provider: oracle-iad, model: openai.gpt-oss-120b}
          - {provider: oracle-fra, model: openai.gpt-oss-120b, priority: 1}   # a standby
        fallbacks: [llama]

Pure: the document and the environment arrive as arguments. The building blocks (``RetryPolicy``,
``BreakerPolicy``, ``Timeouts``, ``ModelRoute``) raise ``ValueError`` on bad values; here every such problem
becomes a sentence that starts with the setting's dotted path (for :class:`~ocigate.config.diagnostics.Diagnostic`,
which stops the gateway from starting) and the default is kept. Unknown keys are reported by ``schema.py`` from
the field names below. Deployments name providers, which exist only once the gateway starts: ``app/runtime.py``
builds the routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from ocigate.config.policies import STRATEGIES, BreakerPolicy, RetryPolicy, Strategy, Timeouts

TIMEOUT_FIELDS = {"connect": "connect_s", "first_byte": "first_byte_s", "idle": "idle_s", "reply": "reply_s"}
ENV_TIMEOUTS = {
    "OCIGATE_CONNECT_TIMEOUT": "connect_s",
    "OCIGATE_FIRST_BYTE_TIMEOUT": "first_byte_s",
    "OCIGATE_IDLE_TIMEOUT": "idle_s",
    "OCIGATE_UPSTREAM_TIMEOUT": "reply_s",
}
RETRY_FIELDS = {name: name for name in ("max_attempts", "base_delay", "max_delay", "jitter", "honour_retry_after")}
BREAKER_FIELDS = {
    "failure_threshold": "failure_threshold",
    "cooldown": "cooldown_s",
    "half_open_probes": "half_open_probes",
}
ROUTING_FIELDS = ("retries", "budget", "stream_failover", "breaker", "timeouts")
ROUTE_FIELDS = ("strategy", "deployments", "fallbacks")
DEPLOYMENT_FIELDS = ("provider", "model", "weight", "priority")
T = TypeVar("T")
_KINDS: dict[str, type] = {"int": int, "float": float, "bool": bool}


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    provider: str
    model: str
    weight: float = 1.0
    priority: int = 0

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True, slots=True)
class RouteConfig:
    public_name: str
    deployments: tuple[DeploymentConfig, ...]
    strategy: Strategy = "weighted_random"
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    """The defaults of every provider's timeouts."""
    routes: tuple[RouteConfig, ...] = ()


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or value is None:
        if kind is bool and isinstance(value, bool):
            return value
        raise ValueError
    if kind is bool:
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError
    number = kind(value)
    if isinstance(value, float) and kind is int and not value.is_integer():
        raise ValueError
    return number


def read_timeouts(block: Any, base: Timeouts, where: str) -> tuple[Timeouts, list[str]]:
    """``{connect, first_byte, idle, reply}`` in seconds over ``base``."""
    if block is None:
        return base, []
    if not isinstance(block, dict):
        return base, [f"{where} must be a mapping of connect, first_byte, idle, reply to seconds."]
    problems: list[str] = []
    changes: dict[str, float] = {}
    for key, value in block.items():
        attribute = TIMEOUT_FIELDS.get(str(key))
        if attribute is None:
            continue  # schema.py reports it
        try:
            seconds = _number(value, float)
            if seconds <= 0:
                raise ValueError
        except (TypeError, ValueError):
            default = getattr(base, attribute)
            problems.append(f"{where}.{key}={value!r} is not a positive number of seconds (the default is {default}).")
            continue
        changes[attribute] = seconds
    return replace(base, **changes), problems


def _read_policy(block: Any, where: str, names: Mapping[str, str], default: Any) -> tuple[Any, list[str]]:
    if block is None:
        return default, []
    if not isinstance(block, dict):
        return default, [f"{where} must be a mapping of {', '.join(names)}."]
    problems: list[str] = []
    changes: dict[str, Any] = {}
    types = {f.name: f.type for f in fields(default)}
    for key, value in block.items():
        attribute = names.get(str(key))
        if attribute is None:
            continue  # schema.py reports it
        kind = _KINDS[str(types[attribute])]
        try:
            changes[attribute] = _number(value, kind)
            candidate = replace(default, **changes)
        except (TypeError, ValueError) as exc:
            changes.pop(attribute, None)
            detail = f" ({exc})" if str(exc) else ""
            problems.append(
                f"{where}.{key}={value!r} is not valid{detail} (the default is {getattr(default, attribute)})."
            )
            continue
        default = candidate
    return default, problems


def read_routing(document: Mapping[str, Any], env: Mapping[str, str]) -> tuple[RoutingSettings, list[str]]:
    """The ``routing:`` and ``models:`` blocks with the environment's overrides, and the problems found."""
    problems: list[str] = []
    block = document.get("routing")
    if block is not None and not isinstance(block, dict):
        problems.append("routing: must be a mapping with retries:, budget:, stream_failover:, breaker:, timeouts:.")
        block = None
    block = block or {}
    retry, found = _read_policy(block.get("retries"), "routing.retries", RETRY_FIELDS, RetryPolicy())
    problems += found
    retry = _scalar(retry, "budget_s", block.get("budget"), "routing.budget", float, problems)
    failover = block.get("stream_failover")
    if failover is not None:
        if failover in ("headers", "first_block"):
            retry = replace(retry, stream_failover=failover)
        else:
            problems.append(f"routing.stream_failover={failover!r}: use headers or first_block.")
    retry = _scalar(retry, "budget_s", env.get("OCIGATE_REQUEST_BUDGET"), "OCIGATE_REQUEST_BUDGET", float, problems)
    retry = _scalar(retry, "max_attempts", env.get("OCIGATE_MAX_ATTEMPTS"), "OCIGATE_MAX_ATTEMPTS", int, problems)
    breaker, found = _read_policy(block.get("breaker"), "routing.breaker", BREAKER_FIELDS, BreakerPolicy())
    problems += found
    timeouts, found = read_timeouts(block.get("timeouts"), Timeouts(), "routing.timeouts")
    problems += found
    for name, attribute in ENV_TIMEOUTS.items():
        timeouts = _scalar(timeouts, attribute, env.get(name), name, float, problems)
    routes, found = read_models(document.get("models"))
    problems += found
    return RoutingSettings(retry, breaker, timeouts, routes), problems


def _scalar(target: T, attribute: str, value: Any, where: str, kind: type, problems: list[str]) -> T:
    if value is None or value == "":
        return target
    try:
        return replace(target, **{attribute: _number(value, kind)})  # type: ignore[type-var]
    except (TypeError, ValueError):
        problems.append(f"{where}={value!r} is not valid (the default is {getattr(target, attribute)}).")
        return target


def read_models(block: Any) -> tuple[tuple[RouteConfig, ...], list[str]]:
    if block is None:
        return (), []
    if not isinstance(block, dict):
        return (), ["models: must map public model names to {deployments:, strategy:, fallbacks:}."]
    routes: list[RouteConfig] = []
    problems: list[str] = []
    for name, entry in block.items():
        where = f"models.{name}"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a mapping with deployments:.")
            continue
        asked = str(entry.get("strategy") or "weighted_random")
        strategy: Strategy = next((known for known in STRATEGIES if known == asked), "weighted_random")
        if strategy != asked:
            problems.append(f"{where}.strategy '{asked}' is unknown; use one of {', '.join(STRATEGIES)}.")
        fallbacks = entry.get("fallbacks") or []
        if isinstance(fallbacks, str):
            fallbacks = [fallbacks]
        if not isinstance(fallbacks, list) or not all(isinstance(f, str) for f in fallbacks):
            problems.append(f"{where}.fallbacks must be a list of model names.")
            fallbacks = []
        if str(name) in fallbacks:
            problems.append(f"{where} falls back to itself: remove that fallback.")
            fallbacks = [f for f in fallbacks if f != str(name)]
        deployments: list[DeploymentConfig] = []
        raw = entry.get("deployments")
        if not isinstance(raw, list) or not raw:
            problems.append(f"{where}.deployments must be a non-empty list of {{provider, model, weight, priority}}.")
            continue
        for index, item in enumerate(raw):
            found = _deployment(item, f"{where}.deployments[{index}]", problems)
            if found is not None and all(d.name != found.name for d in deployments):
                deployments.append(found)
        if deployments:
            routes.append(RouteConfig(str(name), tuple(deployments), strategy, tuple(dict.fromkeys(fallbacks))))
    known = {route.public_name for route in routes}
    for route in routes:
        missing = [f for f in route.fallbacks if f not in known]
        if missing:
            problems.append(f"models.{route.public_name}.fallbacks names models not under models:: {missing}.")
    return tuple(replace(r, fallbacks=tuple(f for f in r.fallbacks if f in known)) for r in routes), problems


def _deployment(item: Any, where: str, problems: list[str]) -> DeploymentConfig | None:
    if not isinstance(item, dict) or not item.get("provider") or not item.get("model"):
        problems.append(f"{where} needs provider: and model:.")
        return None
    deployment = DeploymentConfig(str(item["provider"]).strip(), str(item["model"]).strip())
    deployment = _scalar(deployment, "weight", item.get("weight"), f"{where}.weight", float, problems)
    deployment = _scalar(deployment, "priority", item.get("priority"), f"{where}.priority", int, problems)
    if deployment.weight < 0:
        problems.append(f"{where}.weight must be 0 or more (the default is 1).")
        deployment = replace(deployment, weight=1.0)
    return deployment
