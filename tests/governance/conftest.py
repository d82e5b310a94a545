"""Fixtures for keys, limits, usage and audit: each database the store supports, and this machine's Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from databases import postgres_database
from ocigate.store.database import default_url, open_engine

REDIS_URL = "redis://127.0.0.1:6379/0"


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


async def redis_client(name: str | None = None) -> Redis:
    """A new connection to this machine's Redis (each one its own pool), or a skip saying why. ``name`` labels
    its connections (``CLIENT SETNAME``) so that a test can find its own among other processes'."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, client_name=name)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it means: skip
        await client.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc!r}); `.ci/run` starts it")
    return client


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
