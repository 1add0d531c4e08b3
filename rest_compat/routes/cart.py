"""Cart routes (ROUTES.md "Cart Routes"; decisions in docs/orders.md). All need a signed-in user."""

from __future__ import annotations

from rest_compat.route import Body, Payload, Route, Single, path

CART = [
    Route(
        "GET", "/api/v1/cart", "cart/cart",
        "The signed-in user's cart (created empty on first use), at current prices.",
        respond=Single("cart", "Cart not found"),
        tag="cart",
    ),
    Route(
        "POST", "/api/v1/cart/items", "cart/item_add",
        "Add a product (or variant) to the cart; adds to the line when already there. "
        "Quantity 1-99 per line; the stock must cover it.",
        body=Body({"product_id": "productId", "variant_id": "variantId", "quantity": "quantity",
                   "attributes": "attributes"}, into="input"),
        respond=Payload("result", key="cart"),
        errors=(400,),
        tag="cart",
    ),
    Route(
        "PATCH", "/api/v1/cart/items/{id}", "cart/item_update",
        "Set the quantity (1-99) of one of the user's cart items.",
        variables=path("id"),
        body=Body({"quantity": "quantity"}),
        respond=Payload("result", key="cart"),
        errors=(400, 404),
        tag="cart",
    ),
    Route(
        "DELETE", "/api/v1/cart/items/{id}", "cart/item_remove",
        "Remove one of the user's cart items.",
        variables=path("id"),
        respond=Payload("result", key="cart"),
        errors=(404,),
        tag="cart",
    ),
    Route(
        "DELETE", "/api/v1/cart", "cart/clear",
        "Remove every item from the cart.",
        respond=Payload("result", key="cart"),
        tag="cart",
    ),
]
