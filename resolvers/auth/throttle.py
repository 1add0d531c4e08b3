"""Login throttling kept in the database, so every worker process and host sees the same counts.

Three counters limit password logins, each inside a window of LOGIN_FAILURE_WINDOW seconds
that opens at the counter's first attempt:

- the account from one address: LOGIN_MAX_FAILURES. The everyday limit; a stranger who hits
  it locks the account only for themselves, not for its owner elsewhere.
- the account from all addresses: LOGIN_MAX_FAILURES_PER_ACCOUNT, against guessing one
  account from many addresses (and so the price of that protection: enough addresses can
  lock the account for everyone until the window ends).
- the address: LOGIN_MAX_FAILURES_PER_ADDRESS, against one address trying many accounts.

An attempt takes a slot on each counter *before* the password is checked, with a conditional
upsert per counter in one transaction: a counter at its limit takes nothing and the whole
reservation is rolled back, so no number of parallel requests gets more than the limit
evaluated. A wrong password keeps its slots (it was a failure); a right one gives them back
and clears the account's failures from that address. IPv6 addresses count per /64, the
smallest block a single subscriber is given, so rotating within it does not help.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.models import LoginThrottle
from resolvers.auth.validation import printable
from resolvers.errors import DomainError
from shopql.settings import Settings

throttles = LoginThrottle.__table__

ACCOUNT_FROM_ADDRESS = "account_address"
ACCOUNT = "account"
ADDRESS = "address"
EMAIL_KEY_LENGTH = 320
ADDRESS_KEY_LENGTH = 64
IPV6_SUBSCRIBER_PREFIX = 64
STALE_ROWS_PER_ATTEMPT = 100  # housekeeping bound, so no attempt pays for a backlog


class TooManyAttempts(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "TOO_MANY_REQUESTS",
            f"Too many failed login attempts; try again in {retry_after} seconds",
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Counter:
    scope: str
    subject: str
    limit: int


@dataclass(frozen=True)
class Reservation:
    """The slots one attempt holds: the window each was taken in, per (scope, subject)."""

    counters: tuple[Counter, ...]
    windows: dict[tuple[str, str], dt.datetime]


def account_key(email: str) -> str:
    """The account a login attempt names, as stored (printable, cut to the column's size)."""
    return printable(email, EMAIL_KEY_LENGTH)


def address_key(address: str) -> str:
    """The client address as counted: IPv4 as is, IPv6 as its /64 network."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return printable(address, ADDRESS_KEY_LENGTH)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network((ip, IPV6_SUBSCRIBER_PREFIX), strict=False))
    return str(ip)


def counters_for(settings: Settings, email: str, address: str) -> tuple[Counter, ...]:
    """What one attempt counts against, always in this order (PostgreSQL locks rows in it)."""
    account = account_key(email)
    if not address:
        # No peer address (e.g. a Unix socket without proxy headers): only the account counts.
        return (Counter(ACCOUNT, account, settings.login_max_failures_per_account),)
    client = address_key(address)
    return (
        # Addresses hold no spaces, so the email before the last space is unambiguous.
        Counter(ACCOUNT_FROM_ADDRESS, f"{account} {client}", settings.login_max_failures),
        Counter(ACCOUNT, account, settings.login_max_failures_per_account),
        Counter(ADDRESS, client, settings.login_max_failures_per_address),
    )


def _take_slot(db: Database, counter: Counter, now: dt.datetime, window_opened_after: dt.datetime) -> Any:
    """One upsert: open a window (new key, or the last one ended) or count one more inside it
    while under the limit. No row back means the counter is full."""
    expired = throttles.c.window_started_at <= window_opened_after
    insert = (sqlite.insert if db.is_sqlite else postgresql.insert)(throttles).values(
        scope=counter.scope, subject=counter.subject, failures=1, window_started_at=now
    )
    return insert.on_conflict_do_update(
        index_elements=[throttles.c.scope, throttles.c.subject],
        set_={
            "failures": case((expired, 1), else_=throttles.c.failures + 1),
            "window_started_at": case((expired, insert.excluded.window_started_at),
                                      else_=throttles.c.window_started_at),
        },
        where=or_(expired, throttles.c.failures < counter.limit),
    ).returning(throttles.c.window_started_at)


async def reserve(db: Database, settings: Settings, email: str, address: str, now: dt.datetime) -> Reservation:
    """Take this attempt's slots, or raise TooManyAttempts (taking none) when a counter is full."""
    window = dt.timedelta(seconds=settings.login_failure_window)
    counters = counters_for(settings, email, address)
    windows: dict[tuple[str, str], dt.datetime] = {}
    full: list[Counter] = []
    async with db.transaction() as session:
        for counter in counters:
            started = (await session.execute(_take_slot(db, counter, now, now - window))).scalar_one_or_none()
            if started is None:
                full.append(counter)
            else:
                windows[(counter.scope, counter.subject)] = started
        if full:
            retry_after = await _retry_after(session, full, window, now)
            raise TooManyAttempts(retry_after)  # leaving the block rolls back the slots taken
        await _forget_ended_windows(session, now - window)
    return Reservation(counters, windows)


async def _retry_after(session: AsyncSession, full: list[Counter], window: dt.timedelta, now: dt.datetime) -> int:
    starts = (
        await session.execute(
            select(LoginThrottle.window_started_at).where(
                tuple_(LoginThrottle.scope, LoginThrottle.subject).in_([(c.scope, c.subject) for c in full])
            )
        )
    ).scalars().all()
    waits = [(started + window - now).total_seconds() for started in starts]
    # Capped: a window opened by a request that started after this one would read as longer.
    return min(max(1, math.ceil(max(waits, default=1))), math.ceil(window.total_seconds()))


async def _forget_ended_windows(session: AsyncSession, window_opened_after: dt.datetime) -> None:
    """Drop a few counters whose window ended (they count as absent anyway).

    SKIP LOCKED: never wait for, nor deadlock with, an attempt reopening one (PostgreSQL;
    SQLite has a single writer and ignores the clause).
    """
    ended = (
        select(LoginThrottle.scope, LoginThrottle.subject)
        .where(LoginThrottle.window_started_at <= window_opened_after)
        .limit(STALE_ROWS_PER_ATTEMPT)
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        delete(LoginThrottle)
        .where(tuple_(LoginThrottle.scope, LoginThrottle.subject).in_(ended))
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, reservation: Reservation) -> None:
    """After a right password: the attempt was no failure. Clears the account's failures from
    this address and gives back the slots on the shared counters (in the window they were
    taken in: a window that restarted since never held them)."""
    for counter in reservation.counters:
        started = reservation.windows.get((counter.scope, counter.subject))
        key = and_(LoginThrottle.scope == counter.scope, LoginThrottle.subject == counter.subject)
        if counter.scope == ACCOUNT_FROM_ADDRESS:
            statement = delete(LoginThrottle).where(key)
        else:
            statement = (
                update(LoginThrottle)
                .where(key, LoginThrottle.window_started_at == started, LoginThrottle.failures > 0)
                .values(failures=LoginThrottle.failures - 1)
            )
        await session.execute(statement.execution_options(synchronize_session=False))
