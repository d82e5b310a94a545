"""Usage records into the default SQLite database with the standard library's ``sqlite3``, on a thread of their
own: the writer a gateway on its embedded default uses.

Why not the SQLAlchemy store: on the request path's side every row counts. SQLAlchemy's executemany costs about
18 µs a row here and this about 10 µs (rows as tuples, parameters bound in C, the GIL released while SQLite
works), and a gateway that records usage but serves no stored responses or virtual keys then never loads
SQLAlchemy at all (about 23 MB). The schema is still Alembic's: it is checked here with one query and, when
behind, migrated by ``python -m ocigate.store.migrate`` in a child process. Reports and budgets read the same
table through ``store/usage.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ocigate.governance.usage import UsageRecord
from ocigate.store.rows import USAGE_COLUMNS, usage_values
from ocigate.store.schema import SCHEMA_REVISION, migrate_in_child

INSERT = f"INSERT INTO usage ({', '.join(USAGE_COLUMNS)}) VALUES ({', '.join('?' for _ in USAGE_COLUMNS)})"


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (``sqlite:///…``, ``sqlite+aiosqlite:///…``); None for any other database or an
    in-memory one."""
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix) :]
            return None if not path or path == ":memory:" else path
    return None


class SqliteUsageWriter:
    """``insert`` is the sink of the usage ``BatchWriter``; ``close`` after the writer's own close."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._url = f"sqlite:///{path}"
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ocigate-usage")
        self._db: sqlite3.Connection | None = None
        self._ready = False

    async def insert(self, records: Sequence[UsageRecord]) -> None:
        loop = asyncio.get_running_loop()
        if not self._ready:
            if await loop.run_in_executor(self._thread, self._revision) != SCHEMA_REVISION:
                await migrate_in_child(self._url)
            self._ready = True
        # The rows are built here, on the event loop: the thread then only runs SQLite, which releases the GIL
        # while it works, instead of holding it for a Python loop the event loop would wait on.
        rows = [usage_values(r) for r in records]
        await loop.run_in_executor(self._thread, self._write, rows)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, timeout=30, check_same_thread=False, isolation_level=None)
            # WAL (set once by the migration) with NORMAL sync: a commit is durable against a crash of the
            # process, and waits for no disk flush.
            db.execute("PRAGMA synchronous=NORMAL")
            self._db = db
        return self._db

    def _revision(self) -> str | None:
        try:
            row = self._connect().execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
        return str(row[0]) if row else None

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(INSERT, rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
