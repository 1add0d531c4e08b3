"""Helpers for cart and order tests: a valid address, filling a cart, placing an order."""

from __future__ import annotations

from typing import Any

import httpx

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
