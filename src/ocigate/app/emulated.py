"""The bundled emulator, started in-process on a free loopback port when no Oracle provider is configured, and the
providers a gateway with no Oracle settings serves: the emulator's two APIs.

It serves two of Oracle's APIs, as Oracle does: the OpenAI-compatible one (chat and Responses) and the native one,
which alone has embeddings and rerank (``embedText``, ``rerankText``); the gateway reaches them as two providers.

This module is here, not in ``ocigate.emulator``, so that a gateway in front of an upstream never loads the
emulator package: importing any of its modules runs ``ocigate/emulator/__init__.py``, which loads the whole
emulator and ``cryptography`` (some 9 MB of resident memory). ``start_emulator`` imports it when it starts one.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, replace

import uvicorn

from ocigate.catalog.models import MODELS, chat_model_ids
from ocigate.config.policies import Timeouts
from ocigate.config.settings import ProviderConfig
from ocigate.core.server import NestedServer

EMULATOR_COMPARTMENT = "ocid1.compartment.oc1..emulator"
"""The compartment the native requests name: the emulator accepts any under an API key, Oracle wants one."""


@dataclass(slots=True)
class EmbeddedEmulator:
    server: uvicorn.Server
    task: asyncio.Task[None]
    base_url: str
    """The OpenAI-compatible base (``…/20231130/actions/v1``)."""
    api_key: str
    models: list[str]
    """The chat models of the OpenAI-compatible base."""
    region: str
    native_url: str
    """The native API's root (``type: oci`` providers add ``/20231130/actions/…``)."""
    native_models: list[str]
    """The embedding and rerank models of the native API, which the OpenAI-compatible base does not serve."""

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


def native_model_ids(region: str) -> list[str]:
    """The embedding and rerank models Oracle offers in ``region``, in catalogue order."""
    return [m.id for m in MODELS if not m.chat and region in m.regions]


async def start_emulator(region: str) -> EmbeddedEmulator:
    # Imported here: a gateway in front of Oracle never loads the emulator (nor cryptography, which it imports).
    from ocigate.emulator import DEFAULT_KEY, EmulatorConfig, create_emulator_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_emulator_app(EmulatorConfig(region=region)),
        lifespan="off",
        access_log=False,
        log_config=None,  # the gateway's logging stays as it set it up
        log_level="warning",
        server_header=False,
        ws="none",
    )
    server = NestedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    root = f"http://127.0.0.1:{port}"
    return EmbeddedEmulator(
        server,
        task,
        f"{root}/20231130/actions/v1",
        DEFAULT_KEY,
        chat_model_ids(region),
        region,
        root,
        native_model_ids(region),
    )


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
