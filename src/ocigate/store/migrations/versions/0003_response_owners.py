"""Every stored response has an owner: responses stored before keys existed belong to the master key.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before ownership was enforced carry no owner: only the master key may read them now.
    op.execute(sa.text("UPDATE responses SET owner = 'master' WHERE owner IS NULL"))
    with op.batch_alter_table("responses") as table:
        table.alter_column("owner", existing_type=sa.String(80), nullable=False, server_default="master")


def downgrade() -> None:
    with op.batch_alter_table("responses") as table:
        table.alter_column("owner", existing_type=sa.String(80), nullable=True, server_default=None)
