"""Which class serves each provider ``type:``, as one table: a new kind of upstream is a class and a row here.

::

    upstream = Upstream(session, signer=signer_for(config), secrets=lambda config: SecretPair(...))
    provider = build_provider(config, upstream)      # FACTORIES[config.type](config, upstream)

``oracle`` and ``openai`` are OpenAI-compatible upstreams (Oracle's ``/actions/v1`` and ``/openai/v1`` bases, or any
other OpenAI-compatible server); ``oci`` is Oracle's native API. Every kind gets its timeouts from the provider's
configuration (``routing.timeouts`` with the provider's own ``timeouts:``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp

from ocigate.config.settings import ProviderConfig
from ocigate.providers.base import Provider
from ocigate.providers.openai_compat import OpenAICompatProvider, client_timeouts
from ocigate.providers.oracle.secrets_pair import SecretPair
from ocigate.providers.oracle.signing import OciRequestSigner


@dataclass(frozen=True, slots=True)
class Upstream:
    """What a provider is built from besides its configuration."""

    session: aiohttp.ClientSession
    """The gateway's shared connection pool."""
    signer: OciRequestSigner | None
    """The IAM principal that signs its requests; None for a bearer API key."""
    secrets: Callable[[ProviderConfig], SecretPair]
    """Its API key's two secrets, built by the caller (which watches the rejections); asked only for a provider
    that has a key and no signer."""


ProviderFactory = Callable[[ProviderConfig, Upstream], Provider]


def openai_compatible(config: ProviderConfig, upstream: Upstream) -> Provider:
    timeout, stream_timeout = client_timeouts(config.timeouts)
    pair = upstream.secrets(config) if upstream.signer is None and config.api_key.strip() else None
    return OpenAICompatProvider(
        config,
        upstream.session,
        signer=upstream.signer,
        timeout=timeout,
        stream_timeout=stream_timeout,
        secrets=pair,
    )


def oci_native(config: ProviderConfig, upstream: Upstream) -> Provider:
    # Imported here: a gateway with no native provider never loads it nor its translation (``translate.oracle``).
    from ocigate.providers.oracle.native import OciNativeProvider

    timeout, stream_timeout = client_timeouts(config.timeouts)
    return OciNativeProvider(config, upstream.session, upstream.signer, timeout=timeout, stream_timeout=stream_timeout)


FACTORIES: Mapping[str, ProviderFactory] = {  # a key for each of config.providers.PROVIDER_TYPES
    "oracle": openai_compatible,
    "openai": openai_compatible,
    "oci": oci_native,
}


def build_provider(config: ProviderConfig, upstream: Upstream) -> Provider:
    """The provider of a configuration that passed its checks (which refuse a type not in the table)."""
    return FACTORIES[config.type](config, upstream)
