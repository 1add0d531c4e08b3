"""Property-based tests of the pure pricing functions (resolvers/pricing.py: no database).

They run once (no backend parameter): the arithmetic is the same whichever database stores it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resolvers import pricing
from resolvers.errors import DomainError
from resolvers.pricing import Line, PromotionTerms, ShippingTerms

NOW = dt.datetime(2025, 1, 18, 10, 0, tzinfo=dt.UTC)

lines_strategy = st.lists(
    st.builds(Line, unit_price=st.integers(0, 10**9), quantity=st.integers(1, 99)), min_size=1, max_size=12
)
rates = st.decimals(min_value=0, max_value=Decimal("0.999999"), places=6)
percentage = st.builds(
    PromotionTerms,
    id=st.uuids().map(str),
    code=st.just("PCT"),
    kind=st.just("PERCENTAGE"),
    value=st.integers(1, 100),
    max_discount=st.none() | st.integers(0, 10**8),
)
fixed = st.builds(
    PromotionTerms,
    id=st.uuids().map(str),
    code=st.just("FIX"),
    kind=st.just("FIXED_AMOUNT"),
    value=st.integers(1, 10**10),
    max_discount=st.none() | st.integers(0, 10**8),
)
shipping_strategy = st.none() | st.builds(
    ShippingTerms, id=st.just("ship"), price=st.integers(0, 10**5), free_over=st.none() | st.integers(0, 10**7)
)


@settings(max_examples=400, deadline=None)
@given(lines=lines_strategy, promotions=st.lists(percentage | fixed, max_size=3), rate=rates,
       shipping=shipping_strategy)
def test_order_totals_are_consistent(lines, promotions, rate, shipping):
    quote = pricing.price_order(lines, promotions=promotions, tax_rate=rate, shipping=shipping, now=NOW)

    assert quote.subtotal == sum(line.unit_price * line.quantity for line in lines)
    assert quote.total == quote.subtotal - quote.discount_total + quote.tax_total + quote.shipping_total
    assert sum(line.total for line in quote.lines) + quote.shipping_total == quote.total
    assert quote.discount_total == sum(line.discount for line in quote.lines)
    assert quote.discount_total == sum(applied.discount for applied in quote.promotions)
    assert quote.tax_total == sum(line.tax for line in quote.lines)
    assert 0 <= quote.discount_total <= quote.subtotal
    for amount in (quote.subtotal, quote.discount_total, quote.tax_total, quote.shipping_total, quote.total):
        assert isinstance(amount, int) and amount >= 0
    for line in quote.lines:
        assert 0 <= line.discount <= line.subtotal
        assert line.tax >= 0 and line.total >= 0


@settings(max_examples=300, deadline=None)
@given(lines=lines_strategy, rate=rates)
def test_tax_is_half_up_of_each_discounted_line(lines, rate):
    quote = pricing.price_order(lines, tax_rate=rate, now=NOW)
    for line in quote.lines:
        exact = Decimal(line.subtotal - line.discount) * rate
        assert abs(Decimal(line.tax) - exact) <= Decimal("0.5")
        # Exactly half a cent rounds up.
        if exact - int(exact) == Decimal("0.5"):
            assert line.tax == int(exact) + 1


@settings(max_examples=300, deadline=None)
@given(amount_share=st.floats(0, 1), weights=st.lists(st.integers(0, 10**9), min_size=1, max_size=20))
def test_allocation_sums_to_the_amount_and_never_exceeds_a_weight(amount_share, weights):
    amount = int(sum(weights) * amount_share)
    shares = pricing.allocate(amount, weights)
    assert sum(shares) == amount
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))


@settings(max_examples=200, deadline=None)
@given(promotion=percentage | fixed, base=st.integers(0, 10**10))
def test_discount_is_capped_by_the_maximum_and_the_base(promotion, base):
    discount = pricing.promotion_discount(promotion, base)
    assert 0 <= discount <= base
    if promotion.max_discount is not None:
        assert discount <= promotion.max_discount


def test_percentage_discount_rounds_half_up():
    terms = PromotionTerms(id="p", code="SAVE10", kind="PERCENTAGE", value=10)
    assert pricing.promotion_discount(terms, 1005) == 101  # 100.5 -> 101
    assert pricing.promotion_discount(terms, 1004) == 100


def test_documented_example_order():
    # ROUTES.md: one laptop at 999.99 USD shipped to NY (8.75 %), standard shipping free over 50.
    quote = pricing.price_order(
        [Line(99999, 1)],
        tax_rate=Decimal("0.0875"),
        shipping=ShippingTerms(id="ship_standard", price=599, free_over=5000),
        now=NOW,
    )
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.shipping_total, quote.total) == (
        99999, 0, 8750, 0, 108749,
    )


def test_free_shipping_threshold_uses_the_discounted_subtotal():
    method = ShippingTerms(id="ship_standard", price=599, free_over=5000)
    promotion = PromotionTerms(id="p", code="SAVE10", kind="PERCENTAGE", value=10)
    quote = pricing.price_order([Line(5000, 1)], promotions=[promotion], shipping=method, now=NOW)
    assert quote.discount_total == 500
    assert quote.shipping_total == 599
    assert pricing.price_order([Line(5000, 1)], shipping=method, now=NOW).shipping_total == 0


def test_stacked_promotions_apply_to_what_the_earlier_ones_left():
    save10 = PromotionTerms(id="a", code="SAVE10", kind="PERCENTAGE", value=10)
    five_off = PromotionTerms(id="b", code="WELCOME5", kind="FIXED_AMOUNT", value=500, min_subtotal=2500)
    quote = pricing.price_order([Line(3000, 1)], promotions=[save10, five_off], now=NOW)
    assert [p.discount for p in quote.promotions] == [300, 500]
    assert quote.total == 2200


@pytest.mark.parametrize(
    ("terms", "reason"),
    [
        (PromotionTerms(id="p", code="OFF", kind="PERCENTAGE", value=10, active=False), "is not active"),
        (PromotionTerms(id="p", code="SOON", kind="PERCENTAGE", value=10,
                        starts_at=NOW + dt.timedelta(days=1)), "is not valid yet"),
        (PromotionTerms(id="p", code="OLD", kind="PERCENTAGE", value=10,
                        ends_at=NOW - dt.timedelta(seconds=1)), "has expired"),
        (PromotionTerms(id="p", code="USED", kind="PERCENTAGE", value=10, usage_limit=3, usage_count=3),
         "has reached its usage limit"),
        (PromotionTerms(id="p", code="BIG", kind="FIXED_AMOUNT", value=500, min_subtotal=2500), "at least 25.00 USD"),
        (PromotionTerms(id="p", code="EURO", kind="FIXED_AMOUNT", value=500, currency="EUR"), "USD orders"),
    ],
)
def test_unusable_promotions_are_refused_naming_the_code(terms, reason):
    with pytest.raises(DomainError) as caught:
        pricing.price_order([Line(1000, 2)], promotions=[terms], now=NOW)
    assert caught.value.code == "PROMOTION_INVALID"
    assert f"'{terms.code}'" in caught.value.message and reason in caught.value.message


def test_codes_are_normalised_and_each_applies_once():
    assert pricing.normalise_codes([" save10", "SAVE10", "welcome5"]) == ["SAVE10", "WELCOME5"]


def test_unit_price_prefers_variant_price_then_open_sale_then_base():
    class Row:
        base_price_amount = 1000
        sale_price_amount = 800
        sale_starts_at = NOW - dt.timedelta(days=1)
        sale_ends_at = NOW + dt.timedelta(days=1)

    class Variant:
        price_amount = 1200

    class PlainVariant:
        price_amount = None

    assert pricing.unit_price(Row, Variant, NOW) == 1200
    assert pricing.unit_price(Row, PlainVariant, NOW) == 800
    assert pricing.unit_price(Row, None, NOW) == 800
    assert pricing.unit_price(Row, None, NOW + dt.timedelta(days=2)) == 1000
