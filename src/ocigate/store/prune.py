"""Retention: usage records, audit rows and stored responses older than ``retention:`` says are deleted, in small
batches, by the running gateway every ``interval_minutes`` (:class:`RetentionTask`) and by ``ocigate prune``.

Each batch is one statement in its own short transaction, deleting at most ``batch`` rows found through the
``created_at`` index (every pruned table has one: ``ix_usage_created_at``, ``ix_audit_created_at``,
``ix_responses_created_at``), so a backlog of millions of rows never holds the database's write lock, or the event
loop, for longer than one batch; the gateway's own pass then rests as long as the batch took, leaving the database
(and a CPU it may share) to the requests at least half the time. On SQLite the statements run on a thread of their
own with the standard library's ``sqlite3``, like the usage writer (``usage_sqlite.py``), so a gateway that has not
otherwise loaded SQLAlchemy does not load it for this; on Postgres they go through the gateway's SQLAlchemy engine.

The usage records of keys with a ``total`` budget are never pruned: that budget is the sum of every record the key
ever had, and deleting old ones would hand the spent amount back. Usage::

    task = RetentionTask(settings, runtime.database)
    task.start()                       # prunes every interval_minutes, the first pass a minute after start-up
    await task.close()

    results = await prune(executor, settings.retention.cutoffs(time.time()), dry_run=True)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ocigate.store.schema import default_url
from ocigate.store.usage_sqlite import sqlite_path

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ocigate.config.settings import Settings

log = logging.getLogger("ocigate.store.prune")

TABLES = ("usage", "audit", "responses")
BATCH = 1000
FIRST_PASS_S = 60.0
"""How long after start-up the first pass runs (or one interval, if shorter): a gateway restarted more often than
the interval still prunes, and start-up itself is never slowed by it."""

# One text for both drivers: sqlite3 and SQLAlchemy both bind ``:name`` parameters.
_WHERE = {
    "usage": "created_at < :cutoff AND (key_id IS NULL OR key_id NOT IN "
    "(SELECT id FROM keys WHERE budget_period = 'total'))",
    "audit": "created_at < :cutoff",
    "responses": "created_at < :cutoff",
}
_DELETE = {t: f"DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE {w} LIMIT :batch)" for t, w in _WHERE.items()}
_COUNT = {t: f"SELECT count(*) FROM {t} WHERE {w}" for t, w in _WHERE.items()}


@dataclass(frozen=True, slots=True)
class Pruned:
    table: str
    cutoff: float | None
    """Rows created before this time go; None: the table is kept whole."""
    rows: int = 0
    """Deleted, or with ``dry_run`` the rows that would be."""
    batches: int = 0


class Executor(Protocol):
    """Runs one pruning statement at a time, each in its own transaction."""

    async def delete_batch(self, table: str, cutoff: float, batch: int) -> int: ...

    async def count(self, table: str, cutoff: float) -> int: ...

    async def close(self) -> None: ...


def _bound(table: str, cutoff: float) -> float | int:
    # Stored responses keep whole seconds (BIGINT), which Postgres will not compare with a fractional parameter:
    # for integers, ``created_at < ceil(cutoff)`` is the same test as ``created_at < cutoff``.
    return math.ceil(cutoff) if table == "responses" else cutoff


class SqliteExecutor:
    """The embedded database, through ``sqlite3`` on a thread of its own. A file that does not exist is not
    created, and a table the file does not have yet has nothing to prune."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ocigate-prune")
        self._db: sqlite3.Connection | None = None

    async def delete_batch(self, table: str, cutoff: float, batch: int) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._run, _DELETE[table], table, cutoff, batch)

    async def count(self, table: str, cutoff: float) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._run, _COUNT[table], table, cutoff, 0)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _run(self, statement: str, table: str, cutoff: float, batch: int) -> int:
        db = self._connect()
        if db is None:
            return 0
        parameters = {"cutoff": _bound(table, cutoff), "batch": batch}
        try:
            cursor = db.execute(statement, parameters)  # autocommit: each statement is its own transaction
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise
        return int(cursor.fetchone()[0]) if statement.startswith("SELECT") else cursor.rowcount

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None:
            if not Path(self._path).is_file():
                return None
            # mode=rw: never create the file (a prune run from the wrong folder must not leave an empty store).
            uri = Path(self._path).resolve().as_uri() + "?mode=rw"
            self._db = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False, isolation_level=None)
        return self._db

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class EngineExecutor:
    """Postgres (or any database but the embedded SQLite file), through the gateway's SQLAlchemy engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def delete_batch(self, table: str, cutoff: float, batch: int) -> int:
        from sqlalchemy import text

        async with self._engine.begin() as conn:
            result = await conn.execute(text(_DELETE[table]), {"cutoff": _bound(table, cutoff), "batch": batch})
        return int(result.rowcount)

    async def count(self, table: str, cutoff: float) -> int:
        from sqlalchemy import text

        async with self._engine.connect() as conn:
            value = (await conn.execute(text(_COUNT[table]), {"cutoff": _bound(table, cutoff)})).scalar()
        return int(value or 0)

    async def close(self) -> None:
        """The engine is the gateway's (or the command's) to dispose of."""


async def prune(
    executor: Executor,
    cutoffs: dict[str, float | None],
    *,
    batch: int = BATCH,
    rest: float = 0.0,
    dry_run: bool = False,
) -> list[Pruned]:
    """Deletes, table by table, the rows created before each cutoff, ``batch`` rows a statement; with ``dry_run``
    only counts them. After each statement it waits ``rest`` times as long as the statement took: 1.0 leaves the
    database (and, on a machine it shares, the CPU) to the requests at least half the time; 0 prunes flat out."""
    results: list[Pruned] = []
    for table in TABLES:
        cutoff = cutoffs.get(table)
        if cutoff is None:
            results.append(Pruned(table, None))
        elif dry_run:
            results.append(Pruned(table, cutoff, await executor.count(table, cutoff)))
        else:
            rows = batches = 0
            while True:
                started = time.perf_counter()
                removed = await executor.delete_batch(table, cutoff, batch)
                rows, batches = rows + removed, batches + 1
                if removed < batch:
                    break
                # Other writers (usage, stored responses) take the write lock between batches.
                await asyncio.sleep(rest * (time.perf_counter() - started))
            results.append(Pruned(table, cutoff, rows, batches))
    return results


class RetentionTask:
    """The running gateway's pruning: a background task, started and closed with the runtime."""

    def __init__(
        self, settings: Settings, database: Callable[[], Awaitable[AsyncEngine]], *, rest: float = 1.0
    ) -> None:
        """``database``: the gateway's engine, opened on first need (used for Postgres only)."""
        self._retention = settings.retention
        self._url = settings.database_url or default_url(settings.data_dir)
        self._database = database
        self._rest = rest
        self._executor: Executor | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._retention.interval_minutes <= 0 or not self._retention.prunes:
            return
        self._task = asyncio.create_task(self._run(), name="ocigate-retention")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._executor is not None:
            await self._executor.close()

    async def _run(self) -> None:
        interval = self._retention.interval_minutes * 60.0
        await asyncio.sleep(min(interval, FIRST_PASS_S))
        while True:
            try:
                await self.prune_once()
            except Exception as exc:  # noqa: BLE001 - the next pass tries again; requests are not concerned
                log.warning("retention: pruning failed (%r); trying again in %.0f minutes", exc, interval / 60)
            await asyncio.sleep(interval)

    async def prune_once(self) -> list[Pruned]:
        if self._executor is None:
            path = sqlite_path(self._url)
            self._executor = SqliteExecutor(path) if path else EngineExecutor(await self._database())
        results = await prune(self._executor, self._retention.cutoffs(time.time()), rest=self._rest)
        removed = [f"{r.rows} {r.table}" for r in results if r.rows]
        if removed:
            log.info("retention: removed %s rows past their retention", ", ".join(removed))
        return results
