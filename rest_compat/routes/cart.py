"""Cart routes (ROUTES.md "Cart Routes"; decisions in docs/orders.md). All need a signed-in user."""

from __future__ import annotations

from dataclasses import replace

from rest_compat.route import Body, Payload, Route, Single, id_left_out, path

QUANTITY = Body({"quantity": "quantity"})

ITEM_ADD = Route(
    "POST", "/api/v1/cart/items", "cart/item_add",
    "Add a product (or variant) to the cart; adds to the line when already there. "
    "Quantity 1-99 per line, at most 100 lines; the stock must cover it. `attributes`: a JSON "
    "object of at most 4 KB nesting at most 16 levels.",
    body=Body({"product_id": "productId", "variant_id": "variantId", "quantity": "quantity",
               "attributes": "attributes"}, into="input"),
    respond=Payload("result", key="cart"),
    errors=(400,),
    tag="cart",
)

ITEM_UPDATE = Route(
    "PATCH", "/api/v1/cart/items/{id}", "cart/item_update",
    "Set the quantity (1-99) of one of the user's cart items.",
    variables=path("id"),
    body=QUANTITY,
    respond=Payload("result", key="cart"),
    errors=(400, 404),
    tag="cart",
)
ITEM_REMOVE = Route(
    "DELETE", "/api/v1/cart/items/{id}", "cart/item_remove",
    "Remove one of the user's cart items.",
    variables=path("id"),
    respond=Payload("result", key="cart"),
    errors=(400, 404),
    tag="cart",
)

CART = [
    Route(
        "GET", "/api/v1/cart", "cart/cart",
        "The signed-in user's cart (created empty on first use), at current prices.",
        respond=Single("cart", "Cart not found"),
        tag="cart",
    ),
    ITEM_ADD,
    ITEM_UPDATE,
    ITEM_REMOVE,
    # ROUTES.md's "400 - Item ID is required" at the item path with the id left out. Adding keeps
    # working at that path too, as it did through the trailing-slash redirect.
    id_left_out(ITEM_UPDATE),
    id_left_out(ITEM_REMOVE),
    replace(ITEM_ADD, path="/api/v1/cart/items/", listed=False),
    Route(
        "DELETE", "/api/v1/cart", "cart/clear",
        "Remove every item from the cart.",
        respond=Payload("result", key="cart"),
        tag="cart",
    ),
]
