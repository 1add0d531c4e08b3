"""The shopping cart: one per user, created on first use; lines priced at the current price.

Every change runs in one transaction that starts by touching the cart row (`updated_at`),
which serialises changes to one user's cart — checkout takes the same row first, so an item
added during a checkout is either in the order or still in the cart afterwards, never lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from db.conflicts import insert_ignoring_conflict
from db.engine import Database
from db.ids import new_id
from db.models import Cart, CartItem, Product, ProductStatus, ProductVariant
from resolvers import pricing
from resolvers.pricing import quoted
from resolvers.errors import DomainError, Invalid, NotFound, required_id
from resolvers.json_values import json_object

carts = Cart.__table__
cart_items = CartItem.__table__
products = Product.__table__
variants = ProductVariant.__table__

MAX_QUANTITY = 99  # per line
MAX_LINES = 100  # per cart
MAX_ATTRIBUTES_BYTES = 4096
# Objects/arrays nested at most this deep (`{"color": "Black"}` is 1). Choices such as colour
# or engraving need 2 or 3; the cap keeps every encoder (orjson stops at 255 levels, and the
# REST and GraphQL replies wrap the attributes in 4 more) and the database far from their limits.
MAX_ATTRIBUTES_DEPTH = 16


@dataclass(frozen=True)
class CartLine:
    id: str
    product_id: str
    variant_id: str | None
    sku: str
    name: str
    currency: str
    unit_price: int
    quantity: int
    attributes: dict[str, Any]
    available: int
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class CartView:
    id: str
    user_id: str
    session_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    lines: tuple[CartLine, ...]

    @property
    def currency(self) -> str:
        return self.lines[0].currency if self.lines else "USD"

    @property
    def subtotal(self) -> int:
        return sum(line.unit_price * line.quantity for line in self.lines)


def line_key(product_id: str, variant_id: str | None) -> str:
    # One line per product+variant; a NULL variant_id would slip through a plain unique index.
    return f"{product_id}:{variant_id or ''}"


def check_quantity(quantity: int, field: Sequence[str]) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Invalid(f"Quantity must be between 1 and {MAX_QUANTITY}", field)


def check_attributes(attributes: Any) -> dict[str, Any]:
    """A JSON object of at most MAX_ATTRIBUTES_DEPTH levels and MAX_ATTRIBUTES_BYTES bytes."""
    return json_object(attributes, label="Attributes", field=["input", "attributes"],
                       max_bytes=MAX_ATTRIBUTES_BYTES, max_depth=MAX_ATTRIBUTES_DEPTH)


class _VariantPrice:
    __slots__ = ("price_amount",)

    def __init__(self, price_amount: int | None) -> None:
        self.price_amount = price_amount


# The statements of the checkout's hot path are built once, with bound parameters: building a
# select/update per request (and its cache key) costs more than executing a prebuilt one.
_LINES = (
    select(
        cart_items.c.id,
        cart_items.c.cart_id,
        cart_items.c.product_id,
        cart_items.c.variant_id,
        cart_items.c.quantity,
        cart_items.c.attributes,
        cart_items.c.created_at,
        cart_items.c.updated_at,
        products.c.sku,
        products.c.name,
        products.c.currency,
        products.c.status,
        products.c.stock,
        products.c.base_price_amount,
        products.c.sale_price_amount,
        products.c.sale_starts_at,
        products.c.sale_ends_at,
        variants.c.sku.label("variant_sku"),
        variants.c.name.label("variant_name"),
        variants.c.price_amount.label("variant_price_amount"),
        variants.c.stock.label("variant_stock"),
    )
    .select_from(
        cart_items.join(products, products.c.id == cart_items.c.product_id)
        .outerjoin(variants, variants.c.id == cart_items.c.variant_id)
    )
    .where(cart_items.c.cart_id == bindparam("lines_cart_id"))
    .order_by(cart_items.c.created_at, cart_items.c.id)
)
# Touching the row takes its lock until commit (bind names differ from column names: in an
# UPDATE, a parameter named like a column would set that column).
_LOCK_CART = (
    update(carts)
    .where(carts.c.user_id == bindparam("owner_id"))
    .values(updated_at=bindparam("touched_at"))
    .returning(*carts.c)
)
_CLEAR_CART = delete(cart_items).where(cart_items.c.cart_id == bindparam("cleared_cart_id"))


def _line(row: Any, now: dt.datetime) -> CartLine:
    has_variant = row.variant_id is not None
    return CartLine(
        id=row.id,
        product_id=row.product_id,
        variant_id=row.variant_id,
        sku=row.variant_sku if has_variant else row.sku,
        name=row.variant_name if has_variant else row.name,
        currency=row.currency,
        unit_price=pricing.unit_price(row, _VariantPrice(row.variant_price_amount) if has_variant else None, now),
        quantity=row.quantity,
        attributes=row.attributes or {},
        available=row.variant_stock if has_variant else row.stock,
        active=row.status == ProductStatus.ACTIVE.value,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def cart_lines(conn: Any, cart_id: str, now: dt.datetime) -> list[CartLine]:
    """The cart's lines with product data and current prices, in one statement."""
    rows = (await conn.execute(_LINES, {"lines_cart_id": cart_id})).all()
    return [_line(row, now) for row in rows]


def _view(cart: Any, lines: Sequence[CartLine]) -> CartView:
    return CartView(
        id=cart.id,
        user_id=cart.user_id,
        session_id=cart.session_id,
        created_at=cart.created_at,
        updated_at=cart.updated_at,
        lines=tuple(lines),
    )


async def _create_cart(db: Database, conn: Any, user_id: str, now: dt.datetime) -> None:
    # Two first requests of one user may race here: the unique user_id keeps one cart.
    await conn.execute(
        insert_ignoring_conflict(db, carts, "user_id").values(
            id=new_id("cart"), user_id=user_id, session_id="", created_at=now, updated_at=now
        )
    )


async def lock_cart(db: Database, session: Any, user_id: str, now: dt.datetime, create: bool = True) -> Any:
    """Touch the user's cart row (taking its row lock until commit); create it when missing."""
    parameters = {"owner_id": user_id, "touched_at": now}
    cart = (await session.execute(_LOCK_CART, parameters)).first()
    if cart is None and create:
        await _create_cart(db, session, user_id, now)
        cart = (await session.execute(_LOCK_CART, parameters)).first()
    return cart


async def empty_cart(conn: Any, cart_id: str) -> None:
    """Delete every line of the cart (its row lock is held by the caller)."""
    await conn.execute(_CLEAR_CART, {"cleared_cart_id": cart_id})


async def view_cart(db: Database, user_id: str, now: dt.datetime) -> CartView:
    """The user's cart, created (empty) on first use."""
    async with db.read() as conn:
        cart = (await conn.execute(select(carts).where(carts.c.user_id == user_id))).first()
        if cart is not None:
            return _view(cart, await cart_lines(conn, cart.id, now))
    async with db.transaction() as session:
        await _create_cart(db, session, user_id, now)
        cart = (await session.execute(select(carts).where(carts.c.user_id == user_id))).one()
    return _view(cart, [])


async def _product_and_variant(session: Any, product_id: str, variant_id: str | None) -> tuple[Any, Any]:
    product = (await session.execute(select(products).where(products.c.id == product_id))).first()
    if product is None or product.status != ProductStatus.ACTIVE.value:
        raise Invalid(f"Product {quoted(product_id)} is not available", ["input", "productId"])
    variant = None
    if variant_id is not None:
        variant = (
            await session.execute(
                select(variants).where(variants.c.id == variant_id, variants.c.product_id == product_id)
            )
        ).first()
        if variant is None:
            raise Invalid(f"Variant {quoted(variant_id)} is not a variant of this product", ["input", "variantId"])
    return product, variant


def _check_stock(name: str, wanted: int, available: int, field: Sequence[str]) -> None:
    if wanted > available:
        left = f"only {available} left" if available > 0 else "out of stock"
        raise DomainError("OUT_OF_STOCK", f"Not enough stock for '{name}': {left}", field)


async def add_item(
    db: Database,
    user_id: str,
    now: dt.datetime,
    *,
    product_id: str,
    variant_id: str | None,
    quantity: int,
    attributes: Any = None,
) -> CartView:
    """Add units of a product (or one of its variants); the same product+variant adds to its line."""
    check_quantity(quantity, ["input", "quantity"])
    attributes = check_attributes(attributes)
    variant_id = variant_id or None
    async with db.transaction() as session:
        cart = await lock_cart(db, session, user_id, now)
        product, variant = await _product_and_variant(session, product_id, variant_id)
        key = line_key(product_id, variant_id)
        existing = (
            await session.execute(
                select(cart_items.c.line_key, cart_items.c.quantity, products.c.currency)
                .select_from(cart_items.join(products, products.c.id == cart_items.c.product_id))
                .where(cart_items.c.cart_id == cart.id)
            )
        ).all()
        current = next((row.quantity for row in existing if row.line_key == key), 0)
        if any(row.currency != product.currency for row in existing):
            raise Invalid(
                f"The cart holds {existing[0].currency} items; this product is sold in {product.currency}",
                ["input", "productId"],
            )
        if current == 0 and len(existing) >= MAX_LINES:
            raise Invalid(f"A cart holds at most {MAX_LINES} different items", ["input", "productId"])
        wanted = current + quantity
        if wanted > MAX_QUANTITY:
            raise Invalid(
                f"At most {MAX_QUANTITY} units per item; the cart already holds {current}", ["input", "quantity"]
            )
        name = variant.name if variant is not None else product.name
        _check_stock(name, wanted, variant.stock if variant is not None else product.stock, ["input", "quantity"])
        if current:
            values: dict[str, Any] = {"quantity": wanted, "updated_at": now}
            if attributes:
                values["attributes"] = attributes
            await session.execute(
                update(cart_items)
                .where(cart_items.c.cart_id == cart.id, cart_items.c.line_key == key)
                .values(**values)
            )
        else:
            await session.execute(
                cart_items.insert().values(
                    id=new_id("item"),
                    cart_id=cart.id,
                    product_id=product_id,
                    variant_id=variant_id,
                    line_key=key,
                    quantity=quantity,
                    attributes=attributes,
                    created_at=now,
                    updated_at=now,
                )
            )
        return _view(cart, await cart_lines(session, cart.id, now))


async def update_item(db: Database, user_id: str, now: dt.datetime, *, item_id: str, quantity: int) -> CartView:
    """Set a line's quantity (1..MAX_QUANTITY); the stock must cover it."""
    required_id(item_id, "Item")
    check_quantity(quantity, ["quantity"])
    async with db.transaction() as session:
        cart = await lock_cart(db, session, user_id, now)
        lines = await cart_lines(session, cart.id, now)
        line = next((line for line in lines if line.id == item_id), None)
        if line is None:
            raise NotFound("Item not found in cart", ["id"])
        if not line.active:
            raise Invalid(f"'{line.name}' is no longer available; remove it from the cart", ["id"])
        _check_stock(line.name, quantity, line.available, ["quantity"])
        await session.execute(
            update(cart_items).where(cart_items.c.id == item_id).values(quantity=quantity, updated_at=now)
        )
        lines = [line if line.id != item_id else replace(line, quantity=quantity, updated_at=now) for line in lines]
        return _view(cart, lines)


async def remove_item(db: Database, user_id: str, now: dt.datetime, *, item_id: str) -> CartView:
    required_id(item_id, "Item")
    async with db.transaction() as session:
        cart = await lock_cart(db, session, user_id, now)
        removed = await session.execute(
            delete(cart_items).where(cart_items.c.id == item_id, cart_items.c.cart_id == cart.id)
        )
        if removed.rowcount == 0:
            raise NotFound("Item not found in cart", ["id"])
        return _view(cart, await cart_lines(session, cart.id, now))


async def clear(db: Database, user_id: str, now: dt.datetime) -> CartView:
    async with db.transaction() as session:
        cart = await lock_cart(db, session, user_id, now)
        await empty_cart(session, cart.id)
        return _view(cart, [])

