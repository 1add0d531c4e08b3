"""Who is calling: the signed-in user with roles and permissions read from the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from db.engine import Database
from db.models import Permission, Role, RolePermission, User, UserRole


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
    """One round trip for roles and permissions; None when the user no longer exists."""
    async with db.read() as conn:
        user = (
            await conn.execute(select(User.id, User.email, User.active, User.token_generation).where(User.id == user_id))
        ).first()
        if user is None:
            return None
        grants = (
            await conn.execute(
                select(Role.name, Permission.name)
                .select_from(UserRole)
                .join(Role, Role.id == UserRole.role_id)
                .outerjoin(RolePermission, RolePermission.role_id == Role.id)
                .outerjoin(Permission, Permission.id == RolePermission.permission_id)
                .where(UserRole.user_id == user_id)
            )
        ).all()
    return Viewer(
        user_id=user.id,
        email=user.email,
        active=user.active,
        token_generation=user.token_generation,
        roles=frozenset(role for role, _ in grants),
        permissions=frozenset(permission for _, permission in grants if permission),
    )
