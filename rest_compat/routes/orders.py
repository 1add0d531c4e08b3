"""Order routes (ROUTES.md "Order Routes"; decisions in docs/orders.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rest_compat.route import (
    PAGE_PARAMS,
    Body,
    Page,
    Payload,
    QueryParam,
    RestRequest,
    Route,
    Single,
    id_left_out,
    paged,
    path,
)

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


@dataclass(frozen=True)
class CheckoutBody(Body):
    """The body as `input`, plus the Idempotency-Key header as its idempotencyKey."""

    def variables(self, request: RestRequest) -> dict[str, Any]:
        variables = super().variables(request)
        key = request.headers.get("idempotency-key", "").strip()
        if key:
            variables[self.into or "input"]["idempotencyKey"] = key
        return variables


CREATE = Route(
    "POST", "/api/v1/orders", "orders/create",
    "Place an order from the cart (re-priced; promotions, tax by the shipping address, shipping; "
    "rules in docs/orders.md). "
    "Send an `Idempotency-Key` header to make retries safe: the same key returns the same order "
    "(409 when reused for a different request).",
    body=CheckoutBody({
        "shipping_address": "shippingAddress",
        "billing_address": "billingAddress",
        "payment_method_id": "paymentMethodId",
        "promotion_codes": "promotionCodes",
        "shipping_method_id": "shippingMethodId",
        "notes": "notes",
    }, into="input", nested={"shipping_address": ADDRESS_FIELDS, "billing_address": ADDRESS_FIELDS}),
    respond=Payload("result", key="order", status=201),
    header_params=(QueryParam(
        "Idempotency-Key",
        "1-255 printable ASCII characters: a repeated request with the same key returns the same order.",
        {"type": "string", "minLength": 1, "maxLength": 255},
    ),),
    errors=(400, 409),
    tag="orders",
)

ORDER = Route(
    "GET", "/api/v1/orders/{id}", "orders/order",
    "One order: its owner, or staff (admin, manager, customer_experience).",
    variables=path("id"),
    respond=Single("item", "Order not found"),
    errors=(400, 403, 404),
    tag="orders",
)

ORDERS = [
    CREATE,
    Route(
        "GET", "/api/v1/orders", "orders/list",
        "The signed-in user's orders, newest first.",
        variables=paged,
        respond=Page(),
        query_params=PAGE_PARAMS,
        errors=(400,),
        tag="orders",
    ),
    ORDER,
    # ROUTES.md's "400 - Order ID is required" at `/orders/` (rather than a redirect to the list).
    # Checkout keeps working at that path too, as it did through the trailing-slash redirect.
    replace(CREATE, path="/api/v1/orders/", listed=False),
    id_left_out(ORDER),
]
