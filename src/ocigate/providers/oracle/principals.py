"""The four IAM principals, as Oracle's ``oci`` SDK signers wrapped for
:class:`~ocigate.providers.oracle.signing.OciRequestSigner`.

Imported only when a provider signs; every function here is blocking (files, and HTTP for instance principals) and
runs in a worker thread. Setup failures become :class:`~ocigate.providers.oracle.signing.SignerSetupError` with
the fix in the message. Where the settings come from:

- user principals and session tokens: the OCI config file's profile, with the provider's ``key_content`` and
  ``pass_phrase`` taking precedence (Oracle's SDK refuses ``key_content`` inside the file);
- instance principals: the instance metadata service (the SDK honours ``OCI_METADATA_BASE_URL``) and the region's
  auth service, or the provider's ``federation_endpoint``;
- resource principals: the ``OCI_RESOURCE_PRINCIPAL_*`` variables that OCI Functions, Data Science and other
  runtimes set; the SDK reads them itself (``get_resource_principals_signer``);
- OKE workload identity: the pod's service-account token and CA certificate (under
  ``/var/run/secrets/kubernetes.io/serviceaccount/``), traded for a resource principal session token at the proxy
  OKE runs on the cluster's API server (``KUBERNETES_SERVICE_HOST``, port 12250); the SDK reads them itself
  (``get_oke_workload_identity_resource_principal_signer``), and ``OCI_RESOURCE_PRINCIPAL_REGION`` for the region.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from ocigate.config.settings import ProviderConfig
from ocigate.providers.oracle.signing import INSTALL_HINT, SignerSetupError

# Refresh a token this long before it expires (the SDK itself refreshes 60 s before, on use).
REFRESH_MARGIN_S = 300


def _oci() -> Any:
    try:
        import oci  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SignerSetupError(
            f"IAM authentication needs Oracle's oci SDK, which is not installed: {INSTALL_HINT}"
        ) from exc
    return oci


class Credential:
    """One principal's SDK signer and what the hints name. ``refresh`` swaps in a rebuilt signer."""

    def __init__(
        self,
        sdk: Any,
        *,
        tenancy: str | None,
        region: str | None,
        compartment: str | None = None,
        rebuild: Callable[[], Credential] | None = None,
        watch: str | None = None,
    ) -> None:
        self.sdk = sdk
        self.key_id: str = sdk.api_key
        self.tenancy = tenancy
        self.region = region
        self.compartment = compartment
        self._rebuild = rebuild
        self._watch = watch
        self._stamp = _mtime(watch)
        self.watches_file = watch is not None
        """A session token: a changed file is refreshed at once, never rate-limited."""

    def stale(self) -> bool:
        """Whether to refresh before signing: a session token file that changed, or a token about to expire."""
        if self._watch is not None:
            return _mtime(self._watch) != self._stamp
        if self._rebuild is not None:
            return False
        container = getattr(getattr(self.sdk, "federation_client", None), "security_token", None)
        container = container or getattr(self.sdk, "security_token", None)
        valid = getattr(container, "valid_with_jitter", None)
        return callable(valid) and not valid(REFRESH_MARGIN_S)

    def refresh(self, lock: threading.Lock) -> None:
        if self._rebuild is not None:
            fresh = self._rebuild()
            with lock:
                self.sdk, self.key_id, self._stamp = fresh.sdk, fresh.key_id, fresh._stamp
            return
        if hasattr(self.sdk, "federation_client"):
            # Instance principals: HTTP to the auth service, outside the lock; the next signature picks the token up.
            self.sdk.refresh_security_token()
            return
        with lock:  # resource principals re-read their token and reset their signers in place
            self.sdk.refresh_security_token()
            self.key_id = self.sdk.api_key


def _mtime(path: str | None) -> float | None:
    if path is None:
        return None
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _profile(config: ProviderConfig) -> dict[str, Any]:
    oci = _oci()
    where = f"profile '{config.profile}' of {config.config_file}"
    try:
        profile: dict[str, Any] = oci.config.from_file(config.config_file, config.profile)
    except oci.exceptions.ConfigFileNotFound:
        raise SignerSetupError(
            f"The OCI config file {config.config_file} does not exist: create it with `oci setup config` (or "
            "`oci session authenticate` for a session), or point config_file / OCI_CONFIG_FILE at yours."
        ) from None
    except oci.exceptions.ProfileNotFound:
        raise SignerSetupError(
            f"The OCI config file {config.config_file} has no profile '{config.profile}': set profile "
            "(or OCI_CLI_PROFILE) to one of its [sections]."
        ) from None
    except (ValueError, OSError) as exc:
        raise SignerSetupError(f"Cannot use {where}: {exc}") from None
    if config.key_content:
        profile["key_content"] = config.key_content
    if config.pass_phrase:
        profile["pass_phrase"] = config.pass_phrase
    profile["_where"] = where
    return profile


def _with_key(profile: dict[str, Any], make: Callable[[], Any]) -> Any:
    """``make()``, which loads the profile's private key, with the SDK's key errors turned into fixes."""
    oci = _oci()
    where = profile["_where"]
    if not profile.get("key_content") and not profile.get("key_file"):
        raise SignerSetupError(f"{where} names no key_file.")
    try:
        return make()
    except oci.exceptions.MissingPrivateKeyPassphrase:
        raise SignerSetupError(
            f"The private key of {where} is encrypted: add its pass_phrase to the profile or to the provider."
        ) from None
    except oci.exceptions.InvalidPrivateKey as exc:
        raise SignerSetupError(f"The private key of {where} cannot be used: {exc}") from None
    except OSError as exc:
        raise SignerSetupError(
            f"Cannot read the key_file {profile.get('key_file')} of {where}: {exc.strerror or exc}."
        ) from None


def user_principal(config: ProviderConfig) -> Credential:
    oci = _oci()
    profile = _profile(config)
    try:
        oci.config.validate_config({k: v for k, v in profile.items() if not k.startswith("_")})
    except oci.exceptions.InvalidConfig as exc:
        found = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        problems = ", ".join(f"{key} {what}" for key, what in found.items()) or str(exc)
        hint = " (a session profile? set auth: session_token)" if profile.get("security_token_file") else ""
        raise SignerSetupError(f"{profile['_where']} is not a complete API-key profile: {problems}{hint}.") from None
    sdk = _with_key(
        profile,
        lambda: oci.signer.Signer(
            profile["tenancy"],
            profile["user"],
            profile["fingerprint"],
            profile.get("key_file"),
            pass_phrase=profile.get("pass_phrase"),
            private_key_content=profile.get("key_content"),
        ),
    )
    return Credential(
        sdk, tenancy=profile["tenancy"], region=profile.get("region"), rebuild=lambda: user_principal(config)
    )


def session_token(config: ProviderConfig) -> Credential:
    """A session from ``oci session authenticate``: the profile's ``security_token_file`` and ``key_file``, read
    again whenever the token file changes (``oci session refresh`` rewrites it)."""
    oci = _oci()
    profile = _profile(config)
    where = profile["_where"]
    token_file = profile.get("security_token_file")
    if not token_file:
        raise SignerSetupError(
            f"{where} has no security_token_file: create a session with "
            f"`oci session authenticate --profile-name {config.profile}`, or use auth: user_principal."
        )
    token_file = os.path.expanduser(token_file)
    try:
        with open(token_file, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise SignerSetupError(
            f"Cannot read the security_token_file {token_file} of {where}: {exc.strerror}."
        ) from None
    key = _with_key(
        profile,
        lambda: (
            oci.signer.load_private_key(profile["key_content"], profile.get("pass_phrase"))
            if profile.get("key_content")
            else oci.signer.load_private_key_from_file(profile["key_file"], profile.get("pass_phrase"))
        ),
    )
    sdk = oci.auth.signers.SecurityTokenSigner(token, key)
    return Credential(
        sdk,
        tenancy=profile.get("tenancy"),
        region=profile.get("region"),
        rebuild=lambda: session_token(config),
        watch=token_file,
    )


def instance_principal(config: ProviderConfig) -> Credential:
    oci = _oci()
    options: dict[str, Any] = {}
    if config.federation_endpoint:
        options["federation_endpoint"] = config.federation_endpoint
    if config.egress.ca_bundle:  # the SDK's own token call (requests) trusts the provider's bundle too
        options["federation_client_cert_bundle_verify"] = config.egress.ca_bundle
    try:
        sdk = oci.auth.signers.InstancePrincipalsSecurityTokenSigner(**options)
    except Exception as exc:  # noqa: BLE001 - the SDK raises requests', its own and plain errors alike
        raise SignerSetupError(
            "Instance principals need an OCI compute instance: the instance metadata service "
            "(http://169.254.169.254/opc/v2) or the auth service did not answer "
            f"({type(exc).__name__}: {str(exc)[:200]}). Elsewhere, use auth: user_principal or session_token."
        ) from None
    return Credential(sdk, tenancy=sdk.tenancy_id, region=sdk.region)


def resource_principal() -> Credential:
    oci = _oci()
    try:
        sdk = oci.auth.signers.get_resource_principals_signer()
    except Exception as exc:  # noqa: BLE001 - EnvironmentError, ValueError, jwt's and the SDK's own
        raise SignerSetupError(
            "Resource principals need the OCI_RESOURCE_PRINCIPAL_* variables that OCI Functions, Data Science "
            f"and other OCI runtimes set ({type(exc).__name__}: {str(exc)[:200]})."
        ) from None
    return Credential(
        sdk,
        tenancy=getattr(sdk, "tenancy_id", None),
        region=getattr(sdk, "region", None),
        compartment=getattr(sdk, "compartment_id", None),
    )


def oke_workload_identity() -> Credential:
    """The pod's OKE workload identity; every way it is misconfigured becomes one error that names the fix."""
    oci = _oci()
    try:
        sdk = oci.auth.signers.get_oke_workload_identity_resource_principal_signer()
    except OSError as exc:  # the token or CA file: not mounted
        raise SignerSetupError(
            f"OKE workload identity cannot read {exc.filename or 'the service account files'} "
            f"({exc.strerror or exc}): the pod needs its service account token mounted "
            "(automountServiceAccountToken: true), as OKE's workload identity reads it."
        ) from None
    except oci.exceptions.ServiceError as exc:
        raise SignerSetupError(
            f"OKE workload identity: the cluster's token proxy refused the service account token ({exc.status}: "
            f"{exc.message}). Workload identity needs an enhanced OKE cluster, and the pod's service account token."
        ) from None
    except Exception as exc:  # noqa: BLE001 - ValueError, requests' errors and the SDK's own alike
        raise SignerSetupError(
            "OKE workload identity needs a pod of an enhanced OKE cluster (KUBERNETES_SERVICE_HOST, the service "
            f"account's token and CA certificate): {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    claims = getattr(getattr(sdk, "security_token", None), "jwt", None) or {}
    return Credential(
        sdk,
        tenancy=claims.get("res_tenant") or claims.get("tenant"),
        region=getattr(sdk, "region", None),
        compartment=claims.get("res_compartment"),
    )
