"""Which store the ``keys`` and ``usage`` commands use, said before they use it.

Run from another folder, a relative ``OCIGATE_DATA_DIR`` (``./data`` by default) names another, empty store:
a command that only reads (``keys list``, ``usage``) or changes existing keys (``keys rotate``, ``keys revoke``)
refuses a store that does not exist rather than create an empty one and show nothing; ``keys create`` may create
it, and says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ocigate.config.settings import Settings

_FIX = (
    "run the command from the gateway's folder, or set OCIGATE_DATA_DIR (or OCIGATE_DATABASE_URL) to the "
    "gateway's store"
)


@dataclass(frozen=True, slots=True)
class StoreLocation:
    url: str
    """For :func:`~ocigate.store.database.open_engine`."""
    shown: str
    """The file's path, or the URL without its password."""
    sqlite_file: Path | None
    relative_to: str | None = None
    """The current folder, when ``OCIGATE_DATA_DIR`` is a relative path (the usual cause of a wrong store)."""


def store_location(settings: Settings) -> StoreLocation:
    from sqlalchemy.engine import make_url

    from ocigate.store.database import normalise_url

    if settings.database_url:
        url = normalise_url(settings.database_url)
        parsed = make_url(url)
        shown = parsed.render_as_string(hide_password=True)
        database = parsed.database if parsed.get_backend_name() == "sqlite" else None
        sqlite_file = Path(database).resolve() if database and database != ":memory:" else None
        return StoreLocation(url, shown, sqlite_file)
    path = Path(settings.data_dir).expanduser().resolve() / "ocigate.db"
    relative = None if Path(settings.data_dir).expanduser().is_absolute() else os.getcwd()
    return StoreLocation(f"sqlite+aiosqlite:///{path}", str(path), path, relative)


@dataclass(frozen=True, slots=True)
class MissingStore:
    message: str
    creatable: bool
    """False when the store cannot be reached at all (a wrong URL, a database server down)."""


async def missing_store(location: StoreLocation) -> MissingStore | None:
    """Why ``location`` holds no gateway store, or None when it does."""
    if location.sqlite_file is not None:
        if location.sqlite_file.is_file():
            return None
        relative = (
            f" (OCIGATE_DATA_DIR is relative to the current folder, {location.relative_to})"
            if location.relative_to
            else ""
        )
        return MissingStore(f"no gateway store at {location.shown}{relative}: {_FIX}.", True)
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(location.url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError as exc:
        if "alembic_version" in str(exc.orig):
            return MissingStore(
                f"the database {location.shown} holds no gateway store (no ocigate tables): {_FIX}.", True
            )
        return MissingStore(f"cannot open the store {location.shown}: {exc.orig}.", False)
    except OSError as exc:
        return MissingStore(f"cannot reach the store {location.shown}: {exc.strerror or exc}.", False)
    finally:
        await engine.dispose()
    return None
