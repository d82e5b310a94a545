"""The providers a gateway with no Oracle settings serves: the bundled emulator's two APIs."""

from __future__ import annotations

from dataclasses import replace

from ocigate.config.policies import Timeouts
from ocigate.config.settings import ProviderConfig
from ocigate.emulator.embedded import EMULATOR_COMPARTMENT, EmbeddedEmulator


def emulator_providers(emulator: EmbeddedEmulator, timeouts: Timeouts) -> list[ProviderConfig]:
    """``oracle``: chat and Responses on the OpenAI-compatible base; ``oci``: embeddings and rerank on the native
    API, which is where Oracle serves them (its OpenAI-compatible base has neither), with the same API key."""
    compatible = ProviderConfig(
        name="oracle",
        type="oracle",
        base_url=emulator.base_url,
        api_key=emulator.api_key,
        models=tuple(emulator.models),
        region=emulator.region,
        source="emulator",
        timeouts=timeouts,
    )
    native = replace(
        compatible,
        name="oci",
        type="oci",
        base_url=emulator.native_url,
        models=tuple(emulator.native_models),
        compartment_id=EMULATOR_COMPARTMENT,
    )
    return [compatible, native]
