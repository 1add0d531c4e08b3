"""Per-request context shared by GraphQL and REST: database, settings, caller, dataloaders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from db.engine import Database
from resolvers.errors import AccessError, forbidden, unauthenticated
from resolvers.loaders import Loaders
from resolvers.tokens import InvalidAccessToken, decode_access_token
from resolvers.viewer import Viewer, load_viewer
from shopql.settings import Settings

_UNSET: Any = object()


@dataclass
class RequestContext:
    db: Database
    settings: Settings
    authorization: str = ""
    client_address: str = ""
    request_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Set by resolvers that want the HTTP layer to add response headers (e.g. Retry-After).
    response_headers: dict[str, str] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    loaders: Loaders = field(init=False)
    # True once anything private (the caller's identity) was read: such responses aren't cached.
    touched_private_data: bool = False
    _viewer: Any = field(default=_UNSET, init=False, repr=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db, self.now)

    @property
    def bearer_token(self) -> str | None:
        scheme, _, token = self.authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    async def viewer(self) -> Viewer | None:
        """The caller, or None when no token was sent. A bad token raises UNAUTHENTICATED."""
        if self._viewer is _UNSET:
            self._viewer = await self._load_viewer()
        return self._viewer

    async def _load_viewer(self) -> Viewer | None:
        if not self.authorization:
            return None
        self.touched_private_data = True
        token = self.bearer_token
        if token is None:
            raise unauthenticated("Authorization header must be 'Bearer <access_token>'")
        try:
            claims = decode_access_token(token, self.settings)
        except InvalidAccessToken as exc:
            raise self._invalid_token() from exc
        viewer = await load_viewer(self.db, claims.user_id)
        # A deleted account, or a token of an earlier generation (before a logout, a detected
        # refresh-token theft, an account takeover): 401, the client refreshes or signs in again.
        if viewer is None or viewer.token_generation != claims.generation:
            raise self._invalid_token()
        if not viewer.active:
            raise AccessError("FORBIDDEN", "Account is inactive")
        return viewer

    def _invalid_token(self) -> AccessError:
        # RFC 6750: tells the client to get a new token (refresh) rather than give up.
        self.response_headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return unauthenticated("Invalid or expired access token")

    async def require_viewer(self) -> Viewer:
        viewer = await self.viewer()
        if viewer is None:
            raise unauthenticated()
        return viewer

    async def require_role(self, *roles: str) -> Viewer:
        viewer = await self.require_viewer()
        if not viewer.has_role(*roles):
            raise forbidden()
        return viewer

    async def require_permissions(self, *permissions: str) -> Viewer:
        viewer = await self.require_viewer()
        if not viewer.has_permissions(*permissions):
            raise forbidden()
        return viewer
