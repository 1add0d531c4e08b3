"""Sign-up and password sign-in, and reading accounts back.

Password work (Argon2id, tens of milliseconds of CPU) runs in a thread and never inside a
write transaction: on SQLite a write transaction holds the database's write lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from db.engine import Database
from db.ids import new_id
from db.models import User
from resolvers.auth import sessions, throttle
from resolvers.auth.sessions import SignedIn
from resolvers.auth.validation import printable, valid_email, valid_name, valid_password
from resolvers.errors import DomainError
from resolvers.passwords import hash_password, needs_rehash, verify_password
from resolvers.users import grant_role, normalise_email

if TYPE_CHECKING:
    from resolvers.context import RequestContext

users = User.__table__

INVALID_CREDENTIALS = "Invalid credentials"
ACCOUNT_INACTIVE = "Account is inactive"
DEFAULT_ROLE = "user"


async def register(
    ctx: RequestContext, email: str, password: str, first_name: str = "", last_name: str = ""
) -> SignedIn:
    """Create an account with the `user` role and sign it in. ALREADY_EXISTS for a taken email."""
    email = valid_email(email, ["input", "email"])
    valid_password(password, ["input", "password"])
    first_name = valid_name(first_name, ["input", "firstName"], "First name")
    last_name = valid_name(last_name, ["input", "lastName"], "Last name")
    password_hash = await asyncio.to_thread(hash_password, password)
    user = User(
        id=new_id("usr"),
        email=email,
        password_hash=password_hash,
        first_name=first_name,
        last_name=last_name,
        active=True,
        email_verified=False,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    try:
        async with ctx.db.transaction() as session:
            session.add(user)
            await session.flush()
            await grant_role(session, user.id, DEFAULT_ROLE)
            signed_in = await sessions.open_session(session, user, ctx.settings, ctx.now)
    except IntegrityError:
        # The unique constraint on the normalised email decides races between sign-ups.
        raise DomainError("ALREADY_EXISTS", "Email already exists", ["input", "email"]) from None
    return signed_in


async def login(ctx: RequestContext, email: str, password: str) -> SignedIn:
    """Password sign-in. Throttled per account and per address; inactive only after the password."""
    db, settings, now = ctx.db, ctx.settings, ctx.now
    email = normalise_email(email)
    try:
        await throttle.check(db, settings, email, ctx.client_address, now)
    except throttle.TooManyAttempts as refused:
        ctx.response_headers["Retry-After"] = str(refused.retry_after)
        raise
    user = await user_by_email(db, email)
    # Unknown emails verify against a dummy hash, so both answers take about as long.
    correct = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not correct:
        await throttle.record_failure(db, settings, email, ctx.client_address, now)
        raise DomainError("INVALID_CREDENTIALS", INVALID_CREDENTIALS)
    if not user.active:
        raise DomainError("ACCOUNT_INACTIVE", ACCOUNT_INACTIVE)
    new_hash = None
    if needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(hash_password, password)
    async with db.transaction() as session:
        await throttle.clear_account(session, email)
        if new_hash is not None:
            # Argon2 parameters changed since this hash was made: store one with today's.
            await session.execute(
                update(User)
                .where(User.id == user.id, User.password_hash == user.password_hash)
                .values(password_hash=new_hash, updated_at=user.updated_at)
                .execution_options(synchronize_session=False)
            )
        await sessions.forget_expired_tokens(session, user.id, now)
        return await sessions.open_session(session, user, settings, now)


async def user_by_email(db: Database, email: str) -> Row[Any] | None:
    if len(email) > 320 or printable(email, 321) != email:
        return None  # cannot be stored, so no account has it (and NUL would upset PostgreSQL)
    async with db.read() as conn:
        return (await conn.execute(select(users).where(users.c.email == email))).first()


async def users_by_id(db: Database, ids: Sequence[str]) -> list[Row[Any] | None]:
    """Dataloader batch: the account rows in the order of `ids` (None for unknown ones)."""
    async with db.read() as conn:
        rows = (await conn.execute(select(users).where(users.c.id.in_(list(ids))))).all()
    by_id = {row.id: row for row in rows}
    return [by_id.get(identifier) for identifier in ids]
