"""Order routes (ROUTES.md "Order Routes"; decisions in docs/orders.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_compat.route import PAGE_PARAMS, Body, Page, Payload, RestRequest, Route, Single, paged, path

# REST addresses are snake_case, GraphQL's AddressInput camelCase.
ADDRESS_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "company": "company",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "state": "state",
    "postal_code": "postalCode",
    "country": "country",
    "phone_number": "phoneNumber",
}
ADDRESSES = {"shippingAddress", "billingAddress"}


def _address(value: Any) -> Any:
    # Anything but an object goes through as is, for GraphQL to refuse with its own message.
    if not isinstance(value, dict):
        return value
    return {ADDRESS_FIELDS[key]: item for key, item in value.items() if key in ADDRESS_FIELDS}


@dataclass(frozen=True)
class CheckoutBody(Body):
    """The body as `input`, addresses renamed, plus the Idempotency-Key header as idempotencyKey."""

    def variables(self, request: RestRequest) -> dict[str, Any]:
        variables = super().variables(request)
        values = variables[self.into or "input"]
        for name in ADDRESSES & values.keys():
            values[name] = _address(values[name])
        key = request.headers.get("idempotency-key", "").strip()
        if key:
            values["idempotencyKey"] = key
        return variables


ORDERS = [
    Route(
        "POST", "/api/v1/orders", "orders/create",
        "Place an order from the cart (re-priced; promotions, tax by the shipping address, shipping). "
        "Send an `Idempotency-Key` header to make retries safe: the same key returns the same order "
        "(409 when reused for a different request).",
        body=CheckoutBody({
            "shipping_address": "shippingAddress",
            "billing_address": "billingAddress",
            "payment_method_id": "paymentMethodId",
            "promotion_codes": "promotionCodes",
            "shipping_method_id": "shippingMethodId",
            "notes": "notes",
        }, into="input"),
        respond=Payload("result", key="order", status=201),
        errors=(400, 409),
        auth=True,
        tag="orders",
    ),
    Route(
        "GET", "/api/v1/orders", "orders/list",
        "The signed-in user's orders, newest first.",
        variables=paged,
        respond=Page(),
        query_params=PAGE_PARAMS,
        errors=(400,),
        auth=True,
        tag="orders",
    ),
    Route(
        "GET", "/api/v1/orders/{id}", "orders/order",
        "One order: its owner, or staff (admin, manager, customer_experience).",
        variables=path("id"),
        respond=Single("item", "Order not found"),
        errors=(403, 404),
        auth=True,
        tag="orders",
    ),
]
