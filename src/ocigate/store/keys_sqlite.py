"""What the request path reads of keys on the default SQLite database, with the standard library's ``sqlite3`` on
a thread of its own: a key by its hash (the key cache's lookup, at most once a second per key) and a key's spend
in a budget period (a budget counter's starting point, once per period).

Why not the SQLAlchemy store (``store/keys.py``, ``store/usage.py``): a gateway serving team keys would then load
SQLAlchemy, its dialect and the tables (about 23 MB, and a slower lookup) for two SELECTs. This keeps such a
gateway at the size of one serving only the master key; the admin API and ``ocigate keys`` still write keys through
the SQLAlchemy store, and every change reaches this reader within the key cache's TTL (or at once, through the
cache's invalidation). The schema is still Alembic's: checked here with one query and, when behind, migrated by
``python -m ocigate.store.migrate`` in a child process, as the usage writer does (``store/usage_sqlite.py``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ocigate.governance.keys import BudgetUnit, KeyRecord
from ocigate.store.rows import KEY_COLUMNS, key_record
from ocigate.store.schema import SCHEMA_REVISION, migrate_in_child

BY_HASH = f"SELECT {', '.join(KEY_COLUMNS)} FROM keys WHERE key_hash = ?"
SPENT = {
    "usd": "SELECT COALESCE(SUM(cost_usd), 0) FROM usage WHERE key_id = ? AND created_at >= ?",
    "tokens": (
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM usage WHERE key_id = ? AND created_at >= ?"
    ),
}


class SqliteKeyReader:
    """``get_by_hash`` and ``spent_since`` as governance asks them (``governance/storage.py`` ``KeyReads``)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._url = f"sqlite:///{path}"
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ocigate-keys")
        self._db: sqlite3.Connection | None = None
        self._ready = False
        self._lock = asyncio.Lock()

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
        await self._ensure_schema()
        row = await asyncio.get_running_loop().run_in_executor(self._thread, self._fetch_key, key_hash)
        return None if row is None else key_record(dict(zip(KEY_COLUMNS, row, strict=True)))

    async def spent_since(self, key_id: str, since: float, unit: BudgetUnit) -> float:
        await self._ensure_schema()
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._spent, key_id, since, unit)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    async def _ensure_schema(self) -> None:
        if self._ready:
            return
        async with self._lock:
            if not self._ready:
                loop = asyncio.get_running_loop()
                if await loop.run_in_executor(self._thread, self._revision) != SCHEMA_REVISION:
                    await migrate_in_child(self._url)
                self._ready = True

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db = db
        return self._db

    def _revision(self) -> str | None:
        try:
            row = self._connect().execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
        return str(row[0]) if row else None

    def _fetch_key(self, key_hash: str) -> tuple[object, ...] | None:
        row: tuple[object, ...] | None = self._connect().execute(BY_HASH, (key_hash,)).fetchone()
        return row

    def _spent(self, key_id: str, since: float, unit: BudgetUnit) -> float:
        row = self._connect().execute(SPENT[unit], (key_id, since)).fetchone()
        return float(row[0] or 0) if row else 0.0

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
