"""Orders: checkout from the cart in one transaction, order history, the status workflow.

Checkout (`create_order`) re-prices the cart, writes the order, its items and promotion
redemptions, empties the cart, and only then touches the hot rows — stock (`UPDATE … SET stock
= stock - :q WHERE id = :id AND stock >= :q` and the product still ACTIVE) and promotion usage
counters (`… WHERE usage_limit IS NULL OR usage_count < usage_limit`) — in a fixed order
(products, variants, promotions, each by id) so concurrent checkouts never deadlock and hold
those row locks only until commit. A row count of 0 raises, which rolls the whole transaction
back: nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select, update

from db.conflicts import insert_ignoring_conflict
from db.engine import Database
from db.ids import new_id
from db.models import (
    IdempotencyKey,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    ProductStatus,
    ProductVariant,
    Promotion,
    PromotionRedemption,
)
from resolvers import pricing
from resolvers.addresses import normalise_address
from resolvers.cart import CartLine, cart_lines, empty_cart, lock_cart
from resolvers.pricing import quoted
from resolvers.errors import DomainError, Invalid, NotFound, required_id
from resolvers.pagination import Window

orders = Order.__table__
order_items = OrderItem.__table__
products = Product.__table__
variants = ProductVariant.__table__
promotions = Promotion.__table__
redemptions = PromotionRedemption.__table__
idempotency_keys = IdempotencyKey.__table__

ORDER_NUMBER_ALPHABET = string.ascii_uppercase + string.digits
ORDER_NUMBER_LENGTH = 8
ORDER_NUMBER_ATTEMPTS = 8
MAX_NOTES = 2000
MAX_PAYMENT_METHOD_ID = 128
MAX_IDEMPOTENCY_KEY = 255
# Amounts stay exact in JavaScript clients (and far below BIGINT).
MAX_ORDER_TOTAL = 2**53 - 1
_ACTIVE = ProductStatus.ACTIVE.value

TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELED}),
    OrderStatus.PAID: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELED, OrderStatus.REFUNDED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}


# --- prebuilt statements ---------------------------------------------------------------------------
# Checkout's statements are built once, with bound parameters: building a select/update/insert
# per request (and its cache key) cost about a quarter of a checkout's CPU; a prebuilt one's cache
# key is memoised. Bind names differ from column names: in an UPDATE, a parameter named like a
# column would also set that column.

_KEY_WHERE = (idempotency_keys.c.user_id == bindparam("key_user_id"), idempotency_keys.c.key == bindparam("key_value"))
_CLAIMED_KEY = select(idempotency_keys).where(*_KEY_WHERE)
_LINK_KEY = update(idempotency_keys).where(*_KEY_WHERE).values(order_id=bindparam("placed_order_id"))
_ORDER_BY_ID = select(orders).where(orders.c.id == bindparam("wanted_order_id"))
_INSERT_ITEMS = order_items.insert()
_INSERT_REDEMPTIONS = redemptions.insert()
# Stock, taken only when there is enough of it and the product (a variant's parent) is ACTIVE.
_TAKE_PRODUCT_STOCK = (
    update(products)
    .where(products.c.id == bindparam("stock_product_id"), products.c.status == _ACTIVE,
           products.c.stock >= bindparam("units"))
    .values(stock=products.c.stock - bindparam("units"))
)
_TAKE_VARIANT_STOCK = (
    update(variants)
    .where(
        variants.c.id == bindparam("stock_variant_id"),
        variants.c.product_id == bindparam("stock_product_id"),
        select(products.c.id)
        .where(products.c.id == bindparam("stock_product_id"), products.c.status == _ACTIVE)
        .exists(),
        variants.c.stock >= bindparam("units"),
    )
    .values(stock=variants.c.stock - bindparam("units"))
)
_PRODUCT_STATUS = select(products.c.status).where(products.c.id == bindparam("stock_product_id"))
_REDEEM_PROMOTION = (
    update(promotions)
    .where(
        promotions.c.id == bindparam("redeemed_promotion_id"),
        (promotions.c.usage_limit.is_(None)) | (promotions.c.usage_count < promotions.c.usage_limit),
    )
    .values(usage_count=promotions.c.usage_count + 1)
)


# --- the request ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRequest:
    """A validated, normalised checkout request."""

    shipping_address: dict[str, str]
    billing_address: dict[str, str] | None
    payment_method_id: str
    promotion_codes: tuple[str, ...]
    shipping_method_id: str | None
    notes: str
    idempotency_key: str | None

    def fingerprint(self) -> str:
        """What a repeated request must match to be "the same request" (the key aside)."""
        content = {
            "shipping_address": self.shipping_address,
            "billing_address": self.billing_address,
            "payment_method_id": self.payment_method_id,
            "promotion_codes": list(self.promotion_codes),
            "shipping_method_id": self.shipping_method_id,
            "notes": self.notes,
        }
        return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _check_text(value: str, limit: int, label: str, field: Sequence[str]) -> str:
    if len(value) > limit:
        raise Invalid(f"{label} must be at most {limit} characters", field)
    return value


def _shipping_method_id(value: str | None) -> str | None:
    # Only null (or absent) means "no shipping": a blank id is a mistake, not a choice.
    if value is None:
        return None
    method = value.strip()
    if not method:
        raise Invalid(
            "Shipping method ID must not be blank: give one of shippingMethods, or null for no shipping",
            ["input", "shippingMethodId"],
        )
    return method


def order_request(
    *,
    shipping_address: Mapping[str, Any],
    billing_address: Mapping[str, Any] | None = None,
    payment_method_id: str | None = None,
    promotion_codes: Sequence[str] | None = None,
    shipping_method_id: str | None = None,
    notes: str | None = None,
    idempotency_key: str | None = None,
) -> OrderRequest:
    shipping = normalise_address(shipping_address, "shippingAddress", "Shipping address")
    billing = (
        normalise_address(billing_address, "billingAddress", "Billing address") if billing_address is not None else None
    )
    key = None
    if idempotency_key is not None:
        key = idempotency_key.strip()
        if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
            raise Invalid(
                f"The idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters",
                ["input", "idempotencyKey"],
            )
    return OrderRequest(
        shipping_address=shipping,
        billing_address=billing,
        payment_method_id=_check_text(
            (payment_method_id or "").strip(), MAX_PAYMENT_METHOD_ID, "The payment method ID", ["input", "paymentMethodId"]
        ),
        promotion_codes=tuple(pricing.normalise_codes(promotion_codes)),
        shipping_method_id=_shipping_method_id(shipping_method_id),
        notes=_check_text((notes or "").strip(), MAX_NOTES, "Notes", ["input", "notes"]),
        idempotency_key=key,
    )


# --- checkout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedOrder:
    order: Any
    # The items as written (None for a replay: they are read back like any order's).
    items: list[Any] | None
    replayed: bool = False


def new_order_number() -> str:
    return "ORD-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(ORDER_NUMBER_LENGTH))


async def _claim_idempotency_key(
    db: Database, conn: Any, user_id: str, request: OrderRequest, now: dt.datetime
) -> Any | None:
    """Claim (user, key) for this checkout; a previous order with the key is returned instead.

    A concurrent request with the same key waits on the unique index until the first commits
    (then finds its order) or rolls back (then claims the key itself).
    """
    fingerprint = request.fingerprint()
    claim = insert_ignoring_conflict(db, idempotency_keys, "user_id", "key", returning="key")
    claimed = await conn.execute(claim, {
        "user_id": user_id, "key": request.idempotency_key, "request_hash": fingerprint, "order_id": None,
        "created_at": now,
    })
    if claimed.first() is not None:
        return None
    previous = (
        await conn.execute(_CLAIMED_KEY, {"key_user_id": user_id, "key_value": request.idempotency_key})
    ).one()
    if previous.request_hash != fingerprint:
        raise DomainError(
            "IDEMPOTENCY_CONFLICT",
            "This idempotency key was already used for a different order request",
            ["input", "idempotencyKey"],
        )
    order = None
    if previous.order_id is not None:
        order = (await conn.execute(_ORDER_BY_ID, {"wanted_order_id": previous.order_id})).first()
    if order is None:
        raise DomainError(
            "IDEMPOTENCY_CONFLICT", "A request with this idempotency key is still in progress", ["input", "idempotencyKey"]
        )
    return order


def _check_lines(lines: Sequence[CartLine]) -> str:
    if not lines:
        raise DomainError("CART_EMPTY", "Cart is empty")
    currency = lines[0].currency
    for line in lines:
        if not line.active:
            raise _withdrawn(line)
        if line.currency != currency:
            raise Invalid("The cart mixes currencies; an order has one currency")
        if line.quantity > line.available:
            raise _out_of_stock(line)
    return currency


def _out_of_stock(line: CartLine) -> DomainError:
    return DomainError("OUT_OF_STOCK", f"Not enough stock for '{line.name}'")


def _withdrawn(line: CartLine) -> DomainError:
    return Invalid(f"'{line.name}' is no longer available; remove it from the cart")


def _take_stock(line: CartLine) -> tuple[Any, dict[str, Any]]:
    """`UPDATE … SET stock = stock - :q` guarded by everything a sale needs, in one condition:
    enough stock and an ACTIVE product (the variant's parent for a variant line), so a product
    withdrawn after the cart was read is not sold."""
    if line.variant_id is None:
        return _TAKE_PRODUCT_STOCK, {"stock_product_id": line.product_id, "units": line.quantity}
    return _TAKE_VARIANT_STOCK, {
        "stock_variant_id": line.variant_id, "stock_product_id": line.product_id, "units": line.quantity,
    }


async def _reserve_stock(conn: Any, lines: Sequence[CartLine]) -> None:
    """Decrement stock, never below zero: products then variants, each by id (lock order)."""
    ordered = sorted(lines, key=lambda line: (line.variant_id is not None, line.variant_id or line.product_id))
    for line in ordered:
        result = await conn.execute(*_take_stock(line))
        if result.rowcount != 1:
            # Rare path (the transaction rolls back): say which condition failed.
            status = (await conn.execute(_PRODUCT_STATUS, {"stock_product_id": line.product_id})).scalar()
            raise _withdrawn(line) if status != _ACTIVE else _out_of_stock(line)


async def _redeem_promotions(conn: Any, applied: Sequence[pricing.AppliedPromotion]) -> None:
    """Count each use atomically: the usage limit holds however many checkouts race."""
    for promotion in sorted(applied, key=lambda p: p.promotion_id):
        result = await conn.execute(_REDEEM_PROMOTION, {"redeemed_promotion_id": promotion.promotion_id})
        if result.rowcount != 1:
            raise pricing.promotion_invalid(promotion.code, "has reached its usage limit")


async def _insert_order(db: Database, conn: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Insert with a fresh random order number, again on the (rare) collision."""
    for _ in range(ORDER_NUMBER_ATTEMPTS):
        values["order_number"] = new_order_number()
        inserted = await conn.execute(insert_ignoring_conflict(db, orders, "order_number", returning="id"), values)
        if inserted.first() is not None:
            return values
    raise RuntimeError("could not find a free order number")


async def create_order(db: Database, user_id: str, request: OrderRequest, now: dt.datetime) -> PlacedOrder:
    """Turn the user's cart into an order, all or nothing."""
    async with db.write() as conn:
        if request.idempotency_key is not None:
            previous = await _claim_idempotency_key(db, conn, user_id, request, now)
            if previous is not None:
                return PlacedOrder(previous, None, replayed=True)
        # The cart row first: changes to this cart wait for us, and the lines read next are current.
        cart = await lock_cart(db, conn, user_id, now, create=False)
        if cart is None:
            raise DomainError("CART_EMPTY", "Cart is empty")
        lines = await cart_lines(conn, cart.id, now)
        currency = _check_lines(lines)

        address = request.shipping_address
        terms = await pricing.load_promotions(conn, request.promotion_codes)
        tax_rate, shipping = await pricing.load_tax_rate_and_shipping(
            conn, address["country"], address["state"].upper(), request.shipping_method_id
        )
        if shipping is not None and shipping.currency != currency:
            raise Invalid(
                f"Shipping method {quoted(shipping.id)} is priced in {shipping.currency}, the cart in {currency}",
                ["input", "shippingMethodId"],
            )
        quote = pricing.price_order(
            [pricing.Line(line.unit_price, line.quantity) for line in lines],
            promotions=terms,
            tax_rate=tax_rate,
            shipping=shipping,
            currency=currency,
            now=now,
        )
        if quote.total > MAX_ORDER_TOTAL:
            raise Invalid("The order total is too large")

        order_id = new_id("ord")
        order = await _insert_order(db, conn, {
            "id": order_id,
            "user_id": user_id,
            "status": OrderStatus.PENDING.value,
            "currency": currency,
            "subtotal_amount": quote.subtotal,
            "discount_total_amount": quote.discount_total,
            "tax_total_amount": quote.tax_total,
            "shipping_total_amount": quote.shipping_total,
            "total_amount": quote.total,
            "shipping_address": request.shipping_address,
            "billing_address": request.billing_address,
            "payment_method_id": request.payment_method_id,
            "shipping_method_id": shipping.id if shipping is not None else None,
            "promotion_codes": [promotion.code for promotion in quote.promotions],
            "notes": request.notes,
            "created_at": now,
            "updated_at": now,
        })
        items = [
            {
                "id": new_id("oitem"),
                "order_id": order_id,
                "product_id": line.product_id,
                "variant_id": line.variant_id,
                "sku": line.sku,
                "name": line.name,
                "currency": currency,
                "unit_price_amount": priced.unit_price,
                "quantity": priced.quantity,
                "discount_amount": priced.discount,
                "tax_amount": priced.tax,
                "total_amount": priced.total,
                "position": position,
            }
            for position, (line, priced) in enumerate(zip(lines, quote.lines, strict=True))
        ]
        await conn.execute(_INSERT_ITEMS, items)
        if quote.promotions:
            await conn.execute(
                _INSERT_REDEMPTIONS,
                [
                    {"order_id": order_id, "promotion_id": p.promotion_id, "discount_amount": p.discount, "created_at": now}
                    for p in quote.promotions
                ],
            )
        await empty_cart(conn, cart.id)
        if request.idempotency_key is not None:
            await conn.execute(
                _LINK_KEY, {"key_user_id": user_id, "key_value": request.idempotency_key, "placed_order_id": order_id}
            )
        # The contended rows last: their locks are held only from here to the commit.
        await _reserve_stock(conn, lines)
        await _redeem_promotions(conn, quote.promotions)
    return PlacedOrder(SimpleNamespace(**order), [SimpleNamespace(**item) for item in items])


# --- reads ------------------------------------------------------------------------------------


async def order_by_id(db: Database, order_id: str) -> Any | None:
    async with db.read() as conn:
        return (await conn.execute(_ORDER_BY_ID, {"wanted_order_id": order_id})).first()


async def list_orders(db: Database, user_id: str, window: Window) -> Sequence[Any]:
    statement = (
        select(orders)
        .where(orders.c.user_id == user_id)
        .order_by(orders.c.created_at.desc(), orders.c.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    )
    async with db.read() as conn:
        return (await conn.execute(statement)).all()


async def count_orders(db: Database, user_id: str) -> int:
    async with db.read() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(orders).where(orders.c.user_id == user_id))).scalar_one()
        )


async def items_by_order(db: Database, order_ids: Sequence[str]) -> list[list[Any]]:
    """For the dataloader: each order's items in their cart order, one statement per batch."""
    statement = (
        select(order_items)
        .where(order_items.c.order_id.in_(set(order_ids)))
        .order_by(order_items.c.order_id, order_items.c.position, order_items.c.id)
    )
    async with db.read() as conn:
        rows = (await conn.execute(statement)).all()
    grouped: dict[str, list[Any]] = {order_id: [] for order_id in order_ids}
    for row in rows:
        grouped[row.order_id].append(row)
    return [grouped[order_id] for order_id in order_ids]


# --- the status workflow ----------------------------------------------------------------------


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(status.lower() for status in TRANSITIONS.get(current, ()))) or "none"
        raise DomainError(
            "INVALID_TRANSITION",
            f"An order cannot go from {current.lower()} to {target.lower()} (allowed: {allowed})",
            ["status"],
        )


async def _restore_stock(session: Any, order_id: str) -> None:
    """Put a canceled order's units back: each line on its variant, or on its product when it
    had none. That a NULL variant_id means "the product itself" holds because a variant (or a
    product) that appears in orders cannot be deleted (catalog_admin), so the foreign key's
    ON DELETE SET NULL never turns a variant line into a product line."""
    items = (
        await session.execute(
            select(order_items.c.product_id, order_items.c.variant_id, order_items.c.quantity).where(
                order_items.c.order_id == order_id
            )
        )
    ).all()
    for item in sorted(items, key=lambda i: (i.variant_id is not None, i.variant_id or i.product_id)):
        table, row_id = (variants, item.variant_id) if item.variant_id else (products, item.product_id)
        await session.execute(
            update(table).where(table.c.id == row_id).values(stock=table.c.stock + item.quantity)
        )


async def update_status(db: Database, order_id: str, target: str, now: dt.datetime) -> Any:
    """Move an order along the workflow; canceling puts its units back in stock (once)."""
    required_id(order_id, "Order")
    async with db.transaction() as session:
        current = (await session.execute(select(orders.c.status).where(orders.c.id == order_id))).first()
        if current is None:
            raise NotFound("Order not found", ["id"])
        check_transition(current.status, target)
        # Compare-and-set: of two concurrent moves from the same status only one wins, so stock
        # is restored at most once.
        moved = (
            await session.execute(
                update(orders)
                .where(orders.c.id == order_id, orders.c.status == current.status)
                .values(status=target, updated_at=now)
                .returning(*orders.c)
            )
        ).first()
        if moved is None:
            latest = (await session.execute(select(orders.c.status).where(orders.c.id == order_id))).one()
            check_transition(latest.status, target)
            raise DomainError("INVALID_TRANSITION", "The order changed meanwhile; try again", ["status"])
        if target == OrderStatus.CANCELED:
            await _restore_stock(session, order_id)
        return moved
