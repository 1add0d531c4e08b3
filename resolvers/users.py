"""User accounts shared by sign-up, sign-in and administration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.models import Role, User, UserRole
from resolvers.passwords import hash_password


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


async def ensure_admin(db: Database, email: str, password: str, reset_password: bool = False) -> tuple[str, bool]:
    """Create an admin account, or grant `admin` to an existing one. Returns (user id, created)."""
    email = normalise_email(email)
    async with db.transaction() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
        created = user is None
        if user is None:
            user = User(email=email, password_hash=hash_password(password), active=True, email_verified=True)
            session.add(user)
            await session.flush()
            await grant_role(session, user.id, "user")
        elif reset_password:
            user.password_hash = hash_password(password)
        await grant_role(session, user.id, "admin")
        return user.id, created
