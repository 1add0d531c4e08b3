"""Prefixed, globally unique, time-ordered string IDs (`prod_01J…`).

26 Crockford base32 characters after the prefix: 48 bits of milliseconds then 80 random
bits, so IDs sort by creation time and a Relay `node(id:)` finds the table by the prefix.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PREFIXES = {
    "usr": "User",
    "role": "Role",
    "perm": "Permission",
    "cat": "Category",
    "brand": "Brand",
    "prod": "Product",
    "var": "ProductVariant",
    "cart": "Cart",
    "item": "CartItem",
    "ord": "Order",
    "oitem": "OrderItem",
    "promo": "Promotion",
    "ship": "ShippingMethod",
    "tax": "TaxRate",
}


def new_id(prefix: str) -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def prefix_of(identifier: str) -> str | None:
    head, sep, _ = identifier.partition("_")
    return head if sep and head in PREFIXES else None
