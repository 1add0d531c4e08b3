"""Google sign-in end to end: our server against a fake OpenID provider on loopback.

The provider (tests/support/fake_google.py) is a real HTTP server: our server loads its
discovery document and JWKS, the test plays the browser through its authorization endpoint,
and its token endpoint checks client credentials, redirect URI and the PKCE verifier.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from db.models import OAuthIdentity, OAuthState, User
from tests.factories import Factory, unique
from tests.support.api import Api, error_codes
from tests.support.fake_google import CLIENT_ID, CLIENT_SECRET, FakeGoogle, new_signing_key
from tests.support.server import ServerProcess, free_port

CALLBACK = "/api/v1/auth/google/callback"
USER_KEYS = {"id", "email", "first_name", "last_name", "active", "email_verified", "created_at", "updated_at"}


@dataclass
class Site:
    """Our server wired to the fake provider, with direct access to its database."""

    api: Api
    factory: Factory
    fake: FakeGoogle


@pytest.fixture(scope="module")
def fake_google() -> Iterator[FakeGoogle]:
    with FakeGoogle() as fake:
        yield fake


@pytest.fixture(scope="module")
def site(databases: Any, fake_google: FakeGoogle) -> Iterator[Site]:
    url = databases.new()
    server = ServerProcess(url, **fake_google.server_env())
    server.env["GOOGLE_REDIRECT_URI"] = f"{server.base_url}{CALLBACK}"
    server.start()
    factory = Factory(url)
    api = Api(server.base_url)
    try:
        yield Site(api, factory, fake_google)
    finally:
        api.close()
        server.stop()
        factory.close()


def new_email() -> str:
    return f"{unique('google')}@example.com"


def start(site: Site, state: str | None = None) -> dict[str, str]:
    response = site.api.get("/api/v1/auth/google", params={"state": state} if state is not None else None)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def sign_in(site: Site, **identity: Any) -> httpx.Response:
    """The whole flow: authorization URL, the provider's consent, our callback."""
    site.fake.sign_in_as(**identity)
    params = site.fake.authorize(start(site)["url"])
    return site.api.get(CALLBACK, params=params)


def assert_bad_request(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]["code"] == "bad_request"
    assert fragment in body["error"]["message"]


def accounts_with_email(site: Site, email: str) -> int:
    return len(site.factory.execute(select(User.id).where(User.email == email)))


# --- the authorization URL ----------------------------------------------------------------------


def test_authorization_url_carries_state_pkce_s256_and_nonce_bound_server_side(site):
    data = start(site)
    assert set(data) == {"url", "state"}
    url = urlsplit(data["url"])
    assert f"{url.scheme}://{url.netloc}" == site.fake.base_url
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params["client_id"] == CLIENT_ID
    assert params["response_type"] == "code"
    assert set(params["scope"].split()) >= {"openid", "email"}
    assert params["state"] == data["state"] and len(data["state"]) >= 32
    assert params["code_challenge_method"] == "S256"
    [row] = site.factory.execute(
        select(OAuthState.code_verifier, OAuthState.nonce).where(OAuthState.state == data["state"])
    )
    challenge = base64.urlsafe_b64encode(hashlib.sha256(row.code_verifier.encode()).digest()).rstrip(b"=").decode()
    assert params["code_challenge"] == challenge
    assert params["nonce"] == row.nonce


def test_client_supplied_state_is_used_and_must_be_unique(site):
    state = unique("client-state-")
    data = start(site, state)
    assert data["state"] == state
    assert parse_qs(urlsplit(data["url"]).query)["state"] == [state]
    again = site.api.get("/api/v1/auth/google", params={"state": state})
    assert_bad_request(again, "state")


@pytest.mark.parametrize("state", ["has space", "x" * 256, "tab\there", "é-not-ascii"])
def test_malformed_client_state_is_refused(site, state):
    assert_bad_request(site.api.get("/api/v1/auth/google", params={"state": state}), "state")


def test_generated_states_differ(site):
    assert start(site)["state"] != start(site)["state"]


# --- successful sign-ins -------------------------------------------------------------------------


def test_first_sign_in_creates_a_verified_user_account_with_the_user_role(site):
    email = new_email()
    response = sign_in(site, email=email.upper(), given_name="Ada", family_name="Lovelace")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"user", "access_token", "refresh_token", "expires_at"}
    assert set(data["user"]) == USER_KEYS
    assert data["user"]["email"] == email
    assert data["user"]["email_verified"] is True
    assert (data["user"]["first_name"], data["user"]["last_name"]) == ("Ada", "Lovelace")
    profile = site.api.get("/api/v1/auth/profile", token=data["access_token"])
    assert profile.status_code == 200
    assert profile.json()["data"]["roles"] == ["user"]
    refreshed = site.api.post("/api/v1/auth/refresh", json={"refresh_token": data["refresh_token"]})
    assert refreshed.status_code == 200


def test_signing_in_again_with_the_same_google_account_reuses_the_linked_account(site):
    sub, email = unique("sub-"), new_email()
    first = sign_in(site, sub=sub, email=email).json()["data"]["user"]
    # Even when Google now reports another address, the identity (sub) decides.
    second = sign_in(site, sub=sub, email=new_email()).json()["data"]["user"]
    assert second["id"] == first["id"]
    assert accounts_with_email(site, email) == 1


def test_verified_email_links_an_existing_password_account_and_retires_its_unproven_password(site):
    email = new_email()
    registered = site.api.post("/api/v1/auth/register", json={"email": email, "password": "password-before-google"})
    assert registered.status_code == 201
    old_refresh = registered.json()["data"]["refresh_token"]
    response = sign_in(site, email=email)
    assert response.status_code == 200, response.text
    user = response.json()["data"]["user"]
    assert user["id"] == registered.json()["data"]["user"]["id"]
    assert user["email_verified"] is True
    assert accounts_with_email(site, email) == 1
    # Whoever registered the address first may not own it: their password and sessions end.
    login = site.api.post("/api/v1/auth/login", json={"email": email, "password": "password-before-google"})
    assert login.status_code == 401
    assert site.api.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh}).status_code == 401
    old_access = registered.json()["data"]["access_token"]
    assert site.api.get("/api/v1/auth/profile", token=old_access).status_code == 401
    # The Google sign-in itself is of the new token generation.
    new_access = response.json()["data"]["access_token"]
    assert site.api.get("/api/v1/auth/profile", token=new_access).status_code == 200


def test_already_verified_account_is_linked_without_losing_its_password(site):
    email = new_email()
    user = site.factory.user(email=email, password="admin-password-1", email_verified=True)
    response = sign_in(site, email=email)
    assert response.status_code == 200
    assert response.json()["data"]["user"]["id"] == user["id"]
    login = site.api.post("/api/v1/auth/login", json={"email": email, "password": "admin-password-1"})
    assert login.status_code == 200


# --- refused sign-ins ---------------------------------------------------------------------------


@pytest.mark.parametrize("verified", [False, "false", None])
def test_unverified_google_email_neither_links_nor_creates_an_account(site, verified):
    email = new_email()
    existing = site.api.post("/api/v1/auth/register", json={"email": email, "password": "my-own-password"})
    assert existing.status_code == 201
    assert_bad_request(sign_in(site, email=email, email_verified=verified), "not verified")
    stranger = new_email()
    assert_bad_request(sign_in(site, email=stranger, email_verified=verified), "not verified")
    assert accounts_with_email(site, stranger) == 0
    assert site.factory.execute(
        select(OAuthIdentity.id).where(OAuthIdentity.email.in_([email, stranger]))
    ) == []
    login = site.api.post("/api/v1/auth/login", json={"email": email, "password": "my-own-password"})
    assert login.status_code == 200


@pytest.mark.parametrize("verified", [1, 1.0, "1", "True", "yes", [True], {"value": True}])
def test_only_a_real_true_counts_as_verified(site, verified):
    email = new_email()
    assert_bad_request(sign_in(site, email=email, email_verified=verified), "not verified")
    assert accounts_with_email(site, email) == 0


def test_the_string_true_counts_as_verified(site):
    # Google has sent "true" as a string in some id_tokens.
    email = new_email()
    assert sign_in(site, email=email, email_verified="true").status_code == 200


def test_google_account_without_email_is_refused(site):
    assert_bad_request(sign_in(site, email=None), "did not share an email address")


@pytest.mark.parametrize(
    "email",
    [
        pytest.param(["list@example.com"], id="list"),
        pytest.param({"address": "object@example.com"}, id="object"),
        pytest.param(42, id="number"),
        pytest.param("not an email <script>", id="not-an-address"),
        pytest.param("two@@example.com", id="two-ats"),
        pytest.param("ev\u202eil@example.com", id="bidi-override"),
        pytest.param("x" * 250 + "@example.com", id="too-long"),
    ],
)
def test_an_unusable_email_from_google_creates_nothing(site, email):
    marker = unique("bad-email-")
    response = sign_in(site, email=new_email(), given_name=marker, claims={"email": email})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert "email" in response.json()["error"]["message"]
    assert site.factory.execute(select(User.id).where(User.first_name == marker)) == []


def test_names_from_google_lose_invisible_characters(site):
    response = sign_in(site, email=new_email(), given_name="Ada\u202e\u200b", family_name="Love\u0000lace\u2066")
    assert response.status_code == 200, response.text
    user = response.json()["data"]["user"]
    assert (user["first_name"], user["last_name"]) == ("Ada", "Lovelace")


def test_inactive_account_is_refused_with_403(site):
    sub, email = unique("sub-"), new_email()
    user_id = sign_in(site, sub=sub, email=email).json()["data"]["user"]["id"]
    site.factory.execute(update(User).where(User.id == user_id).values(active=False))
    response = sign_in(site, sub=sub, email=email)
    assert response.status_code == 403
    assert response.json()["error"] == {"code": "forbidden", "message": "Account is inactive"}
    # An inactive account found by email is not linked either.
    other = site.factory.user(email=new_email(), active=False, email_verified=True)
    assert sign_in(site, email=other["email"]).status_code == 403
    assert site.factory.execute(select(OAuthIdentity.id).where(OAuthIdentity.user_id == other["id"])) == []


def test_reused_state_is_refused(site):
    site.fake.sign_in_as(email=new_email())
    params = site.fake.authorize(start(site)["url"])
    assert site.api.get(CALLBACK, params=params).status_code == 200
    assert_bad_request(site.api.get(CALLBACK, params=params), "state")


def test_two_concurrent_callbacks_with_one_state_sign_in_once(site):
    site.fake.sign_in_as(email=new_email())
    params = site.fake.authorize(start(site)["url"])
    barrier = threading.Barrier(2)
    responses: list[httpx.Response] = []

    def callback() -> None:
        with httpx.Client(base_url=site.api.base_url, timeout=30) as client:
            barrier.wait()
            responses.append(client.get(CALLBACK, params=params))

    threads = [threading.Thread(target=callback) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in responses) == [200, 400]
    [refused] = [r for r in responses if r.status_code == 400]
    assert "state" in refused.json()["error"]["message"]


def test_unknown_state_is_refused(site):
    site.fake.sign_in_as(email=new_email())
    params = site.fake.authorize(start(site)["url"])
    assert_bad_request(site.api.get(CALLBACK, params={**params, "state": unique("forged-")}), "state")


def test_expired_state_is_refused(site):
    site.fake.sign_in_as(email=new_email())
    data = start(site)
    params = site.fake.authorize(data["url"])
    site.factory.execute(
        update(OAuthState).where(OAuthState.state == data["state"]).values(expires_at=OAuthState.created_at)
    )
    assert_bad_request(site.api.get(CALLBACK, params=params), "state")


def test_code_of_one_sign_in_cannot_be_replayed_with_another_state(site):
    # PKCE binds the code to the verifier of the state it was issued for.
    site.fake.sign_in_as(email=new_email())
    params = site.fake.authorize(start(site)["url"])
    other_state = start(site)["state"]
    response = site.api.get(CALLBACK, params={"code": params["code"], "state": other_state})
    assert_bad_request(response, "invalid_grant")
    assert site.fake.token_requests[-1]["code_verifier"]


def test_unknown_code_is_refused(site):
    response = site.api.get(CALLBACK, params={"code": "not-a-code", "state": start(site)["state"]})
    assert_bad_request(response, "invalid_grant")


def test_provider_error_text_is_echoed_without_control_or_invisible_characters(site):
    state = start(site)["state"]
    response = site.api.get(CALLBACK, params={"error": "access_denied\u202e\n\u200bspoof" + "x" * 500,
                                              "state": state})
    assert_bad_request(response, "Google sign-in failed: access_deniedspoof")
    message = response.json()["error"]["message"]
    assert not any(ch in message for ch in "\u202e\n\u200b")
    assert len(message) < 260


def test_provider_error_is_400_with_its_message_and_spends_the_state(site):
    site.fake.sign_in_as(email=new_email())
    params = site.fake.authorize(start(site)["url"])
    refused = site.api.get(CALLBACK, params={"error": "access_denied", "state": params["state"]})
    assert_bad_request(refused, "access_denied")
    assert_bad_request(site.api.get(CALLBACK, params=params), "state")


def test_missing_code_or_state_is_400(site):
    assert_bad_request(site.api.get(CALLBACK, params={"state": start(site)["state"]}), "authorization code")
    assert_bad_request(site.api.get(CALLBACK, params={"code": "some-code"}), "state")
    assert_bad_request(site.api.get(CALLBACK), "authorization code")


@pytest.mark.parametrize(
    "bend",
    [
        pytest.param({"claims": {"nonce": "another-nonce"}}, id="wrong-nonce"),
        pytest.param({"claims": {"nonce": None}}, id="missing-nonce"),
        pytest.param({"claims": {"aud": "someone-else", "azp": "someone-else"}}, id="wrong-audience"),
        pytest.param({"claims": {"aud": [CLIENT_ID, "someone-else"], "azp": "someone-else"}},
                     id="audience-list-with-a-foreign-azp"),
        pytest.param({"claims": {"aud": [CLIENT_ID, "someone-else"], "azp": None}},
                     id="audience-list-without-azp"),
        pytest.param({"claims": {"iss": "https://evil.example"}}, id="wrong-issuer"),
        pytest.param({"claims": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}}, id="expired"),
        pytest.param({"signing_key": new_signing_key()}, id="forged-signature-same-kid"),
        pytest.param({"signing_key": new_signing_key("unknown-kid")}, id="unknown-key"),
        pytest.param({"unsigned": True}, id="alg-none"),
        pytest.param({"hmac_secret": CLIENT_SECRET}, id="hs256-with-client-secret"),
    ],
)
def test_id_token_that_fails_verification_signs_nobody_in(site, bend):
    email = new_email()
    response = sign_in(site, email=email, **bend)
    assert_bad_request(response, "ID token")
    assert accounts_with_email(site, email) == 0


def test_graphql_google_flow(site):
    data = site.api.data('query { googleAuthUrl { url state } }')["googleAuthUrl"]
    email = new_email()
    site.fake.sign_in_as(email=email)
    params = site.fake.authorize(data["url"])
    mutation = """mutation($code: String, $state: String) {
      authGoogleCallback(code: $code, state: $state) {
        user { email emailVerified } accessToken refreshToken errors { code field message }
      }
    }"""
    payload = site.api.data(mutation, params)["authGoogleCallback"]
    assert payload["errors"] == []
    assert payload["user"] == {"email": email, "emailVerified": True}
    again = site.api.data(mutation, params)["authGoogleCallback"]
    assert again["user"] is None
    assert [e["code"] for e in again["errors"]] == ["OAUTH_ERROR"]
    duplicate = site.api.graphql('query($s: String) { googleAuthUrl(state: $s) { url } }', {"s": data["state"]})
    assert error_codes(duplicate) == ["BAD_USER_INPUT"]


# --- servers without a working provider -----------------------------------------------------------


def test_without_google_configuration_both_routes_answer_503(api):
    # The shared test server has no GOOGLE_CLIENT_ID.
    for response in (api.get("/api/v1/auth/google"), api.get(CALLBACK, params={"code": "c", "state": "s"})):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"


def test_unreachable_provider_is_503_not_500(fresh_database_url):
    dead = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    with ServerProcess(fresh_database_url, GOOGLE_DISCOVERY_URL=dead, GOOGLE_CLIENT_ID=CLIENT_ID,
                       GOOGLE_CLIENT_SECRET="x") as server:
        api = Api(server.base_url)
        response = api.get("/api/v1/auth/google")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
        api.close()
