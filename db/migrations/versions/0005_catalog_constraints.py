"""Catalog and RBAC constraints.

Catalog:
- SKUs are unique case-insensitively: unique indexes on lower(sku) of products and of
  variants (the case-sensitive unique constraints of 0001 stay; across the two tables the
  resolver serialises on the SKU, see resolvers/catalog_admin.py).
- A sale price is below the base price: a CHECK constraint on PostgreSQL. SQLite cannot add a
  CHECK to an existing table without rebuilding it, and a rebuild would renumber the rowids
  the FTS index of 0002 points at and drop its triggers, so BEFORE triggers raise the same
  constraint error there.
Existing rows that break these rules stop the upgrade with a message naming them: prices and
SKUs are the shop's to fix, not a migration's to guess.

RBAC (amends the defaults of 0003; the data is frozen here):
- changing roles and permissions now needs manage_roles and assigning roles manage_users
  (before, the /admin role gate alone allowed both), so the manager and customer_experience
  roles get both to keep the documented access (every /admin route open to admin, manager and
  customer_experience; admin holds every permission already). What keeps customer_experience
  within its scope is the no-escalation rules, not a missing permission. The downgrade removes
  exactly these four grants (manager and customer_experience × manage_roles and manage_users)
  and nothing else.
- the `user` role, held by every account, holds no permissions: any grant to it is removed.
- built-in descriptions written by 0003 and not changed since get the text that says what the
  code now enforces.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SKU_INDEXES = {"products": "uq_products_sku_lower", "product_variants": "uq_product_variants_sku_lower"}
SALE_CHECK = "ck_products_sale_below_base"
SALE_RULE = "sale_price_amount IS NULL OR sale_price_amount < base_price_amount"
SQLITE_SALE_VIOLATION = "new.sale_price_amount IS NOT NULL AND new.sale_price_amount >= new.base_price_amount"
SQLITE_SALE_TRIGGERS = {
    "products_sale_below_base_bi": "BEFORE INSERT ON products",
    "products_sale_below_base_bu": "BEFORE UPDATE OF sale_price_amount, base_price_amount ON products",
}

# role: the permissions this revision grants it (the role and user administration of /admin).
STAFF_ADMINISTRATION_GRANTS: dict[str, list[str]] = {
    "manager": ["manage_roles", "manage_users"],
    "customer_experience": ["manage_roles", "manage_users"],
}
# name: (text written by 0003, text that says what is enforced now)
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "manage_customers": (
        "Edit customer accounts",
        "Reserved for editing customer accounts; no operation uses it yet",
    ),
    "read_roles": ("View roles and permissions", "View roles, permissions and the roles of users"),
    "manage_roles": (
        "Create, edit and delete roles and permissions",
        "Create, edit and delete roles and permissions, and grant or revoke permissions, within your own",
    ),
    "manage_users": (
        "Assign roles and activate or deactivate users",
        "Assign and remove roles within your own, list accounts, activate or deactivate them",
    ),
}

roles = sa.table("roles", sa.column("id", sa.String), sa.column("name", sa.String))
permissions = sa.table(
    "permissions",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
role_permissions = sa.table(
    "role_permissions", sa.column("role_id", sa.String), sa.column("permission_id", sa.String)
)
products = sa.table(
    "products",
    sa.column("sku", sa.String),
    sa.column("base_price_amount", sa.BigInteger),
    sa.column("sale_price_amount", sa.BigInteger),
)
variants = sa.table("product_variants", sa.column("sku", sa.String))


def _role_id(name: str) -> sa.ScalarSelect[str]:
    return sa.select(roles.c.id).where(roles.c.name == name).scalar_subquery()


# --- catalog ----------------------------------------------------------------------------------------


def _refuse_rows_breaking_the_rules(bind: sa.Connection) -> None:
    problems: list[str] = []
    for table in (products, variants):
        key = sa.func.lower(table.c.sku)
        duplicated = bind.execute(
            sa.select(key).group_by(key).having(sa.func.count() > 1).order_by(key).limit(20)
        ).scalars().all()
        if duplicated:
            problems.append(f"{table.name} with the same SKU but for case: {', '.join(duplicated)}")
    above = bind.execute(
        sa.select(products.c.sku)
        .where(products.c.sale_price_amount.is_not(None),
               products.c.sale_price_amount >= products.c.base_price_amount)
        .order_by(products.c.sku)
        .limit(20)
    ).scalars().all()
    if above:
        problems.append(f"products whose sale price is not below the base price: {', '.join(above)}")
    if problems:
        raise RuntimeError(
            "Migration 0005 needs these rows fixed first (rename the SKUs, lower or clear the sale "
            "prices), then run it again: " + "; ".join(problems)
        )


def _catalog_upgrade(bind: sa.Connection) -> None:
    _refuse_rows_breaking_the_rules(bind)
    for table, index in SKU_INDEXES.items():
        op.create_index(op.f(index), table, [sa.text("lower(sku)")], unique=True)
    if bind.dialect.name == "sqlite":
        for trigger, when in SQLITE_SALE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {trigger} {when} WHEN {SQLITE_SALE_VIOLATION} "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {SALE_CHECK}'); END"
            )
    else:
        op.create_check_constraint(op.f(SALE_CHECK), "products", SALE_RULE)


def _catalog_downgrade(bind: sa.Connection) -> None:
    if bind.dialect.name == "sqlite":
        for trigger in SQLITE_SALE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        op.drop_constraint(op.f(SALE_CHECK), "products", type_="check")
    for table, index in SKU_INDEXES.items():
        op.drop_index(op.f(index), table_name=table)


# --- RBAC defaults ---------------------------------------------------------------------------------------


def _set_descriptions(bind: sa.Connection, old: int, new: int) -> None:
    now = dt.datetime.now(dt.UTC)
    for name, texts in DESCRIPTIONS.items():
        bind.execute(
            permissions.update()
            .where(permissions.c.name == name, permissions.c.description == texts[old])
            .values(description=texts[new], updated_at=now)
        )


def _rbac_upgrade(bind: sa.Connection) -> None:
    for role, granted in STAFF_ADMINISTRATION_GRANTS.items():
        already = sa.select(role_permissions.c.role_id).where(
            role_permissions.c.role_id == _role_id(role), role_permissions.c.permission_id == permissions.c.id
        )
        bind.execute(
            role_permissions.insert().from_select(
                ["role_id", "permission_id"],
                sa.select(_role_id(role), permissions.c.id).where(
                    permissions.c.name.in_(granted), _role_id(role).is_not(None), ~sa.exists(already)
                ),
            )
        )
    bind.execute(role_permissions.delete().where(role_permissions.c.role_id == _role_id("user")))
    _set_descriptions(bind, old=0, new=1)


def _rbac_downgrade(bind: sa.Connection) -> None:
    """Back to 0003's defaults: the grants of STAFF_ADMINISTRATION_GRANTS go, every other grant
    (custom roles holding manage_roles, admin's) stays. Grants removed from the `user` role are not
    restored: they could only have been made through the escalation this revision closes."""
    for role, granted in STAFF_ADMINISTRATION_GRANTS.items():
        granted_ids = sa.select(permissions.c.id).where(permissions.c.name.in_(granted))
        bind.execute(
            role_permissions.delete().where(
                role_permissions.c.role_id == _role_id(role), role_permissions.c.permission_id.in_(granted_ids)
            )
        )
    _set_descriptions(bind, old=1, new=0)


def upgrade() -> None:
    bind = op.get_bind()
    _catalog_upgrade(bind)
    _rbac_upgrade(bind)


def downgrade() -> None:
    bind = op.get_bind()
    _rbac_downgrade(bind)
    _catalog_downgrade(bind)
