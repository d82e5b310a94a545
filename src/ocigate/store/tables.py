"""The schema as SQLAlchemy Core tables. Changes go through an Alembic migration in ``migrations/versions``
and a bump of ``SCHEMA_REVISION``."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, Text

SCHEMA_REVISION = "0001"

metadata = MetaData()

responses = Table(
    "responses",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("model", String(200), nullable=False),
    Column("previous_response_id", String(80), nullable=True),
    Column("owner", String(80), nullable=True),  # the virtual key that created it, once keys exist
    Column("input_items", Text, nullable=False),  # JSON list: this request's input, normalised to items
    Column("response", Text, nullable=False),  # JSON: the response object as the client received it
    Index("ix_responses_created_at", "created_at"),
)
