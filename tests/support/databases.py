"""Databases for the tests: a fresh database on this machine's Postgres, and connections to its Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.store.database import default_url, open_engine

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database, dropped afterwards."""
    name = f"ocigate_test_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
