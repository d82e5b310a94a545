"""Settings, read once from the environment and an optional YAML file.

Compatible with GoModel's Oracle configuration:

- ``ORACLE_BASE_URL``, ``ORACLE_API_KEY``, ``ORACLE_MODELS`` (comma-separated, trimmed, duplicates dropped),
  plus ``ORACLE_REGION`` (builds the base URL when none is given) and ``ORACLE_PROJECT`` (sent as
  ``OpenAI-Project`` on the ``/openai/v1`` base) configure the provider named ``oracle``;
- ``ORACLE_<SUFFIX>_<FIELD>`` configures a provider named ``oracle-<suffix>``; ``ORACLE[_<SUFFIX>]_API_KEY_SECONDARY``
  is the key's other secret (``api_key_secondary``), used when Oracle rejects the first (a rotation);
- a YAML file's ``providers:`` block (``type``, ``base_url``, ``api_key``, ``api_key_secondary``, ``models``,
  ``region``, ``project``, ``timeouts``)
  with ``${VAR}`` and ``${VAR:-default}`` expanded from the environment;
- ``type: oci`` (Oracle's native API) and IAM authentication on either type: ``auth``, ``compartment_id``,
  ``endpoint``, ``config_file``, ``profile``, ``key_content``, ``pass_phrase``, ``dedicated``, ``discovery``,
  and the ``OCI_*`` variables of the default ``oci`` provider (``config_oci.py`` has the table);
- the ``routing:`` and ``models:`` blocks (deployments, strategies, fallbacks, retries, breakers, timeouts) and
  ``OCIGATE_REQUEST_BUDGET``, ``OCIGATE_MAX_ATTEMPTS``, ``OCIGATE_*_TIMEOUT`` (``config_routing.py``).

The environment wins over YAML, and ``ORACLE_MODELS`` replaces the YAML ``models:`` of the default provider.
Nothing here raises for a bad value: problems become :class:`Diagnostic` entries that start-up and
``ocigate doctor`` report (see ``checks.py``). Only this module reads the environment and config files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ocigate.catalog.regions import compat_base_url, native_base_url, region_from_url
from ocigate.config.http import HttpLimits, read_http_limits
from ocigate.config.oracle import (
    AUTHS,
    IAM_AUTHS,
    DedicatedEndpoint,
    default_auth,
    env_oci_fields,
    oci_config_path,
    oci_profile,
    parse_dedicated,
    parse_flag,
    read_profile,
)
from ocigate.config.routing import RoutingSettings, read_routing, read_timeouts
from ocigate.config.rules import RequestRule, read_request_rules
from ocigate.governance.pricing import Price, parse_prices
from ocigate.routing.router import Timeouts

PROVIDER_TYPES = ("oracle", "openai", "oci")
ENV_FIELDS = ("BASE_URL", "API_KEY_SECONDARY", "API_KEY", "MODELS", "REGION", "PROJECT")  # longest suffix first
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
UNEXPANDED = re.compile(r"\$\{[^}]*\}")


@dataclass(frozen=True, slots=True)
class Diagnostic:
    level: str  # "error" disables the provider; "warning" does not
    provider: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    type: str = "oracle"
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    api_key_secondary: str = field(default="", repr=False)
    """The key's other secret: Oracle gives every API key two, so that one can be rotated while the other serves."""
    models: tuple[str, ...] = ()
    region: str | None = None
    project: str | None = None
    source: str = "env"
    """Where the entry came from: "env", "yaml:<path>", "yaml:<path>+env" or "emulator"."""
    auth: str = "api_key"
    """``api_key`` (a bearer secret) or an IAM principal: ``user_principal``, ``session_token``,
    ``instance_principal``, ``resource_principal``."""
    compartment_id: str | None = None
    config_file: str | None = None
    """The OCI config file (user principals and session tokens)."""
    profile: str = "DEFAULT"
    key_content: str | None = field(default=None, repr=False)
    pass_phrase: str | None = field(default=None, repr=False)
    dedicated: tuple[DedicatedEndpoint, ...] = ()
    discovery: bool = False
    """Whether to list models through Oracle's management API (default: on under IAM)."""
    management_endpoint: str | None = None
    federation_endpoint: str | None = None
    """Instance principals: the auth service that issues tokens (default: the region's)."""
    resource_principal_version: str | None = None
    """``OCI_RESOURCE_PRINCIPAL_VERSION`` as found at start-up, for the checks. Oracle's SDK reads the
    ``OCI_RESOURCE_PRINCIPAL_*`` variables itself, as the OCI runtimes that set them expect."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    """Connect, first byte, idle stream and whole reply: ``routing.timeouts`` with this provider's ``timeouts:``."""

    @property
    def uses_iam(self) -> bool:
        return self.auth in IAM_AUTHS

    @property
    def served_models(self) -> tuple[str, ...]:
        """The configured model names, dedicated endpoints' names included."""
        return tuple(dict.fromkeys([*self.models, *(d.name for d in self.dedicated)]))


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
    upstream_timeout_s: float = 600.0
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
    extra: dict[str, Any] = field(default_factory=dict)
    http: HttpLimits = field(default_factory=HttpLimits)

    @property
    def uses_emulator(self) -> bool:
        return self.force_emulator or not self.providers


def split_models(raw: str | list[Any] | tuple[Any, ...] | None) -> tuple[str, ...]:
    """Comma-separated or listed model names: trimmed, empties and duplicates dropped, order kept."""
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else [str(item) for item in raw]
    seen: dict[str, None] = {}
    for item in items:
        name = item.strip()
        if name:
            seen.setdefault(name, None)
    return tuple(seen)


def expand(value: str, env: Mapping[str, str]) -> str:
    """``${VAR}`` and ``${VAR:-default}`` from ``env``. An unset variable without a default stays as written,
    so that the checks can report it instead of the provider silently getting an empty value."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        current = env.get(name)
        if current:
            return current
        if default is not None:
            return default
        return match.group(0) if current is None else ""

    return _VAR.sub(substitute, value)


def _env_providers(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``ORACLE_<FIELD>`` and ``ORACLE_<SUFFIX>_<FIELD>`` grouped by provider name, as YAML field names; plus the
    ``OCI_*`` variables of the provider named ``oci``."""
    found: dict[str, dict[str, str]] = {}
    for key, value in env.items():
        if not key.startswith("ORACLE_"):
            continue
        rest = key[len("ORACLE_") :]
        for env_field in ENV_FIELDS:
            if rest == env_field:
                found.setdefault("oracle", {})[env_field.lower()] = value
                break
            if rest.endswith("_" + env_field):
                suffix = rest[: -len(env_field) - 1]
                if suffix:
                    found.setdefault("oracle-" + suffix.lower().replace("_", "-"), {})[env_field.lower()] = value
                break
    oci = env_oci_fields(env)
    if oci:
        found["oci"] = {"type": "oci", **oci}
    return found


def _read_yaml(path: Path) -> tuple[dict[str, Any], list[Diagnostic]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        return {}, [Diagnostic("error", None, f"Cannot read the config file {path}: {exc.strerror or exc}.")]
    except yaml.YAMLError as exc:
        return {}, [Diagnostic("error", None, f"The config file {path} is not valid YAML: {exc}.")]
    if not isinstance(document, dict):
        return {}, [Diagnostic("error", None, f"The config file {path} must hold a mapping with a providers: block.")]
    return document, []


def _yaml_providers(
    document: dict[str, Any], path: Path, env: Mapping[str, str]
) -> tuple[dict[str, dict[str, Any]], list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    block = document.get("providers") or {}
    if not isinstance(block, dict):
        return {}, [Diagnostic("error", None, f"providers: in {path} must be a mapping of name to settings.")]
    providers: dict[str, dict[str, Any]] = {}
    for name, entry in block.items():
        if not isinstance(entry, dict):
            diagnostics.append(Diagnostic("error", str(name), f"providers.{name} in {path} must be a mapping."))
            continue
        providers[str(name)] = {
            key: expand(value, env) if isinstance(value, str) else value for key, value in entry.items()
        }
    return providers, diagnostics


def _yaml_models(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | list | tuple):
        return split_models(value)
    return ()


def load_providers(
    env: Mapping[str, str], config_file: str | None, document: dict[str, Any] | None = None
) -> tuple[list[ProviderConfig], list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    yaml_entries: dict[str, dict[str, Any]] = {}
    if config_file:
        if document is None:
            document, problems = _read_yaml(Path(config_file))
            diagnostics.extend(problems)
        yaml_entries, problems = _yaml_providers(document, Path(config_file), env)
        diagnostics.extend(problems)
    env_entries = _env_providers(env)
    providers: list[ProviderConfig] = []
    for name in [*yaml_entries, *(n for n in env_entries if n not in yaml_entries)]:
        from_yaml = yaml_entries.get(name, {})
        from_env = env_entries.get(name, {})
        provider_type = str(from_yaml.get("type") or from_env.get("type") or "oracle").lower()
        if provider_type not in PROVIDER_TYPES:
            diagnostics.append(
                Diagnostic("error", name, f"Provider type '{provider_type}' is unknown; use one of {PROVIDER_TYPES}.")
            )
            continue
        if name == "oci" and provider_type != "oci":
            from_env = {}  # the OCI_* variables describe a native provider only
        sources = [f"yaml:{config_file}"] if name in yaml_entries else []
        if from_env:
            sources.append("env")
        fields = {**from_yaml, **{k: v for k, v in from_env.items() if v}}
        provider, problems = _provider(name, provider_type, fields, env)
        diagnostics.extend(problems)
        if "models" in from_env:
            provider = replace(provider, models=split_models(from_env["models"]))
        providers.append(replace(provider, source="+".join(sources)))
    return providers, diagnostics


def _provider(
    name: str, provider_type: str, fields: dict[str, Any], env: Mapping[str, str]
) -> tuple[ProviderConfig, list[Diagnostic]]:
    problems: list[Diagnostic] = []
    region = _str(fields.get("region")) or None
    base_url = _str(fields.get("base_url"))
    config_path = oci_config_path(fields.get("config_file"), env)
    profile = oci_profile(fields.get("profile"), env)
    auth = default_auth(_str(fields.get("auth")), provider_type, config_path, env)
    if auth not in AUTHS:
        problems.append(Diagnostic("error", name, f"Provider '{name}': auth '{auth}' is unknown; use one of {AUTHS}."))
    if provider_type == "oci":
        base_url = _str(fields.get("endpoint")) or base_url
        if not region and auth in ("user_principal", "session_token"):
            region = (read_profile(config_path, profile) or {}).get("region") or None
        if not region and auth == "resource_principal":
            region = env.get("OCI_RESOURCE_PRINCIPAL_REGION") or None
        if not base_url and region:
            base_url = native_base_url(region)
    elif not base_url and region and provider_type == "oracle":
        base_url = compat_base_url(region)
    dedicated, dedicated_problems = parse_dedicated(fields.get("dedicated"))
    problems += [Diagnostic("error", name, f"Provider '{name}': {p}.") for p in dedicated_problems]
    return (
        ProviderConfig(
            name=name,
            type=provider_type,
            base_url=base_url.rstrip("/"),
            api_key=_str(fields.get("api_key")),
            api_key_secondary=_str(fields.get("api_key_secondary")),
            models=_yaml_models(fields.get("models")),
            region=region or region_from_url(base_url),
            project=_str(fields.get("project")) or None,
            auth=auth,
            compartment_id=_str(fields.get("compartment_id")) or None,
            config_file=config_path,
            profile=profile,
            key_content=_str(fields.get("key_content")) or None,
            pass_phrase=_str(fields.get("pass_phrase")) or None,
            dedicated=dedicated,
            discovery=parse_flag(fields.get("discovery"), auth in IAM_AUTHS),
            management_endpoint=_str(fields.get("management_endpoint")).rstrip("/") or None,
            federation_endpoint=_str(fields.get("federation_endpoint")) or None,
            resource_principal_version=env.get("OCI_RESOURCE_PRINCIPAL_VERSION") or None,
        ),
        problems,
    )


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


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
) -> Settings:
    """Everything the gateway needs, from ``env`` (normally ``os.environ``) and the optional YAML file."""
    config_file = config_file or env.get("OCIGATE_CONFIG") or None
    document: dict[str, Any] = {}
    diagnostics: list[Diagnostic] = []
    if config_file:
        document, diagnostics = _read_yaml(Path(config_file))
    providers, problems = load_providers(env, config_file, document)
    diagnostics.extend(problems)
    rules, rule_problems = read_request_rules(document.get("request_rules"))
    diagnostics.extend(Diagnostic("error", None, problem) for problem in rule_problems)
    routing, routing_problems = read_routing(document, env)
    diagnostics.extend(Diagnostic("error", None, problem) for problem in routing_problems)
    providers = _with_timeouts(providers, document, routing.timeouts, diagnostics)
    prices, price_problems = parse_prices(document.get("prices"))
    diagnostics.extend(Diagnostic("error", None, problem) for problem in price_problems)
    http, http_problems = read_http_limits(env)
    diagnostics.extend(Diagnostic("error", None, problem) for problem in http_problems)

    def number(name: str, default: float) -> float:
        raw = env.get(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if value < 0:
            diagnostics.append(Diagnostic("error", None, f"{name}={raw!r} is not a positive number; using {default}."))
            return default
        return value

    settings = Settings(
        host=host or env.get("OCIGATE_HOST") or "127.0.0.1",
        port=port if port is not None else int(number("OCIGATE_PORT", 8080)),
        master_key=env.get("OCIGATE_MASTER_KEY") or None,
        providers=tuple(providers),
        config_file=config_file,
        log_level=(env.get("OCIGATE_LOG_LEVEL") or "info").lower(),
        access_log=not _flag(env.get("OCIGATE_NO_ACCESS_LOG")),
        upstream_timeout_s=number("OCIGATE_UPSTREAM_TIMEOUT", 600.0),
        discovery_interval_s=number("OCIGATE_DISCOVERY_INTERVAL", 600.0),
        data_dir=env.get("OCIGATE_DATA_DIR") or "data",
        database_url=env.get("OCIGATE_DATABASE_URL") or None,
        emulator_region=env.get("OCIGATE_EMULATOR_REGION") or "us-chicago-1",
        force_emulator=force_emulator or _flag(env.get("OCIGATE_EMULATOR")),
        request_rules=rules,
        routing=routing,
        grace_period_s=number("OCIGATE_GRACE_PERIOD", 30.0),
        redis_url=env.get("OCIGATE_REDIS_URL") or None,
        key_pepper=env.get("OCIGATE_KEY_PEPPER") or None,
        usage=_flag(env.get("OCIGATE_USAGE"), default=True),
        limits_fail_closed=(env.get("OCIGATE_LIMITS_ON_REDIS_FAILURE") or "open").strip().lower() == "closed",
        audit=_flag(env.get("OCIGATE_AUDIT")),
        audit_bodies=_flag(env.get("OCIGATE_AUDIT_BODIES")),
        prices=prices,
        http=http,
    )
    return replace(settings, diagnostics=tuple(diagnostics))


def _with_timeouts(
    providers: list[ProviderConfig], document: dict[str, Any], base: Timeouts, diagnostics: list[Diagnostic]
) -> list[ProviderConfig]:
    """Each provider's timeouts: the routing defaults, with its own ``timeouts:`` from the YAML over them."""
    block = document.get("providers")
    entries = block if isinstance(block, dict) else {}
    found: list[ProviderConfig] = []
    for provider in providers:
        entry = entries.get(provider.name)
        own = entry.get("timeouts") if isinstance(entry, dict) else None
        timeouts, problems = read_timeouts(own, base, f"providers.{provider.name}.timeouts")
        diagnostics.extend(Diagnostic("warning", provider.name, problem) for problem in problems)
        found.append(replace(provider, timeouts=timeouts))
    return found


def with_providers(settings: Settings, providers: tuple[ProviderConfig, ...]) -> Settings:
    return replace(settings, providers=providers)
