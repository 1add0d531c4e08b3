"""Authentication routes (ROUTES.md "Authentication Routes"; decisions in docs/auth.md)."""

from __future__ import annotations

from rest_compat.route import Body, Payload, QueryParam, Route, Single, query

AUTH = [
    Route(
        "POST", "/api/v1/auth/register", "auth/register",
        "Create an account (role `user`) and sign it in.",
        body=Body({"email": "email", "password": "password", "first_name": "firstName",
                   "last_name": "lastName"}, into="input"),
        respond=Payload("auth", status=201),
        errors=(400, 409),
        tag="auth",
    ),
    Route(
        "POST", "/api/v1/auth/login", "auth/login",
        "Sign in with email and password; 429 with Retry-After after too many failures.",
        body=Body({"email": "email", "password": "password"}, into="input"),
        respond=Payload("auth"),
        errors=(400, 401, 403, 429),
        tag="auth",
    ),
    Route(
        "POST", "/api/v1/auth/refresh", "auth/refresh",
        "Exchange a refresh token for a new token pair (the old refresh token stops working).",
        body=Body({"refresh_token": "refreshToken"}),
        respond=Payload("auth"),
        errors=(400, 401),
        tag="auth",
    ),
    Route(
        "GET", "/api/v1/auth/google", "auth/google_url",
        "Google authorization URL and its single-use state.",
        variables=query(state="state"),
        respond=Single("auth", "Google sign-in is not available"),
        query_params=(QueryParam("state", "Your own CSRF state (1-255 visible ASCII characters, unique); "
                                 "generated when omitted."),),
        errors=(400,),
        tag="auth",
    ),
    Route(
        "GET", "/api/v1/auth/google/callback", "auth/google_callback",
        "Finish a Google sign-in: exchanges the code and signs the account in.",
        variables=query(code="code", state="state", error="error"),
        respond=Payload("auth"),
        query_params=(
            QueryParam("code", "Authorization code from Google (required unless `error`)."),
            QueryParam("state", "The state of the authorization URL (required)."),
            QueryParam("error", "Error from Google if authorization failed."),
        ),
        errors=(400, 403),
        tag="auth",
    ),
    Route(
        "GET", "/api/v1/auth/profile", "auth/profile",
        "The signed-in user's account and role names.",
        respond=Single("me", "User not found"),
        errors=(401, 404),
        tag="auth",
    ),
    Route(
        "POST", "/api/v1/auth/logout", "auth/logout",
        "Revoke all refresh tokens of the signed-in user.",
        respond=Payload("auth", status=204),
        errors=(401,),
        tag="auth",
    ),
]
