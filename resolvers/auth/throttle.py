"""Login throttling kept in the database, so every worker process sees the same counts.

Each failed password login adds a row (email, client address, time). A login is refused
before the password is checked once the account has LOGIN_MAX_FAILURES failures, or the
address LOGIN_MAX_FAILURES_PER_ADDRESS, inside the last LOGIN_FAILURE_WINDOW seconds.
Retry-After is the time until enough of those failures leave the window. A successful login
clears the account's failures (not the address's).
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.models import LoginFailure
from resolvers.auth.validation import printable
from resolvers.errors import DomainError
from shopql.settings import Settings

EMAIL_KEY_LENGTH = 320  # login_failures.email
ADDRESS_KEY_LENGTH = 64  # login_failures.address


class TooManyAttempts(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "TOO_MANY_REQUESTS",
            f"Too many failed login attempts; try again in {retry_after} seconds",
        )
        self.retry_after = retry_after


def account_key(email: str) -> str:
    """The account a login attempt names, as stored (printable, cut to the column's size)."""
    return printable(email, EMAIL_KEY_LENGTH)


def address_key(address: str) -> str:
    return printable(address, ADDRESS_KEY_LENGTH)


async def check(db: Database, settings: Settings, email: str, address: str, now: dt.datetime) -> None:
    """Raise TooManyAttempts when the account or the address is over its limit."""
    window = dt.timedelta(seconds=settings.login_failure_window)
    limits = [(LoginFailure.email, account_key(email), settings.login_max_failures)]
    if address:
        limits.append((LoginFailure.address, address_key(address), settings.login_max_failures_per_address))
    waits = []
    async with db.read() as conn:
        for column, value, limit in limits:
            # The limit-th most recent failure in the window: while it is inside, the count is
            # at the limit; once it leaves, the count drops below.
            oldest_counted = (
                await conn.execute(
                    select(LoginFailure.created_at)
                    .where(column == value, LoginFailure.created_at > now - window)
                    .order_by(LoginFailure.created_at.desc())
                    .offset(limit - 1)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if oldest_counted is not None:
                waits.append((oldest_counted + window - now).total_seconds())
    if waits:
        raise TooManyAttempts(max(1, math.ceil(max(waits))))


async def record_failure(db: Database, settings: Settings, email: str, address: str, now: dt.datetime) -> None:
    """Count one failed login, dropping this account's and address's rows that left the window."""
    account, client = account_key(email), address_key(address)
    expired_before = now - dt.timedelta(seconds=settings.login_failure_window)
    async with db.transaction() as session:
        await session.execute(
            delete(LoginFailure).where(
                or_(LoginFailure.email == account, LoginFailure.address == client),
                LoginFailure.created_at <= expired_before,
            )
        )
        await session.execute(insert(LoginFailure).values(email=account, address=client, created_at=now))


async def clear_account(session: AsyncSession, email: str) -> None:
    """After a successful login: the account's failures no longer count against it."""
    await session.execute(delete(LoginFailure).where(LoginFailure.email == account_key(email)))
