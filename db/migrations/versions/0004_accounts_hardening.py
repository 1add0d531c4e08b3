"""Accounts hardening (docs/auth.md).

- users: a unique index on lower(email), so the database itself refuses two spellings of
  one address; token_generation, whose bump ends every access token of the user at once.
- refresh_tokens.family_expires_at: the absolute end of a sign-in, however often it rotates.
  Existing tokens get their own expiry as their family's end.
- login_failures (one row per failure, counted then recorded: racy) is replaced by
  login_throttles (one counter per key, reserved by a conditional upsert). Counts in flight
  are dropped, in both directions.

On SQLite no statement here rebuilds `users`: with foreign keys on, dropping the old table
during a batch rebuild would cascade-delete every row that references it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    duplicates = op.get_bind().execute(
        sa.text("SELECT lower(email) FROM users GROUP BY lower(email) HAVING count(*) > 1 LIMIT 5")
    ).scalars().all()
    if duplicates:
        raise RuntimeError(
            "cannot enforce case-insensitive email uniqueness: these addresses have accounts under "
            f"several spellings: {', '.join(duplicates)}. Merge or rename them, then migrate again."
        )
    op.execute("UPDATE users SET email = lower(email) WHERE email <> lower(email)")
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    # Plain ADD COLUMN (no batch): SQLite adds a NOT NULL column with a constant default in place.
    op.add_column("users", sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False))

    with op.batch_alter_table("refresh_tokens") as batch_op:
        batch_op.add_column(sa.Column("family_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE refresh_tokens SET family_expires_at = expires_at")
    with op.batch_alter_table("refresh_tokens") as batch_op:
        batch_op.alter_column("family_expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)

    with op.batch_alter_table("login_failures") as batch_op:
        batch_op.drop_index("ix_login_failures_email_created")
        batch_op.drop_index("ix_login_failures_address_created")
    op.drop_table("login_failures")
    op.create_table(
        "login_throttles",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject", name=op.f("pk_login_throttles")),
    )
    op.create_index(op.f("ix_login_throttles_window_started_at"), "login_throttles", ["window_started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_throttles_window_started_at"), table_name="login_throttles")
    op.drop_table("login_throttles")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_address_created", "login_failures", ["address", "created_at"])
    op.create_index("ix_login_failures_email_created", "login_failures", ["email", "created_at"])

    # refresh_tokens is referenced by no other table, so SQLite may rebuild it.
    with op.batch_alter_table("refresh_tokens") as batch_op:
        batch_op.drop_column("family_expires_at")

    # Native DROP COLUMN (SQLite >= 3.35), never a rebuild of `users` (see the module docstring).
    op.drop_column("users", "token_generation")
    op.drop_index("uq_users_email_lower", table_name="users")
