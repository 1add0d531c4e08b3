"""A fake Google OpenID provider: a real HTTP server on loopback for the sign-in tests.

It serves discovery, JWKS, an authorization endpoint that "signs in" whoever the test chose
(`sign_in_as`) and redirects back with a code, and a token endpoint that checks the client's
credentials, the redirect URI and the PKCE verifier before issuing an RS256 id_token with the
nonce of the authorization request. Tests bend the id_token (`claims`, `header`,
`signing_key`, `unsigned`) to prove the server verifies each part.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from tests.support.api import TLS

CLIENT_ID = "shopql-test.apps.googleusercontent.com"
CLIENT_SECRET = "fake-google-client-secret"
KEY_ID = "fake-google-key-1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_signing_key(kid: str = KEY_ID) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"}, private=True)


@dataclass
class Identity:
    """Who signs in at the next authorization, and how their id_token is bent."""

    sub: str
    email: str | None
    email_verified: Any = True
    given_name: str = "Gina"
    family_name: str = "Google"
    claims: dict[str, Any] = field(default_factory=dict)  # merged last; None deletes a claim
    header: dict[str, Any] = field(default_factory=dict)
    signing_key: RSAKey | None = None  # sign with another key than the published one
    unsigned: bool = False  # alg "none"
    hmac_secret: str | None = None  # HS256 with this secret (algorithm confusion)


@dataclass
class Grant:
    identity: Identity
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None


class FakeGoogle:
    def __init__(self) -> None:
        self.key = new_signing_key()
        self.identity: Identity | None = None
        self.grants: dict[str, Grant] = {}
        self.token_requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGoogle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    def server_env(self) -> dict[str, str]:
        """Environment for a ShopQL server that signs in with this provider."""
        return {
            "GOOGLE_DISCOVERY_URL": self.discovery_url,
            "GOOGLE_CLIENT_ID": CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        }

    # --- what the test drives ---------------------------------------------------------------

    def sign_in_as(self, sub: str | None = None, email: str | None = None, **options: Any) -> Identity:
        identity = Identity(sub=sub or secrets.token_hex(8), email=email, **options)
        self.identity = identity
        return identity

    def authorize(self, authorization_url: str) -> dict[str, str]:
        """Play the browser: open the authorization URL, return the callback's query parameters."""
        response = httpx.get(authorization_url, follow_redirects=False, timeout=10, verify=TLS)
        assert response.status_code == 302, response.text
        return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["location"]).query).items()}

    # --- the id_token ---------------------------------------------------------------------------

    def id_token(self, grant: Grant) -> str:
        identity = grant.identity
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "azp": grant.client_id,
            "sub": identity.sub,
            "iat": now,
            "exp": now + 3600,
            "given_name": identity.given_name,
            "family_name": identity.family_name,
        }
        if identity.email is not None:
            claims["email"] = identity.email
            claims["email_verified"] = identity.email_verified
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name, value in identity.claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        if identity.unsigned:
            header = {"alg": "none", "typ": "JWT", **identity.header}
            return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."
        if identity.hmac_secret is not None:
            header = {"alg": "HS256", "typ": "JWT", "kid": KEY_ID, **identity.header}
            return jwt.encode(header, claims, OctKey.import_key(identity.hmac_secret))
        key = identity.signing_key or self.key
        header = {"alg": "RS256", "typ": "JWT", "kid": key.kid, **identity.header}
        return jwt.encode(header, claims, key)

    # --- HTTP ------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlsplit(self.path)
                params = {key: values[0] for key, values in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, {
                        "issuer": fake.issuer,
                        "authorization_endpoint": f"{fake.base_url}/o/oauth2/v2/auth",
                        "token_endpoint": f"{fake.base_url}/token",
                        "jwks_uri": f"{fake.base_url}/oauth2/v3/certs",
                        "userinfo_endpoint": f"{fake.base_url}/v1/userinfo",
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["plain", "S256"],
                        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                    })
                elif url.path == "/oauth2/v3/certs":
                    self._json(200, {"keys": [fake.key.as_dict(private=False)]})
                elif url.path == "/o/oauth2/v2/auth":
                    self._authorize(params)
                else:
                    self._json(404, {"error": "not_found"})

            def _authorize(self, params: dict[str, str]) -> None:
                problems = []
                if params.get("response_type") != "code":
                    problems.append("response_type must be code")
                if params.get("client_id") != CLIENT_ID:
                    problems.append("unknown client_id")
                if "openid" not in params.get("scope", "").split():
                    problems.append("scope must include openid")
                if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
                    problems.append("PKCE S256 required")
                if not params.get("redirect_uri") or not params.get("state"):
                    problems.append("redirect_uri and state required")
                if fake.identity is None:
                    problems.append("no identity chosen by the test")
                if problems:
                    self._json(400, {"error": "invalid_request", "error_description": "; ".join(problems)})
                    return
                code = secrets.token_urlsafe(24)
                with fake._lock:
                    fake.grants[code] = Grant(
                        identity=fake.identity,  # type: ignore[arg-type]
                        client_id=params["client_id"],
                        redirect_uri=params["redirect_uri"],
                        code_challenge=params["code_challenge"],
                        nonce=params.get("nonce"),
                    )
                location = params["redirect_uri"] + "?" + urlencode({"code": code, "state": params["state"]})
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                if urlsplit(self.path).path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.token_requests.append(form)
                client_id, client_secret = form.get("client_id"), form.get("client_secret")
                authorization = self.headers.get("Authorization", "")
                if authorization.startswith("Basic "):
                    decoded = base64.b64decode(authorization[6:]).decode()
                    client_id, _, client_secret = decoded.partition(":")
                if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
                    self._json(401, {"error": "invalid_client"})
                    return
                if form.get("grant_type") != "authorization_code":
                    self._json(400, {"error": "unsupported_grant_type"})
                    return
                with fake._lock:
                    grant = fake.grants.pop(form.get("code", ""), None)  # codes are single-use
                if grant is None:
                    self._json(400, {"error": "invalid_grant", "error_description": "unknown or used code"})
                    return
                if form.get("redirect_uri") != grant.redirect_uri:
                    self._json(400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
                    return
                verifier = form.get("code_verifier", "")
                if b64url(hashlib.sha256(verifier.encode()).digest()) != grant.code_challenge:
                    self._json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
                    return
                self._json(200, {
                    "access_token": secrets.token_urlsafe(32),
                    "token_type": "Bearer",
                    "expires_in": 3599,
                    "scope": "openid email profile",
                    "id_token": fake.id_token(grant),
                })

        return Handler
