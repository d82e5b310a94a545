"""The store against both databases it supports: SQLite (the default) and this machine's Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ocigate.store.database import default_url, open_engine
from ocigate.store.records import StoredResponse
from ocigate.store.responses import ResponseStore
from ocigate.store.tables import SCHEMA_REVISION
from tests.support.databases import postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield default_url(str(tmp_path / "data"))
    else:
        with postgres_database() as url:
            yield url


def _record(rid: str, previous: str | None = None) -> StoredResponse:
    return StoredResponse(
        rid, 1_700_000_000, "xai.grok-3", previous, [{"type": "message", "content": rid}], {"id": rid}
    )


async def test_migrations_bring_an_empty_database_to_the_current_revision(database_url: str) -> None:
    engine = await open_engine(database_url)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar() == SCHEMA_REVISION
    await engine.dispose()
    # Opening again finds the schema current and changes nothing.
    again = await open_engine(database_url)
    await again.dispose()


async def test_responses_round_trip_and_chain(database_url: str) -> None:
    engine = await open_engine(database_url)
    store = ResponseStore(engine)
    await store.save(_record("resp_1"))
    await store.save(_record("resp_2", "resp_1"))
    await store.save(_record("resp_3", "resp_2"))
    chain = await store.chain("resp_3")
    assert chain is not None and [r.id for r in chain] == ["resp_1", "resp_2", "resp_3"]
    got = await store.get("resp_2")
    assert got is not None and got.input_items == [{"type": "message", "content": "resp_2"}]
    assert await store.chain("resp_missing") is None
    assert await store.delete("resp_2") and not await store.delete("resp_2")
    chain = await store.chain("resp_3")
    assert chain is not None and [r.id for r in chain] == ["resp_3"]
    await engine.dispose()


async def test_concurrent_first_starts_migrate_once(database_url: str) -> None:
    engines = await asyncio.gather(*(open_engine(database_url) for _ in range(3)))
    for engine in engines:
        await ResponseStore(engine).get("x")
        await engine.dispose()
