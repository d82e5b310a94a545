"""The provider type -> factory table: every type the configuration accepts has a class, and only an API key's
OpenAI-compatible provider asks for a secret pair."""

from __future__ import annotations

import aiohttp

from ocigate.config.providers import PROVIDER_TYPES
from ocigate.config.settings import ProviderConfig
from ocigate.providers.base import Provider
from ocigate.providers.factory import FACTORIES, Upstream, build_provider
from ocigate.providers.openai_compat import OpenAICompatProvider
from ocigate.providers.oracle.native import OciNativeProvider
from ocigate.providers.oracle.secrets_pair import SecretPair


def test_every_configurable_type_has_a_factory() -> None:
    assert set(FACTORIES) == set(PROVIDER_TYPES)


async def test_each_type_builds_its_class() -> None:
    asked: list[str] = []

    def secrets(config: ProviderConfig) -> SecretPair:
        asked.append(config.name)
        return SecretPair(config.api_key)

    built: dict[str, Provider] = {}
    async with aiohttp.ClientSession() as session:
        upstream = Upstream(session, None, secrets)
        for kind in PROVIDER_TYPES:
            config = ProviderConfig(name=f"p-{kind}", type=kind, base_url="https://example.invalid/v1", api_key="sk-1")
            built[kind] = build_provider(config, upstream)
        keyless = build_provider(
            ProviderConfig(name="keyless", type="openai", base_url="http://127.0.0.1:9/v1"), upstream
        )
    assert isinstance(built["oracle"], OpenAICompatProvider) and isinstance(built["openai"], OpenAICompatProvider)
    assert isinstance(built["oci"], OciNativeProvider)
    assert isinstance(keyless, OpenAICompatProvider) and keyless.secrets is None
    assert asked == ["p-oracle", "p-openai"]  # the native API sends its bearer key itself; a keyless one has none
