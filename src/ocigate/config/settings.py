"""Settings, read once from the environment and an optional YAML file.

Compatible with GoModel's Oracle configuration (``providers.py`` reads the ``ORACLE_*`` and ``OCI_*`` variables and
the ``providers:`` block). The config file is strict: it must exist when given (``--config`` or ``OCIGATE_CONFIG``),
parse as YAML, and hold only known keys (``schema.py``); its ``routing:`` and ``models:`` blocks are read by
``routing.py``, ``request_rules:`` by ``rules.py`` and ``prices:`` by ``pricing.py``. The environment wins over the
file, and ``ORACLE_MODELS`` replaces the YAML ``models:`` of the default provider.

Nothing here raises for a bad value: each problem becomes a :class:`Diagnostic`, starting with its place
(``file:line:column`` or the variable's name). An "error" among them means the configuration is not what the
operator meant: ``ocigate serve`` and :func:`~ocigate.app.runtime.create_app` refuse to start, and ``ocigate
doctor`` reports it. Only this package reads the environment and config files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ocigate.config.aliases import read_model_aliases
from ocigate.config.diagnostics import Diagnostic
from ocigate.config.http import HttpLimits, read_http_limits
from ocigate.config.memory import MemorySettings, read_memory
from ocigate.config.network import ServerTls, read_server_tls
from ocigate.config.prices import Price, parse_prices
from ocigate.config.providers import (
    UNEXPANDED,
    ProviderConfig,
    expand,
    load_providers,
    misspelt_variables,
    split_models,
    with_egress,
    with_timeouts,
)
from ocigate.config.retention import RetentionSettings, read_retention
from ocigate.config.routing import RoutingSettings, read_routing
from ocigate.config.rules import RequestRule, read_request_rules
from ocigate.config.schema import unknown_keys
from ocigate.config.telemetry import read_log_format, read_tracing
from ocigate.config.yaml_file import ConfigFile, read_config_file

__all__ = [
    "UNEXPANDED",
    "Diagnostic",
    "ProviderConfig",
    "Settings",
    "expand",
    "load_settings",
    "split_models",
]
MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    master_key: str | None = None
    providers: tuple[ProviderConfig, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    config_file: str | None = None
    log_level: str = "info"
    access_log: bool = True
    connect_timeout_s: float = 10.0
    discovery_timeout_s: float = 5.0
    discovery_interval_s: float = 600.0
    """How often the upstreams' model listings are asked again; a failure keeps the last good list."""
    max_body_bytes: int = 32 * 1024 * 1024
    data_dir: str = "data"
    database_url: str | None = None
    """SQLite in ``data_dir`` when unset; a Postgres URL for shared deployments."""
    emulator_region: str = "us-chicago-1"
    force_emulator: bool = False
    request_rules: tuple[RequestRule, ...] = ()
    """Per model family, what the gateway drops or keeps in requests on top of its defaults."""
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    grace_period_s: float = 30.0
    """On SIGTERM, how long in-flight requests and streams may run on before the process exits."""
    redis_url: str | None = None
    """Shared rate limits, budgets in flight and key-cache invalidation across instances; memory when unset."""
    key_pepper: str | None = None
    """HMAC pepper for virtual-key hashes (kept outside the database); plain SHA-256 when unset."""
    limits_fail_closed: bool = False
    """Refuse (503) a limited key's requests while Redis cannot be reached, rather than let them through."""
    usage: bool = True
    """One usage record per request (``OCIGATE_USAGE=off`` turns recording off; limits still apply)."""
    audit: bool = False
    """The audit log (one row per request in the ``audit`` table); off by default."""
    audit_bodies: bool = False
    """Keep request and response bodies in the audit log, secrets redacted."""
    prices: Mapping[str, Price] = field(default_factory=dict)
    """The operator's ``prices:`` (USD per million tokens), on top of the defaults in ``pricing.py``."""
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    extra: dict[str, Any] = field(default_factory=dict)
    http: HttpLimits = field(default_factory=HttpLimits)
    tls: ServerTls | None = None
    """HTTPS on the gateway's own port (``config/network.py``); plain HTTP when None."""
    tracing: str = "off"
    """``off``, ``otlp`` or ``console`` (``config/telemetry.py``): spans of every model request and upstream attempt."""
    log_format: str = "text"
    """``text`` or ``json``: one JSON object a log line."""
    model_aliases: tuple[tuple[str, str], ...] = ()
    """``model_aliases:``: (name or glob pattern, the model it stands for), in the file's order."""
    memory: MemorySettings = field(default_factory=MemorySettings)
    """The bounds of the in-memory tables fed by client input, and the heap's trimming (``config/memory.py``)."""

    @property
    def uses_emulator(self) -> bool:
        """The bundled emulator is served when asked for, or when nothing at all is configured: never in place of
        a configuration that was given (a config file, or ``ORACLE_*``/``OCI_*`` provider variables)."""
        return self.force_emulator or (not self.providers and not self.config_file)

    @property
    def errors(self) -> tuple[str, ...]:
        """The configuration's errors, each one line with its place and fix; the gateway does not start on them."""
        return tuple(d.message for d in self.diagnostics if d.level == "error")


def _flag(value: str | None, *, default: bool = False) -> bool:
    text = (value or "").strip().lower()
    if not text:
        return default
    return text in ("1", "true", "yes", "on")


def load_settings(
    env: Mapping[str, str],
    *,
    config_file: str | None = None,
    host: str | None = None,
    port: int | None = None,
    force_emulator: bool = False,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> Settings:
    """Everything the gateway needs, from ``env`` (normally ``os.environ``) and the optional YAML file."""
    config_file = config_file or env.get("OCIGATE_CONFIG") or None
    file, problems = read_config_file(config_file) if config_file else (None, [])
    document = file.data if file is not None else {}
    problems += unknown_keys(file) if file is not None else []
    providers, diagnostics = load_providers(env, file)
    blocks = _Blocks.read(document, env, file, providers, problems)
    providers = list(blocks.providers)
    diagnostics = [
        *(Diagnostic("error", None, _located(file, problem)) for problem in problems),
        *(replace(d, message=_located(file, d.message)) for d in diagnostics),
        *(Diagnostic("warning", None, problem) for problem in misspelt_variables(env)),
    ]
    telemetry: list[str] = []
    tracing, log_format = read_tracing(env, telemetry), read_log_format(env, telemetry)
    diagnostics += [Diagnostic("error", None, problem) for problem in telemetry]
    force_emulator = force_emulator or _flag(env.get("OCIGATE_EMULATOR"))
    if file is not None and not providers and not force_emulator:
        diagnostics.append(Diagnostic("error", None, _no_provider(file)))
    number = _Numbers(env, diagnostics)
    tls, found = read_server_tls(env, ssl_certfile, ssl_keyfile)
    diagnostics += [Diagnostic("error", None, problem) for problem in found]
    settings = Settings(
        host=host or env.get("OCIGATE_HOST") or "127.0.0.1",
        port=number.port(port),
        master_key=env.get("OCIGATE_MASTER_KEY") or None,
        providers=tuple(providers),
        config_file=config_file,
        log_level=(env.get("OCIGATE_LOG_LEVEL") or "info").lower(),
        access_log=not _flag(env.get("OCIGATE_NO_ACCESS_LOG")),
        discovery_interval_s=number("OCIGATE_DISCOVERY_INTERVAL", 600.0),
        data_dir=env.get("OCIGATE_DATA_DIR") or "data",
        database_url=env.get("OCIGATE_DATABASE_URL") or None,
        emulator_region=env.get("OCIGATE_EMULATOR_REGION") or "us-chicago-1",
        force_emulator=force_emulator,
        request_rules=blocks.rules,
        routing=blocks.routing,
        grace_period_s=number("OCIGATE_GRACE_PERIOD", 30.0),
        redis_url=env.get("OCIGATE_REDIS_URL") or None,
        key_pepper=env.get("OCIGATE_KEY_PEPPER") or None,
        usage=_flag(env.get("OCIGATE_USAGE"), default=True),
        limits_fail_closed=(env.get("OCIGATE_LIMITS_ON_REDIS_FAILURE") or "open").strip().lower() == "closed",
        audit=_flag(env.get("OCIGATE_AUDIT")),
        audit_bodies=_flag(env.get("OCIGATE_AUDIT_BODIES")),
        prices=blocks.prices,
        retention=blocks.retention,
        http=blocks.http,
        tls=tls,
        tracing=tracing,
        log_format=log_format,
        model_aliases=blocks.aliases,
        memory=blocks.memory,
    )
    return replace(settings, diagnostics=tuple(diagnostics))


@dataclass(frozen=True, slots=True)
class _Blocks:
    """The file's blocks beside ``providers:`` (and the environment variables that override them)."""

    rules: tuple[RequestRule, ...]
    routing: RoutingSettings
    providers: tuple[ProviderConfig, ...]
    prices: Mapping[str, Price]
    retention: RetentionSettings
    http: HttpLimits
    aliases: tuple[tuple[str, str], ...]
    memory: MemorySettings

    @staticmethod
    def read(
        document: Mapping[str, Any],
        env: Mapping[str, str],
        file: ConfigFile | None,
        providers: list[ProviderConfig],
        problems: list[str],
    ) -> _Blocks:
        """Each block read, its problems added to ``problems``; providers get the routing's default timeouts."""
        rules, found = read_request_rules(document.get("request_rules"))
        problems += found
        routing, found = read_routing(document, env)
        problems += found
        timed, found = with_timeouts(providers, file, routing.timeouts)
        problems += found
        timed, found = with_egress(timed, document, env)
        problems += found
        prices, found = parse_prices(document.get("prices"))
        problems += found
        retention, found = read_retention(document, env)
        problems += found
        http, found = read_http_limits(env)
        problems += found
        aliases, found = read_model_aliases(document.get("model_aliases"), routing.routes, timed)
        problems += found
        memory, found = read_memory(document, env)
        problems += found
        return _Blocks(tuple(rules), routing, tuple(timed), prices, retention, http, aliases, memory)


def _located(file: ConfigFile | None, problem: str) -> str:
    return file.locate(problem) if file is not None else problem


def _no_provider(file: ConfigFile) -> str:
    return (
        f"{file.path}: the config file configures no provider, and the bundled emulator never stands in for a "
        "configuration: add a providers: block (or ORACLE_* variables), or serve the emulator with --emulator."
    )


class _Numbers:
    """The numeric ``OCIGATE_*`` variables; a bad one is an error that names it, and its default is kept."""

    def __init__(self, env: Mapping[str, str], diagnostics: list[Diagnostic]) -> None:
        self._env = env
        self._diagnostics = diagnostics

    def __call__(self, name: str, default: float) -> float:
        raw = self._env.get(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not value >= 0 or value == float("inf"):
            self._problem(f"{name}={raw!r} is not a positive number (the default is {default:g}).")
            return default
        return value

    def port(self, given: int | None) -> int:
        """``--port``, else ``OCIGATE_PORT``, else 8080."""
        raw = self._env.get("OCIGATE_PORT") if given is None else str(given)
        if not raw:
            return 8080
        where = "OCIGATE_PORT" if given is None else "--port"
        if not raw.strip().isdigit() or int(raw) > MAX_PORT:
            self._problem(f"{where}={raw!r} is not a port: give a number from 1 to {MAX_PORT}.")
            return 8080
        return int(raw)

    def _problem(self, message: str) -> None:
        self._diagnostics.append(Diagnostic("error", None, message))
