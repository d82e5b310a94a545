"""The store's databases: the governance tests' fixtures, a fresh SQLite file and a fresh Postgres database."""

from governance.conftest import database_url, engine

__all__ = ["database_url", "engine"]
