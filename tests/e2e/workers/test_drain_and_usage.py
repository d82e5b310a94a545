"""SIGTERM to ``ocigate serve --workers 2`` while streams are open in both workers: every stream runs to its end,
the server exits 0, and the SQLite file both workers wrote to holds exactly one usage row per request."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing

import httpx
import openai
import pytest

from ocigate.emulator import EmulatorConfig
from tests.support.governance import MASTER, MODEL, gateway_env
from tests.support.servers import ServerThread, start_emulator
from tests.support.workers import WorkerGateway, moved, open_connections

STREAMS = 30
PLAIN = 40


@pytest.fixture(scope="module")
def slow_region() -> Iterator[ServerThread]:
    server = start_emulator(EmulatorConfig(region="us-chicago-1", stream_delay_s=0.1))
    yield server
    server.stop()


def test_sigterm_drains_the_streams_of_every_worker_and_usage_rows_equal_requests(
    slow_region: ServerThread, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("drain-data")
    env = gateway_env(slow_region, OCIGATE_DATA_DIR=str(data), OCIGATE_GRACE_PERIOD="30", OCIGATE_NO_ACCESS_LOG="1")
    gateway = WorkerGateway(env, master=MASTER).start()
    try:
        texts, status = asyncio.run(_drive(gateway))
        assert status == 0, "\n".join(gateway.lines[-30:])
    finally:
        gateway.kill()
    assert len(texts) == STREAMS and all(texts)
    for pid in gateway.pids:  # each worker drained and stopped on its own
        assert any("Finished server process" in line and f"[{pid}]" in line for line in gateway.lines)
    with closing(sqlite3.connect(data / "ocigate.db")) as db:
        rows, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM usage").fetchone()
        streamed = db.execute("SELECT COUNT(*) FROM usage WHERE status = 200 AND stream = 1").fetchone()[0]
    assert rows == distinct == PLAIN + STREAMS
    assert streamed == STREAMS


async def _drive(gateway: WorkerGateway) -> tuple[list[str], int]:
    limits = httpx.Limits(max_connections=STREAMS + PLAIN, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=MASTER, max_retries=0, http_client=http)  # type: ignore[arg-type]

        async def plain() -> None:
            await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=8
            )

        await asyncio.gather(*(plain() for _ in range(PLAIN)))
        assert len(await asyncio.to_thread(moved, gateway, {})) == 2

        opened = asyncio.Event()
        started = 0

        async def stream() -> str:
            nonlocal started
            chunks = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "tell me a story"}], stream=True
            )
            parts: list[str] = []
            finished = None
            async for chunk in chunks:
                if not parts:
                    started += 1
                    if started == STREAMS:
                        opened.set()
                parts.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
                if chunk.choices and chunk.choices[0].finish_reason:
                    finished = chunk.choices[0].finish_reason
            assert finished is not None, "the stream ended without its last chunk"
            return "".join(parts)

        tasks = [asyncio.create_task(stream()) for _ in range(STREAMS)]
        await asyncio.wait_for(opened.wait(), 60)
        # Both workers hold open streams when the signal comes.
        holding = {pid: open_connections(pid, gateway.port) for pid in gateway.pids}
        assert all(count > 0 for count in holding.values()), holding
        began = time.monotonic()
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGTERM)
        texts = await asyncio.gather(*tasks)
        assert time.monotonic() - began > 0.3, "the streams ended too soon to have been in flight"
        status = await asyncio.to_thread(gateway.process.wait, 60)
        return texts, status
