"""``python -m ocigate.store.migrate``: brings the database whose URL is read from stdin to the current schema
revision, with Alembic, and exits. ``open_engine`` runs it when the schema is behind, so that the gateway
process never loads Alembic; several processes starting at once take turns (a file lock for SQLite, an advisory
lock for Postgres)."""

from __future__ import annotations

import asyncio
import sys

from ocigate.store.database import open_engine


async def _migrate(url: str) -> None:
    engine = await open_engine(url, migrate_here=True)
    await engine.dispose()


def main() -> int:
    url = sys.stdin.read().strip()
    if not url:
        print("ocigate.store.migrate: no database URL on stdin", file=sys.stderr)
        return 2
    asyncio.run(_migrate(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
