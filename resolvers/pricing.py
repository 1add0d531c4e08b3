"""Money for carts and orders, in one place: unit prices, promotions, tax, shipping, totals.

Every amount is an integer in minor units (cents). The arithmetic is pure (no database):
`price_order` turns lines, promotions, a tax rate and a shipping method into a `Quote` whose
invariants the property tests pin down:

    subtotal       = Σ unit_price × quantity
    discount_total = Σ line discounts ≤ subtotal       (each line's discount ≤ its subtotal)
    tax_total      = Σ line taxes, each half-up of rate × (line subtotal − line discount)
    total          = subtotal − discount_total + tax_total + shipping_total
                   = Σ line totals + shipping_total

The few database reads pricing needs (promotions by code, the tax rate of an address, a
shipping method) live at the bottom; they take an open connection or session so checkout
prices inside its own transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import bindparam, literal, select
from sqlalchemy.engine import Row

from db.engine import Database
from db.models import Promotion, PromotionKind, ShippingMethod, TaxRate
from resolvers.catalog import sale_is_open
from resolvers.errors import DomainError, Invalid

promotions_table = Promotion.__table__
shipping_methods = ShippingMethod.__table__
tax_rates = TaxRate.__table__

MAX_PROMOTION_CODES = 10
MAX_CODE_LENGTH = 64
ZERO_RATE = Decimal(0)


# --- unit prices ------------------------------------------------------------------------------


def unit_price(product: Any, variant: Any | None, now: dt.datetime) -> int:
    """What one unit costs now: the variant's own price when it has one, else the product's
    effective price (its sale price while the sale window is open, else its base price)."""
    if variant is not None and variant.price_amount is not None:
        return int(variant.price_amount)
    if sale_is_open(product, now):
        return int(product.sale_price_amount)
    return int(product.base_price_amount)


def format_money(amount: int, currency: str) -> str:
    """`2500, "USD"` -> `"25.00 USD"` (for messages; two decimals, as every supported currency)."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole}.{cents:02d} {currency}"


# --- promotions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromotionTerms:
    id: str
    code: str
    kind: str
    value: int
    currency: str = "USD"
    min_subtotal: int = 0
    max_discount: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    usage_limit: int | None = None
    usage_count: int = 0
    active: bool = True

    @classmethod
    def from_row(cls, row: Any) -> PromotionTerms:
        return cls(
            id=row.id,
            code=row.code,
            kind=row.kind,
            value=int(row.value),
            currency=row.currency,
            min_subtotal=int(row.min_subtotal_amount),
            max_discount=int(row.max_discount_amount) if row.max_discount_amount is not None else None,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            usage_limit=row.usage_limit,
            usage_count=int(row.usage_count),
            active=bool(row.active),
        )


@dataclass(frozen=True)
class AppliedPromotion:
    promotion_id: str
    code: str
    discount: int


def promotion_invalid(code: str, reason: str) -> DomainError:
    return DomainError("PROMOTION_INVALID", f"Promotion code '{code}' {reason}", ["input", "promotionCodes"])


def normalise_codes(codes: Iterable[str] | None) -> list[str]:
    """Trimmed, upper-case, each code once (in the order first given)."""
    result: list[str] = []
    for raw in codes or ():
        code = raw.strip().upper()
        if not code:
            raise promotion_invalid(raw, "is empty")
        if len(code) > MAX_CODE_LENGTH:
            raise promotion_invalid(code[:MAX_CODE_LENGTH] + "…", "is not valid")
        if code not in result:
            result.append(code)
    if len(result) > MAX_PROMOTION_CODES:
        raise Invalid(f"At most {MAX_PROMOTION_CODES} promotion codes per order", ["input", "promotionCodes"])
    return result


def check_promotion(terms: PromotionTerms, subtotal: int, currency: str, now: dt.datetime) -> None:
    """Raise PROMOTION_INVALID (naming the code) unless the promotion can apply to this order."""
    if not terms.active:
        raise promotion_invalid(terms.code, "is not active")
    if terms.starts_at is not None and now < terms.starts_at:
        raise promotion_invalid(terms.code, "is not valid yet")
    if terms.ends_at is not None and now >= terms.ends_at:
        raise promotion_invalid(terms.code, "has expired")
    if terms.usage_limit is not None and terms.usage_count >= terms.usage_limit:
        raise promotion_invalid(terms.code, "has reached its usage limit")
    if terms.currency != currency and (
        terms.kind == PromotionKind.FIXED_AMOUNT.value or terms.min_subtotal or terms.max_discount is not None
    ):
        raise promotion_invalid(terms.code, f"does not apply to {currency} orders")
    if subtotal < terms.min_subtotal:
        raise promotion_invalid(
            terms.code, f"needs a subtotal of at least {format_money(terms.min_subtotal, terms.currency)}"
        )


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def promotion_discount(terms: PromotionTerms, base: int) -> int:
    """The discount the promotion gives on `base`, capped by its maximum and by `base` itself."""
    if terms.kind == PromotionKind.PERCENTAGE.value:
        discount = half_up(Decimal(base) * Decimal(terms.value) / Decimal(100))
    elif terms.kind == PromotionKind.FIXED_AMOUNT.value:
        discount = terms.value
    else:  # pragma: no cover - the database only holds the two kinds
        raise ValueError(f"unknown promotion kind {terms.kind!r}")
    if terms.max_discount is not None:
        discount = min(discount, terms.max_discount)
    return max(0, min(discount, base))


def apply_promotions(
    subtotal: int, promotions: Sequence[PromotionTerms], currency: str, now: dt.datetime
) -> tuple[int, list[AppliedPromotion]]:
    """Stack the promotions in the order given: each is checked against the subtotal, then
    discounts what the earlier ones left, so the sum never exceeds the subtotal."""
    remaining = subtotal
    applied: list[AppliedPromotion] = []
    for terms in promotions:
        check_promotion(terms, subtotal, currency, now)
        discount = promotion_discount(terms, remaining)
        remaining -= discount
        applied.append(AppliedPromotion(terms.id, terms.code, discount))
    return subtotal - remaining, applied


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` over `weights` in proportion (largest remainder; ties to the earlier line).

    With 0 ≤ amount ≤ Σ weights, no share exceeds its weight and the shares sum to `amount`.
    """
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    shares = [amount * weight // total for weight in weights]
    remainders = [amount * weight % total for weight in weights]
    leftover = amount - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:leftover]:
        shares[index] += 1
    return shares


# --- tax and shipping -------------------------------------------------------------------------


def line_tax(amount: int, rate: Decimal) -> int:
    """Tax on one line's discounted amount, rounded half-up to a whole minor unit."""
    return half_up(Decimal(amount) * rate)


@dataclass(frozen=True)
class ShippingTerms:
    id: str
    price: int
    free_over: int | None = None
    currency: str = "USD"

    @classmethod
    def from_row(cls, row: Any) -> ShippingTerms:
        return cls(
            id=row.id,
            price=int(row.price_amount),
            free_over=int(row.free_over_amount) if row.free_over_amount is not None else None,
            currency=row.currency,
        )


def shipping_cost(method: ShippingTerms | None, discounted_subtotal: int) -> int:
    """The method's price, or 0 when the discounted subtotal reaches its free-over threshold
    (or when no method was chosen)."""
    if method is None:
        return 0
    if method.free_over is not None and discounted_subtotal >= method.free_over:
        return 0
    return method.price


# --- the whole order --------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    unit_price: int
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class PricedLine:
    unit_price: int
    quantity: int
    subtotal: int
    discount: int
    tax: int
    total: int


@dataclass(frozen=True)
class Quote:
    lines: tuple[PricedLine, ...]
    subtotal: int
    discount_total: int
    tax_total: int
    shipping_total: int
    total: int
    promotions: tuple[AppliedPromotion, ...] = ()


def price_order(
    lines: Sequence[Line],
    *,
    promotions: Sequence[PromotionTerms] = (),
    tax_rate: Decimal = ZERO_RATE,
    shipping: ShippingTerms | None = None,
    currency: str = "USD",
    now: dt.datetime,
) -> Quote:
    """Price an order: discounts spread over the lines, tax per line, shipping on top."""
    for line in lines:
        if line.unit_price < 0 or line.quantity < 1:
            raise ValueError("unit prices are >= 0 and quantities >= 1")
    if not ZERO_RATE <= tax_rate < 1:
        raise ValueError("a tax rate is a fraction in [0, 1)")
    subtotals = [line.subtotal for line in lines]
    subtotal = sum(subtotals)
    discount_total, applied = apply_promotions(subtotal, promotions, currency, now)
    discounts = allocate(discount_total, subtotals)
    priced = []
    for line, line_subtotal, discount in zip(lines, subtotals, discounts, strict=True):
        tax = line_tax(line_subtotal - discount, tax_rate)
        priced.append(
            PricedLine(line.unit_price, line.quantity, line_subtotal, discount, tax, line_subtotal - discount + tax)
        )
    tax_total = sum(line.tax for line in priced)
    shipping_total = shipping_cost(shipping, subtotal - discount_total)
    return Quote(
        lines=tuple(priced),
        subtotal=subtotal,
        discount_total=discount_total,
        tax_total=tax_total,
        shipping_total=shipping_total,
        total=subtotal - discount_total + tax_total + shipping_total,
        promotions=tuple(applied),
    )


# --- reads pricing needs --------------------------------------------------------------------


# Checkout runs these reads on every order: built once with bound parameters, because
# building a select (and its cache key) per request costs more than executing a prebuilt one.
_PROMOTIONS_BY_CODE = select(promotions_table).where(
    promotions_table.c.code.in_(bindparam("promotion_codes", expanding=True))
)


def _rate_of(state_parameter: str) -> Any:
    return (
        select(tax_rates.c.rate)
        .where(tax_rates.c.country == bindparam("tax_country"), tax_rates.c.state == bindparam(state_parameter))
        .scalar_subquery()
    )


# One row: the state's rate, the country-wide rate (state ""), and the active shipping method
# (NULL columns when none matches; an id of "" matches none).
_TAX_RATES_AND_SHIPPING = select(
    _rate_of("tax_state").label("state_rate"),
    _rate_of("country_wide").label("country_rate"),
    shipping_methods.c.id,
    shipping_methods.c.price_amount,
    shipping_methods.c.free_over_amount,
    shipping_methods.c.currency,
).select_from(
    select(literal(1).label("one")).subquery().outerjoin(
        shipping_methods,
        (shipping_methods.c.id == bindparam("shipping_method")) & shipping_methods.c.active.is_(True),
    )
)


async def load_promotions(conn: Any, codes: Sequence[str]) -> list[PromotionTerms]:
    """Promotions for normalised codes, in the codes' order; an unknown code is refused."""
    if not codes:
        return []
    rows = (await conn.execute(_PROMOTIONS_BY_CODE, {"promotion_codes": list(codes)})).all()
    by_code = {row.code: PromotionTerms.from_row(row) for row in rows}
    for code in codes:
        if code not in by_code:
            raise promotion_invalid(code, "is not valid")
    return [by_code[code] for code in codes]


async def load_tax_rate_and_shipping(
    conn: Any, country: str, state: str, method_id: str | None
) -> tuple[Decimal, ShippingTerms | None]:
    """The tax rate of an address and the shipping method, in one round trip (checkout's hot path).

    The rate of (country, state), else the country-wide rate (state ""), else 0. A blank
    `state` looks up (country, "") twice: the country-wide rate either way.
    """
    row = (
        await conn.execute(
            _TAX_RATES_AND_SHIPPING,
            {"tax_country": country, "tax_state": state, "country_wide": "", "shipping_method": method_id or ""},
        )
    ).one()
    rate = row.state_rate if row.state_rate is not None else row.country_rate
    shipping = None
    if method_id is not None:
        if row.id is None:
            raise Invalid(f"Unknown shipping method {quoted(method_id)}", ["input", "shippingMethodId"])
        shipping = ShippingTerms.from_row(row)
    return (Decimal(str(rate)) if rate is not None else ZERO_RATE), shipping


def quoted(value: str, limit: int = 64) -> str:
    """An identifier from the client, shortened for messages."""
    return f"'{value[:limit]}…'" if len(value) > limit else f"'{value}'"


async def list_shipping_methods(db: Database) -> Sequence[Row[Any]]:
    statement = (
        select(shipping_methods)
        .where(shipping_methods.c.active.is_(True))
        .order_by(shipping_methods.c.price_amount, shipping_methods.c.id)
    )
    async with db.read() as conn:
        return (await conn.execute(statement)).all()
