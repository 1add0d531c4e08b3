"""Default roles, permissions and grants (db/defaults.py), created once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from db.defaults import GRANTS, PERMISSIONS, ROLES
from db.ids import new_id

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

roles = sa.table(
    "roles",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
permissions = sa.table(
    "permissions",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("resource", sa.String),
    sa.column("action", sa.String),
    sa.column("description", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
role_permissions = sa.table(
    "role_permissions", sa.column("role_id", sa.String), sa.column("permission_id", sa.String)
)


def upgrade() -> None:
    now = dt.datetime.now(dt.UTC)
    role_ids = {name: new_id("role") for name in ROLES}
    permission_ids = {name: new_id("perm") for name, *_ in PERMISSIONS}
    op.bulk_insert(
        roles,
        [
            {"id": role_ids[name], "name": name, "description": description,
             "created_at": now, "updated_at": now}
            for name, description in ROLES.items()
        ],
    )
    op.bulk_insert(
        permissions,
        [
            {"id": permission_ids[name], "name": name, "resource": resource, "action": action,
             "description": description, "created_at": now, "updated_at": now}
            for name, resource, action, description in PERMISSIONS
        ],
    )
    op.bulk_insert(
        role_permissions,
        [
            {"role_id": role_ids[role], "permission_id": permission_ids[permission]}
            for role, granted in GRANTS.items()
            for permission in granted
        ],
    )


def downgrade() -> None:
    op.execute(role_permissions.delete())
    op.execute(permissions.delete().where(permissions.c.name.in_([p[0] for p in PERMISSIONS])))
    op.execute(roles.delete().where(roles.c.name.in_(list(ROLES))))
