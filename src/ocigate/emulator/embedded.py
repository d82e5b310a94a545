"""The bundled emulator, started in-process on a free loopback port when no Oracle provider is configured."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import uvicorn

from ocigate.core.server import NestedServer


@dataclass(slots=True)
class EmbeddedEmulator:
    server: uvicorn.Server
    task: asyncio.Task[None]
    base_url: str
    api_key: str
    models: list[str]
    region: str

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def start_emulator(region: str) -> EmbeddedEmulator:
    # Imported here: a gateway in front of Oracle never loads the emulator (about 20 MB).
    from ocigate.emulator import DEFAULT_KEY, EmulatorConfig, chat_model_ids, create_emulator_app

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
    )
    server = NestedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    return EmbeddedEmulator(
        server, task, f"http://127.0.0.1:{port}/20231130/actions/v1", DEFAULT_KEY, chat_model_ids(region), region
    )
