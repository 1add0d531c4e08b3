"""HTTP caching of public reads: strong ETags over the body, Cache-Control, 304s.

Public responses (no Authorization header, nothing private read, no errors) get
`Cache-Control: public, max-age=N` and an ETag; a matching If-None-Match gets 304 with no
body. Everything else is `private, no-store` (caller-specific) or `no-store` (the default
the HTTP middleware adds to any response that set no Cache-Control itself).
"""

from __future__ import annotations

import hashlib

from starlette.responses import Response

PRIVATE = "private, no-store"
NO_STORE = "no-store"
VARY = "Accept, Authorization"


def etag_for(body: bytes, media_type: str = "") -> str:
    """A strong validator: the hash of the representation (its media type and bytes)."""
    digest = hashlib.blake2b(media_type.encode(), digest_size=16)
    digest.update(b"\0")
    digest.update(body)
    return f'"{digest.hexdigest()}"'


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against our ETag."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        if candidate.strip().removeprefix("W/") == opaque:
            return True
    return False


def public_response(
    body: bytes,
    media_type: str,
    if_none_match: str,
    max_age: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """200 with validators and a public Cache-Control, or 304 when the client's copy is current."""
    etag = etag_for(body, media_type)
    cache_headers = {
        **(headers or {}),
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": VARY,
    }
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=cache_headers)
    return Response(body, status_code=200, media_type=media_type, headers=cache_headers)
