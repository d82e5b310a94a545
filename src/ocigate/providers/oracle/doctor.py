"""``ocigate doctor`` for IAM-authenticated providers: the OCI config file and profile, the key and its fingerprint,
the session token, the region, and a signed ListModels call that names the policy to add when it fails.

The offline part reads files with :mod:`configparser` and ``cryptography`` only; the probe signs with the
provider's own signer.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import serialization

from ocigate.catalog.regions import GENAI_REGIONS
from ocigate.config.oracle import read_profile
from ocigate.config.settings import Diagnostic, ProviderConfig
from ocigate.core.errors import GatewayError
from ocigate.core.jwt import token_expiry
from ocigate.providers.egress import Wire
from ocigate.providers.oracle.discovery import list_oci_models, management_url
from ocigate.providers.oracle.hints import UpstreamContext
from ocigate.providers.oracle.http import SignedHttp
from ocigate.providers.oracle.signing import OciRequestSigner


def key_fingerprint(pem: bytes, pass_phrase: str | None = None) -> str:
    """OCI's fingerprint of an API signing key: MD5 of the public key's DER SubjectPublicKeyInfo, as
    colon-separated lower-case hex (what the console shows and ``fingerprint=`` holds)."""
    password = pass_phrase.encode() if pass_phrase else None
    try:
        key = serialization.load_pem_private_key(pem, password)
    except TypeError:  # a passphrase given for a key without one, as Oracle's SDK forgives
        key = serialization.load_pem_private_key(pem, None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()  # noqa: S324 - OCI defines the fingerprint as MD5
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def profile_findings(config: ProviderConfig) -> list[Diagnostic]:
    """What can be checked without the network, for user principals and session tokens."""
    name = config.name
    found: list[Diagnostic] = []

    def add(level: str, message: str) -> None:
        found.append(Diagnostic(level, name, f"Provider '{name}': {message}"))

    if config.auth not in ("user_principal", "session_token"):
        return found
    path = config.config_file or ""
    if not os.path.isfile(path):
        add("error", f"the OCI config file {path} does not exist: create it with `oci setup config`.")
        return found
    profile = read_profile(path, config.profile)
    if profile is None:
        add("error", f"{path} has no profile '{config.profile}'.")
        return found
    add("ok", f"profile '{config.profile}' of {path} found.")
    pass_phrase = config.pass_phrase or profile.get("pass_phrase")
    if config.key_content:
        pem, source = config.key_content.encode(), "key_content"
    else:
        key_file = os.path.expanduser(profile.get("key_file", ""))
        try:
            pem, source = Path(key_file).read_bytes(), f"key_file {key_file}"
        except OSError as exc:
            add("error", f"cannot read the key_file '{key_file}': {exc.strerror or exc}.")
            return found
    try:
        actual = key_fingerprint(pem, pass_phrase)
    except (ValueError, TypeError) as exc:
        add("error", f"{source} is not a usable private key (or pass_phrase is wrong): {exc}.")
        return found
    expected = profile.get("fingerprint", "")
    if config.auth == "user_principal" and expected != actual:
        add(
            "error",
            f"the profile's fingerprint {expected or '(none)'} is not that of {source} ({actual}): Oracle will "
            "answer 401. Put the fingerprint of the key you uploaded to the user, or the key that matches it.",
        )
    else:
        add("ok", f"{source} is readable (fingerprint {actual}).")
    if config.auth == "session_token":
        found.extend(_token_findings(name, os.path.expanduser(profile.get("security_token_file", ""))))
    return found


def _token_findings(name: str, token_file: str) -> list[Diagnostic]:
    try:
        token = Path(token_file).read_text(encoding="utf-8").strip()
    except OSError:
        message = f"the security_token_file '{token_file}' cannot be read: run `oci session authenticate`."
        return [Diagnostic("error", name, f"Provider '{name}': {message}")]
    expiry = token_expiry(token)
    if expiry is not None and expiry < time.time():
        message = "the session token has expired: run `oci session refresh` or `oci session authenticate`."
        return [Diagnostic("error", name, f"Provider '{name}': {message}")]
    left = f", valid for {int((expiry - time.time()) // 60)} more minutes" if expiry else ""
    return [Diagnostic("ok", name, f"Provider '{name}': the session token is readable{left}.")]


def region_finding(config: ProviderConfig) -> Diagnostic | None:
    region = config.region
    if region is None:
        return None
    if region in GENAI_REGIONS:
        return Diagnostic("ok", config.name, f"Provider '{config.name}': {region} offers Generative AI.")
    return Diagnostic(
        "warning", config.name, f"Provider '{config.name}': {region} is not a region known to offer Generative AI."
    )


async def catalogue_probe(
    config: ProviderConfig, signer: OciRequestSigner, session: aiohttp.ClientSession
) -> Diagnostic:
    """A signed ListModels call to the compartment; its failure explained (the policy statement for a 404)."""
    name = config.name
    try:
        await signer.ensure_ready()
        compartment = config.compartment_id or signer.default_compartment or ""
        ctx = UpstreamContext(
            name,
            "(ListModels)",
            config.region,
            management_url(config),
            auth=config.auth,
            key_id=signer.key_id,
            principal=signer.describe,
            compartment=compartment,
            operation="models",
        )
        models = await list_oci_models(
            SignedHttp(session, signer, Wire(config.egress)),
            management_url(config),
            compartment,
            timeout=aiohttp.ClientTimeout(total=30, connect=10),
            context=lambda: ctx,
        )
    except GatewayError as err:
        return Diagnostic("error", name, f"Provider '{name}': ListModels failed. {err.message}")
    except aiohttp.ClientError as exc:
        return Diagnostic("error", name, f"Provider '{name}': ListModels could not reach Oracle: {exc}.")
    return Diagnostic(
        "ok",
        name,
        f"Provider '{name}': the compartment answered a signed ListModels call ({len(models)} models on demand; "
        f"signed as {signer.describe}, key id {signer.key_id}).",
    )
