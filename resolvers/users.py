"""User accounts shared by sign-up, sign-in and administration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Role, UserRole


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased: the form stored and compared (unique in the database)."""
    return email.strip().lower()


async def grant_role(session: AsyncSession, user_id: str, role_name: str) -> bool:
    """Give `user_id` the named role; False when it already had it."""
    role_id = (await session.execute(select(Role.id).where(Role.name == role_name))).scalar_one()
    existing = await session.get(UserRole, (user_id, role_id))
    if existing is not None:
        return False
    session.add(UserRole(user_id=user_id, role_id=role_id))
    return True
