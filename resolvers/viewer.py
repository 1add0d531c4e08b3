"""Who is calling: the signed-in user with roles and permissions read from the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from db.engine import Database
from db.models import Permission, Role, RolePermission, User, UserRole

users = User.__table__
user_roles = UserRole.__table__
roles = Role.__table__
role_permissions = RolePermission.__table__
permissions = Permission.__table__

# Built once: this runs on every authenticated request, and building a select (and its cache
# key) costs more than executing a prebuilt one with bound parameters.
# The user and its grants in one statement: one row per (role, permission), the user's
# columns repeated; a user without roles gives one row with NULL role and permission.
_VIEWER = (
    select(users.c.id, users.c.email, users.c.active, users.c.token_generation,
           roles.c.name.label("role"), permissions.c.name.label("permission"))
    .select_from(
        users.outerjoin(user_roles, user_roles.c.user_id == users.c.id)
        .outerjoin(roles, roles.c.id == user_roles.c.role_id)
        .outerjoin(role_permissions, role_permissions.c.role_id == roles.c.id)
        .outerjoin(permissions, permissions.c.id == role_permissions.c.permission_id)
    )
    .where(users.c.id == bindparam("viewer_id"))
)


@dataclass(frozen=True)
class Viewer:
    user_id: str
    email: str
    active: bool
    token_generation: int
    roles: frozenset[str]
    permissions: frozenset[str]

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def has_permissions(self, *permissions: str) -> bool:
        return self.permissions.issuperset(permissions)


async def load_viewer(db: Database, user_id: str) -> Viewer | None:
    """One round trip for the user, its roles and permissions; None when the user no longer exists."""
    async with db.read() as conn:
        rows = (await conn.execute(_VIEWER, {"viewer_id": user_id})).all()
    if not rows:
        return None
    user = rows[0]
    return Viewer(
        user_id=user.id,
        email=user.email,
        active=user.active,
        token_generation=user.token_generation,
        roles=frozenset(row.role for row in rows if row.role is not None),
        permissions=frozenset(row.permission for row in rows if row.permission),
    )
