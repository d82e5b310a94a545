"""The IAM and native-API fields of a provider's configuration, for ``config.py``.

Pure helpers: the environment arrives as a mapping from ``config.py`` (the only module that reads it), and the one
file read here is the OCI config file's ``region`` line, with :mod:`configparser`, so that nothing imports Oracle's
``oci`` SDK before a provider needs it.

The default ``oci`` provider from the environment:

=====================  ==============================================================================
``OCI_COMPARTMENT_ID``  the compartment OCID requests run in (creates the provider)
``OCI_MODELS``          comma-separated model names or model OCIDs (creates the provider)
``OCI_ENDPOINT``        the inference endpoint, overriding the region's (private endpoints, the emulator)
``OCI_AUTH``            ``user_principal`` (default with a config file), ``session_token``,
                        ``instance_principal``, ``resource_principal``, ``oke_workload_identity`` or ``api_key``
``OCI_REGION``          the region (default: the profile's ``region``)
``OCI_PROFILE``         the profile of the OCI config file (default ``OCI_CLI_PROFILE``, else ``DEFAULT``)
``OCI_CONFIG_FILE``     the OCI config file (default ``~/.oci/config``), as Oracle's SDK and CLI read it
=====================  ==============================================================================

Any of the first four creates a provider named ``oci`` of ``type: oci``; the others only fill in its fields.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

IAM_AUTHS = ("user_principal", "session_token", "instance_principal", "resource_principal", "oke_workload_identity")
AUTHS = ("api_key", *IAM_AUTHS)
DEFAULT_OCI_CONFIG = "~/.oci/config"
DEFAULT_PROFILE = "DEFAULT"
ENDPOINT_PREFIX = "ocid1.generativeaiendpoint."
# OCI_<NAME> → the YAML field it stands for, for the provider named "oci".
OCI_ENV_FIELDS = {
    "COMPARTMENT_ID": "compartment_id",
    "MODELS": "models",
    "ENDPOINT": "endpoint",
    "AUTH": "auth",
    "REGION": "region",
    "PROFILE": "profile",
}
_OCI_TRIGGERS = ("COMPARTMENT_ID", "MODELS", "ENDPOINT", "AUTH")


@dataclass(frozen=True, slots=True)
class DedicatedEndpoint:
    """A dedicated AI cluster endpoint served under a model name of the operator's choice; ``model`` is the model
    family behind it (``cohere.command-r-08-2024``), which picks Oracle's API format."""

    name: str
    endpoint: str
    model: str | None = None


def env_oci_fields(env: Mapping[str, str]) -> dict[str, str]:
    """The ``OCI_*`` variables as YAML fields of the provider named ``oci``; empty unless one of
    ``OCI_COMPARTMENT_ID``, ``OCI_MODELS``, ``OCI_ENDPOINT`` or ``OCI_AUTH`` is set (``OCI_REGION`` alone is set
    by many OCI tools and must not conjure a provider)."""
    if not any(env.get("OCI_" + name) for name in _OCI_TRIGGERS):
        return {}
    return {field: env["OCI_" + name] for name, field in OCI_ENV_FIELDS.items() if env.get("OCI_" + name)}


def oci_config_path(value: Any, env: Mapping[str, str]) -> str:
    """The OCI config file: the provider's ``config_file``, else ``OCI_CONFIG_FILE``, else ``~/.oci/config``."""
    raw = str(value).strip() if value else ""
    return os.path.expanduser(raw or env.get("OCI_CONFIG_FILE") or DEFAULT_OCI_CONFIG)


def oci_profile(value: Any, env: Mapping[str, str]) -> str:
    raw = str(value).strip() if value else ""
    return raw or env.get("OCI_CLI_PROFILE") or DEFAULT_PROFILE


def read_profile(path: str, profile: str) -> dict[str, str] | None:
    """The profile's entries (``[DEFAULT]`` inherited, as Oracle's SDK does), or None when the file or profile is
    missing or unreadable."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        if not parser.read(path, encoding="utf-8"):
            return None
    except (configparser.Error, UnicodeDecodeError):
        return None
    if profile != DEFAULT_PROFILE and not parser.has_section(profile):
        return None
    return dict(parser[profile]) or None


def default_auth(configured: str, provider_type: str, config_path: str, env: Mapping[str, str]) -> str:
    """The provider's ``auth``. An ``oracle`` provider signs only when told to; an ``oci`` provider uses the OCI
    config file when there is one, else resource principals where the OCI runtime announces them."""
    if configured:
        return configured.strip().lower()
    if provider_type != "oci":
        return "api_key"
    if os.path.isfile(config_path):
        return "user_principal"
    if env.get("OCI_RESOURCE_PRINCIPAL_VERSION"):
        return "resource_principal"
    return "user_principal"  # the checks then say that the config file is missing


def parse_dedicated(value: Any) -> tuple[tuple[DedicatedEndpoint, ...], list[str]]:
    """``dedicated: {name: ocid}`` or ``{name: {endpoint: ocid, model: family}}``; problems as messages."""
    if value is None or value == {}:
        return (), []
    if not isinstance(value, dict):
        return (), ["dedicated: must map model names to endpoint OCIDs"]
    found: list[DedicatedEndpoint] = []
    problems: list[str] = []
    for name, spec in value.items():
        model = None
        endpoint = spec
        if isinstance(spec, dict):
            endpoint = spec.get("endpoint") or spec.get("endpoint_id")
            model = str(spec["model"]).strip() if spec.get("model") else None
        if not isinstance(endpoint, str) or not endpoint.strip():
            problems.append(f"dedicated.{name} needs an endpoint OCID ({ENDPOINT_PREFIX}...)")
            continue
        endpoint = endpoint.strip()
        if not endpoint.startswith(ENDPOINT_PREFIX):
            problems.append(
                f"dedicated.{name}: '{endpoint}' is not a Generative AI endpoint OCID ({ENDPOINT_PREFIX}...)"
            )
            continue
        found.append(DedicatedEndpoint(str(name), endpoint, model))
    return tuple(found), problems


def parse_flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")
