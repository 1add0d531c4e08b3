"""The same capabilities in GraphQL: payload errors for refusals, UNAUTHENTICATED for bad tokens,
`me`, the User node and its visibility, and the permission directives in the SDL."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import delete, update

from db.models import User, UserRole
from schema.root import schema
from tests.factories import forged_access_token, unique, unsigned_access_token
from tests.support.api import error_codes

PASSWORD = "GraphQL-password-1"
SESSION_FIELDS = "user { id email firstName lastName active emailVerified createdAt updatedAt } " \
                 "accessToken refreshToken expiresAt errors { field message code }"
REGISTER = f"mutation($input: AuthRegisterInput!) {{ authRegister(input: $input) {{ {SESSION_FIELDS} }} }}"
LOGIN = f"mutation($input: AuthLoginInput!) {{ authLogin(input: $input) {{ {SESSION_FIELDS} }} }}"
REFRESH = f"mutation($token: String!) {{ authRefresh(refreshToken: $token) {{ {SESSION_FIELDS} }} }}"
LOGOUT = "mutation { authLogout { revokedSessions errors { code } } }"
ME = "query { me { user { id email } roles permissions } }"


def new_email() -> str:
    return f"{unique('gql')}@example.com"


def register(api: Any, **values: Any) -> dict[str, Any]:
    payload = api.data(REGISTER, {"input": {"email": new_email(), "password": PASSWORD, **values}})["authRegister"]
    assert payload["errors"] == []
    return payload


def test_register_signs_the_new_account_in(api):
    email = new_email()
    payload = api.data(REGISTER, {"input": {"email": email, "password": PASSWORD, "firstName": "Grace",
                                            "lastName": "Hopper"}})["authRegister"]
    assert payload["errors"] == []
    assert payload["user"]["email"] == email
    assert (payload["user"]["firstName"], payload["user"]["lastName"]) == ("Grace", "Hopper")
    assert payload["user"]["emailVerified"] is False
    me = api.data(ME, token=payload["accessToken"])["me"]
    assert me == {"user": {"id": payload["user"]["id"], "email": email}, "roles": ["user"], "permissions": []}


@pytest.mark.parametrize(
    ("values", "code", "field"),
    [
        ({"email": "nope"}, "INVALID", ["input", "email"]),
        ({"email": ""}, "REQUIRED", ["input", "email"]),
        ({"password": "short"}, "INVALID", ["input", "password"]),
        ({"firstName": "x" * 101}, "INVALID", ["input", "firstName"]),
        ({"lastName": "x" * 101}, "INVALID", ["input", "lastName"]),
    ],
)
def test_register_refusals_are_user_errors_with_the_field(api, values, code, field):
    variables = {"input": {"email": new_email(), "password": PASSWORD, **values}}
    payload = api.data(REGISTER, variables)["authRegister"]
    assert payload["user"] is None and payload["accessToken"] is None and payload["refreshToken"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == (code, field)


def test_register_with_a_taken_email_is_already_exists(api):
    email = new_email()
    register(api, email=email)
    payload = api.data(REGISTER, {"input": {"email": email.upper(), "password": PASSWORD}})["authRegister"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("ALREADY_EXISTS", ["input", "email"])]


def test_login_refusals(api, factory):
    inactive = factory.user(active=False)
    wrong = api.data(LOGIN, {"input": {"email": inactive["email"], "password": "wrong-password"}})["authLogin"]
    assert [e["code"] for e in wrong["errors"]] == ["INVALID_CREDENTIALS"]
    right = api.data(LOGIN, {"input": {"email": inactive["email"], "password": inactive["password"]}})["authLogin"]
    assert [e["code"] for e in right["errors"]] == ["ACCOUNT_INACTIVE"]
    assert right["accessToken"] is None


def test_login_and_refresh_rotate(api):
    email = new_email()
    register(api, email=email)
    login = api.data(LOGIN, {"input": {"email": email, "password": PASSWORD}})["authLogin"]
    assert login["errors"] == [] and login["user"]["email"] == email
    refreshed = api.data(REFRESH, {"token": login["refreshToken"]})["authRefresh"]
    assert refreshed["errors"] == [] and refreshed["user"]["email"] == email
    replay = api.data(REFRESH, {"token": login["refreshToken"]})["authRefresh"]
    assert [(e["code"], e["field"]) for e in replay["errors"]] == [("INVALID_TOKEN", ["refreshToken"])]
    revoked = api.data(REFRESH, {"token": refreshed["refreshToken"]})["authRefresh"]
    assert [e["code"] for e in revoked["errors"]] == ["INVALID_TOKEN"]


def test_logout_requires_a_token_and_revokes_sessions(api):
    assert error_codes(api.graphql(LOGOUT)) == ["UNAUTHENTICATED"]
    session = register(api)
    api.data(LOGIN, {"input": {"email": session["user"]["email"], "password": PASSWORD}})
    result = api.data(LOGOUT, token=session["accessToken"])["authLogout"]
    assert result == {"revokedSessions": 2, "errors": []}
    # The access token ended with the sessions: a second logout with it is not signed in.
    assert error_codes(api.graphql(LOGOUT, token=session["accessToken"])) == ["UNAUTHENTICATED"]
    replay = api.data(REFRESH, {"token": session["refreshToken"]})["authRefresh"]
    assert [e["code"] for e in replay["errors"]] == ["INVALID_TOKEN"]


def test_me_requires_authentication(api):
    body = api.graphql(ME)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] == {"me": None}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda uid: forged_access_token(uid, secret="wrong-secret-wrong-secret-wrong-secret!"),
                     id="bad-signature"),
        pytest.param(lambda uid: forged_access_token(uid, exp=int(time.time()) - 5), id="expired"),
        pytest.param(lambda uid: forged_access_token(uid, iss="evil"), id="wrong-issuer"),
        pytest.param(lambda uid: forged_access_token(uid, aud="evil"), id="wrong-audience"),
        pytest.param(lambda uid: forged_access_token(uid, sub=None), id="missing-sub"),
        pytest.param(lambda uid: forged_access_token(uid, iat=int(time.time()) + 300), id="issued-in-the-future"),
        pytest.param(lambda uid: forged_access_token(uid, gen=7), id="other-generation"),
        # Every claim right, only the algorithm is `none`: refused for that alone.
        pytest.param(unsigned_access_token, id="alg-none"),
        pytest.param(lambda uid: "not.a.jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_unauthenticated(api, factory, make):
    user = factory.user()
    body = api.graphql(ME, token=make(user["id"]))
    assert error_codes(body) == ["UNAUTHENTICATED"]


def test_a_valid_hand_made_token_is_accepted(api, factory):
    # Control for the cases above.
    user = factory.user()
    assert api.data(ME, token=forged_access_token(user["id"]))["me"]["user"]["id"] == user["id"]


def test_access_tokens_stop_working_at_logout(api):
    session = register(api)
    assert api.data(ME, token=session["accessToken"])["me"]["user"]["id"] == session["user"]["id"]
    api.data(LOGOUT, token=session["accessToken"])
    assert error_codes(api.graphql(ME, token=session["accessToken"])) == ["UNAUTHENTICATED"]


def test_a_removed_role_takes_effect_at_once(api, factory):
    user = factory.user(roles=("user", "manager"))
    assert api.data(ME, token=user["token"])["me"]["roles"] == ["manager", "user"]
    factory.execute(delete(UserRole).where(UserRole.user_id == user["id"],
                                           UserRole.role_id == factory.role_id("manager")))
    assert api.data(ME, token=user["token"])["me"]["roles"] == ["user"]


SECRET_PASSWORD = "MySecretPass99"
SECRET_TOKEN = "tok-" + "S3cr3t" * 8


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (LOGIN, {"input": {"password": SECRET_PASSWORD}}),
        (LOGIN, {"input": {"email": 5, "password": SECRET_PASSWORD}}),
        (LOGIN, {"input": {"email": "x@example.com", "password": [SECRET_PASSWORD]}}),
        (LOGIN, {"input": {"email": "x@example.com", "password": SECRET_PASSWORD, "extra": SECRET_TOKEN}}),
        (REGISTER, {"input": {"password": SECRET_PASSWORD}}),
        (REGISTER, {"input": {"email": "x@example.com", "password": {"p": SECRET_PASSWORD}}}),
        (REFRESH, {"token": [SECRET_TOKEN]}),
        (REFRESH, {"token": {"t": SECRET_TOKEN}}),
        (REFRESH, {"token": SECRET_TOKEN}),
    ],
)
def test_errors_never_echo_a_password_or_refresh_token(api, query, variables):
    response = api.graphql_response(query, variables)
    assert SECRET_PASSWORD not in response.text
    assert "S3cr3t" not in response.text


def test_names_with_invisible_characters_are_invalid(api):
    payload = api.data(REGISTER, {"input": {"email": new_email(), "password": PASSWORD,
                                            "firstName": "evil\u202eexe.txt"}})["authRegister"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", ["input", "firstName"])]
    assert "invisible" in payload["errors"][0]["message"]


def test_deactivated_user_is_refused_at_once(api, factory):
    user = factory.user()
    assert api.data(ME, token=user["token"])["me"]["user"]["id"] == user["id"]
    factory.execute(update(User).where(User.id == user["id"]).values(active=False))
    assert error_codes(api.graphql(ME, token=user["token"])) == ["FORBIDDEN"]


NODE = 'query($id: ID!) { node(id: $id) { id ... on User { email active } } }'


def test_user_node_is_visible_to_itself_and_to_customer_staff_only(api, factory):
    owner, stranger = factory.user(), factory.user()
    support = factory.user(roles=("user", "customer_experience"))
    expected = {"id": owner["id"], "email": owner["email"], "active": True}
    assert api.data(NODE, {"id": owner["id"]}, token=owner["token"])["node"] == expected
    assert api.data(NODE, {"id": owner["id"]}, token=support["token"])["node"] == expected
    assert api.data(NODE, {"id": owner["id"]}, token=stranger["token"])["node"] is None
    assert api.data(NODE, {"id": owner["id"]})["node"] is None
    assert api.data(NODE, {"id": "usr_01NOSUCHUSER0000000000000000"}, token=support["token"])["node"] is None


def test_permission_directives_are_printed_in_the_sdl():
    sdl = schema.as_str()
    assert "me: Me @authenticated" in sdl
    assert "authLogout: LogoutPayload! @authenticated" in sdl
    assert "googleAuthUrl(" in sdl and "authGoogleCallback(" in sdl
