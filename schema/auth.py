"""Accounts and sign-in: User, Me, the auth mutations and Google sign-in (docs/auth.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.auth import accounts, google, sessions
from resolvers.auth.sessions import SignedIn
from resolvers.errors import DomainError
from schema.errors import ErrorCode, UserError, user_error
from schema.node import register_node
from schema.permissions import authenticated
from schema.types import Node

_USER_ERROR_CODES = frozenset(code.value for code in ErrorCode)


@strawberry.type(description="An account: a customer or a member of staff.")
class User(Node):
    email: str = strawberry.field(description="Sign-in email, normalised to lower case.")
    first_name: str = strawberry.field(description="Given name; empty when not given.")
    last_name: str = strawberry.field(description="Family name; empty when not given.")
    active: bool = strawberry.field(description="Inactive accounts cannot sign in or use their tokens.")
    email_verified: bool = strawberry.field(
        description="The email address was proven (by Google sign-in); false after a plain sign-up."
    )
    created_at: dt.datetime = strawberry.field(description="When the account was created.")
    updated_at: dt.datetime = strawberry.field(description="When the account last changed.")

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(
            id=row.id,
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            active=row.active,
            email_verified=row.email_verified,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


async def fetch_user(info: Info, user_id: str) -> User | None:
    """An account is visible to itself and to staff holding read_customers."""
    viewer = await info.context.viewer()
    if viewer is None or (viewer.user_id != user_id and not viewer.has_permissions("read_customers")):
        return None
    row = await info.context.loaders.user.load(user_id)
    return User.from_row(row) if row is not None else None


register_node("usr", fetch_user)


@strawberry.type(description="The signed-in caller: their account and what they may do.")
class Me:
    user: User = strawberry.field(description="The caller's account.")
    roles: list[str] = strawberry.field(description="Names of the caller's roles, sorted.")
    permissions: list[str] = strawberry.field(description="Names of the permissions those roles grant, sorted.")


@strawberry.type(description="Result of a sign-up, sign-in or refresh: the account and a new token pair.")
class AuthPayload:
    user: User | None = strawberry.field(description="The signed-in account; null when `errors` is not empty.")
    access_token: str | None = strawberry.field(
        description="JWT for `Authorization: Bearer …`, valid until `expiresAt` (ACCESS_TOKEN_TTL)."
    )
    refresh_token: str | None = strawberry.field(
        description="Opaque, single-use token for `authRefresh`; each use returns a new one."
    )
    expires_at: dt.datetime | None = strawberry.field(description="When the access token expires.")
    errors: list[UserError] = strawberry.field(description="Why nothing was signed in; empty on success.")

    @classmethod
    def signed_in(cls, result: SignedIn) -> AuthPayload:
        return cls(
            user=User.from_row(result.user),
            access_token=result.access_token,
            refresh_token=result.refresh_token,
            expires_at=result.expires_at,
            errors=[],
        )

    @classmethod
    def refused(cls, error: DomainError) -> AuthPayload:
        if error.code not in _USER_ERROR_CODES:
            raise error  # e.g. SERVICE_UNAVAILABLE: a top-level error, not the client's fault
        return cls(user=None, access_token=None, refresh_token=None, expires_at=None, errors=[user_error(error)])


@strawberry.type(description="Result of signing out.")
class LogoutPayload:
    revoked_sessions: int = strawberry.field(description="Refresh tokens that were still live and are now revoked.")
    errors: list[UserError] = strawberry.field(description="Always empty; kept for the payload convention.")


@strawberry.type(description="Where to send the browser to sign in with Google.")
class GoogleAuthUrl:
    url: str = strawberry.field(description="Google's authorization URL (with state, PKCE challenge and nonce).")
    state: str = strawberry.field(description="The CSRF state bound to this sign-in; Google sends it back.")


@strawberry.input(description="A new account.")
class AuthRegisterInput:
    email: str = strawberry.field(description="Email address (at most 254 characters); stored lower-cased.")
    password: str = strawberry.field(description="8 to 128 characters, not only whitespace.")
    first_name: str = strawberry.field(default="", description="Given name, at most 100 characters, no "
                                       "control or invisible formatting characters.")
    last_name: str = strawberry.field(default="", description="Family name, at most 100 characters, no "
                                      "control or invisible formatting characters.")


@strawberry.input(description="Email and password of an existing account.")
class AuthLoginInput:
    email: str = strawberry.field(description="The account's email address (any case).")
    password: str = strawberry.field(description="The account's password.")


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in caller's account, roles and permissions.",
                      extensions=authenticated())
    async def me(self, info: Info) -> Me | None:
        viewer = await info.context.require_viewer()
        row = await info.context.loaders.user.load(viewer.user_id)
        if row is None:
            return None
        return Me(user=User.from_row(row), roles=sorted(viewer.roles), permissions=sorted(viewer.permissions))

    @strawberry.field(description="Start a Google sign-in: an authorization URL and its single-use state "
                      "(expires after OAUTH_STATE_TTL). SERVICE_UNAVAILABLE when Google is not configured.")
    async def google_auth_url(
        self,
        info: Info,
        state: Annotated[
            str | None,
            strawberry.argument(description="Your own CSRF value (1-255 visible ASCII characters, never "
                                "used before); generated when omitted."),
        ] = None,
    ) -> GoogleAuthUrl:
        result = await google.authorization_url(info.context, state)
        return GoogleAuthUrl(url=result.url, state=result.state)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create an account (role `user`) and sign it in. "
                         "ALREADY_EXISTS when the email is taken, INVALID for unacceptable input.")
    async def auth_register(
        self, info: Info, input: Annotated[AuthRegisterInput, strawberry.argument(description="The new account.")]
    ) -> AuthPayload:
        try:
            result = await accounts.register(
                info.context, input.email, input.password, input.first_name, input.last_name
            )
        except DomainError as error:
            return AuthPayload.refused(error)
        return AuthPayload.signed_in(result)

    @strawberry.mutation(description="Sign in with email and password. INVALID_CREDENTIALS for a wrong pair, "
                         "ACCOUNT_INACTIVE (only after a correct password), TOO_MANY_REQUESTS with a "
                         "Retry-After header after too many failures.")
    async def auth_login(
        self, info: Info, input: Annotated[AuthLoginInput, strawberry.argument(description="The credentials.")]
    ) -> AuthPayload:
        try:
            result = await accounts.login(info.context, input.email, input.password)
        except DomainError as error:
            return AuthPayload.refused(error)
        return AuthPayload.signed_in(result)

    @strawberry.mutation(description="Exchange a refresh token for a new access and refresh token. The old "
                         "one stops working; presenting it again revokes every token of that sign-in and "
                         "ends the user's access tokens. INVALID_TOKEN for an unknown, expired, used or "
                         "revoked token, or a sign-in past REFRESH_TOKEN_MAX_LIFETIME.")
    async def auth_refresh(
        self,
        info: Info,
        refresh_token: Annotated[str, strawberry.argument(description="The latest refresh token of the sign-in.")],
    ) -> AuthPayload:
        ctx = info.context
        try:
            result = await sessions.rotate(ctx.db, ctx.settings, refresh_token, ctx.now)
        except DomainError as error:
            return AuthPayload.refused(error)
        return AuthPayload.signed_in(result)

    @strawberry.mutation(description="Sign out everywhere: revoke all of the caller's refresh tokens; the "
                         "access tokens issued so far stop working at once.", extensions=authenticated())
    async def auth_logout(self, info: Info) -> LogoutPayload:
        viewer = await info.context.require_viewer()
        revoked = await sessions.sign_out(info.context.db, viewer.user_id, info.context.now)
        return LogoutPayload(revoked_sessions=revoked, errors=[])

    @strawberry.mutation(description="Finish a Google sign-in with the parameters Google redirected back with. "
                         "OAUTH_ERROR for a provider error, a rejected code or an unknown, expired or reused "
                         "state; REQUIRED when code or state is missing; ACCOUNT_INACTIVE for a deactivated account.")
    async def auth_google_callback(
        self,
        info: Info,
        code: Annotated[str | None, strawberry.argument(description="Authorization code from Google.")] = None,
        state: Annotated[str | None, strawberry.argument(description="The state from `googleAuthUrl`.")] = None,
        error: Annotated[str | None, strawberry.argument(description="Error code from Google, if it "
                                                         "refused.")] = None,
    ) -> AuthPayload:
        try:
            result = await google.sign_in(info.context, code, state, error)
        except DomainError as failure:
            return AuthPayload.refused(failure)
        return AuthPayload.signed_in(result)
