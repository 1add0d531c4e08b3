"""What sign-up accepts: email addresses, passwords and names (limits in docs/auth.md)."""

from __future__ import annotations

import re
import unicodedata

from resolvers.errors import DomainError, Invalid
from resolvers.users import normalise_email

MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit; the column allows 320.
MIN_PASSWORD_LENGTH = 8
# Long enough for any passphrase or password manager, short enough to bound hashing work.
MAX_PASSWORD_LENGTH = 128
MAX_NAME_LENGTH = 100  # the users.first_name / last_name columns

# The WHATWG "valid email address" grammar, plus a dot in the domain: ASCII only, no quoted
# local parts, no IP-literal domains. What real sign-up forms accept.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


def valid_email(raw: str, field: list[str]) -> str:
    """The normalised (trimmed, lower-case) address, or Invalid with a message saying why."""
    email = normalise_email(raw)
    if not email:
        raise DomainError("REQUIRED", "Email is required", field)
    if len(email) > MAX_EMAIL_LENGTH:
        raise Invalid(f"Email must be at most {MAX_EMAIL_LENGTH} characters", field)
    if not _EMAIL.fullmatch(email):
        raise Invalid("Email is not a valid address", field)
    return email


def valid_password(password: str, field: list[str]) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"Password must be at least {MIN_PASSWORD_LENGTH} characters", field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"Password must be at most {MAX_PASSWORD_LENGTH} characters", field)
    if not password.strip():
        raise Invalid("Password must not be only whitespace", field)
    if "\x00" in password:
        raise Invalid("Password must not contain NUL characters", field)
    return password


def valid_name(raw: str, field: list[str], label: str) -> str:
    name = raw.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(f"{label} must be at most {MAX_NAME_LENGTH} characters", field)
    if any(_is_hidden(name, index) for index in range(len(name))):
        raise Invalid(f"{label} must not contain control or invisible formatting characters", field)
    return name


# Cc: control characters (NUL is refused by PostgreSQL); Cf: invisible format characters
# (bidi overrides such as U+202E that make text display reversed, zero-width spaces, soft
# hyphens, tags); Cs: lone surrogates (not UTF-8); Zl/Zp: line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Zero-width non-joiner and joiner are spelling in Persian, Arabic and Indic names: allowed
# between two letters (or marks), as IDNA's contextual rules allow them.
_JOINERS = frozenset({"\u200c", "\u200d"})


def _is_hidden(text: str, index: int) -> bool:
    ch = text[index]
    if unicodedata.category(ch) not in _HIDDEN_CATEGORIES:
        return False
    if ch in _JOINERS and 0 < index < len(text) - 1:
        return not (_is_letter(text[index - 1]) and _is_letter(text[index + 1]))
    return True


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] in {"L", "M"}


def printable(text: str, limit: int) -> str:
    """`text` without control or invisible characters, cut to `limit` (for keys and messages)."""
    return "".join(ch for index, ch in enumerate(text) if not _is_hidden(text, index))[:limit]
