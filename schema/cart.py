"""The signed-in user's cart: query and mutations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import cart
from resolvers.cart import MAX_ATTRIBUTES_BYTES, MAX_ATTRIBUTES_DEPTH, MAX_QUANTITY, CartLine, CartView
from resolvers.errors import DomainError
from schema.catalog import Product, ProductVariant
from schema.errors import UserError, user_error
from schema.permissions import authenticated
from schema.scalars import JSON
from schema.types import IdArg, Money


@strawberry.type(description="A line of the cart: a product (or one of its variants) and a quantity.")
class CartItem:
    id: strawberry.ID = strawberry.field(description="ID of the line (`item_…`).")
    product_id: strawberry.ID = strawberry.field(description="The product.")
    variant_id: strawberry.ID | None = strawberry.field(description="The variant, null for the product itself.")
    sku: str = strawberry.field(description="SKU of the variant, else of the product.")
    name: str = strawberry.field(description="Name of the variant, else of the product.")
    price: Money = strawberry.field(description="Current unit price (the sale price while a sale is open).")
    quantity: int = strawberry.field(description=f"Units, 1 to {MAX_QUANTITY}.")
    line_total: Money = strawberry.field(description="price × quantity, before discounts and tax.")
    attributes: JSON = strawberry.field(description="Free-form choices given when adding, e.g. `{\"color\": \"Black\"}`.")
    created_at: dt.datetime = strawberry.field(description="When the line was added.")
    updated_at: dt.datetime = strawberry.field(description="When the line last changed.")

    @classmethod
    def from_line(cls, line: CartLine) -> CartItem:
        return cls(
            id=line.id,
            product_id=line.product_id,
            variant_id=line.variant_id,
            sku=line.sku,
            name=line.name,
            price=Money(amount=line.unit_price, currency=line.currency),
            quantity=line.quantity,
            line_total=Money(amount=line.unit_price * line.quantity, currency=line.currency),
            attributes=line.attributes,
            created_at=line.created_at,
            updated_at=line.updated_at,
        )

    @strawberry.field(description="The product of this line.")
    async def product(self, info: Info) -> Product | None:
        row = await info.context.loaders.product.load(self.product_id)
        return Product.from_row(row, info.context.now) if row is not None else None

    @strawberry.field(description="The variant of this line, null for the product itself.")
    async def variant(self, info: Info) -> ProductVariant | None:
        if self.variant_id is None:
            return None
        row = await info.context.loaders.variant.load(self.variant_id)
        product = await self.product(info)
        return ProductVariant.from_row(row, product) if row is not None and product is not None else None


@strawberry.type(description="The signed-in user's shopping cart (one per user, created on first use).")
class Cart:
    id: strawberry.ID = strawberry.field(description="ID of the cart (`cart_…`).")
    user_id: strawberry.ID = strawberry.field(description="Its owner.")
    session_id: str = strawberry.field(description="Client session the cart came from; empty when none.")
    items: list[CartItem] = strawberry.field(description="The lines, oldest first.")
    item_count: int = strawberry.field(description="Total units in the cart.")
    subtotal: Money = strawberry.field(description="Σ price × quantity at current prices, before "
                                       "promotions, tax and shipping (checkout computes those).")
    created_at: dt.datetime = strawberry.field(description="When the cart was created.")
    updated_at: dt.datetime = strawberry.field(description="When the cart last changed.")

    @classmethod
    def from_view(cls, view: CartView) -> Cart:
        return cls(
            id=view.id,
            user_id=view.user_id,
            session_id=view.session_id,
            items=[CartItem.from_line(line) for line in view.lines],
            item_count=sum(line.quantity for line in view.lines),
            subtotal=Money(amount=view.subtotal, currency=view.currency),
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


@strawberry.type(description="Result of a cart mutation: the cart as it is now, or why nothing changed.")
class CartPayload:
    cart: Cart | None = strawberry.field(description="The updated cart; null when `errors` is not empty.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.input(description="A product (or variant) to put in the cart.")
class CartItemAddInput:
    product_id: strawberry.ID = strawberry.field(description="An active product.")
    variant_id: strawberry.ID | None = strawberry.field(
        default=None, description="One of the product's variants; null for the product itself."
    )
    quantity: int = strawberry.field(
        default=1,
        description=f"Units to add (1 to {MAX_QUANTITY}); adds to the line when the product+variant "
        f"is already in the cart (the line stays at most {MAX_QUANTITY}).",
    )
    attributes: JSON | None = strawberry.field(
        default=None, description=f"Free-form choices: a JSON object of at most {MAX_ATTRIBUTES_BYTES} bytes, "
        f"objects and arrays nested at most {MAX_ATTRIBUTES_DEPTH} levels deep; replace the line's when given."
    )


async def _cart_change(info: Info, change: Callable[[str], Awaitable[CartView]]) -> CartPayload:
    viewer = await info.context.require_viewer()
    try:
        view = await change(viewer.user_id)
    except DomainError as error:
        return CartPayload(cart=None, errors=[user_error(error)])
    return CartPayload(cart=Cart.from_view(view), errors=[])


QuantityArg = Annotated[int, strawberry.argument(description=f"New quantity, 1 to {MAX_QUANTITY}.")]


@strawberry.type
class CartQuery:
    @strawberry.field(description="The signed-in user's cart (created empty on first use).",
                      extensions=authenticated())
    async def cart(self, info: Info) -> Cart:
        viewer = await info.context.require_viewer()
        return Cart.from_view(await cart.view_cart(info.context.db, viewer.user_id, info.context.now))


@strawberry.type
class CartMutation:
    @strawberry.mutation(description="Add a product (or variant) to the cart; the stock must cover the "
                         "line's new quantity.", extensions=authenticated())
    async def cart_item_add(
        self, info: Info, input: Annotated[CartItemAddInput, strawberry.argument(description="What to add.")]
    ) -> CartPayload:
        db, now = info.context.db, info.context.now
        return await _cart_change(info, lambda user_id: cart.add_item(
            db, user_id, now, product_id=input.product_id, variant_id=input.variant_id,
            quantity=input.quantity, attributes=input.attributes,
        ))

    @strawberry.mutation(description="Set the quantity of one of the user's cart lines (NOT_FOUND for "
                         "another user's line; INVALID for a blank ID).",
                         extensions=authenticated())
    async def cart_item_update(self, info: Info, id: IdArg, quantity: QuantityArg) -> CartPayload:
        db, now = info.context.db, info.context.now
        return await _cart_change(
            info, lambda user_id: cart.update_item(db, user_id, now, item_id=id, quantity=quantity)
        )

    @strawberry.mutation(description="Remove one of the user's cart lines (NOT_FOUND for another user's "
                         "line; INVALID for a blank ID).", extensions=authenticated())
    async def cart_item_remove(self, info: Info, id: IdArg) -> CartPayload:
        db, now = info.context.db, info.context.now
        return await _cart_change(info, lambda user_id: cart.remove_item(db, user_id, now, item_id=id))

    @strawberry.mutation(description="Remove every line from the cart.", extensions=authenticated())
    async def cart_clear(self, info: Info) -> CartPayload:
        db, now = info.context.db, info.context.now
        return await _cart_change(info, lambda user_id: cart.clear(db, user_id, now))
