"""SIGTERM while 50 streams are open: every stream runs to its end, then ``ocigate serve`` exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from ocigate.emulator import EmulatorConfig
from tests.support.cli import wait_ready
from tests.support.regions import MODEL
from tests.support.servers import CHICAGO_KEY, ServerThread, start_emulator


@pytest.fixture(scope="module")
def slow_region() -> Iterator[ServerThread]:
    server = start_emulator(EmulatorConfig(region="us-chicago-1", stream_delay_s=0.1))
    yield server
    server.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_sigterm_lets_50_open_streams_finish(slow_region: ServerThread) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCI_", "OCIGATE_"))}
    env.update(
        ORACLE_BASE_URL=f"{slow_region.url}/20231130/actions/v1",
        ORACLE_API_KEY=CHICAGO_KEY,
        ORACLE_MODELS=MODEL,
        OCIGATE_PORT=str(port),
        OCIGATE_GRACE_PERIOD="20",
        OCIGATE_NO_ACCESS_LOG="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "ocigate", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, timeout=20)

        async def run() -> list[str]:
            opened = asyncio.Event()
            started = 0

            async def stream(client: httpx.AsyncClient) -> str:
                nonlocal started
                body = {"model": MODEL, "messages": [{"role": "user", "content": "tell me a story"}], "stream": True}
                async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
                    assert response.status_code == 200
                    parts: list[str] = []
                    async for part in response.aiter_text():
                        if not parts:
                            started += 1
                            if started == 50:
                                opened.set()
                        parts.append(part)
                    return "".join(parts)

            limits = httpx.Limits(max_connections=60)
            async with httpx.AsyncClient(timeout=30, limits=limits) as client:
                tasks = [asyncio.create_task(stream(client)) for _ in range(50)]
                await asyncio.wait_for(opened.wait(), 15)
                began = time.monotonic()
                process.send_signal(signal.SIGTERM)
                texts = await asyncio.gather(*tasks)
                assert time.monotonic() - began > 0.3, "the streams ended too soon to have been in flight"
                return texts

        texts = asyncio.run(run())
        assert len(texts) == 50
        assert all(text.rstrip().endswith("data: [DONE]") for text in texts)
        assert process.wait(timeout=25) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
