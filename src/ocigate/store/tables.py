"""The schema as SQLAlchemy Core tables. Changes go through an Alembic migration in ``migrations/versions``
and a bump of ``SCHEMA_REVISION`` (``schema.py``).

Times are Unix epoch seconds: whole seconds for stored responses, fractional (``DOUBLE``) for keys, usage and
audit rows. Usage and audit rows also carry their UTC ``day`` (``YYYY-MM-DD``) so that daily reports group the
same way on SQLite and Postgres.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ocigate.store.schema import SCHEMA_REVISION

__all__ = ["SCHEMA_REVISION", "audit", "keys", "metadata", "responses", "usage"]

metadata = MetaData()

# SQLite makes only an INTEGER PRIMARY KEY an auto-incrementing row id; Postgres gets a 64-bit identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")

responses = Table(
    "responses",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("model", String(200), nullable=False),
    Column("previous_response_id", String(80), nullable=True),
    Column("owner", String(80), nullable=False, server_default="master"),  # the virtual key's id, or "master"
    Column("input_items", Text, nullable=False),  # JSON list: this request's input, normalised to items
    Column("response", Text, nullable=False),  # JSON: the response object as the client received it
    Index("ix_responses_created_at", "created_at"),
)

keys = Table(
    "keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key_hash", String(64), nullable=False),  # HMAC-SHA256 or SHA-256, hex
    Column("prefix", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("team", String(200), nullable=True),
    Column("user_name", String(200), nullable=True),
    Column("allowed_models", Text, nullable=False),  # JSON list of names and fnmatch patterns
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("max_concurrent", Integer, nullable=True),
    Column("budget_amount", Double, nullable=True),
    Column("budget_unit", String(10), nullable=True),  # usd | tokens
    Column("budget_period", String(10), nullable=True),  # day | week | month | total
    Column("expires_at", Double, nullable=True),
    Column("revoked_at", Double, nullable=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("metadata_json", Text, nullable=False),  # JSON object: the owner's free-form details
    UniqueConstraint("key_hash", name="uq_keys_key_hash"),
    Index("ix_keys_team", "team"),
)

usage = Table(
    "usage",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("created_at", Double, nullable=False),
    Column("day", String(10), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("key_id", String(40), nullable=True),  # None: the master key, or no key configured
    Column("team", String(200), nullable=True),
    Column("user_name", String(200), nullable=True),
    Column("model", String(200), nullable=False),
    Column("provider", String(100), nullable=False),
    Column("region", String(40), nullable=True),
    Column("endpoint", String(40), nullable=False),
    Column("stream", Boolean, nullable=False),
    Column("status", Integer, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("reasoning_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("latency_ms", Double, nullable=False),
    Column("ttft_ms", Double, nullable=True),
    Column("cost_usd", Double, nullable=False),
    Index("ix_usage_created_at", "created_at"),
    Index("ix_usage_key_created_at", "key_id", "created_at"),  # budgets: a key's spend since a period began
)

audit = Table(
    "audit",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("created_at", Double, nullable=False),
    Column("day", String(10), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("key_id", String(40), nullable=True),
    Column("key_prefix", String(16), nullable=True),
    Column("team", String(200), nullable=True),
    Column("user_name", String(200), nullable=True),
    Column("client", String(100), nullable=True),
    Column("method", String(10), nullable=False),
    Column("path", String(300), nullable=False),
    Column("model", String(200), nullable=True),
    Column("status", Integer, nullable=False),
    Column("duration_ms", Double, nullable=False),
    Column("request_body", Text, nullable=True),  # only with bodies enabled, secrets redacted
    Column("response_body", Text, nullable=True),
    Index("ix_audit_created_at", "created_at"),
    Index("ix_audit_key_created_at", "key_id", "created_at"),
)
