"""The store's databases: a fresh SQLite file and a fresh Postgres database (``tests.support.databases``)."""

from tests.support.databases import database_url, engine

__all__ = ["database_url", "engine"]
