"""Providers, from the environment and the config file's ``providers:`` block, for ``settings.py``.

- ``ORACLE_BASE_URL``, ``ORACLE_API_KEY``, ``ORACLE_MODELS`` (comma-separated, trimmed, duplicates dropped),
  ``ORACLE_REGION`` (builds the base URL when none is given) and ``ORACLE_PROJECT`` configure the provider named
  ``oracle``; ``ORACLE_<SUFFIX>_<FIELD>`` a provider named ``oracle-<suffix>``; ``ORACLE[_<SUFFIX>]_API_KEY_SECONDARY``
  is the key's other secret;
- the YAML block's fields (:data:`PROVIDER_FIELDS`), with ``${VAR}`` and ``${VAR:-default}`` expanded from the
  environment; the environment wins field by field, and ``ORACLE_MODELS`` replaces the YAML ``models:``;
- ``type: oci`` and IAM authentication on either type, and the ``OCI_*`` variables of the provider named ``oci``
  (``oracle.py`` has the table).

A region must be one where Oracle offers Generative AI (``catalog/regions.py``): a misspelt one is an error that
names the nearest regions, whether it is written as ``region:``, in ``ORACLE_REGION``, in the profile or in the
base URL's host. Each problem starts with the setting it is about: ``providers.<name>.<field>`` for the config file
(``settings.py`` turns that into ``file:line:column``), or the environment variable's name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ocigate.catalog.regions import GENAI_REGIONS, compat_base_url, native_base_url, region_from_url
from ocigate.config.diagnostics import Diagnostic, nearest_names
from ocigate.config.network import Egress, read_egress
from ocigate.config.oracle import (
    AUTHS,
    IAM_AUTHS,
    OCI_ENV_FIELDS,
    DedicatedEndpoint,
    default_auth,
    env_oci_fields,
    oci_config_path,
    oci_profile,
    parse_dedicated,
    parse_flag,
    read_profile,
)
from ocigate.config.policies import Timeouts
from ocigate.config.routing import read_timeouts
from ocigate.config.yaml_file import ConfigFile

PROVIDER_TYPES = ("oracle", "openai", "oci")
PROVIDER_FIELDS = (
    "type",
    "base_url",
    "api_key",
    "api_key_secondary",
    "models",
    "region",
    "project",
    "auth",
    "compartment_id",
    "endpoint",
    "config_file",
    "profile",
    "key_content",
    "pass_phrase",
    "dedicated",
    "discovery",
    "management_endpoint",
    "federation_endpoint",
    "timeouts",
    "proxy",
    "ca_bundle",
)
DEDICATED_FIELDS = ("endpoint", "endpoint_id", "model")
ENV_FIELDS = ("BASE_URL", "API_KEY_SECONDARY", "API_KEY", "MODELS", "REGION", "PROJECT")  # longest suffix first
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
UNEXPANDED = re.compile(r"\$\{[^}]*\}")
_OCI_OWN = ("OCI_CONFIG_FILE", "OCI_CLI_", "OCI_RESOURCE_PRINCIPAL_")  # read as Oracle's SDK and CLI read them
Namer = Callable[[str], str]
"""A provider field's name as the operator wrote it: ``providers.<name>.<field>`` or the environment variable."""


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
    ``instance_principal``, ``resource_principal``, ``oke_workload_identity``."""
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
    kubernetes_service_host: str | None = None
    """``KUBERNETES_SERVICE_HOST`` as found at start-up, for the checks: OKE workload identity trades the pod's
    service-account token at a proxy on the cluster's API server, which Oracle's SDK finds there."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    """Connect, first byte, idle stream and whole reply: ``routing.timeouts`` with this provider's ``timeouts:``."""
    egress: Egress = Egress()
    """Its proxy and CA bundle: ``proxy:`` and ``ca_bundle:``, else the environment's (``network.py``)."""

    @property
    def uses_iam(self) -> bool:
        return self.auth in IAM_AUTHS

    @property
    def served_models(self) -> tuple[str, ...]:
        """The configured model names, dedicated endpoints' names included."""
        return tuple(dict.fromkeys([*self.models, *(d.name for d in self.dedicated)]))


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


def misspelt_variables(env: Mapping[str, str]) -> list[str]:
    """``ORACLE_APIKEY``, ``OCI_COMPARTMENT``: variables one letter or underscore away from one the gateway reads.
    Only close misses are named, since ``ORACLE_HOME`` and other tools' variables share the prefixes."""
    found: list[str] = []
    oci_fields = list(OCI_ENV_FIELDS)
    for key in sorted(env):
        if key.startswith("ORACLE_"):
            rest = key[len("ORACLE_") :]
            if any(rest == f or rest.endswith("_" + f) for f in ENV_FIELDS):
                continue
            suffix, _, tail = rest.rpartition("_") if "_" in rest else ("", "", rest)
            candidates = [("ORACLE_", rest)] + ([(f"ORACLE_{suffix}_", tail)] if suffix else [])
            known: list[str] = list(ENV_FIELDS)
        elif key.startswith("OCI_") and not key.startswith(_OCI_OWN) and key[4:] not in OCI_ENV_FIELDS:
            candidates, known = [("OCI_", key[4:])], oci_fields
        else:
            continue
        for prefix, name in candidates:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            if close:
                found.append(f"{key} is not a variable ocigate reads; did you mean {prefix}{close[0]}?")
                break
    return found


def _yaml_providers(file: ConfigFile, env: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    block = file.data.get("providers") or {}
    if not isinstance(block, dict):
        return {}, ["providers: must be a mapping of provider name to its settings."]
    providers: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name, entry in block.items():
        if not isinstance(entry, dict):
            problems.append(f"providers.{name} must be a mapping of settings (type:, region:, api_key:, ...).")
            continue
        providers[str(name)] = {
            key: expand(value, env) if isinstance(value, str) else value for key, value in entry.items()
        }
    return providers, problems


def _yaml_models(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | list | tuple):
        return split_models(value)
    return ()


def env_name(provider: str, field_name: str) -> str:
    """The environment variable that sets ``field_name`` of ``provider`` (``ORACLE_IAD_REGION``, ``OCI_AUTH``)."""
    if provider == "oci":
        by_field = {yaml_field: name for name, yaml_field in OCI_ENV_FIELDS.items()}
        return "OCI_" + by_field.get(field_name, field_name.upper())
    suffix = "" if provider == "oracle" else provider.removeprefix("oracle-").upper().replace("-", "_") + "_"
    return f"ORACLE_{suffix}{field_name.upper()}"


def load_providers(env: Mapping[str, str], file: ConfigFile | None) -> tuple[list[ProviderConfig], list[Diagnostic]]:
    """The providers, and the problems found (errors: the configuration as written is wrong)."""
    diagnostics: list[Diagnostic] = []
    yaml_entries: dict[str, dict[str, Any]] = {}
    if file is not None:
        yaml_entries, problems = _yaml_providers(file, env)
        diagnostics += [Diagnostic("error", None, problem) for problem in problems]
    env_entries = _env_providers(env)
    providers: list[ProviderConfig] = []
    for name in [*yaml_entries, *(n for n in env_entries if n not in yaml_entries)]:
        from_yaml = yaml_entries.get(name, {})
        from_env = {k: v for k, v in env_entries.get(name, {}).items() if v}
        if name == "oci" and str(from_yaml.get("type") or "oci").lower() != "oci":
            from_env = {}  # the OCI_* variables describe a native provider only

        def namer(field_name: str, name: str = name, from_env: dict[str, str] = from_env) -> str:
            return env_name(name, field_name) if field_name in from_env else f"providers.{name}.{field_name}"

        provider, problems = _provider(name, {**from_yaml, **from_env}, env, namer)
        diagnostics += [Diagnostic("error", name, problem) for problem in problems]
        if provider is None:
            continue
        if "models" in from_env:
            provider = replace(provider, models=split_models(from_env["models"]))
        sources = ([f"yaml:{file.path}"] if file is not None and name in yaml_entries else []) + (
            ["env"] if from_env else []
        )
        providers.append(replace(provider, source="+".join(sources)))
    return providers, diagnostics


def _provider(
    name: str, fields: dict[str, Any], env: Mapping[str, str], namer: Namer
) -> tuple[ProviderConfig | None, list[str]]:
    provider_type = _str(fields.get("type") or "oracle").lower()
    if provider_type not in PROVIDER_TYPES:
        return None, [f"{namer('type')}: the provider type '{provider_type}' is unknown; use one of {PROVIDER_TYPES}."]
    problems: list[str] = []
    config_path = oci_config_path(fields.get("config_file"), env)
    profile = oci_profile(fields.get("profile"), env)
    auth = default_auth(_str(fields.get("auth")), provider_type, config_path, env)
    if auth not in AUTHS:
        problems.append(f"{namer('auth')}: auth '{auth}' is unknown; use one of {AUTHS}.")
    region, region_from = _region(fields, provider_type, auth, config_path, profile, env, namer)
    url_field = "endpoint" if provider_type == "oci" and _str(fields.get("endpoint")) else "base_url"
    base_url = _str(fields.get(url_field))
    if not base_url and region and provider_type == "oci":
        base_url = native_base_url(region)
    elif not base_url and region and provider_type == "oracle":
        base_url = compat_base_url(region)
    if provider_type != "openai":
        problems += _region_problems(region, region_from, region_from_url(base_url), namer(url_field))
    dedicated, dedicated_problems = parse_dedicated(fields.get("dedicated"))
    problems += [f"providers.{name}.{problem}." for problem in dedicated_problems]
    config = ProviderConfig(
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
        kubernetes_service_host=env.get("KUBERNETES_SERVICE_HOST") or None,
    )
    return config, problems


def _region(
    fields: dict[str, Any],
    provider_type: str,
    auth: str,
    config_path: str,
    profile: str,
    env: Mapping[str, str],
    namer: Namer,
) -> tuple[str | None, str]:
    """The provider's region and where it was written: the provider's own, else (native API) the OCI profile's,
    else the resource principal's."""
    region = _str(fields.get("region"))
    if region or provider_type != "oci":
        return region or None, namer("region")
    if auth in ("user_principal", "session_token"):
        region = (read_profile(config_path, profile) or {}).get("region") or ""
        if region:
            return region, f"the region of profile [{profile}] in {config_path}"
    if auth in ("resource_principal", "oke_workload_identity") and env.get("OCI_RESOURCE_PRINCIPAL_REGION"):
        return env["OCI_RESOURCE_PRINCIPAL_REGION"], "OCI_RESOURCE_PRINCIPAL_REGION"
    return None, namer("region")


def _region_problems(region: str | None, region_from: str, url_region: str | None, url_field: str) -> list[str]:
    """A region Oracle does not offer Generative AI in (a misspelling, most often), with the nearest ones."""
    problems: list[str] = []
    for value, where in ((region, region_from), (url_region, url_field)):
        if value and value not in GENAI_REGIONS and (where == region_from or value != region):
            nearest = nearest_names(value, GENAI_REGIONS)
            hint = f"did you mean {' or '.join(nearest)}?" if nearest else f"use one of {', '.join(GENAI_REGIONS)}."
            problems.append(f"{where}: '{value}' is not a region where Oracle offers Generative AI; {hint}")
    return problems


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def with_timeouts(
    providers: list[ProviderConfig], file: ConfigFile | None, base: Timeouts
) -> tuple[list[ProviderConfig], list[str]]:
    """Each provider's timeouts: the routing defaults, with its own ``timeouts:`` from the YAML over them."""
    block = file.data.get("providers") if file is not None else None
    entries = block if isinstance(block, dict) else {}
    found: list[ProviderConfig] = []
    problems: list[str] = []
    for provider in providers:
        entry = entries.get(provider.name)
        own = entry.get("timeouts") if isinstance(entry, dict) else None
        timeouts, more = read_timeouts(own, base, f"providers.{provider.name}.timeouts")
        problems += more
        found.append(replace(provider, timeouts=timeouts))
    return found, problems


def with_egress(
    providers: list[ProviderConfig], document: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[list[ProviderConfig], list[str]]:
    """Each provider's proxy and CA bundle (``network.py``): its own ``proxy:`` and ``ca_bundle:`` (``${VAR}``
    expanded), else the top level's ``ca_bundle:`` and the environment's."""
    block = document.get("providers")
    entries: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name, entry in (block if isinstance(block, dict) else {}).items():
        if isinstance(entry, dict):
            own = {key: expand(str(entry[key]), env) for key in ("proxy", "ca_bundle") if entry.get(key) is not None}
            for key, value in own.items():
                if unset := UNEXPANDED.search(value):
                    problems.append(f"providers.{name}.{key}: {unset.group(0)} names a variable that is not set.")
            entries[str(name)] = own
    found, default, more = read_egress(document, env, entries)
    return [replace(p, egress=found.get(p.name, default)) for p in providers], [*problems, *more]
