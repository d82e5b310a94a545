"""Configuration checks against Oracle's known pitfalls, shared by start-up and ``ocigate doctor``.

Each check is pure: a provider's settings in, :class:`Diagnostic` entries out. An "error" means requests
through that provider cannot work as configured, so the gateway keeps it out of service and says why; a
"warning" is likely to fail or worth a look.
"""

from __future__ import annotations

import re

from ocigate.catalog.regions import (
    GENAI_REGIONS,
    looks_like_region,
    region_from_url,
    uses_actions_base,
    uses_openai_base,
)
from ocigate.config.network import bypassed
from ocigate.config.settings import UNEXPANDED, Diagnostic, ProviderConfig, Settings

POLICY_STATEMENT = (
    "allow any-user to use generative-ai-family in tenancy where ALL {request.principal.type='generativeaiapikey'}"
)
_OCID = re.compile(r"^ocid1\.[a-z0-9]+\.", re.IGNORECASE)
_LOOPBACK_URL = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)")


def secret_problem(secret: str, env_name: str) -> str | None:
    """Why ``secret`` cannot be a Generative AI API key secret, or None when its shape is plausible."""
    value = secret.strip()
    if not value:
        return f"the API key is empty: set {env_name} to one of the key's two secrets (sk-...)"
    if UNEXPANDED.search(value):
        return f"the API key is still the unexpanded {UNEXPANDED.search(value).group(0)}: export that variable"  # type: ignore[union-attr]
    if _OCID.match(value):
        return (
            "the API key is an OCID (ocid1...), which names the key but cannot authenticate: use one of its two "
            "secrets (sk-...), shown in the console when the key was created"
        )
    if value.lower().startswith(("http://", "https://")):
        return "the API key is a URL: use one of the key's two secrets (sk-...), not a console or endpoint URL"
    if value.lower().startswith("bearer "):
        return "the API key starts with 'Bearer ': give only the secret (sk-...); the gateway adds 'Bearer'"
    if any(ch.isspace() for ch in value):
        return "the API key contains whitespace: copy the secret (sk-...) again, without spaces or line breaks"
    return None


def check_provider(provider: ProviderConfig) -> list[Diagnostic]:
    """Every problem of one provider's settings: its credentials, its base URL, its region, project and models."""
    found = _Found(provider.name)
    prefix = env_prefix(provider.name)
    if provider.uses_iam:
        found.items.extend(check_iam(provider))
    else:
        _check_secret(provider, prefix, found)
    if _check_url(provider, prefix, found) and provider.type in ("oracle", "oci"):
        _check_region(provider, prefix, found)
        _check_base(provider, prefix, found)
        if provider.base_url.startswith("http://") and not _LOOPBACK_URL.match(provider.base_url):
            found.warning("the base URL uses plain http; the API key would cross the network unencrypted.")
        _check_models(provider, prefix, found)
    return found.items


class _Found:
    """The diagnostics of one provider, as they are found."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[Diagnostic] = []

    def error(self, message: str) -> None:
        self.items.append(Diagnostic("error", self.name, f"Provider '{self.name}': {message}"))

    def warning(self, message: str) -> None:
        self.items.append(Diagnostic("warning", self.name, f"Provider '{self.name}': {message}"))


def env_prefix(name: str) -> str:
    """The environment variables' prefix of a provider: ``ORACLE_`` for ``oracle``, ``ORACLE_EU_`` for
    ``oracle-eu``."""
    return "ORACLE_" if name == "oracle" else "ORACLE_" + name.removeprefix("oracle-").upper().replace("-", "_") + "_"


def _check_secret(provider: ProviderConfig, prefix: str, found: _Found) -> None:
    problem = secret_problem(provider.api_key, "api_key" if provider.type == "oci" else prefix + "API_KEY")
    if problem:
        found.error(f"{problem}.")
    elif provider.type in ("oracle", "oci") and not provider.api_key.strip().startswith("sk-"):
        found.warning("the API key does not start with 'sk-', as Oracle's Generative AI secrets do.")


def _check_url(provider: ProviderConfig, prefix: str, found: _Found) -> bool:
    """Whether the base URL can be used at all (checked further only then)."""
    url = provider.base_url
    if not url:
        if provider.type == "oci":
            found.error(
                "no region: set region (or OCI_REGION, or the profile's region), or endpoint for a private endpoint."
            )
        else:
            found.error(f"no base URL; set {prefix}BASE_URL or {prefix}REGION.")
        return False
    unexpanded = UNEXPANDED.search(url)
    if unexpanded:
        found.error(f"the base URL still holds {unexpanded.group(0)}: export that variable.")
        return False
    if not url.startswith(("http://", "https://")):
        found.error(f"the base URL '{url}' must start with https://.")
        return False
    return True


def _check_region(provider: ProviderConfig, prefix: str, found: _Found) -> None:
    url_region = region_from_url(provider.base_url)
    if provider.region and not looks_like_region(provider.region):
        found.error(f"region '{provider.region}' is not a region identifier such as us-chicago-1.")
    elif provider.region and url_region and provider.region != url_region:
        found.error(
            f"the base URL is in {url_region} but {prefix}REGION says {provider.region}. "
            f"An API key works only in the region it was created in: point the URL at that region."
        )
    region = url_region or provider.region
    if region and region not in GENAI_REGIONS:
        found.warning(f"{region} is not a region known to offer Generative AI; Oracle will answer 404.")


def _check_base(provider: ProviderConfig, prefix: str, found: _Found) -> None:
    """Which of Oracle's bases, and what it needs: a project on /openai/v1, a compartment when signed."""
    url = provider.base_url
    if provider.type == "oci":
        return  # the native API: no project, the compartment travels in the body
    if uses_openai_base(url):
        if not provider.project:
            found.error(
                f"the /openai/v1 base needs a Generative AI project: set {prefix}PROJECT "
                "to its OCID (ocid1.generativeaiproject...), or use the /20231130/actions/v1 base."
            )
        elif not provider.project.startswith("ocid1.generativeaiproject."):
            found.warning(f"the project '{provider.project}' is not a Generative AI project OCID.")
    elif provider.uses_iam and not provider.compartment_id:
        found.error(
            "signed requests to the /20231130/actions/v1 base carry a compartment: set "
            "compartment_id to its OCID (ocid1.compartment...)."
        )
    elif not uses_actions_base(url) and region_from_url(url):
        found.warning(
            "the base URL should end in /20231130/actions/v1 or /openai/v1 (Oracle's OpenAI-compatible bases)."
        )


def _check_models(provider: ProviderConfig, prefix: str, found: _Found) -> None:
    if provider.type == "oci" and not provider.served_models and not provider.discovery:
        found.warning(
            "no models configured and discovery is off: list them under models: (or "
            "OCI_MODELS), or turn discovery on (it needs IAM authentication)."
        )
    elif provider.type == "oracle" and not provider.models and not provider.discovery:
        found.warning(
            "no models configured. Oracle's API-key path has no /models listing, so list them "
            f"in {prefix}MODELS (comma-separated) or under models: in the config file."
        )


METADATA_HOST = "169.254.169.254"


def check_iam(provider: ProviderConfig) -> list[Diagnostic]:
    """IAM authentication: the SDK installed, the principal's prerequisites, the compartment's shape."""
    from ocigate.providers.oracle.signing import INSTALL_HINT, oci_installed

    name = provider.name
    found: list[Diagnostic] = []
    if not oci_installed():
        found.append(
            Diagnostic(
                "error",
                name,
                f"Provider '{name}': auth {provider.auth} signs requests with Oracle's oci SDK, which is not "
                f"installed: {INSTALL_HINT}",
            )
        )
    if provider.auth == "resource_principal" and not provider.resource_principal_version:
        found.append(
            Diagnostic(
                "error",
                name,
                f"Provider '{name}': auth resource_principal, but OCI_RESOURCE_PRINCIPAL_VERSION is not set: "
                "resource principals exist inside OCI Functions, Data Science and other OCI runtimes.",
            )
        )
    if provider.auth == "oke_workload_identity" and not provider.kubernetes_service_host:
        found.append(
            Diagnostic(
                "error",
                name,
                f"Provider '{name}': auth oke_workload_identity, but KUBERNETES_SERVICE_HOST is not set: OKE "
                "workload identity exists only in a pod of an enhanced OKE cluster (Kubernetes sets the variable).",
            )
        )
    compartment = provider.compartment_id
    if compartment and UNEXPANDED.search(compartment):
        found.append(Diagnostic("error", name, f"Provider '{name}': compartment_id is still {compartment}."))
    elif compartment and not compartment.startswith(("ocid1.compartment.", "ocid1.tenancy.")):
        found.append(
            Diagnostic(
                "error",
                name,
                f"Provider '{name}': compartment_id '{compartment}' is not a compartment OCID "
                "(ocid1.compartment... or the tenancy's ocid1.tenancy...).",
            )
        )
    elif not compartment and provider.type == "oci":
        found.append(
            Diagnostic(
                "warning",
                name,
                f"Provider '{name}': no compartment_id: requests run in the "
                + (
                    "resource's compartment."
                    if provider.auth in ("resource_principal", "oke_workload_identity")
                    else "tenancy's root compartment."
                ),
            )
        )
    egress = provider.egress
    if provider.auth == "instance_principal" and egress.http_proxy and not egress.explicit:
        if not bypassed(METADATA_HOST, 80, egress.no_proxy):
            found.append(
                Diagnostic(
                    "warning",
                    name,
                    f"Provider '{name}': Oracle's SDK asks the instance metadata service ({METADATA_HOST}) for the "
                    f"instance principal through HTTP_PROXY, which cannot reach it: add {METADATA_HOST} to NO_PROXY.",
                )
            )
    return found


def check_settings(settings: Settings) -> list[Diagnostic]:
    found = list(settings.diagnostics)
    for provider in settings.providers:
        found.extend(check_provider(provider))
    if not settings.master_key and not is_loopback(settings.host):
        found.append(
            Diagnostic(
                "error",
                None,
                f"Serving on {settings.host} without OCIGATE_MASTER_KEY would open Oracle to anyone who can reach "
                "this address: set OCIGATE_MASTER_KEY, or serve on 127.0.0.1.",
            )
        )
    return found


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")
