"""Access tokens: short-lived JWTs (HS256) carrying the subject and its token generation.

Roles and `active` are read from the database per request. So is the user's token
generation: a token whose `gen` is not the user's current one is refused, which ends every
access token of the user at once (logout, refresh-token reuse, account takeover). A counter,
not a time: `iat` has whole seconds, which cannot order a logout and a sign-in within one.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import jwt

from shopql.settings import Settings

ALGORITHM = "HS256"


class InvalidAccessToken(Exception):
    pass


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    generation: int


def issue_access_token(
    user_id: str, settings: Settings, now: dt.datetime | None = None, generation: int = 0
) -> IssuedAccessToken:
    issued_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    expires_at = issued_at + dt.timedelta(seconds=settings.access_token_ttl)
    claims = {
        "sub": user_id,
        "iat": issued_at,
        "exp": expires_at,
        "jti": secrets.token_urlsafe(16),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "gen": generation,
    }
    return IssuedAccessToken(jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), expires_at)


def decode_access_token(token: str, settings: Settings) -> AccessClaims:
    """The subject and generation of a valid token; raise InvalidAccessToken otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "iat", "exp", "jti", "iss", "aud", "gen"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    subject, generation = claims.get("sub"), claims.get("gen")
    if not isinstance(subject, str) or not subject:
        raise InvalidAccessToken("token has no subject")
    if type(generation) is not int:  # noqa: E721 - bool is an int subclass, and not a generation
        raise InvalidAccessToken("token has no generation")
    return AccessClaims(subject, generation)
