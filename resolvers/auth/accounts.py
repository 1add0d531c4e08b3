"""Sign-up, password sign-in, `shopql create-admin`, and reading accounts back.

Password work (Argon2id, tens of milliseconds of CPU) runs in a thread and never inside a
write transaction: on SQLite a write transaction holds the database's write lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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
from resolvers.auth.validation import (
    MAX_PASSWORD_LENGTH,
    printable,
    valid_email,
    valid_name,
    valid_password,
)
from resolvers.errors import DomainError, Invalid
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
        token_generation=0,
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
    if len(password) > MAX_PASSWORD_LENGTH:
        # No account can have such a password: refuse before any work. The answer is the same
        # for every account, so answering fast tells nothing about any of them.
        raise DomainError("INVALID_CREDENTIALS", INVALID_CREDENTIALS)
    try:
        reservation = await throttle.reserve(db, settings, email, ctx.client_address, now)
    except throttle.TooManyAttempts as refused:
        ctx.response_headers["Retry-After"] = str(refused.retry_after)
        raise
    user = await user_by_email(db, email)
    # Unknown emails verify against a dummy hash, so both answers take about as long.
    correct = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not correct:
        raise DomainError("INVALID_CREDENTIALS", INVALID_CREDENTIALS)  # the slots stay taken
    if not user.active:
        async with db.transaction() as session:
            await throttle.release(session, reservation)
        raise DomainError("ACCOUNT_INACTIVE", ACCOUNT_INACTIVE)
    new_hash = None
    if needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(hash_password, password)
    async with db.transaction() as session:
        await throttle.release(session, reservation)
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


async def ensure_admin(db: Database, email: str, password: str, reset_password: bool = False) -> tuple[str, bool]:
    """`shopql create-admin`: create an admin account, or grant `admin` to an existing one.

    An existing account keeps its password unless `reset_password`. One whose email was never
    verified is refused without it: whoever registered the address may not own it, and would
    keep a password to an admin account. With it, the operator takes the account over: the new
    password, the address marked verified, every earlier session ended. Returns (id, created).
    """
    email = valid_email(email, ["email"])
    valid_password(password, ["password"])
    password_hash = await asyncio.to_thread(hash_password, password)
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
        created = user is None
        if user is None:
            user = User(id=new_id("usr"), email=email, password_hash=password_hash, active=True,
                        email_verified=True, token_generation=0, created_at=now, updated_at=now)
            session.add(user)
            await session.flush()
            await grant_role(session, user.id, DEFAULT_ROLE)
        elif reset_password:
            user.password_hash = password_hash
            user.email_verified = True
            user.updated_at = now
            await sessions.end_user_sessions(session, user.id, now)
        elif not user.email_verified:
            raise Invalid(
                f"{email} has an account whose email address was never verified, so whoever registered "
                "it may not own it; run again with --reset-password to take it over (sets this password, "
                "marks the address verified and ends all of its sessions)",
                ["email"],
            )
        await grant_role(session, user.id, "admin")
        return user.id, created


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
