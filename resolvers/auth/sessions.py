"""Signed-in sessions: a short-lived access JWT plus an opaque, rotating refresh token.

Refresh tokens are 256 random bits, stored only as their SHA-256. Every refresh rotates: the
presented token is marked rotated and a new one of the same family is issued. Presenting a
token that was already rotated means two parties hold it (theft, or a replayed request), so
the whole family is revoked (OAuth 2.0 Security BCP, refresh token rotation). The rotation is
a conditional UPDATE with a row-count check, so two concurrent refreshes cannot both win.

Each token expires REFRESH_TOKEN_TTL after it was issued (an idle sign-in ends), but never
after its family's end, REFRESH_TOKEN_MAX_LIFETIME after the sign-in that started it: rotation
alone cannot keep a stolen family alive for ever.

Logout and reuse detection also end the user's access tokens at once (a new token generation,
see resolvers/tokens.py); the user's other sign-ins get new ones with their refresh tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.ids import new_id
from db.models import RefreshToken, User
from resolvers.errors import DomainError
from resolvers.tokens import issue_access_token
from shopql.settings import Settings

REFRESH_TOKEN_BYTES = 32  # 256 bits of randomness, 43 URL-safe characters
# What token_urlsafe produces (with room for longer tokens); anything else is not ours.
_REFRESH_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,512}")
INVALID_REFRESH_TOKEN = "Invalid refresh token"
REUSED_REFRESH_TOKEN = "Refresh token was already used; this sign-in has been revoked, please sign in again"


@dataclass(frozen=True)
class SignedIn:
    """What a successful sign-in, sign-up or refresh returns."""

    user: Any  # the account row (users' columns as attributes)
    access_token: str
    refresh_token: str
    expires_at: dt.datetime  # of the access token


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invalid_refresh_token(message: str = INVALID_REFRESH_TOKEN) -> DomainError:
    return DomainError("INVALID_TOKEN", message, ["refreshToken"])


@dataclass(frozen=True)
class Family:
    """The sign-in a rotated token continues."""

    id: str
    expires_at: dt.datetime


async def open_session(
    session: AsyncSession, user: Any, settings: Settings, now: dt.datetime, family: Family | None = None
) -> SignedIn:
    """Issue an access token and a new refresh token (of a new sign-in unless `family`)."""
    if family is None:
        family = Family(new_id("rtf"), now + dt.timedelta(seconds=settings.refresh_token_max_lifetime))
    refresh_token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    session.add(
        RefreshToken(
            id=new_id("rtk"),
            user_id=user.id,
            family_id=family.id,
            token_hash=hash_refresh_token(refresh_token),
            expires_at=min(now + dt.timedelta(seconds=settings.refresh_token_ttl), family.expires_at),
            family_expires_at=family.expires_at,
            created_at=now,
        )
    )
    access = issue_access_token(user.id, settings, now, generation=user.token_generation)
    return SignedIn(user, access.token, refresh_token, access.expires_at)


async def end_access_tokens(session: AsyncSession, user_id: str) -> None:
    """Every access token issued to the user so far stops working (a new token generation).

    An account object already in `session` is updated in memory too, so a session opened for
    it afterwards gets a token of the new generation.
    """
    await session.execute(
        update(User).where(User.id == user_id).values(token_generation=User.token_generation + 1)
    )


async def forget_expired_tokens(session: AsyncSession, user_id: str, now: dt.datetime) -> None:
    """Housekeeping at sign-in: expired tokens can no longer be used nor reused."""
    await session.execute(
        delete(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.expires_at <= now)
    )


async def revoke_family(session: AsyncSession, family_id: str, now: dt.datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def revoke_user_sessions(session: AsyncSession, user_id: str, now: dt.datetime) -> int:
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def rotate(db: Database, settings: Settings, presented: str, now: dt.datetime) -> SignedIn:
    """Exchange a refresh token for a new pair; INVALID_TOKEN for anything but a live token."""
    if not _REFRESH_TOKEN_SHAPE.fullmatch(presented):
        raise invalid_refresh_token()
    reused = False
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(RefreshToken.id, RefreshToken.user_id, RefreshToken.family_id,
                       RefreshToken.family_expires_at, RefreshToken.expires_at, RefreshToken.rotated_at,
                       RefreshToken.revoked_at)
                .where(RefreshToken.token_hash == hash_refresh_token(presented))
            )
        ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise invalid_refresh_token()
        if row.rotated_at is not None:
            reused = True
        else:
            claimed = await session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.id == row.id,
                    RefreshToken.rotated_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                )
                .values(rotated_at=now)
                .execution_options(synchronize_session=False)
            )
            # Zero rows: a concurrent refresh rotated (or a logout revoked) it first.
            reused = claimed.rowcount != 1
        if reused:
            # Whoever holds the stolen copy may also hold access tokens of this sign-in.
            await revoke_family(session, row.family_id, now)
            await end_access_tokens(session, row.user_id)
        else:
            user = await session.get(User, row.user_id)
            if user is None or not user.active:
                raise invalid_refresh_token()
            signed_in = await open_session(
                session, user, settings, now, Family(row.family_id, row.family_expires_at)
            )
    if reused:
        # Raised after the commit: the revocation must stick although the request fails.
        raise invalid_refresh_token(REUSED_REFRESH_TOKEN)
    return signed_in


async def end_user_sessions(session: AsyncSession, user_id: str, now: dt.datetime) -> int:
    """Every sign-in of the user ends: refresh tokens revoked, access tokens refused from now."""
    revoked = await revoke_user_sessions(session, user_id, now)
    await end_access_tokens(session, user_id)
    return revoked


async def sign_out(db: Database, user_id: str, now: dt.datetime) -> int:
    """Logout everywhere; returns how many refresh tokens were still live."""
    async with db.transaction() as session:
        return await end_user_sessions(session, user_id, now)
