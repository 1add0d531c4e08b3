"""Checkout reference types shared by orders and the admin catalog: shipping methods,
promotions and tax rates (plus the public `shippingMethods` query)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import pricing
from schema.scalars import Long
from schema.types import Money


@strawberry.enum(description="How a promotion's `value` is read.")
class PromotionKind(Enum):
    PERCENTAGE = strawberry.enum_value("PERCENTAGE", description="`value` is a percentage (10 = 10 %).")
    FIXED_AMOUNT = strawberry.enum_value(
        "FIXED_AMOUNT", description="`value` is an amount in minor units of the promotion's currency."
    )


@strawberry.type(description="A way to ship an order, with its price and optional free-shipping threshold.")
class ShippingMethod:
    id: strawberry.ID = strawberry.field(description="Stable ID, e.g. `ship_standard`.")
    name: str = strawberry.field(description="Display name.")
    price: Money = strawberry.field(description="Price of shipping an order.")
    free_over: Money | None = strawberry.field(
        description="Shipping is free when the discounted subtotal reaches this amount; null: never free."
    )
    active: bool = strawberry.field(description="Inactive methods cannot be chosen at checkout.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> ShippingMethod:
        return cls(
            id=row.id,
            name=row.name,
            price=Money(amount=row.price_amount, currency=row.currency),
            free_over=(
                Money(amount=row.free_over_amount, currency=row.currency)
                if row.free_over_amount is not None
                else None
            ),
            active=row.active,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A discount code customers can apply at checkout.")
class Promotion:
    id: strawberry.ID = strawberry.field(description="Unique ID.")
    code: str = strawberry.field(description="The code, upper-case; matched case-insensitively.")
    description: str = strawberry.field(description="What the promotion gives.")
    kind: PromotionKind = strawberry.field(description="How `value` is read.")
    value: Long = strawberry.field(description="Percent (PERCENTAGE) or minor units (FIXED_AMOUNT).")
    min_subtotal: Money = strawberry.field(description="Smallest cart subtotal the code applies to.")
    max_discount: Money | None = strawberry.field(description="Largest discount the code gives; null: no cap.")
    starts_at: dt.datetime | None = strawberry.field(description="Start of validity; null: already valid.")
    ends_at: dt.datetime | None = strawberry.field(description="End of validity (exclusive); null: no end.")
    usage_limit: int | None = strawberry.field(description="How many orders may use it; null: unlimited.")
    usage_count: int = strawberry.field(description="How many orders used it.")
    active: bool = strawberry.field(description="Inactive codes are refused.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Promotion:
        return cls(
            id=row.id,
            code=row.code,
            description=row.description,
            kind=PromotionKind(row.kind),
            value=row.value,
            min_subtotal=Money(amount=row.min_subtotal_amount, currency=row.currency),
            max_discount=(
                Money(amount=row.max_discount_amount, currency=row.currency)
                if row.max_discount_amount is not None
                else None
            ),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            usage_limit=row.usage_limit,
            usage_count=row.usage_count,
            active=row.active,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A sales-tax rate for a country, or for one state/region of it.")
class TaxRate:
    id: strawberry.ID = strawberry.field(description="Unique ID.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code, e.g. `US`.")
    state: str = strawberry.field(description="State/region code, e.g. `NY`; empty for the country-wide rate.")
    rate: str = strawberry.field(
        description="Rate as a decimal fraction in a string, e.g. `\"0.0875\"` for 8.75 % (exact, no float)."
    )
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> TaxRate:
        return cls(
            id=row.id,
            country=row.country,
            state=row.state,
            rate=format_rate(row.rate),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def format_rate(rate: Decimal | str | float) -> str:
    """`Decimal('0.087500')` -> `'0.0875'`; `0` -> `'0'` (never exponent notation)."""
    text = format(Decimal(str(rate)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@strawberry.type
class CheckoutQuery:
    @strawberry.field(description="Shipping methods that can be chosen at checkout, cheapest first.")
    async def shipping_methods(self, info: Info) -> list[ShippingMethod]:
        rows = await pricing.list_shipping_methods(info.context.db)
        return [ShippingMethod.from_row(row) for row in rows]
