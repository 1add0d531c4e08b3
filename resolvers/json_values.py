"""Free-form JSON objects from clients (cart line and catalog attributes): bounded in size and depth.

Depth is checked first and without recursion: what passes is something every encoder on the
way out (orjson writes at most 255 levels, json recurses) can write, so a stored value can
never make later reads fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from resolvers.errors import Invalid


def nesting_exceeds(value: Any, limit: int) -> bool:
    """True when objects/arrays nest deeper than `limit` (`{}` and `[]` are depth 1)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def json_object(value: Any, *, label: str, field: Sequence[str], max_bytes: int, max_depth: int) -> dict[str, Any]:
    """`value` as a JSON object of at most `max_depth` levels and `max_bytes` bytes; None is {}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"{label} must be a JSON object", field)
    if nesting_exceeds(value, max_depth):
        raise Invalid(f"{label} must not nest objects or arrays more than {max_depth} levels deep", field)
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:
        # e.g. an integer beyond 64 bits written as a GraphQL literal
        raise Invalid(f"{label} must hold only JSON strings, numbers (64-bit integers), booleans, "
                      "null, arrays and objects", field) from None
    if len(encoded) > max_bytes:
        raise Invalid(f"{label} must be at most {max_bytes} bytes of JSON", field)
    return value
