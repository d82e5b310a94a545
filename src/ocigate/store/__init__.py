"""The gateway's database: SQLite in the data directory by default, Postgres by URL for shared deployments.

SQLAlchemy Core (async) speaks to both; Alembic owns the schema (``store/migrations``). Nothing is imported
until a store is opened, so the chat path starts as fast without one.
"""
