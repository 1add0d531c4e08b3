"""Access tokens: short-lived JWTs (HS256) carrying only the subject; roles are read per request."""

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


def issue_access_token(user_id: str, settings: Settings, now: dt.datetime | None = None) -> IssuedAccessToken:
    issued_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    expires_at = issued_at + dt.timedelta(seconds=settings.access_token_ttl)
    claims = {
        "sub": user_id,
        "iat": issued_at,
        "exp": expires_at,
        "jti": secrets.token_urlsafe(16),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return IssuedAccessToken(jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), expires_at)


def decode_access_token(token: str, settings: Settings) -> str:
    """Return the user id of a valid token; raise InvalidAccessToken otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "iat", "exp", "jti", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidAccessToken("token has no subject")
    return subject
