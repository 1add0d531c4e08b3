"""The REST auth routes of ROUTES.md: register, login, refresh, profile, logout.

Shapes and statuses as documented; every failure uses the error envelope. Throttling runs on
servers of its own with small limits (two worker processes share the counts in the database).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from db.models import LoginFailure, RefreshToken, User
from resolvers.auth.sessions import hash_refresh_token
from resolvers.passwords import needs_rehash
from tests.factories import Factory, unique
from tests.support.api import Api
from tests.support.server import TEST_JWT_SECRET, ServerProcess

REGISTER, LOGIN, REFRESH = "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh"
PROFILE, LOGOUT = "/api/v1/auth/profile", "/api/v1/auth/logout"
PASSWORD = "SecurePassword123!"
USER_KEYS = {"id", "email", "first_name", "last_name", "active", "email_verified", "created_at", "updated_at"}
TOKEN_KEYS = {"access_token", "refresh_token", "expires_at"}


def new_email() -> str:
    return f"{unique('auth')}@example.com"


def register(api: Api, email: str | None = None, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    response = api.post(REGISTER, json={"email": email or new_email(), "password": password, **extra})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def assert_error(response: httpx.Response, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    if message is not None:
        assert message in body["error"]["message"]


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- register --------------------------------------------------------------------------------------


def test_register_returns_201_with_the_documented_shape(api):
    email = new_email()
    response = api.post(REGISTER, json={"email": email, "password": PASSWORD, "first_name": "John",
                                        "last_name": "Doe"})
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"user", *TOKEN_KEYS}
    assert set(data["user"]) == USER_KEYS
    user = data["user"]
    assert user["id"].startswith("usr_")
    assert (user["email"], user["first_name"], user["last_name"]) == (email, "John", "Doe")
    assert user["active"] is True and user["email_verified"] is False
    assert user["created_at"].endswith("Z")
    lifetime = parse_time(data["expires_at"]) - parse_time(user["created_at"])
    assert dt.timedelta(minutes=14) <= lifetime <= dt.timedelta(minutes=16)  # ACCESS_TOKEN_TTL default
    assert len(data["refresh_token"]) >= 43  # 256 bits, URL-safe base64
    claims = jwt.decode(data["access_token"], TEST_JWT_SECRET, algorithms=["HS256"], audience="shopql-api")
    assert claims["sub"] == user["id"] and {"iat", "exp", "jti", "iss"} <= set(claims)


def test_new_account_has_the_user_role_and_can_read_its_profile(api):
    data = register(api, first_name="Jane", last_name="Roe")
    response = api.get(PROFILE, token=data["access_token"])
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "user": {key: data["user"][key] for key in
                     ("id", "email", "first_name", "last_name", "active", "email_verified")},
            "roles": ["user"],
        }
    }


def test_email_is_trimmed_and_lower_cased_and_unique_regardless_of_case(api):
    local = unique("Mixed")
    data = register(api, f"  {local}@Example.COM ")
    assert data["user"]["email"] == f"{local.lower()}@example.com"
    duplicate = api.post(REGISTER, json={"email": f"{local.upper()}@EXAMPLE.com", "password": PASSWORD})
    assert_error(duplicate, 409, "conflict", "Email already exists")


def test_register_names_are_optional(api):
    user = register(api)["user"]
    assert (user["first_name"], user["last_name"]) == ("", "")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "x@example.com"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "Email"),
        ({"email": "a@b", "password": PASSWORD}, "Email"),
        ({"email": "two@@example.com", "password": PASSWORD}, "Email"),
        ({"email": "   ", "password": PASSWORD}, "Email"),
        ({"email": "x" * 250 + "@example.com", "password": PASSWORD}, "Email"),
        ({"email": "nul\u0000@example.com", "password": PASSWORD}, ""),
        ({"email": "x@example.com", "password": "short"}, "at least 8"),
        ({"email": "x@example.com", "password": "p" * 129}, "at most 128"),
        ({"email": "x@example.com", "password": " " * 12}, "whitespace"),
        ({"email": "x@example.com", "password": PASSWORD, "first_name": "n" * 101}, "First name"),
        ({"email": "x@example.com", "password": PASSWORD, "last_name": "bad\u0000name"}, ""),
        ({"email": 42, "password": PASSWORD}, ""),
        ({"email": "x@example.com", "password": ["list"]}, ""),
        ({"email": "x@example.com", "password": PASSWORD, "first_name": None}, ""),
        ({"email": {"$ne": ""}, "password": PASSWORD}, ""),
    ],
)
def test_invalid_registration_is_400_and_creates_nothing(api, factory, body, fragment):
    response = api.post(REGISTER, json=body)
    assert_error(response, 400, "bad_request", fragment)
    if isinstance(body.get("email"), str) and body["email"].strip() and "\u0000" not in body["email"]:
        assert factory.execute(select(User.id).where(User.email == body["email"].strip().lower())) == []


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\"text\"", b""])
def test_register_body_must_be_a_json_object(api, raw):
    response = api.post(REGISTER, content=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "bad_request")


def test_password_limits_are_inclusive(api):
    register(api, password="12345678")
    register(api, password="p" * 128)


def test_two_concurrent_registrations_of_one_email_give_one_201_and_one_409(api, backend):
    for _ in range(3):
        email = new_email()
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def attempt() -> None:
            with httpx.Client(base_url=backend.server.base_url, timeout=30) as client:
                barrier.wait()
                response = client.post(REGISTER, json={"email": email, "password": PASSWORD})
                statuses.append(response.status_code)

        threads = [threading.Thread(target=attempt) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201, 409]
        assert len(backend.factory.execute(select(User.id).where(User.email == email))) == 1


# --- login -----------------------------------------------------------------------------------------


def test_login_returns_user_and_a_fresh_token_pair(api):
    email = new_email()
    registered = register(api, email)
    response = api.post(LOGIN, json={"email": email.upper(), "password": PASSWORD})
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"user", *TOKEN_KEYS}
    assert data["user"] == registered["user"]
    assert data["refresh_token"] != registered["refresh_token"]
    assert api.get(PROFILE, token=data["access_token"]).status_code == 200


def test_wrong_password_and_unknown_email_are_the_same_401(api):
    email = new_email()
    register(api, email)
    wrong = api.post(LOGIN, json={"email": email, "password": "not the password"})
    unknown = api.post(LOGIN, json={"email": new_email(), "password": PASSWORD})
    assert_error(wrong, 401, "unauthorized")
    assert_error(unknown, 401, "unauthorized")
    assert wrong.json() == unknown.json() == {"error": {"code": "unauthorized", "message": "Invalid credentials"}}


def test_inactive_account_gets_403_only_after_the_right_password(api, factory):
    user = factory.user(active=False)
    wrong = api.post(LOGIN, json={"email": user["email"], "password": "not the password"})
    assert_error(wrong, 401, "unauthorized", "Invalid credentials")
    right = api.post(LOGIN, json={"email": user["email"], "password": user["password"]})
    assert_error(right, 403, "forbidden", "Account is inactive")


def test_account_without_password_cannot_log_in_with_one(api, factory):
    user = factory.user(password_hash=None)
    assert_error(api.post(LOGIN, json={"email": user["email"], "password": ""}), 401, "unauthorized")
    assert_error(api.post(LOGIN, json={"email": user["email"], "password": "anything-at-all"}), 401, "unauthorized")


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "x@example.com"}, {"password": PASSWORD}, {"email": 1, "password": PASSWORD},
     {"email": "x@example.com", "password": None}],
)
def test_login_with_a_malformed_body_is_400(api, body):
    assert_error(api.post(LOGIN, json=body), 400, "bad_request")


def test_login_with_a_non_json_body_is_400(api):
    assert_error(api.post(LOGIN, content=b"email=a&password=b"), 400, "bad_request")


def test_hostile_login_strings_are_refused_not_500(api):
    for email in ("x" * 5000 + "@example.com", "\u202e@example.com", "' OR 1=1 --"):
        assert_error(api.post(LOGIN, json={"email": email, "password": "x" * 10000}), 401, "unauthorized")
    # NUL is refused for every request before any resolver runs.
    assert_error(api.post(LOGIN, json={"email": "nul\u0000@example.com", "password": "x"}), 400, "bad_request")


def test_login_rehashes_a_password_hashed_with_old_parameters(api, factory):
    weak_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("upgrade-me-please")
    user = factory.user(password="upgrade-me-please", password_hash=weak_hash)
    response = api.post(LOGIN, json={"email": user["email"], "password": "upgrade-me-please"})
    assert response.status_code == 200
    [(stored,)] = factory.execute(select(User.password_hash).where(User.id == user["id"]))
    assert stored != weak_hash and stored.startswith("$argon2id$")
    assert not needs_rehash(stored)
    assert api.post(LOGIN, json={"email": user["email"], "password": "upgrade-me-please"}).status_code == 200


# --- refresh ---------------------------------------------------------------------------------------


def test_refresh_rotates_the_token_pair(api):
    session = register(api)
    response = api.post(REFRESH, json={"refresh_token": session["refresh_token"]})
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == TOKEN_KEYS
    assert data["refresh_token"] != session["refresh_token"]
    profile = api.get(PROFILE, token=data["access_token"])
    assert profile.json()["data"]["user"]["id"] == session["user"]["id"]
    # The old token stopped working; the new one works.
    assert_error(api.post(REFRESH, json={"refresh_token": session["refresh_token"]}), 401, "unauthorized")


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(api):
    session = register(api)
    other_session = api.post(LOGIN, json={"email": session["user"]["email"], "password": PASSWORD}).json()["data"]
    first = session["refresh_token"]
    second = api.post(REFRESH, json={"refresh_token": first}).json()["data"]["refresh_token"]
    third = api.post(REFRESH, json={"refresh_token": second}).json()["data"]["refresh_token"]
    assert_error(api.post(REFRESH, json={"refresh_token": first}), 401, "unauthorized", "already used")
    # The thief's replay killed the legitimate holder's latest token too...
    assert_error(api.post(REFRESH, json={"refresh_token": third}), 401, "unauthorized")
    # ...but not the user's other sign-ins.
    assert api.post(REFRESH, json={"refresh_token": other_session["refresh_token"]}).status_code == 200


def test_concurrent_refreshes_with_one_token_cannot_both_win(api, backend):
    token = register(api)["refresh_token"]
    barrier = threading.Barrier(4)
    results: list[httpx.Response] = []

    def attempt() -> None:
        with httpx.Client(base_url=backend.server.base_url, timeout=30) as client:
            barrier.wait()
            results.append(client.post(REFRESH, json={"refresh_token": token}))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r.status_code == 200]
    assert len(winners) == 1
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401]
    # The losers presented a rotated token: the family, the winner's new token included, is revoked.
    assert api.post(REFRESH, json={"refresh_token": winners[0].json()["data"]["refresh_token"]}).status_code == 401


def test_expired_refresh_token_is_401(api, factory):
    token = register(api)["refresh_token"]
    factory.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == hash_refresh_token(token))
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    assert_error(api.post(REFRESH, json={"refresh_token": token}), 401, "unauthorized", "Invalid refresh token")


def test_refresh_tokens_are_stored_only_as_hashes(api, factory):
    data = register(api)
    rows = factory.execute(select(RefreshToken.token_hash).where(RefreshToken.user_id == data["user"]["id"]))
    assert [row.token_hash for row in rows] == [hash_refresh_token(data["refresh_token"])]


def test_refresh_of_a_deactivated_account_is_401(api, factory):
    data = register(api)
    factory.execute(update(User).where(User.id == data["user"]["id"]).values(active=False))
    assert_error(api.post(REFRESH, json={"refresh_token": data["refresh_token"]}), 401, "unauthorized")


@pytest.mark.parametrize("token", ["", "garbage", "x" * 43, "a" * 5000, "spaces are not " + "a" * 40])
def test_unknown_refresh_token_is_401(api, token):
    assert_error(api.post(REFRESH, json={"refresh_token": token}), 401, "unauthorized", "Invalid refresh token")


@pytest.mark.parametrize("body", [{}, {"refresh_token": None}, {"refresh_token": 12}, {"token": "x"}])
def test_refresh_with_a_malformed_body_is_400(api, body):
    assert_error(api.post(REFRESH, json=body), 400, "bad_request")


def test_refresh_with_a_non_json_body_is_400(api):
    assert_error(api.post(REFRESH, content=b"{"), 400, "bad_request")


# --- logout ------------------------------------------------------------------------------------------


def test_logout_revokes_every_refresh_token_of_the_user(api):
    session = register(api)
    other = api.post(LOGIN, json={"email": session["user"]["email"], "password": PASSWORD}).json()["data"]
    stranger = register(api)
    response = api.post(LOGOUT, token=session["access_token"])
    assert response.status_code == 204
    assert response.content == b""
    for token in (session["refresh_token"], other["refresh_token"]):
        assert_error(api.post(REFRESH, json={"refresh_token": token}), 401, "unauthorized")
    assert api.post(REFRESH, json={"refresh_token": stranger["refresh_token"]}).status_code == 200
    # Signing in again works after a logout.
    assert api.post(LOGIN, json={"email": session["user"]["email"], "password": PASSWORD}).status_code == 200


def test_logout_requires_authentication(api):
    assert_error(api.post(LOGOUT), 401, "unauthorized")
    assert_error(api.post(LOGOUT, token="garbage"), 401, "unauthorized")


# --- profile and access tokens ------------------------------------------------------------------------


def test_profile_requires_authentication(api):
    assert_error(api.get(PROFILE), 401, "unauthorized", "Authentication required")


def _forged(user_id: str, secret: str = TEST_JWT_SECRET, algorithm: str = "HS256", **changes: Any) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 600, "jti": unique("jti"), "iss": "shopql",
              "aud": "shopql-api", **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm)


def _unsigned(user_id: str) -> str:
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 600, "jti": "j", "iss": "shopql", "aud": "shopql-api"}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_correctly_forged_token_is_accepted(api, factory):
    # Control for the tampering cases below: the forging helper itself makes valid tokens.
    user = factory.user()
    assert api.get(PROFILE, token=_forged(user["id"])).status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda uid: _forged(uid, secret="another-secret-of-sufficient-length-123456"), id="bad-signature"),
        pytest.param(lambda uid: _forged(uid, exp=int(time.time()) - 10, iat=int(time.time()) - 1000), id="expired"),
        pytest.param(lambda uid: _forged(uid, iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda uid: _forged(uid, aud="another-api"), id="wrong-audience"),
        pytest.param(lambda uid: _forged(uid, jti=None), id="missing-jti"),
        pytest.param(lambda uid: _forged(uid, exp=None), id="missing-exp"),
        pytest.param(lambda uid: _forged(uid, algorithm="HS512"), id="other-algorithm",
                     marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")),
        pytest.param(_unsigned, id="alg-none"),
        pytest.param(lambda uid: _forged(uid)[:-4] + "AAAA", id="tampered-signature"),
        pytest.param(lambda uid: _forged("usr_01NOSUCHUSER000000000000000"), id="unknown-user"),
        pytest.param(lambda uid: "garbage", id="garbage"),
        pytest.param(lambda uid: "a.b.c", id="three-garbage-parts"),
    ],
)
def test_invalid_access_tokens_are_401(api, factory, make):
    user = factory.user()
    response = api.get(PROFILE, token=make(user["id"]))
    assert_error(response, 401, "unauthorized")


def test_authorization_header_must_use_the_bearer_scheme(api, factory):
    user = factory.user()
    response = api.get(PROFILE, headers={"Authorization": f"Token {user['token']}"})
    assert_error(response, 401, "unauthorized")


def test_deactivated_user_is_refused_at_once(api, factory):
    user = factory.user()
    assert api.get(PROFILE, token=user["token"]).status_code == 200
    factory.execute(update(User).where(User.id == user["id"]).values(active=False))
    assert_error(api.get(PROFILE, token=user["token"]), 403, "forbidden", "Account is inactive")


def test_roles_are_read_from_the_database_not_the_token(api, factory):
    user = factory.user()
    factory.grant_role(user["id"], "manager")
    response = api.get(PROFILE, token=user["token"])
    assert sorted(response.json()["data"]["roles"]) == ["manager", "user"]


# --- throttling (servers of their own, small limits) ---------------------------------------------------


@dataclass
class ThrottledSite:
    api: Api
    factory: Factory


@pytest.fixture
def account_throttled(fresh_database_url: str) -> Iterator[ThrottledSite]:
    with ServerProcess(fresh_database_url, workers=2, LOGIN_MAX_FAILURES="3", LOGIN_FAILURE_WINDOW="30",
                       LOGIN_MAX_FAILURES_PER_ADDRESS="1000") as server:
        site = ThrottledSite(Api(server.base_url), Factory(fresh_database_url))
        yield site
        site.api.close()
        site.factory.close()


@pytest.fixture
def address_throttled(fresh_database_url: str) -> Iterator[Api]:
    with ServerProcess(fresh_database_url, LOGIN_MAX_FAILURES="100", LOGIN_FAILURE_WINDOW="600",
                       LOGIN_MAX_FAILURES_PER_ADDRESS="4") as server:
        client = Api(server.base_url)
        yield client
        client.close()


def test_too_many_failures_for_one_account_is_429_with_retry_after(account_throttled):
    api = account_throttled.api
    email, bystander = new_email(), new_email()
    register(api, email)
    register(api, bystander)
    for _ in range(3):
        assert_error(api.post(LOGIN, json={"email": email, "password": "wrong-password"}), 401, "unauthorized")
    # Refused before the password is checked: the right one is refused too.
    refused = api.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert_error(refused, 429, "too_many_requests")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 30
    # GraphQL sees the same limit, with the same header.
    graphql = api.graphql_response(
        "mutation($i: AuthLoginInput!) { authLogin(input: $i) { accessToken errors { code } } }",
        {"i": {"email": email, "password": PASSWORD}},
    )
    assert graphql.json()["data"]["authLogin"] == {"accessToken": None, "errors": [{"code": "TOO_MANY_REQUESTS"}]}
    assert 1 <= int(graphql.headers["Retry-After"]) <= 30
    # Other accounts are unaffected.
    assert api.post(LOGIN, json={"email": bystander, "password": PASSWORD}).status_code == 200
    # Once the failures leave the window, the account signs in again.
    account_throttled.factory.execute(
        update(LoginFailure)
        .where(LoginFailure.email == email)
        .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=31))
    )
    assert api.post(LOGIN, json={"email": email, "password": PASSWORD}).status_code == 200


def test_successful_login_clears_the_account_failures(account_throttled):
    api = account_throttled.api
    email = new_email()
    register(api, email)
    for _ in range(2):
        assert api.post(LOGIN, json={"email": email, "password": "wrong-password"}).status_code == 401
    assert api.post(LOGIN, json={"email": email, "password": PASSWORD}).status_code == 200
    for _ in range(2):
        assert api.post(LOGIN, json={"email": email, "password": "wrong-password"}).status_code == 401
    assert api.post(LOGIN, json={"email": email, "password": PASSWORD}).status_code == 200


def test_unknown_emails_are_throttled_like_known_ones(account_throttled):
    api = account_throttled.api
    email = new_email()
    for _ in range(3):
        assert api.post(LOGIN, json={"email": email, "password": "whatever-1"}).status_code == 401
    assert api.post(LOGIN, json={"email": email, "password": "whatever-1"}).status_code == 429


def test_too_many_failures_from_one_address_is_429_for_every_account(address_throttled):
    api = address_throttled
    email = new_email()
    register(api, email)
    for _ in range(4):  # spraying four different accounts
        assert api.post(LOGIN, json={"email": new_email(), "password": "guess-123"}).status_code == 401
    refused = api.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert_error(refused, 429, "too_many_requests")
    assert 590 <= int(refused.headers["Retry-After"]) <= 600


# --- statements per request ------------------------------------------------------------------------------


def test_auth_routes_use_a_fixed_number_of_sql_statements(api):
    def statements(response: httpx.Response) -> int:
        assert response.status_code < 300, response.text
        return int(response.headers["X-SQL-Statements"])

    email = new_email()
    registered = api.post(REGISTER, json={"email": email, "password": PASSWORD})
    # user, role lookup, role check, role grant, refresh token
    assert statements(registered) == 5
    session = registered.json()["data"]
    # two throttle checks, the account, clearing failures, expired tokens, the new refresh token
    assert statements(api.post(LOGIN, json={"email": email, "password": PASSWORD})) == 6
    # viewer (account, grants) + the account row
    assert statements(api.get(PROFILE, token=session["access_token"])) == 3
    # the token, its rotation, the account, the new token
    assert statements(api.post(REFRESH, json={"refresh_token": session["refresh_token"]})) == 4
    # viewer (account, grants) + one UPDATE
    assert statements(api.post(LOGOUT, token=session["access_token"])) == 3
