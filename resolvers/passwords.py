"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both answers take about as long.

    Made on first use, not at import: every process (each worker, each CLI command) would
    otherwise pay ~150 ms for it at start-up.
    """
    return _hasher.hash("dummy password for timing equalisation")


def warm_up() -> None:
    """Make the dummy hash now (servers call this in the background at start-up), so that the
    first unknown-email login is not the one slower answer."""
    _dummy_hash()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-effort check; a missing hash (unknown user, Google-only account) still verifies a dummy."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
