"""The schema's revision, and bringing a database to it, without SQLAlchemy or Alembic in this process.

``SCHEMA_REVISION`` is the Alembic revision the code expects (``tables.py`` describes it, ``migrations/`` builds
it). :func:`migrate_in_child` runs ``python -m ocigate.store.migrate`` for a database that is behind, so that a
gateway never keeps Alembic's modules (about 11 MB) for its lifetime.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

SCHEMA_REVISION = "0003"


def default_url(data_dir: str) -> str:
    """The embedded default: ``ocigate.db`` in the data directory (created if missing)."""
    path = Path(data_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{path / 'ocigate.db'}"


async def migrate_in_child(url: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ocigate.store.migrate",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    # The URL goes on stdin: it may hold a password, which a command line would show to every local user.
    _, err = await child.communicate(url.encode())
    if child.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"migrating the database schema to revision {SCHEMA_REVISION} failed: {lines[-1] if lines else '?'}"
        )
