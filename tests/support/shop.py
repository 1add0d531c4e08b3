"""Helpers for cart and order tests: a valid address, filling a cart, placing an order, and a
database trigger to make a race happen at one exact point of a checkout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import text

from tests.factories import Factory, unique
from tests.support.api import Api


def address(**overrides: Any) -> dict[str, Any]:
    """A valid REST (snake_case) address in New York."""
    return {
        "first_name": "John", "last_name": "Doe", "company": "Tech Corp", "address1": "123 Main St",
        "address2": "Apt 4B", "city": "New York", "state": "NY", "postal_code": "10001", "country": "US",
        "phone_number": "555-0100", **overrides,
    }


def graphql_address(**overrides: Any) -> dict[str, Any]:
    return {
        "firstName": "John", "lastName": "Doe", "address1": "123 Main St", "city": "New York",
        "state": "NY", "postalCode": "10001", "country": "US", **overrides,
    }


def add_to_cart(api: Api, token: str, product_id: str, quantity: int = 1, variant_id: str | None = None,
                **extra: Any) -> httpx.Response:
    body = {"product_id": product_id, "variant_id": variant_id, "quantity": quantity, **extra}
    return api.post("/api/v1/cart/items", token=token, json=body)


def checkout(api: Api, token: str, *, key: str | None = None, **body: Any) -> httpx.Response:
    payload = {"shipping_address": address(), **body}
    headers = {"Idempotency-Key": key} if key else None
    return api.post("/api/v1/orders", token=token, json=payload, headers=headers)


def buy(api: Api, token: str, product_id: str, quantity: int = 1, **body: Any) -> dict[str, Any]:
    """Put the product in the cart and check out; returns the order (asserting 201)."""
    added = add_to_cart(api, token, product_id, quantity)
    assert added.status_code == 200, added.text
    response = checkout(api, token, **body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


ORDER_CREATE = """
mutation Checkout($input: OrderCreateInput!) {
  orderCreate(input: $input) {
    order { id orderNumber status total { amount currency } items { id quantity } }
    errors { code message field }
  }
}
"""


@contextmanager
def trigger_on_insert(factory: Factory, table: str, *, when: str, then: str, before: bool = False) -> Iterator[None]:
    """While inside: on each INSERT into `table` whose row satisfies `when`, run the statement
    `then` (both SQL, may use NEW.<column>), in the inserting transaction — i.e. inside the
    server's checkout, at exactly that point. The same DDL idea on SQLite and PostgreSQL."""
    name = unique("test_trigger_").lower()
    timing = "BEFORE" if before else "AFTER"
    if factory.db.is_sqlite:
        create = [f"CREATE TRIGGER {name} {timing} INSERT ON {table} FOR EACH ROW WHEN {when} BEGIN {then}; END"]
        drop = [f"DROP TRIGGER IF EXISTS {name}"]
    else:
        create = [
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF {when} THEN {then}; END IF; RETURN NEW; END $$",
            f"CREATE TRIGGER {name} {timing} INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
        drop = [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
    for statement in create:
        factory.execute(text(statement))
    try:
        yield
    finally:
        for statement in drop:
            factory.execute(text(statement))
