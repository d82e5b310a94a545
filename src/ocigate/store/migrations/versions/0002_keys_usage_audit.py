"""Virtual keys, usage records and the audit log.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Spelled out rather than imported from tables.py: a migration is a fixed step, and tables.py moves on.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("user_name", sa.String(200), nullable=True),
        sa.Column("allowed_models", sa.Text, nullable=False),
        sa.Column("rpm", sa.Integer, nullable=True),
        sa.Column("tpm", sa.Integer, nullable=True),
        sa.Column("max_concurrent", sa.Integer, nullable=True),
        sa.Column("budget_amount", sa.Double, nullable=True),
        sa.Column("budget_unit", sa.String(10), nullable=True),
        sa.Column("budget_period", sa.String(10), nullable=True),
        sa.Column("expires_at", sa.Double, nullable=True),
        sa.Column("revoked_at", sa.Double, nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("metadata_json", sa.Text, nullable=False),
        sa.UniqueConstraint("key_hash", name="uq_keys_key_hash"),
    )
    op.create_index("ix_keys_team", "keys", ["team"])

    op.create_table(
        "usage",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("user_name", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("region", sa.String(40), nullable=True),
        sa.Column("endpoint", sa.String(40), nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False),
        sa.Column("cached_tokens", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Double, nullable=False),
        sa.Column("ttft_ms", sa.Double, nullable=True),
        sa.Column("cost_usd", sa.Double, nullable=False),
    )
    op.create_index("ix_usage_created_at", "usage", ["created_at"])
    op.create_index("ix_usage_key_created_at", "usage", ["key_id", "created_at"])

    op.create_table(
        "audit",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("key_prefix", sa.String(16), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("user_name", sa.String(200), nullable=True),
        sa.Column("client", sa.String(100), nullable=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("duration_ms", sa.Double, nullable=False),
        sa.Column("request_body", sa.Text, nullable=True),
        sa.Column("response_body", sa.Text, nullable=True),
    )
    op.create_index("ix_audit_created_at", "audit", ["created_at"])
    op.create_index("ix_audit_key_created_at", "audit", ["key_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_key_created_at", "audit")
    op.drop_index("ix_audit_created_at", "audit")
    op.drop_table("audit")
    op.drop_index("ix_usage_key_created_at", "usage")
    op.drop_index("ix_usage_created_at", "usage")
    op.drop_table("usage")
    op.drop_index("ix_keys_team", "keys")
    op.drop_table("keys")
