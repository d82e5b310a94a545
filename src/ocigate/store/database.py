"""Opening the database: the URL, the engine, and the schema brought to the current revision."""

from __future__ import annotations

import asyncio
import fcntl
import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ocigate.store.schema import SCHEMA_REVISION, default_url, migrate_in_child

__all__ = ["default_url", "normalise_url", "open_engine"]

log = logging.getLogger("ocigate.store")
MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept the plain URLs people write and pick the async driver."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


async def open_engine(url: str, *, migrate_here: bool = False) -> AsyncEngine:
    """The engine for ``url``, its schema at the current revision. A schema that is behind is migrated by
    Alembic in a child process (``python -m ocigate.store.migrate``), so that the gateway never loads Alembic
    (about 11 MB that a server would keep for its lifetime); ``migrate_here`` migrates in this process."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
    else:
        engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    async with engine.connect() as conn:
        current = await _revision(conn)
    if current != SCHEMA_REVISION:
        if migrate_here or ":memory:" in url:
            async with engine.connect() as conn:
                await _migrate(conn)
        else:
            await migrate_in_child(url)
    return engine


async def _revision(conn: AsyncConnection) -> str | None:
    """The schema's revision, read without importing Alembic (the common case at start-up)."""
    try:
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except DBAPIError:
        revision = None
    await conn.rollback()
    return revision


async def _migrate(conn: AsyncConnection) -> None:
    from alembic import command
    from alembic.config import Config

    def upgrade(sync_conn: object) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = sync_conn
        command.upgrade(config, "head")

    if conn.dialect.name == "sqlite":
        database = conn.engine.url.database
        if database and database != ":memory:":
            # Several processes on one SQLite file: one migrates, the others wait for it.
            with Path(database + ".migrate.lock").open("a") as lock:
                await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
                try:
                    # WAL (readers never wait for the writer) is a property of the file, set once, by the one
                    # process allowed to change it: switching needs the file to itself.
                    await conn.execute(text("PRAGMA journal_mode=WAL"))
                    await conn.commit()
                    await _upgrade_if_behind(conn, upgrade)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            return
    locked = conn.dialect.name == "postgresql"
    if locked:
        # Several gateways may start at once against one database: one migrates, the others wait for it.
        await conn.execute(text("SELECT pg_advisory_lock(7263540011)"))
        await conn.commit()
    try:
        await _upgrade_if_behind(conn, upgrade)
    finally:
        if locked:
            await conn.execute(text("SELECT pg_advisory_unlock(7263540011)"))
            await conn.commit()


async def _upgrade_if_behind(conn: AsyncConnection, upgrade: Callable[[object], None]) -> None:
    if await _revision(conn) != SCHEMA_REVISION:
        log.info("migrating the database schema to revision %s", SCHEMA_REVISION)
        await conn.run_sync(upgrade)
        await conn.commit()
