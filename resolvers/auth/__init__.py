"""Accounts and sign-in: registration, password login with throttling, refresh-token sessions,
Google sign-in (OpenID Connect). Decisions and error codes: docs/auth.md.

- validation.py: what an acceptable email, password and name are.
- sessions.py: access + refresh tokens; rotation with reuse detection; logout.
- throttle.py: failed-login counting per account and per client address, in the database.
- accounts.py: register, login, profile reads.
- google.py: the OIDC authorization-code flow with PKCE and nonce (Authlib).
"""
