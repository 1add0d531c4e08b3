"""Custom scalars: DateTime (RFC 3339, UTC), JSON, Long for money in minor units, Decimal."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, NewType

import strawberry
from graphql import GraphQLError


def serialize_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise GraphQLError("DateTime must be an RFC 3339 string such as 2025-01-18T10:00:00Z")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"Invalid DateTime {value!r}: expected RFC 3339, e.g. 2025-01-18T10:00:00Z") from exc
    if parsed.tzinfo is None:
        raise GraphQLError(f"DateTime {value!r} needs a time zone offset (e.g. Z)")
    return parsed.astimezone(dt.UTC)


DateTime = strawberry.scalar(
    name="DateTime",
    description="A point in time, serialized as an RFC 3339 string in UTC with seconds "
    "precision, e.g. `2025-01-18T10:00:00Z`. Inputs accept any RFC 3339 offset.",
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

JSON = strawberry.scalar(
    NewType("JSON", object),
    name="JSON",
    description="Free-form JSON value (objects, arrays, strings, numbers, booleans, null), "
    "as defined by ECMA-404.",
    specified_by_url="https://ecma-international.org/publications-and-standards/standards/ecma-404/",
    serialize=lambda value: value,
    parse_value=lambda value: value,
)

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not _LONG_MIN <= value <= _LONG_MAX:
        raise GraphQLError(f"Long must be a signed 64-bit integer, got {value!r}")
    return value


Long = strawberry.scalar(
    NewType("Long", int),
    name="Long",
    description="A signed 64-bit integer serialized as a JSON number. Money amounts use it for "
    "minor units (cents): values beyond 2^53-1 lose precision in JavaScript clients.",
    serialize=int,
    parse_value=_parse_long,
)


def _parse_decimal(value: Any) -> decimal.Decimal:
    # Numbers go through str() so 0.0875 means 0.0875, not the binary float's expansion.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise GraphQLError(f"Decimal must be a string or a number, got {value!r}")
    try:
        parsed = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise GraphQLError(f"Invalid Decimal {value!r}: expected a number such as \"0.0875\"") from None
    if not parsed.is_finite():
        raise GraphQLError(f"Decimal must be a finite number, got {value!r}")
    return parsed


Decimal = strawberry.scalar(
    NewType("Decimal", decimal.Decimal),
    name="Decimal",
    description="An exact decimal number serialized as a JSON string in plain notation, e.g. "
    '`"0.0875"`. Inputs accept a string or a JSON number.',
    serialize=lambda value: format(value, "f"),
    parse_value=_parse_decimal,
)
