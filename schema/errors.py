"""User errors returned in mutation payloads, and the shared ErrorCode enum."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.errors import DomainError


@strawberry.enum(description="Stable machine-readable reason for a user error.")
class ErrorCode(Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    CART_EMPTY = "CART_EMPTY"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_INACTIVE = "ACCOUNT_INACTIVE"
    INVALID_TOKEN = "INVALID_TOKEN"
    PROMOTION_INVALID = "PROMOTION_INVALID"
    OUT_OF_SCOPE_PERMISSION = "OUT_OF_SCOPE_PERMISSION"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    OAUTH_ERROR = "OAUTH_ERROR"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"


@strawberry.type(description="Why a mutation refused its input. Nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path of the input field at fault, e.g. `[\"input\", \"email\"]`; null when "
        "the error concerns the whole input."
    )
    message: str = strawberry.field(description="Human-readable explanation.")
    code: ErrorCode = strawberry.field(description="Stable reason, for programs.")


def user_error(error: DomainError) -> UserError:
    return UserError(field=error.field, message=error.message, code=ErrorCode(error.code))
