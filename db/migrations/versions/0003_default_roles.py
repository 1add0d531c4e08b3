"""Default roles, permissions and grants, created once.

The data is a frozen copy of what db/defaults.py said when this revision was written: a
migration must build the same database whatever the code says later (0005 amends it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

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
user_roles = sa.table("user_roles", sa.column("user_id", sa.String), sa.column("role_id", sa.String))

ROLES: dict[str, str] = {
    "admin": "Full system access",
    "manager": "Administrative access for business operations",
    "customer_experience": "Customer support access",
    "user": "Standard authenticated user",
}
PERMISSIONS: list[tuple[str, str, str, str]] = [
    ("manage_products", "products", "manage", "Full access to products and their variants"),
    ("manage_categories", "categories", "manage", "Full access to categories"),
    ("manage_brands", "brands", "manage", "Full access to brands"),
    ("manage_promotions", "promotions", "manage", "Full access to promotions"),
    ("manage_shipping", "shipping", "manage", "Full access to shipping methods"),
    ("manage_taxes", "taxes", "manage", "Full access to tax rates"),
    ("read_orders", "orders", "read", "View every customer's orders"),
    ("manage_orders", "orders", "manage", "Move orders through their status workflow"),
    ("read_customers", "customers", "read", "View customer accounts"),
    ("manage_customers", "customers", "manage", "Edit customer accounts"),
    ("read_roles", "roles", "read", "View roles and permissions"),
    ("manage_roles", "roles", "manage", "Create, edit and delete roles and permissions"),
    ("manage_users", "users", "manage", "Assign roles and activate or deactivate users"),
]
_CATALOG = ["manage_products", "manage_categories", "manage_brands", "manage_promotions", "manage_shipping",
            "manage_taxes"]
GRANTS: dict[str, list[str]] = {
    "admin": [name for name, *_ in PERMISSIONS],
    "manager": [*_CATALOG, "read_orders", "manage_orders", "read_customers", "read_roles"],
    "customer_experience": ["read_orders", "read_customers", "read_roles"],
    "user": [],
}


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
    """Remove the default rows and only what refers to them: custom roles, custom permissions
    and the grants between those stay. (Foreign keys would cascade too; saying it keeps the
    downgrade right where they are not enforced.)"""
    default_roles = sa.select(roles.c.id).where(roles.c.name.in_(list(ROLES)))
    default_permissions = sa.select(permissions.c.id).where(permissions.c.name.in_([p[0] for p in PERMISSIONS]))
    op.execute(
        role_permissions.delete().where(
            sa.or_(role_permissions.c.role_id.in_(default_roles),
                   role_permissions.c.permission_id.in_(default_permissions))
        )
    )
    op.execute(user_roles.delete().where(user_roles.c.role_id.in_(default_roles)))
    op.execute(permissions.delete().where(permissions.c.name.in_([p[0] for p in PERMISSIONS])))
    op.execute(roles.delete().where(roles.c.name.in_(list(ROLES))))
