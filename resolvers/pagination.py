"""Offset windows for Relay connections (first/after/last/before) and REST pages."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from resolvers.errors import DomainError

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Offsets beyond this are refused: they fit every database's integer and JavaScript's numbers.
MAX_OFFSET = 2**53 - 1
_CURSOR_PREFIX = "offset:"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str, argument: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raw = ""
    digits = raw[len(_CURSOR_PREFIX):]
    if not raw.startswith(_CURSOR_PREFIX) or not digits.isascii() or not digits.isdigit() or len(digits) > 16 or int(digits) > MAX_OFFSET:
        raise DomainError("BAD_USER_INPUT", f"'{argument}' is not a valid cursor", [argument])
    return int(digits)


@dataclass(frozen=True)
class Window:
    """Rows [offset, offset+limit) of an ordered list; `needs_total` when `last` has no `before`."""

    offset: int
    limit: int
    needs_total: bool = False


def _check_count(value: int | None, argument: str) -> None:
    if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
        raise DomainError(
            "BAD_USER_INPUT", f"'{argument}' must be between 0 and {MAX_PAGE_SIZE}", [argument]
        )


def window_from_args(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> Window:
    _check_count(first, "first")
    _check_count(last, "last")
    start = decode_cursor(after, "after") + 1 if after else 0
    end = decode_cursor(before, "before") if before else None
    if first is None and last is None:
        first = DEFAULT_PAGE_SIZE
    if first is not None:
        stop = start + first if end is None else min(end, start + first)
        if last is not None:
            start = max(start, stop - last)
        return Window(start, max(stop - start, 0))
    assert last is not None
    if end is None:
        # `last` from the end of the list: the caller resolves it against the total.
        return Window(start, last, needs_total=True)
    begin = max(start, end - last)
    return Window(begin, max(end - begin, 0))


def resolve_from_end(window: Window, total: int) -> Window:
    begin = max(window.offset, total - window.limit)
    return Window(begin, max(total - begin, 0))
