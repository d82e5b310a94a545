"""Alembic environment: migrations run on the connection that ``ocigate.store.database`` hands over."""

from __future__ import annotations

from alembic import context

from ocigate.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("ocigate runs its migrations itself, when the gateway opens its database")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
