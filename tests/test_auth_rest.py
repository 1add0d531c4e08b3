"""The REST auth routes of ROUTES.md: register, login, refresh, profile, logout, and the
`shopql create-admin` command.

Shapes and statuses as documented; every failure uses the error envelope. Throttling and
token lifetimes run on servers of their own with small limits (two worker processes share the
counts in the database; one server trusts X-Forwarded-For as if behind a proxy).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from db.models import LoginThrottle, RefreshToken, User, UserRole
from resolvers.auth.sessions import hash_refresh_token
from resolvers.passwords import needs_rehash
from tests.factories import Factory, forged_access_token, unique, unsigned_access_token
from tests.support.api import Api
from tests.support.server import TEST_JWT_SECRET, ServerProcess, run_cli

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
        ({"password": PASSWORD}, "Missing required field 'email'"),
        ({"email": "x@example.com"}, "Missing required field 'password'"),
        ({"email": "not-an-email", "password": PASSWORD}, "Email is not a valid address"),
        ({"email": "a@b", "password": PASSWORD}, "Email is not a valid address"),
        ({"email": "two@@example.com", "password": PASSWORD}, "Email is not a valid address"),
        ({"email": "   ", "password": PASSWORD}, "Email is required"),
        ({"email": "x" * 250 + "@example.com", "password": PASSWORD}, "Email must be at most 254 characters"),
        ({"email": "nul\u0000@example.com", "password": PASSWORD}, "NUL"),
        ({"email": "x@example.com", "password": "short"}, "Password must be at least 8 characters"),
        ({"email": "x@example.com", "password": "p" * 129}, "Password must be at most 128 characters"),
        ({"email": "x@example.com", "password": " " * 12}, "Password must not be only whitespace"),
        ({"email": "x@example.com", "password": PASSWORD, "first_name": "n" * 101},
         "First name must be at most 100 characters"),
        ({"email": "x@example.com", "password": PASSWORD, "last_name": "bad\u0000name"}, "NUL"),
        # Wrong JSON types: the message names the field (as the client spelt it).
        ({"email": 42, "password": PASSWORD}, "Invalid value for 'email'"),
        ({"email": "x@example.com", "password": ["list"]}, "Invalid value for 'password'"),
        ({"email": "x@example.com", "password": PASSWORD, "first_name": None}, "Invalid value for 'first_name'"),
        ({"email": {"$ne": ""}, "password": PASSWORD}, "Invalid value for 'email'"),
    ],
)
def test_invalid_registration_is_400_and_creates_nothing(api, factory, body, fragment):
    response = api.post(REGISTER, json=body)
    assert_error(response, 400, "bad_request", fragment)
    if isinstance(body.get("email"), str) and body["email"].strip() and "\u0000" not in body["email"]:
        assert factory.execute(select(User.id).where(User.email == body["email"].strip().lower())) == []


INVISIBLE = "control or invisible formatting characters"


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("first_name", "Ann\u202eevil"),  # right-to-left override: displays reversed
        ("last_name", "\u2066Isolate\u2069"),  # bidi isolates
        ("first_name", "Zero\u200bwidth"),  # zero-width space
        ("last_name", "soft\u00adhyphen"),
        ("first_name", "line\u2028separator"),
        ("last_name", "tab\there"),
        ("first_name", "\u200cleading joiner"),  # a joiner not between two letters
        ("last_name", "tag\U000e0041"),
    ],
)
def test_names_with_control_or_invisible_characters_are_refused(api, field, name):
    label = "First name" if field == "first_name" else "Last name"
    response = api.post(REGISTER, json={"email": new_email(), "password": PASSWORD, field: name})
    assert_error(response, 400, "bad_request", f"{label} must not contain {INVISIBLE}")


def test_names_keep_joiners_that_are_part_of_their_spelling(api):
    # Persian and Indic names use ZWNJ / ZWJ between letters.
    names = {"first_name": "\u0645\u0647\u0631\u200c\u0646\u0627\u0632", "last_name": "\u0915\u094d\u200d\u0937"}
    user = register(api, **names)["user"]
    assert (user["first_name"], user["last_name"]) == (names["first_name"], names["last_name"])


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

        def attempt(spelling: str) -> None:
            with httpx.Client(base_url=backend.server.base_url, timeout=30) as client:
                barrier.wait()
                response = client.post(REGISTER, json={"email": spelling, "password": PASSWORD})
                statuses.append(response.status_code)

        # Two spellings of one address: the database, not a check before the insert, decides.
        threads = [threading.Thread(target=attempt, args=(spelling,)) for spelling in (email, email.upper())]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201, 409]
        assert len(backend.factory.execute(select(User.id).where(User.email == email))) == 1


def test_the_database_refuses_a_second_spelling_of_an_email(factory):
    # Case-insensitive uniqueness holds even for writes that bypass the API's normalisation.
    email = new_email()
    factory.user(email=email)
    with pytest.raises(IntegrityError):
        factory.user(email=email.upper())
    with pytest.raises(IntegrityError):
        factory.user(email=email.capitalize())


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


def test_an_over_long_password_is_the_generic_401(api, factory):
    # Nobody can have one (sign-up allows 128 characters), so it is refused before hashing.
    user = factory.user(password="p" * 128)
    assert api.post(LOGIN, json={"email": user["email"], "password": "p" * 128}).status_code == 200
    for password in ("p" * 129, "p" * 900_000):
        response = api.post(LOGIN, json={"email": user["email"], "password": password})
        assert response.json() == {"error": {"code": "unauthorized", "message": "Invalid credentials"}}
        assert response.status_code == 401


SECRET_PASSWORD = "MySecretPass99"
SECRET_TOKEN = "tok-" + "S3cr3t" * 8


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (LOGIN, {"password": SECRET_PASSWORD}),
        (LOGIN, {"email": 1, "password": SECRET_PASSWORD}),
        (LOGIN, {"email": None, "password": SECRET_PASSWORD}),
        (LOGIN, {"email": "x@example.com", "password": [SECRET_PASSWORD]}),
        (LOGIN, {"email": "x@example.com", "password": {"value": SECRET_PASSWORD}}),
        (LOGIN, {"email": ["x@example.com"], "password": SECRET_PASSWORD, "extra": SECRET_TOKEN}),
        (LOGIN, {"email": "wrong@example.com", "password": SECRET_PASSWORD}),
        (REGISTER, {"password": SECRET_PASSWORD}),
        (REGISTER, {"email": "not an email", "password": SECRET_PASSWORD}),
        (REGISTER, {"email": 7, "password": SECRET_PASSWORD, "first_name": "A"}),
        (REGISTER, {"email": "x@example.com", "password": [SECRET_PASSWORD]}),
        (REGISTER, {"email": "x@example.com", "password": SECRET_PASSWORD, "first_name": ["x"]}),
        (REGISTER, {"email": "x@example.com", "password": SECRET_PASSWORD * 10}),
        (REFRESH, {"refresh_token": [SECRET_TOKEN]}),
        (REFRESH, {"refresh_token": {"token": SECRET_TOKEN}}),
        (REFRESH, {"refresh_token": SECRET_TOKEN}),
        (REFRESH, {"token": SECRET_TOKEN}),
    ],
)
def test_auth_errors_never_echo_a_password_or_refresh_token(api, path, body):
    response = api.post(path, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert SECRET_PASSWORD not in response.text
    assert "S3cr3t" not in response.text


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
    # ...and every access token issued so far (the thief may hold one of this sign-in)...
    assert_error(api.get(PROFILE, token=session["access_token"]), 401, "unauthorized")
    assert_error(api.get(PROFILE, token=other_session["access_token"]), 401, "unauthorized")
    # ...but the user's other sign-ins live on: their refresh token brings a working access token.
    renewed = api.post(REFRESH, json={"refresh_token": other_session["refresh_token"]})
    assert renewed.status_code == 200
    assert api.get(PROFILE, token=renewed.json()["data"]["access_token"]).status_code == 200


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


def test_logout_ends_the_access_tokens_already_issued(api):
    session = register(api)
    other = api.post(LOGIN, json={"email": session["user"]["email"], "password": PASSWORD}).json()["data"]
    assert api.post(LOGOUT, token=session["access_token"]).status_code == 204
    for token in (session["access_token"], other["access_token"]):
        response = api.get(PROFILE, token=token)
        assert_error(response, 401, "unauthorized", "Invalid or expired access token")
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert_error(api.post(LOGOUT, token=session["access_token"]), 401, "unauthorized")
    # A sign-in right after (within the same second) gets a token that works.
    again = api.post(LOGIN, json={"email": session["user"]["email"], "password": PASSWORD}).json()["data"]
    assert api.get(PROFILE, token=again["access_token"]).status_code == 200


def test_logout_requires_authentication(api):
    assert_error(api.post(LOGOUT), 401, "unauthorized")
    assert_error(api.post(LOGOUT, token="garbage"), 401, "unauthorized")


# --- profile and access tokens ------------------------------------------------------------------------


def test_profile_requires_authentication(api):
    assert_error(api.get(PROFILE), 401, "unauthorized", "Authentication required")


def test_a_correctly_forged_token_is_accepted(api, factory):
    # Control for the tampering cases below: the forging helper itself makes valid tokens.
    user = factory.user()
    assert api.get(PROFILE, token=forged_access_token(user["id"])).status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda uid: forged_access_token(uid, secret="another-secret-of-sufficient-length-123456"),
                     id="bad-signature"),
        pytest.param(lambda uid: forged_access_token(uid, exp=int(time.time()) - 10, iat=int(time.time()) - 1000),
                     id="expired"),
        pytest.param(lambda uid: forged_access_token(uid, iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda uid: forged_access_token(uid, aud="another-api"), id="wrong-audience"),
        pytest.param(lambda uid: forged_access_token(uid, sub=None), id="missing-sub"),
        pytest.param(lambda uid: forged_access_token(uid, iat=None), id="missing-iat"),
        pytest.param(lambda uid: forged_access_token(uid, iss=None), id="missing-iss"),
        pytest.param(lambda uid: forged_access_token(uid, aud=None), id="missing-aud"),
        pytest.param(lambda uid: forged_access_token(uid, jti=None), id="missing-jti"),
        pytest.param(lambda uid: forged_access_token(uid, exp=None), id="missing-exp"),
        pytest.param(lambda uid: forged_access_token(uid, gen=None), id="missing-generation"),
        pytest.param(lambda uid: forged_access_token(uid, gen=1), id="other-generation"),
        pytest.param(lambda uid: forged_access_token(uid, gen=False), id="generation-not-a-number"),
        pytest.param(lambda uid: forged_access_token(uid, iat=int(time.time()) + 300), id="issued-in-the-future"),
        pytest.param(lambda uid: forged_access_token(uid, sub=""), id="empty-sub"),
        pytest.param(lambda uid: forged_access_token(uid, algorithm="HS512"), id="other-algorithm",
                     marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")),
        pytest.param(unsigned_access_token, id="alg-none"),
        pytest.param(lambda uid: forged_access_token(uid)[:-4] + "AAAA", id="tampered-signature"),
        pytest.param(lambda uid: forged_access_token("usr_01NOSUCHUSER000000000000000"), id="unknown-user"),
        pytest.param(lambda uid: "garbage", id="garbage"),
        pytest.param(lambda uid: "a.b.c", id="three-garbage-parts"),
    ],
)
def test_invalid_access_tokens_are_401(api, factory, make):
    user = factory.user()
    response = api.get(PROFILE, token=make(user["id"]))
    assert_error(response, 401, "unauthorized", "Invalid or expired access token")
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_deleted_account_s_token_is_401_not_404(api, factory):
    # The profile's documented 404 cannot happen: a token outliving its account is invalid.
    user = factory.user()
    factory.execute(delete(User).where(User.id == user["id"]))
    assert_error(api.get(PROFILE, token=user["token"]), 401, "unauthorized", "Invalid or expired access token")


@pytest.mark.parametrize(
    ("request_", "path"),
    [
        (lambda api: api.get(PROFILE), PROFILE),
        (lambda api: api.post(LOGOUT), LOGOUT),
        (lambda api: api.post(LOGIN, json={"email": new_email(), "password": "wrong-password"}), LOGIN),
        (lambda api: api.post(REFRESH, json={"refresh_token": "x" * 43}), REFRESH),
    ],
)
def test_every_401_carries_a_bearer_challenge(api, request_: Callable[[Api], httpx.Response], path):
    response = request_(api)
    assert response.status_code == 401, (path, response.text)
    assert response.headers["WWW-Authenticate"] == "Bearer"


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


def test_a_removed_role_takes_effect_at_once(api, factory):
    user = factory.user(roles=("user", "admin"))
    assert api.get("/api/v1/admin/roles", token=user["token"]).status_code == 200
    factory.execute(delete(UserRole).where(UserRole.user_id == user["id"], UserRole.role_id == factory.role_id("admin")))
    # The same, still unexpired token: the admin role is gone with the next request.
    assert api.get(PROFILE, token=user["token"]).json()["data"]["roles"] == ["user"]
    assert_error(api.get("/api/v1/admin/roles", token=user["token"]), 403, "forbidden")


# --- token lifetimes (a server with short ones) ------------------------------------------------------


ACCESS_TTL, FAMILY_LIFETIME = 2, 4


@pytest.fixture
def short_lived(fresh_database_url: str) -> Iterator[Api]:
    # Refresh tokens would live a minute each; the sign-in as a whole lives FAMILY_LIFETIME.
    with ServerProcess(fresh_database_url, ACCESS_TOKEN_TTL=str(ACCESS_TTL), REFRESH_TOKEN_TTL="60",
                       REFRESH_TOKEN_MAX_LIFETIME=str(FAMILY_LIFETIME)) as server:
        client = Api(server.base_url)
        yield client
        client.close()


def test_access_token_ttl_is_configurable_and_enforced(short_lived):
    api = short_lived
    session = register(api)
    claims = jwt.decode(session["access_token"], TEST_JWT_SECRET, algorithms=["HS256"], audience="shopql-api")
    assert claims["exp"] - claims["iat"] == ACCESS_TTL
    assert parse_time(session["expires_at"]) == dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    assert api.get(PROFILE, token=session["access_token"]).status_code == 200
    time.sleep(ACCESS_TTL + 1.1)
    assert_error(api.get(PROFILE, token=session["access_token"]), 401, "unauthorized")


def test_rotation_cannot_keep_a_sign_in_alive_past_its_maximum_lifetime(short_lived):
    api = short_lived
    started = time.monotonic()
    session = register(api)
    token = session["refresh_token"]
    # Each refresh token is fresh and would live 60 s, but the family ends FAMILY_LIFETIME
    # after the sign-in however often it rotates.
    while time.monotonic() - started < FAMILY_LIFETIME - 1.5:
        response = api.post(REFRESH, json={"refresh_token": token})
        assert response.status_code == 200, response.text
        token = response.json()["data"]["refresh_token"]
        time.sleep(0.5)
    time.sleep(max(0.0, FAMILY_LIFETIME + 1.5 - (time.monotonic() - started)))
    assert_error(api.post(REFRESH, json={"refresh_token": token}), 401, "unauthorized", "Invalid refresh token")
    # Signing in again starts a new family.
    login = api.post(LOGIN, json={"email": session["user"]["email"], "password": PASSWORD})
    assert api.post(REFRESH, json={"refresh_token": login.json()["data"]["refresh_token"]}).status_code == 200


# --- throttling (servers of their own, small limits) ---------------------------------------------------


@dataclass
class ThrottledSite:
    api: Api
    factory: Factory
    base_url: str


@pytest.fixture
def account_throttled(fresh_database_url: str) -> Iterator[ThrottledSite]:
    # Two workers: the counts live in the database, not in a process.
    with ServerProcess(fresh_database_url, workers=2, LOGIN_MAX_FAILURES="5", LOGIN_FAILURE_WINDOW="30",
                       LOGIN_MAX_FAILURES_PER_ACCOUNT="1000", LOGIN_MAX_FAILURES_PER_ADDRESS="1000") as server:
        site = ThrottledSite(Api(server.base_url), Factory(fresh_database_url), server.base_url)
        yield site
        site.api.close()
        site.factory.close()


@pytest.fixture
def address_throttled(fresh_database_url: str) -> Iterator[Api]:
    with ServerProcess(fresh_database_url, LOGIN_MAX_FAILURES="100", LOGIN_FAILURE_WINDOW="600",
                       LOGIN_MAX_FAILURES_PER_ACCOUNT="100", LOGIN_MAX_FAILURES_PER_ADDRESS="4") as server:
        client = Api(server.base_url)
        yield client
        client.close()


@pytest.fixture(scope="module")
def behind_a_proxy(databases: Any) -> Iterator[Api]:
    """A server started as behind a reverse proxy on loopback: it trusts X-Forwarded-For.

    Shared by its tests, each of which uses client addresses of its own."""
    with ServerProcess(databases.new(), serve_args=("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"),
                       LOGIN_MAX_FAILURES="3", LOGIN_MAX_FAILURES_PER_ACCOUNT="5",
                       LOGIN_MAX_FAILURES_PER_ADDRESS="4", LOGIN_FAILURE_WINDOW="600") as server:
        client = Api(server.base_url)
        yield client
        client.close()


def wrong_login(api: Api, email: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else None
    return api.post(LOGIN, json={"email": email, "password": "wrong-password"}, headers=headers)


def right_login(api: Api, email: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else None
    return api.post(LOGIN, json={"email": email, "password": PASSWORD}, headers=headers)


def test_too_many_failures_for_one_account_is_429_with_retry_after(account_throttled):
    api = account_throttled.api
    email, bystander = new_email(), new_email()
    register(api, email)
    register(api, bystander)
    for _ in range(5):
        assert_error(wrong_login(api, email), 401, "unauthorized")
    # Refused before the password is checked: the right one is refused too.
    refused = right_login(api, email)
    assert_error(refused, 429, "too_many_requests", "Too many failed login attempts")
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
    assert right_login(api, bystander).status_code == 200
    # Once the window has passed, the account signs in again.
    account_throttled.factory.execute(
        update(LoginThrottle).values(window_started_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=31))
    )
    assert right_login(api, email).status_code == 200


def test_parallel_wrong_logins_cannot_exceed_the_limit(account_throttled):
    email = new_email()
    register(account_throttled.api, email)
    barrier = threading.Barrier(40)
    responses: list[httpx.Response] = []

    def attempt() -> None:
        with httpx.Client(base_url=account_throttled.base_url, timeout=60) as client:
            barrier.wait()
            responses.append(client.post(LOGIN, json={"email": email, "password": "wrong-password"}))

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(response.status_code for response in responses)
    # Exactly LOGIN_MAX_FAILURES passwords were checked, across both worker processes.
    assert statuses == [401] * 5 + [429] * 35
    assert all(1 <= int(r.headers["Retry-After"]) <= 30 for r in responses if r.status_code == 429)
    assert right_login(account_throttled.api, email).status_code == 429


def test_successful_login_clears_the_account_failures(account_throttled):
    api = account_throttled.api
    email = new_email()
    register(api, email)
    for _ in range(4):
        assert wrong_login(api, email).status_code == 401
    assert right_login(api, email).status_code == 200
    for _ in range(4):
        assert wrong_login(api, email).status_code == 401
    assert right_login(api, email).status_code == 200


def test_unknown_emails_are_throttled_like_known_ones(account_throttled):
    api = account_throttled.api
    email = new_email()
    for _ in range(5):
        assert wrong_login(api, email).status_code == 401
    assert wrong_login(api, email).status_code == 429


def test_over_long_passwords_are_refused_without_counting(account_throttled):
    api = account_throttled.api
    email = new_email()
    register(api, email)
    for _ in range(10):
        response = api.post(LOGIN, json={"email": email, "password": "p" * 5000})
        assert_error(response, 401, "unauthorized", "Invalid credentials")
    assert right_login(api, email).status_code == 200


def test_too_many_failures_from_one_address_is_429_for_every_account(address_throttled):
    api = address_throttled
    email = new_email()
    register(api, email)
    for _ in range(4):  # spraying four different accounts
        assert wrong_login(api, new_email()).status_code == 401
    refused = right_login(api, email)
    assert_error(refused, 429, "too_many_requests")
    assert 590 <= int(refused.headers["Retry-After"]) <= 600


def test_successful_logins_do_not_use_up_the_address_allowance(address_throttled):
    # Many people behind one address (an office, a NAT) sign in all day.
    api = address_throttled
    emails = [new_email() for _ in range(6)]
    for email in emails:
        register(api, email)
    for _ in range(3):
        assert wrong_login(api, new_email()).status_code == 401
    for email in emails:
        assert right_login(api, email).status_code == 200
    assert wrong_login(api, new_email()).status_code == 401
    assert wrong_login(api, new_email()).status_code == 429


def test_without_proxy_flags_x_forwarded_for_is_not_trusted(address_throttled):
    # Otherwise any client could pick a new address per request.
    api = address_throttled
    for number in range(4):
        assert wrong_login(api, new_email(), f"192.0.2.{number + 1}").status_code == 401
    assert wrong_login(api, new_email(), "192.0.2.200").status_code == 429


def test_behind_a_proxy_the_forwarded_address_is_throttled(behind_a_proxy):
    api = behind_a_proxy
    for _ in range(4):
        assert wrong_login(api, new_email(), "203.0.113.7").status_code == 401
    assert wrong_login(api, new_email(), "203.0.113.7").status_code == 429
    # Another client behind the same proxy (same socket peer) is not affected.
    assert wrong_login(api, new_email(), "198.51.100.9").status_code == 401


def test_a_stranger_cannot_lock_the_owner_out_from_elsewhere(behind_a_proxy):
    api = behind_a_proxy
    email = new_email()
    register(api, email)
    for _ in range(3):
        assert wrong_login(api, email, "203.0.113.20").status_code == 401
    assert right_login(api, email, "203.0.113.20").status_code == 429
    assert right_login(api, email, "198.51.100.20").status_code == 200


def test_guessing_one_account_from_many_addresses_is_limited(behind_a_proxy):
    api = behind_a_proxy
    email = new_email()
    register(api, email)
    for number in range(5):  # LOGIN_MAX_FAILURES_PER_ACCOUNT, one guess per address
        assert wrong_login(api, email, f"203.0.113.{100 + number}").status_code == 401
    refused = right_login(api, email, "198.51.100.50")
    assert_error(refused, 429, "too_many_requests")
    assert 590 <= int(refused.headers["Retry-After"]) <= 600


def test_ipv6_addresses_are_counted_per_64_network(behind_a_proxy):
    api = behind_a_proxy
    for address in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::abcd", "2001:db8:1:2:ffff:ffff:ffff:fff0"):
        assert wrong_login(api, new_email(), address).status_code == 401
    # Rotating inside the /64 does not help...
    assert wrong_login(api, new_email(), "2001:db8:1:2::9999").status_code == 429
    # ...a neighbouring /64 is another subscriber.
    assert wrong_login(api, new_email(), "2001:db8:1:3::1").status_code == 401


# --- shopql create-admin ---------------------------------------------------------------------------------


def create_admin(backend: Any, email: str, password: str, *extra: str) -> Any:
    return run_cli(backend.database_url, "create-admin", "--email", email, "--password", password, *extra)


def roles_of(api: Api, email: str, password: str) -> list[str]:
    response = api.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return sorted(api.get(PROFILE, token=response.json()["data"]["access_token"]).json()["data"]["roles"])


def test_create_admin_creates_a_verified_admin_account(api, backend):
    email = new_email()
    result = create_admin(backend, email.upper(), "admin-password-1")
    assert result.returncode == 0, result.stderr
    assert "created admin usr_" in result.stderr and email in result.stderr
    assert roles_of(api, email, "admin-password-1") == ["admin", "user"]
    [(verified,)] = backend.factory.execute(select(User.email_verified).where(User.email == email))
    assert verified is True
    again = create_admin(backend, email, "admin-password-1")
    assert again.returncode == 0 and "updated admin" in again.stderr


def test_create_admin_refuses_an_existing_unverified_account_without_reset_password(api, backend):
    # Whoever registered the address could otherwise keep their password to an admin account.
    email = new_email()
    squatter = register(api, email, password="squatters-password")
    result = create_admin(backend, email, "admin-password-1")
    assert result.returncode != 0
    assert "never verified" in result.stderr and "--reset-password" in result.stderr
    assert roles_of(api, email, "squatters-password") == ["user"]
    assert api.get(PROFILE, token=squatter["access_token"]).status_code == 200


def test_create_admin_with_reset_password_takes_an_unverified_account_over(api, backend):
    email = new_email()
    squatter = register(api, email, password="squatters-password")
    result = create_admin(backend, email, "admin-password-1", "--reset-password")
    assert result.returncode == 0, result.stderr
    assert roles_of(api, email, "admin-password-1") == ["admin", "user"]
    assert_error(api.post(LOGIN, json={"email": email, "password": "squatters-password"}), 401, "unauthorized")
    # Every earlier session ended, access tokens included.
    assert_error(api.get(PROFILE, token=squatter["access_token"]), 401, "unauthorized")
    assert_error(api.post(REFRESH, json={"refresh_token": squatter["refresh_token"]}), 401, "unauthorized")


def test_create_admin_grants_a_verified_account_and_keeps_its_password(api, backend, factory):
    user = factory.user(password="owners-own-password", email_verified=True)
    result = create_admin(backend, user["email"], "some-other-password")
    assert result.returncode == 0, result.stderr
    assert roles_of(api, user["email"], "owners-own-password") == ["admin", "user"]
    assert_error(api.post(LOGIN, json={"email": user["email"], "password": "some-other-password"}), 401,
                 "unauthorized")


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [("not-an-email", "admin-password-1", "Email is not a valid address"),
     ("ok@example.com", "short", "Password must be at least 8 characters"),
     ("ok@example.com", "p" * 129, "Password must be at most 128 characters")],
)
def test_create_admin_applies_the_sign_up_rules(backend, email, password, message):
    result = create_admin(backend, email, password)
    assert result.returncode == 2
    assert message in result.stderr


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
    # three throttle counters and a little housekeeping; the account; giving the three slots
    # back, expired tokens, the new refresh token
    assert statements(api.post(LOGIN, json={"email": email, "password": PASSWORD})) == 10
    # viewer (the account with its grants, one statement) + the account row
    assert statements(api.get(PROFILE, token=session["access_token"])) == 2
    # the token, its rotation, the account, the new token
    assert statements(api.post(REFRESH, json={"refresh_token": session["refresh_token"]})) == 4
    # viewer, revoking the refresh tokens, the new token generation
    assert statements(api.post(LOGOUT, token=session["access_token"])) == 3
