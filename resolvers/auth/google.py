"""Google sign-in: OpenID Connect authorization-code flow with PKCE (S256) and a nonce.

The API is stateless, so Authlib's session-cookie helpers are not used: each authorization
URL gets a row in oauth_states (the state, PKCE verifier, nonce and redirect URI), expiring
after OAUTH_STATE_TTL and spent by the callback that presents it (single use). The
callback exchanges the code with Authlib's AsyncOAuth2Client, then verifies the id_token
the way Authlib's own OpenID client does (joserfc against the provider's JWKS, Authlib's
CodeIDToken claims) with the issuer, audience and nonce all pinned.

Every endpoint comes from GOOGLE_DISCOVERY_URL, so tests run against a fake provider.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as jose_jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from db.engine import Database
from db.ids import new_id
from db.models import OAuthIdentity, OAuthState, User
from resolvers.auth import sessions
from resolvers.auth.sessions import SignedIn
from resolvers.auth.validation import MAX_NAME_LENGTH, printable, valid_email
from resolvers.errors import DomainError
from resolvers.users import grant_role
from shopql.settings import Settings

with warnings.catch_warnings():
    # Authlib prefers the httpx2 package and warns when it falls back to httpx.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

if TYPE_CHECKING:
    from resolvers.context import RequestContext

PROVIDER = "google"
SCOPE = "openid email profile"
HTTP_TIMEOUT = 10.0
METADATA_CACHE_SECONDS = 3600
ID_TOKEN_LEEWAY = 60
# Asymmetric algorithms only: never `none`, never HS* (the client secret is not a signing key).
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# A client-supplied state: visible ASCII, as long as the column allows.
_STATE = re.compile(r"[\x21-\x7e]{1,255}")
SPENT = ""  # code_verifier of a state a callback has used
STATE_REJECTED = "Unknown, expired or already used state; start the sign-in again"


class ProviderUnavailable(DomainError):
    """Google sign-in cannot be offered right now: not configured, or the provider is unreachable.

    A top-level SERVICE_UNAVAILABLE error (503), not a user error: the client did nothing wrong.
    """

    def __init__(self, message: str) -> None:
        super().__init__("SERVICE_UNAVAILABLE", message)


def oauth_error(message: str, field: str | None = None) -> DomainError:
    return DomainError("OAUTH_ERROR", message, [field] if field else None)


def _provider_text(text: str) -> str:
    """Text from the provider (or from whoever forged the redirect), safe to echo: no control,
    bidi or other invisible characters, at most 200 characters."""
    return printable(text, 200).strip() or "no details given"


@dataclass(frozen=True)
class AuthorizationUrl:
    url: str
    state: str


# --- provider metadata (per process, refreshed hourly; JWKS also when a key id is unknown) ------

_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _client(settings: Settings) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=settings.google_client_id,
        client_secret=settings.google_client_secret,
        scope=SCOPE,
        redirect_uri=settings.google_redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


async def _fetch_json(client: AsyncOAuth2Client, url: str, what: str, force: bool = False) -> dict[str, Any]:
    cached = _cache.get(url)
    if cached is not None and not force and time.monotonic() - cached[0] < METADATA_CACHE_SECONDS:
        return cached[1]
    try:
        response = await client.request("GET", url, withhold_token=True)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise ProviderUnavailable(f"Google sign-in is unavailable: cannot load the provider's {what}") from error
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"Google sign-in is unavailable: the provider's {what} is malformed")
    _cache[url] = (time.monotonic(), document)
    return document


async def _metadata(client: AsyncOAuth2Client, settings: Settings) -> dict[str, Any]:
    metadata = await _fetch_json(client, settings.google_discovery_url, "discovery document")
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            _cache.pop(settings.google_discovery_url, None)
            raise ProviderUnavailable(f"Google sign-in is unavailable: the discovery document lacks {key!r}")
    return metadata


def _require_configured(settings: Settings) -> None:
    if not settings.google_client_id or not settings.google_client_secret:
        raise ProviderUnavailable("Google sign-in is not configured on this server")


# --- step 1: the authorization URL ------------------------------------------------------------


async def authorization_url(ctx: RequestContext, state: str | None) -> AuthorizationUrl:
    """A Google authorization URL bound to a new server-side state (the caller's, or generated).

    A caller-supplied state must be unique: one already stored is refused (BAD_USER_INPUT).
    """
    settings = ctx.settings
    _require_configured(settings)
    if state is None:
        state = secrets.token_urlsafe(32)
    elif not _STATE.fullmatch(state):
        raise DomainError("BAD_USER_INPUT", "'state' must be 1-255 visible ASCII characters", ["state"])
    code_verifier = secrets.token_urlsafe(64)  # 86 characters (RFC 7636: 43-128)
    nonce = secrets.token_urlsafe(32)
    async with _client(settings) as client:
        metadata = await _metadata(client, settings)
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, code_verifier=code_verifier, nonce=nonce
        )
    try:
        async with ctx.db.transaction() as session:
            await session.execute(
                delete(OAuthState)
                .where(OAuthState.expires_at <= ctx.now)
                .execution_options(synchronize_session=False)
            )
            session.add(
                OAuthState(
                    state=state,
                    provider=PROVIDER,
                    code_verifier=code_verifier,
                    nonce=nonce,
                    redirect_uri=settings.google_redirect_uri,
                    expires_at=ctx.now + dt.timedelta(seconds=settings.oauth_state_ttl),
                    created_at=ctx.now,
                )
            )
    except IntegrityError:
        raise DomainError(
            "BAD_USER_INPUT", "This state value is already in use; send a new, unique one", ["state"]
        ) from None
    return AuthorizationUrl(url, state)


# --- step 2: the callback -----------------------------------------------------------------------


@dataclass(frozen=True)
class _PendingSignIn:
    code_verifier: str
    nonce: str
    redirect_uri: str


async def _consume_state(db: Database, state: str, now: dt.datetime) -> _PendingSignIn | None:
    """Spend the state and return what it was bound to; None when unknown, spent or expired.

    Committed on its own before anything else happens: a state is spent even when the rest of
    the sign-in fails. Spending blanks the verifier with a conditional UPDATE (row-count
    check), so two callbacks with one state cannot both get it. The spent row stays until it
    expires, so a client cannot register the same state again meanwhile.
    """
    if not _STATE.fullmatch(state):
        return None
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(OAuthState.code_verifier, OAuthState.nonce, OAuthState.redirect_uri, OAuthState.expires_at)
                .where(OAuthState.state == state, OAuthState.provider == PROVIDER)
            )
        ).first()
        if row is None or row.code_verifier == SPENT or row.expires_at <= now:
            return None
        spent = await session.execute(
            update(OAuthState)
            .where(OAuthState.state == state, OAuthState.code_verifier == row.code_verifier)
            .values(code_verifier=SPENT, nonce=SPENT)
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:
            return None
    return _PendingSignIn(row.code_verifier, row.nonce, row.redirect_uri)


async def sign_in(ctx: RequestContext, code: str | None, state: str | None, error: str | None) -> SignedIn:
    """Finish a Google sign-in: check the state, exchange the code, verify the id_token, and
    sign in the linked account (linking or creating one for a verified email)."""
    settings = ctx.settings
    _require_configured(settings)
    pending = await _consume_state(ctx.db, state, ctx.now) if state else None
    if error:
        raise oauth_error(f"Google sign-in failed: {_provider_text(error)}", "error")
    if not code:
        raise DomainError("REQUIRED", "Missing authorization code", ["code"])
    if not state:
        raise DomainError("REQUIRED", "Missing state", ["state"])
    if pending is None:
        raise oauth_error(STATE_REJECTED, "state")
    async with _client(settings) as client:
        metadata = await _metadata(client, settings)
        try:
            token = await client.fetch_token(
                metadata["token_endpoint"],
                code=code,
                code_verifier=pending.code_verifier,
                redirect_uri=pending.redirect_uri,
            )
        except OAuthError as refused:
            raise oauth_error(
                f"Google rejected the authorization code: {_provider_text(str(refused.error))}", "code"
            ) from None
        except (httpx.HTTPError, ValueError) as failure:
            raise ProviderUnavailable("Google sign-in is unavailable: the token exchange failed") from failure
        claims = await _verify_id_token(client, metadata, settings, token, pending.nonce)
    return await _sign_in_identity(ctx, claims)


async def _verify_id_token(
    client: AsyncOAuth2Client, metadata: dict[str, Any], settings: Settings, token: dict[str, Any], nonce: str
) -> CodeIDToken:
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise oauth_error("Google returned no ID token")
    advertised = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in SIGNING_ALGORITHMS if alg in advertised] or ["RS256"]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    issuers = [metadata["issuer"]]
    if metadata["issuer"] == "https://accounts.google.com":
        issuers.append("accounts.google.com")  # Google documents both forms
    try:
        jwks = await _fetch_json(client, metadata["jwks_uri"], "signing keys")
        try:
            decoded = jose_jwt.decode(id_token, KeySet.import_key_set(jwks), registry=registry)
        except InvalidKeyIdError:
            # Keys rotate: fetch the set again once before giving up.
            jwks = await _fetch_json(client, metadata["jwks_uri"], "signing keys", force=True)
            decoded = jose_jwt.decode(id_token, KeySet.import_key_set(jwks), registry=registry)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "values": issuers},
                "aud": {"essential": True, "value": settings.google_client_id},
                "sub": {"essential": True},
            },
            {"nonce": nonce, "client_id": settings.google_client_id, "access_token": token.get("access_token")},
        )
        claims.validate(leeway=ID_TOKEN_LEEWAY)
    except (JoseError, ValueError, TypeError, KeyError) as invalid:
        raise oauth_error(f"Google's ID token failed verification ({type(invalid).__name__})") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise oauth_error("Google's ID token has no usable subject")
    return claims


def _email_verified(claims: CodeIDToken) -> bool:
    # Exactly JSON true (or the string Google once sent): `1 == True` in Python, and no
    # provider that means "verified" sends 1.
    verified = claims.get("email_verified")
    return verified is True or verified == "true"


def _usable_email(claims: CodeIDToken) -> str:
    """The id_token's email, normalised and held to the rules of a sign-up."""
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise oauth_error("Google did not share an email address for this account")
    try:
        return valid_email(email, ["email"])
    except DomainError:
        raise oauth_error("Google's email address for this account cannot be used here") from None


async def _sign_in_identity(ctx: RequestContext, claims: CodeIDToken) -> SignedIn:
    """The account of this Google identity: linked before, linked now by verified email, or new.

    Two first sign-ins of one identity at once race on the unique constraints; the loser
    retries once and finds the winner's link.
    """
    subject = claims["sub"]
    for attempt in range(2):
        try:
            async with ctx.db.transaction() as session:
                user = await _linked_user(session, subject)
                if user is None:
                    user = await _link_by_email(ctx, session, subject, claims)
                if not user.active:
                    raise DomainError("ACCOUNT_INACTIVE", "Account is inactive")
                await sessions.forget_expired_tokens(session, user.id, ctx.now)
                return await sessions.open_session(session, user, ctx.settings, ctx.now)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _linked_user(session: Any, subject: str) -> User | None:
    user_id = (
        await session.execute(
            select(OAuthIdentity.user_id).where(
                OAuthIdentity.provider == PROVIDER, OAuthIdentity.subject == subject
            )
        )
    ).scalar_one_or_none()
    return await session.get(User, user_id) if user_id is not None else None


async def _link_by_email(ctx: RequestContext, session: Any, subject: str, claims: CodeIDToken) -> User:
    email = _usable_email(claims)
    if not _email_verified(claims):
        # Linking or creating by an unproven address would hand the account to whoever typed it.
        raise oauth_error("Google has not verified the email address of this account")
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if user is None:
        user = User(
            id=new_id("usr"),
            email=email,
            password_hash=None,
            first_name=_name(claims.get("given_name")),
            last_name=_name(claims.get("family_name")),
            active=True,
            email_verified=True,
            token_generation=0,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        session.add(user)
        await session.flush()
        await grant_role(session, user.id, "user")
    elif not user.active:
        raise DomainError("ACCOUNT_INACTIVE", "Account is inactive")
    elif not user.email_verified:
        # Nobody had proven this address before: whoever registered it with a password may
        # not own it (account pre-hijacking). The proven owner takes it over: the password
        # and the sessions opened with it, access tokens included, stop working.
        user.email_verified = True
        user.password_hash = None
        user.updated_at = ctx.now
        await sessions.end_user_sessions(session, user.id, ctx.now)
    session.add(OAuthIdentity(id=new_id("oid"), provider=PROVIDER, subject=subject, user_id=user.id, email=email))
    return user


def _name(claim: Any) -> str:
    """A name claim as a name we would accept at sign-up: text only, no invisible controls."""
    return printable(claim, MAX_NAME_LENGTH).strip() if isinstance(claim, str) else ""
