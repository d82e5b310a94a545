"""Fixtures for keys, limits, usage and audit: each database the store supports, this machine's Redis, and a
gateway with a master key in front of the emulator."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.app.runtime import Gateway
from ocigate.store.database import default_url, open_engine
from tests.support.databases import postgres_database, redis_client
from tests.support.governance import Admin, gateway_env
from tests.support.servers import ServerThread, start_gateway


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield default_url(str(tmp_path / "data"))
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await open_engine(database_url)
    yield engine
    await engine.dispose()


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
