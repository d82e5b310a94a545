"""The gateway's database and the stores on it, opened on first use: the first usage batch, stored response, key
lookup or admin call. Start-up never waits for it (loading the database libraries takes about 0.2 s), and a
gateway that only records usage on the embedded SQLite default never loads SQLAlchemy (``SqliteUsageWriter``).

Governance gets its tables from here (:meth:`Storage.governance_stores`, an ``OpenStores``), so that it never
imports the store, which sits above it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ocigate.app.heap import settle_heap
from ocigate.config.settings import Settings
from ocigate.governance.keys import KeyHasher
from ocigate.governance.storage import Stores
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

    def usage_writer(self) -> SqliteUsageWriter | None:
        """The SQLite file's own usage writer, on the SQLite default; None on another database."""
        path = sqlite_path(self.url)
        return None if path is None else SqliteUsageWriter(path)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
