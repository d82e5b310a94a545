"""The gateway's database and the stores on it, opened on first use: the first usage batch, stored response, key
lookup or admin call. Start-up never waits for it (loading the database libraries takes about 0.2 s), and a
gateway that records usage and serves team keys on the embedded SQLite default never loads SQLAlchemy
(``SqliteUsageWriter``, ``SqliteKeyReader``): only the admin API and stored responses do.

Governance gets its tables from here (:meth:`Storage.governance_stores`, an ``OpenStores``), so that it never
imports the store, which sits above it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from ocigate.app.heap import settle_heap
from ocigate.config.settings import Settings
from ocigate.governance.keys import KeyHasher
from ocigate.governance.storage import Stores
from ocigate.store.keys_sqlite import SqliteKeyReader
from ocigate.store.schema import default_url
from ocigate.store.usage_sqlite import SqliteUsageWriter, sqlite_path

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ocigate.store.responses import ResponseStore


class Storage:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url or default_url(settings.data_dir)
        self.engine: AsyncEngine | None = None
        self._responses: ResponseStore | None = None
        self._lock = asyncio.Lock()

    async def database(self) -> AsyncEngine:
        if self.engine is None:
            async with self._lock:
                if self.engine is None:
                    from ocigate.store.database import open_engine

                    self.engine = await open_engine(self.url)
                    settle_heap()  # SQLAlchemy's modules and tables: tens of thousands of objects
        return self.engine

    async def response_store(self) -> ResponseStore:
        if self._responses is None:
            from ocigate.store.responses import ResponseStore

            self._responses = ResponseStore(await self.database())
        return self._responses

    async def governance_stores(self, hasher: KeyHasher) -> Stores:
        from ocigate.store.keys import KeyStore
        from ocigate.store.usage import AuditStore, UsageStore

        engine = await self.database()
        return Stores(KeyStore(engine, hasher), UsageStore(engine), AuditStore(engine))

    async def has_keys(self) -> bool:
        """Whether any team key exists. On the SQLite default it is read with the standard library (a file that
        does not exist yet has none), so that an open gateway never loads SQLAlchemy to find out."""
        path = sqlite_path(self.url)
        if path is not None:
            return await asyncio.to_thread(_sqlite_has_keys, path)
        from ocigate.store.keys import KeyStore

        return await KeyStore(await self.database(), KeyHasher("")).exists()

    def usage_writer(self) -> SqliteUsageWriter | None:
        """The SQLite file's own usage writer, on the SQLite default; None on another database."""
        path = sqlite_path(self.url)
        return None if path is None else SqliteUsageWriter(path)

    def key_reader(self) -> SqliteKeyReader | None:
        """The SQLite file's own key reader (the request path's lookups, without SQLAlchemy), on the SQLite
        default; None on another database (its lookups go through the key store, behind the key cache)."""
        path = sqlite_path(self.url)
        return None if path is None else SqliteKeyReader(path)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()


def _sqlite_has_keys(path: str) -> bool:
    if not Path(path).exists():
        return False
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        try:
            return db.execute("SELECT 1 FROM keys LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:  # no keys table yet: the schema was never migrated
            return False
