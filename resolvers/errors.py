"""Domain errors: raised by resolvers/, turned into GraphQL user errors or top-level errors.

`code` is one of schema.errors.ErrorCode's values; `field` is the input path it concerns.
"""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """An expected refusal of a request (bad input, conflict, missing object...)."""

    def __init__(self, code: str, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = list(field) if field else None


class NotFound(DomainError):
    def __init__(self, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__("NOT_FOUND", message, field)


class Invalid(DomainError):
    def __init__(self, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__("INVALID", message, field)


def required_id(identifier: str, what: str, field: Sequence[str] = ("id",)) -> str:
    """Refuse a blank ID with INVALID "<what> ID is required" (REST's `/products/` and kin)."""
    if not identifier.strip():
        raise Invalid(f"{what} ID is required", field)
    return identifier


class AccessError(Exception):
    """Not signed in (UNAUTHENTICATED) or not allowed (FORBIDDEN): a top-level GraphQL error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def unauthenticated(message: str = "Authentication required") -> AccessError:
    return AccessError("UNAUTHENTICATED", message)


def forbidden(message: str = "Insufficient permissions") -> AccessError:
    return AccessError("FORBIDDEN", message)
