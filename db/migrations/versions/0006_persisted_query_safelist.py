"""Persisted queries: the safelist flag and least-recently-used eviction.

`safelisted` marks documents loaded with `shopql persist` (the only ones safelist mode runs,
never evicted); `last_used_at` orders automatically registered ones for eviction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("persisted_queries") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("safelisted", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Documents registered before this revision count as last used when they were registered.
    op.execute("UPDATE persisted_queries SET last_used_at = created_at")
    with op.batch_alter_table("persisted_queries") as batch:
        batch.alter_column("last_used_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_index("ix_persisted_queries_safelisted_last_used", ["safelisted", "last_used_at"])


def downgrade() -> None:
    with op.batch_alter_table("persisted_queries") as batch:
        batch.drop_index("ix_persisted_queries_safelisted_last_used")
        batch.drop_column("safelisted")
        batch.drop_column("last_used_at")
