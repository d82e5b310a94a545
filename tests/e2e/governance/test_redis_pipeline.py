"""The pipelined Redis connection the limit scripts use: replies in order however they arrive, reconnection,
and no caller left waiting on a Redis that does not answer."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.asyncio import Redis

from ocigate.governance.keys import KeyRecord
from ocigate.governance.limits import Limiter, RedisBackend
from ocigate.governance.limits.backend import Plan
from ocigate.governance.limits.pipeline import RedisReplyError, ScriptPipeline
from tests.support.databases import REDIS_URL, redis_client


async def test_calls_pipeline_on_one_connection_and_reconnect_after_it_drops() -> None:
    client, admin = await redis_client(), await redis_client()
    pipe = ScriptPipeline.for_client(client)
    assert pipe is not None
    key = f"ocigate-test-{secrets.token_hex(4)}:n"
    try:
        replies = await asyncio.gather(*(pipe.call("INCR", key) for _ in range(500)))
        assert sorted(replies) == list(range(1, 501))
        name = f"ocigate-test-{secrets.token_hex(4)}"
        await pipe.call("CLIENT", "SETNAME", name)
        [mine] = [c for c in await admin.client_list() if c.get("name") == name]
        await admin.client_kill_filter(_id=mine["id"])
        await asyncio.sleep(0.05)
        assert await pipe.call("INCR", key) == 501  # a new connection
        with pytest.raises(RedisReplyError):
            await pipe.call("NOSUCHCOMMAND")
    finally:
        await pipe.close()
        await admin.delete(key)
        await client.aclose()
        await admin.aclose()


async def test_the_database_number_is_selected() -> None:
    await (await redis_client()).aclose()  # skips when Redis is not there
    other = Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/3")
    pipe = ScriptPipeline.for_client(other)
    assert pipe is not None
    key = f"ocigate-test-{secrets.token_hex(4)}:db"
    try:
        await pipe.call("SET", key, "yes")
        assert await other.get(key) == b"yes"
    finally:
        await other.delete(key)
        await pipe.close()
        await other.aclose()


async def test_a_redis_that_does_not_answer_fails_the_callers() -> None:
    done = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        await reader.read(1 << 16)  # reads the PING and never answers
        await done.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pipe = ScriptPipeline(host="127.0.0.1", port=port, reply_timeout_s=0.2)
    try:
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(pipe.call("PING"), 2)
    finally:
        done.set()
        await asyncio.gather(*handlers, return_exceptions=True)
        await pipe.close()
        server.close()
        await server.wait_closed()


async def test_an_unreachable_redis_fails_fast_and_the_limiter_fails_open() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()  # nothing listens on this port any more
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    backend = RedisBackend(client)
    limiter = Limiter(backend)
    try:
        first = await limiter.admit(KeyRecord("key_1", "abcdefgh", "ci", rpm=1))
        assert first.allowed and not first.enforced
        started = asyncio.get_running_loop().time()
        with pytest.raises(ConnectionError, match="less than a second ago"):
            await backend.admit(Plan("key_1", "t", rpm=1))
        assert asyncio.get_running_loop().time() - started < 0.05
    finally:
        await backend.close()
        await client.aclose()


@pytest.mark.parametrize("database", [0, 3])
def test_the_pipeline_works_on_uvloop(database: int) -> None:
    """``ocigate serve`` runs on uvloop, whose transports are not ``asyncio.Transport`` subclasses: the pipeline
    once hung there for ever (no hello answered, no watchdog), and every limited key's request with it."""
    import uvloop

    async def round_trip() -> bytes | str | None:
        await (await redis_client()).aclose()  # skips when Redis is not there
        client = Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + f"/{database}")
        pipe = ScriptPipeline.for_client(client)
        assert pipe is not None
        key = f"ocigate-test-{secrets.token_hex(4)}:uvloop"
        try:
            await asyncio.wait_for(pipe.call("SET", key, "yes"), 5)
            return await client.get(key)
        finally:
            await client.delete(key)
            await pipe.close()
            await client.aclose()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.get_loop().__class__.__module__.startswith("uvloop")
        assert runner.run(round_trip()) == b"yes"
