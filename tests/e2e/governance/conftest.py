"""Fixtures for keys, limits, usage and audit: each database the store supports, this machine's Redis, and a
gateway with a master key in front of the emulator."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from ocigate.app.runtime import Gateway
from tests.support.databases import database_url, engine, redis_client
from tests.support.governance import Admin, gateway_env
from tests.support.servers import ServerThread, start_gateway


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = await redis_client()
    yield client
    await client.aclose()


@pytest.fixture
async def namespace(redis: Redis) -> AsyncIterator[str]:
    """A Redis key prefix of this test's own; everything under it is deleted afterwards."""
    prefix = f"ocigate-test-{secrets.token_hex(4)}:"
    yield prefix
    names = [name async for name in redis.scan_iter(match=prefix + "*", count=500)]
    if names:
        await redis.delete(*names)


@pytest.fixture
def governed(emulator: ServerThread) -> Iterator[tuple[ServerThread, Gateway, Admin]]:
    server, app = start_gateway(gateway_env(emulator))
    yield server, app, Admin(server.url)
    server.stop()


__all__ = ["database_url", "engine"]
