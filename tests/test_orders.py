"""Orders over HTTP (REST routes and GraphQL), on SQLite and PostgreSQL: checkout, pricing,
idempotency, history, access, the status workflow, dataloaders."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string

import pytest
from graphql import ObjectTypeDefinitionNode, parse
from sqlalchemy import func, select

from db.models import Order
from tests.factories import unique
from tests.support.api import Api, error_codes
from tests.support.server import run_cli
from tests.support.shop import ORDER_CREATE, add_to_cart, address, buy, checkout, graphql_address, trigger_on_insert

ORDER_FIELDS = {
    "id", "order_number", "user_id", "status", "items", "shipping_address", "billing_address", "subtotal",
    "discount_total", "tax_total", "shipping_total", "total", "notes", "created_at", "updated_at",
}
ITEM_FIELDS = {"id", "product_id", "sku", "name", "unit_price", "quantity", "discount_amount", "tax_amount", "total"}
ADDRESS_FIELDS = {"first_name", "last_name", "company", "address1", "address2", "city", "state", "postal_code",
                  "country", "phone_number"}


def usd(amount: int) -> dict:
    return {"amount": amount, "currency": "USD"}


def assert_error(response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    for word in words:
        assert word.lower() in body["error"]["message"].lower(), body["error"]["message"]


def tax_state(factory, rate: str) -> str:
    """A US state code of our own (unique per test) with the given tax rate."""
    state = "Z" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(6))
    factory.tax_rate("US", state, rate)
    return state


def order_count(factory, user_id: str) -> int:
    return factory.execute(select(func.count()).select_from(Order).where(Order.user_id == user_id))[0][0]


@pytest.fixture
def user(factory):
    return factory.user()


@pytest.fixture
def standard(factory):
    """Like the demo's ship_standard: 5.99, free from 50.00."""
    return factory.shipping_method(price_amount=599, free_over_amount=5000)


# --- POST /orders: success ------------------------------------------------------------------------


def test_checkout_creates_the_documented_order(api: Api, factory, user, standard):
    state = tax_state(factory, "0.0875")
    product = factory.product(base_price_amount=99999, stock=3, sku=unique("LAPTOP-"))
    add_to_cart(api, user["token"], product["id"], 1)
    response = checkout(
        api, user["token"], shipping_address=address(state=state), billing_address=address(city="Boston"),
        payment_method_id="pm_123", shipping_method_id=standard["id"], notes="Please deliver after 5 PM",
    )
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert set(order) == ORDER_FIELDS
    assert order["id"].startswith("ord_")
    assert re.fullmatch(r"ORD-[A-Z0-9]{8}", order["order_number"])
    assert order["user_id"] == user["id"]
    assert order["status"] == "pending"
    [item] = order["items"]
    assert set(item) == ITEM_FIELDS
    assert item["product_id"] == product["id"] and item["sku"] == product["sku"] and item["name"] == product["name"]
    assert item["unit_price"] == usd(99999) and item["quantity"] == 1
    assert item["discount_amount"] == usd(0) and item["tax_amount"] == usd(8750) and item["total"] == usd(108749)
    assert order["subtotal"] == usd(99999)
    assert order["discount_total"] == usd(0)
    assert order["tax_total"] == usd(8750)
    assert order["shipping_total"] == usd(0)
    assert order["total"] == usd(108749)
    assert order["notes"] == "Please deliver after 5 PM"
    assert set(order["shipping_address"]) == ADDRESS_FIELDS
    assert order["shipping_address"] == address(state=state)
    assert order["billing_address"]["city"] == "Boston"
    assert order["created_at"].endswith("Z")


def test_checkout_takes_the_stock_and_empties_the_cart(api: Api, factory, user):
    product = factory.product(stock=5)
    variant = factory.variant(product["id"], stock=4)
    add_to_cart(api, user["token"], product["id"], 2)
    add_to_cart(api, user["token"], product["id"], 3, variant_id=variant["id"])
    assert checkout(api, user["token"]).status_code == 201
    assert factory.product_stock(product["id"]) == 3
    assert factory.variant_stock(variant["id"]) == 1
    assert api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"] == []


def test_totals_add_up_with_promotions_tax_and_shipping(api: Api, factory, user, standard):
    state = tax_state(factory, "0.0725")
    percent = factory.promotion(kind="PERCENTAGE", value=10)
    fixed = factory.promotion(kind="FIXED_AMOUNT", value=500, min_subtotal_amount=2500)
    a = factory.product(base_price_amount=1999)
    b = factory.product(base_price_amount=333)
    add_to_cart(api, user["token"], a["id"], 1)
    add_to_cart(api, user["token"], b["id"], 3)
    response = checkout(api, user["token"], shipping_address=address(state=state.lower()),
                        promotion_codes=[percent["code"].lower(), fixed["code"]], shipping_method_id=standard["id"])
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    subtotal = 1999 + 3 * 333  # 2998
    discount = 300 + 500  # 10 % of 2998 rounded half-up, then 5.00 off the rest
    assert order["subtotal"]["amount"] == subtotal
    assert order["discount_total"]["amount"] == discount
    assert sum(item["discount_amount"]["amount"] for item in order["items"]) == discount
    assert order["shipping_total"]["amount"] == 599  # 21.98 after discounts is under 50.00
    assert order["tax_total"]["amount"] == sum(item["tax_amount"]["amount"] for item in order["items"])
    for item in order["items"]:
        line = item["unit_price"]["amount"] * item["quantity"] - item["discount_amount"]["amount"]
        assert item["tax_amount"]["amount"] == int(line * 0.0725 + 0.5)
        assert item["total"]["amount"] == line + item["tax_amount"]["amount"]
    assert order["total"]["amount"] == sum(i["total"]["amount"] for i in order["items"]) + 599
    assert order["total"]["amount"] == subtotal - discount + order["tax_total"]["amount"] + 599
    assert factory.promotion_usage(percent["id"]) == 1 and factory.promotion_usage(fixed["id"]) == 1


def test_shipping_is_free_when_the_discounted_subtotal_reaches_the_threshold(api: Api, factory, user, standard):
    product = factory.product(base_price_amount=5000)
    order = buy(api, user["token"], product["id"], shipping_method_id=standard["id"])
    assert order["shipping_total"] == usd(0)
    promotion = factory.promotion(kind="FIXED_AMOUNT", value=1)
    order = buy(api, user["token"], product["id"], shipping_method_id=standard["id"], promotion_codes=[promotion["code"]])
    assert order["shipping_total"] == usd(599)


def test_no_shipping_method_charges_no_shipping(api: Api, factory, user):
    order = buy(api, user["token"], factory.product(base_price_amount=100)["id"])
    assert order["shipping_total"] == usd(0)
    order = buy(api, user["token"], factory.product(base_price_amount=100)["id"], shipping_method_id=None)
    assert order["shipping_total"] == usd(0)


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_shipping_method_is_refused_not_taken_for_none(api: Api, factory, user, blank):
    product = factory.product(stock=5)
    add_to_cart(api, user["token"], product["id"])
    assert_error(checkout(api, user["token"], shipping_method_id=blank), 400, "bad_request", "shipping method")
    assert factory.product_stock(product["id"]) == 5 and order_count(factory, user["id"]) == 0
    variables = {"input": {"shippingAddress": graphql_address(), "shippingMethodId": blank}}
    [error] = api.data(ORDER_CREATE, variables, token=user["token"])["orderCreate"]["errors"]
    assert error["code"] == "INVALID" and error["field"] == ["input", "shippingMethodId"]


def test_tax_falls_back_to_the_country_rate_then_zero(api: Api, factory, user):
    factory.tax_rate("IS", "", "0.24")
    product = factory.product(base_price_amount=1000)
    order = buy(api, user["token"], product["id"], shipping_address=address(country="is", state="NOPE"))
    assert order["tax_total"] == usd(240)
    assert order["shipping_address"]["country"] == "IS"
    order = buy(api, user["token"], product["id"], shipping_address=address(country="AQ", state=""))
    assert order["tax_total"] == usd(0)


def test_checkout_reprices_at_the_current_price(api: Api, factory, user):
    now = dt.datetime.now(dt.UTC)
    product = factory.product(base_price_amount=2000, sale_price_amount=1500,
                              sale_starts_at=now - dt.timedelta(days=1), sale_ends_at=now + dt.timedelta(days=1))
    variant = factory.variant(product["id"], price_amount=2500)
    add_to_cart(api, user["token"], product["id"], 1)
    add_to_cart(api, user["token"], product["id"], 1, variant_id=variant["id"])
    factory.set_product(product["id"], sale_ends_at=now - dt.timedelta(seconds=1),
                        sale_starts_at=now - dt.timedelta(days=2))
    response = checkout(api, user["token"], shipping_address=address(country="AQ", state=""))
    order = response.json()["data"]
    assert sorted(item["unit_price"]["amount"] for item in order["items"]) == [2000, 2500]
    assert {item["sku"] for item in order["items"]} == {product["sku"], variant["sku"]}


def test_order_numbers_are_unique(api: Api, factory, user):
    product = factory.product(stock=50)
    numbers = {buy(api, user["token"], product["id"])["order_number"] for _ in range(5)}
    assert len(numbers) == 5


TWIN_COLUMNS = ("status, currency, subtotal_amount, discount_total_amount, tax_total_amount, shipping_total_amount, "
                "total_amount, shipping_address, billing_address, payment_method_id, shipping_method_id, "
                "promotion_codes, notes, created_at, updated_at")


def test_an_order_number_collision_is_retried_with_a_new_number(api: Api, factory, user):
    product = factory.product(stock=5)
    add_to_cart(api, user["token"], product["id"], 2)
    owner = factory.user()
    # Just before each of the checkout's first two INSERTs, another order takes the very number
    # that INSERT carries: two real collisions on the unique order number.
    twin = ", ".join(f"NEW.{column.strip()}" for column in TWIN_COLUMNS.split(","))
    with trigger_on_insert(
        factory, "orders", before=True,
        when=f"NEW.user_id = '{user['id']}' AND (SELECT count(*) FROM orders WHERE user_id = '{owner['id']}') < 2",
        then=f"INSERT INTO orders (id, order_number, user_id, {TWIN_COLUMNS}) "
             f"VALUES ('twin_' || NEW.order_number, NEW.order_number, '{owner['id']}', {twin})",
    ):
        response = checkout(api, user["token"])
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    taken = {row[0] for row in factory.execute(select(Order.order_number).where(Order.user_id == owner["id"]))}
    assert len(taken) == 2 and all(re.fullmatch(r"ORD-[A-Z0-9]{8}", number) for number in taken)
    assert re.fullmatch(r"ORD-[A-Z0-9]{8}", order["order_number"]) and order["order_number"] not in taken
    assert order_count(factory, user["id"]) == 1
    assert [item["quantity"] for item in order["items"]] == [2]
    assert factory.product_stock(product["id"]) == 3


# --- POST /orders: refusals leave everything unchanged ----------------------------------------------


def test_checkout_requires_authentication(api: Api):
    assert_error(api.post("/api/v1/orders", json={"shipping_address": address()}), 401, "unauthorized")


def test_an_empty_cart_cannot_be_ordered(api: Api, user):
    assert_error(checkout(api, user["token"]), 400, "bad_request", "cart is empty")
    api.get("/api/v1/cart", token=user["token"])
    assert_error(checkout(api, user["token"]), 400, "bad_request", "cart is empty")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"first_name": ""}, "first name"),
        ({"first_name": "   "}, "first name"),
        ({"last_name": None}, ""),
        ({"address1": "x" * 201}, "address line 1"),
        ({"city": ""}, "city"),
        ({"postal_code": ""}, "postal code"),
        ({"postal_code": "<script>"}, "postal code"),
        ({"country": "USA"}, "country"),
        ({"country": "XX"}, "country"),
        ({"country": 1}, ""),
        ({"phone_number": "call me"}, "phone"),
        ({"company": "a\nb"}, "control"),
    ],
)
def test_invalid_addresses_are_refused(api: Api, factory, user, change, words):
    product = factory.product(stock=5)
    add_to_cart(api, user["token"], product["id"], 1)
    response = checkout(api, user["token"], shipping_address=address(**change))
    assert_error(response, 400, "bad_request", words)
    response = checkout(api, user["token"], billing_address=address(**change))
    assert_error(response, 400, "bad_request", words)
    assert factory.product_stock(product["id"]) == 5
    assert len(api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"]) == 1


def test_missing_or_malformed_bodies_are_refused(api: Api, factory, user):
    add_to_cart(api, user["token"], factory.product()["id"])
    for body in ({}, {"shipping_address": "NY"}, {"shipping_address": None}, {"shipping_address": [1]},
                 {"shipping_address": {k: v for k, v in address().items() if k != "country"}},
                 {"shipping_address": address(), "promotion_codes": "SAVE10"},
                 {"shipping_address": address(), "notes": "n" * 2001},
                 {"shipping_address": address(), "payment_method_id": {"id": 1}}):
        assert_error(api.post("/api/v1/orders", token=user["token"], json=body), 400, "bad_request")
    headers = {"Authorization": f"Bearer {user['token']}", "Content-Type": "application/json"}
    assert_error(api.http.post("/api/v1/orders", content=b"nope", headers=headers), 400, "bad_request")
    assert order_count(factory, user["id"]) == 0


def test_unknown_shipping_method_is_refused(api: Api, factory, user):
    add_to_cart(api, user["token"], factory.product()["id"])
    assert_error(checkout(api, user["token"], shipping_method_id="ship_nope"), 400, "bad_request", "ship_nope")
    inactive = factory.shipping_method(active=False)
    assert_error(checkout(api, user["token"], shipping_method_id=inactive["id"]), 400, "bad_request")


def test_unusable_promotion_codes_are_refused_naming_the_code(api: Api, factory, user):
    product = factory.product(base_price_amount=1000, stock=5)
    add_to_cart(api, user["token"], product["id"], 1)
    now = dt.datetime.now(dt.UTC)
    expired = factory.promotion(ends_at=now - dt.timedelta(days=1))
    future = factory.promotion(starts_at=now + dt.timedelta(days=1))
    inactive = factory.promotion(active=False)
    exhausted = factory.promotion(usage_limit=2, usage_count=2)
    minimum = factory.promotion(kind="FIXED_AMOUNT", value=500, min_subtotal_amount=2500)
    valid = factory.promotion()
    for code in ("NOSUCHCODE", expired["code"], future["code"], inactive["code"], exhausted["code"], minimum["code"]):
        response = checkout(api, user["token"], promotion_codes=[valid["code"], code])
        assert_error(response, 400, "bad_request", code)
    assert factory.promotion_usage(valid["id"]) == 0
    assert factory.product_stock(product["id"]) == 5


def test_a_code_given_twice_applies_once(api: Api, factory, user):
    promotion = factory.promotion(kind="FIXED_AMOUNT", value=100)
    order = buy(api, user["token"], factory.product(base_price_amount=1000)["id"],
                promotion_codes=[promotion["code"], promotion["code"].lower()], shipping_address=address(country="AQ"))
    assert order["discount_total"] == usd(100)
    assert factory.promotion_usage(promotion["id"]) == 1


def test_a_promotion_with_its_last_use_taken_is_refused_without_side_effects(api: Api, factory):
    promotion = factory.promotion(usage_limit=1)
    first, second = factory.user(), factory.user()
    product = factory.product(stock=10)
    add_to_cart(api, second["token"], product["id"], 1)
    buy(api, first["token"], product["id"], promotion_codes=[promotion["code"]])
    response = checkout(api, second["token"], promotion_codes=[promotion["code"]])
    assert_error(response, 400, "bad_request", promotion["code"], "usage limit")
    assert factory.promotion_usage(promotion["id"]) == 1
    assert factory.product_stock(product["id"]) == 9
    assert order_count(factory, second["id"]) == 0


def test_stock_gone_since_adding_refuses_the_whole_order(api: Api, factory, user):
    plenty = factory.product(stock=10)
    scarce = factory.product(stock=3)
    promotion = factory.promotion()
    add_to_cart(api, user["token"], plenty["id"], 2)
    add_to_cart(api, user["token"], scarce["id"], 3)
    factory.set_product(scarce["id"], stock=2)
    response = checkout(api, user["token"], promotion_codes=[promotion["code"]])
    assert_error(response, 400, "bad_request", "stock", scarce["name"])
    assert factory.product_stock(plenty["id"]) == 10 and factory.product_stock(scarce["id"]) == 2
    assert factory.promotion_usage(promotion["id"]) == 0
    assert len(api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"]) == 2
    assert order_count(factory, user["id"]) == 0


def test_a_product_withdrawn_since_adding_refuses_the_order(api: Api, factory, user):
    product = factory.product()
    add_to_cart(api, user["token"], product["id"])
    factory.set_product(product["id"], status="ARCHIVED")
    assert_error(checkout(api, user["token"]), 400, "bad_request", "no longer available")


@pytest.mark.parametrize("line", ["product", "variant"])
def test_a_product_withdrawn_during_the_checkout_is_not_sold(api: Api, factory, user, line):
    product = factory.product(stock=5)
    variant = factory.variant(product["id"], stock=5)
    other = factory.product(stock=5)
    add_to_cart(api, user["token"], other["id"], 1)
    add_to_cart(api, user["token"], product["id"], 1, variant_id=variant["id"] if line == "variant" else None)
    # The product is archived after the cart was read and checked, before the stock is taken:
    # when the checkout writes its order lines (a trigger does it inside that transaction).
    with trigger_on_insert(factory, "order_items", when=f"NEW.product_id = '{product['id']}'",
                           then=f"UPDATE products SET status = 'ARCHIVED' WHERE id = '{product['id']}'"):
        response = checkout(api, user["token"])
    assert_error(response, 400, "bad_request", "no longer available")
    # All rolled back, the archiving included.
    assert order_count(factory, user["id"]) == 0
    assert (factory.product_stock(product["id"]), factory.variant_stock(variant["id"])) == (5, 5)
    assert factory.product_stock(other["id"]) == 5
    assert len(api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"]) == 2
    assert checkout(api, user["token"]).status_code == 201


# --- idempotency ------------------------------------------------------------------------------------


def test_a_repeated_idempotency_key_returns_the_same_order(api: Api, factory, user):
    product = factory.product(stock=10)
    add_to_cart(api, user["token"], product["id"], 2)
    key = unique("key-")
    first = checkout(api, user["token"], key=key)
    assert first.status_code == 201, first.text
    again = checkout(api, user["token"], key=key)
    assert again.status_code == 201, again.text
    assert again.json()["data"] == first.json()["data"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert factory.product_stock(product["id"]) == 8
    assert order_count(factory, user["id"]) == 1


def test_an_idempotency_key_reused_for_another_request_conflicts(api: Api, factory, user):
    product = factory.product(stock=10)
    add_to_cart(api, user["token"], product["id"], 1)
    key = unique("key-")
    assert checkout(api, user["token"], key=key).status_code == 201
    add_to_cart(api, user["token"], product["id"], 1)
    response = checkout(api, user["token"], key=key, notes="something else")
    assert_error(response, 409, "conflict", "idempotency key")
    assert order_count(factory, user["id"]) == 1


def test_idempotency_keys_belong_to_one_user(api: Api, factory):
    product = factory.product(stock=10)
    key = unique("key-")
    a, b = factory.user(), factory.user()
    add_to_cart(api, a["token"], product["id"])
    add_to_cart(api, b["token"], product["id"])
    first = checkout(api, a["token"], key=key).json()["data"]
    second = checkout(api, b["token"], key=key).json()["data"]
    assert first["id"] != second["id"]


def test_a_failed_keyed_request_can_be_retried(api: Api, factory, user):
    product = factory.product(stock=10)
    key = unique("key-")
    assert_error(checkout(api, user["token"], key=key), 400, "bad_request", "cart is empty")
    add_to_cart(api, user["token"], product["id"])
    assert checkout(api, user["token"], key=key).status_code == 201


def test_graphql_idempotency_key_in_the_input(api: Api, factory, user):
    add_to_cart(api, user["token"], factory.product()["id"])
    variables = {"input": {"shippingAddress": graphql_address(), "idempotencyKey": unique("gql-")}}
    first = api.data(ORDER_CREATE, variables, token=user["token"])["orderCreate"]
    again = api.data(ORDER_CREATE, variables, token=user["token"])["orderCreate"]
    assert first["errors"] == [] and again["errors"] == []
    assert first["order"]["id"] == again["order"]["id"]
    variables["input"]["notes"] = "different"
    conflict = api.data(ORDER_CREATE, variables, token=user["token"])["orderCreate"]
    assert conflict["order"] is None and conflict["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT"
    bad = {"input": {"shippingAddress": graphql_address(), "idempotencyKey": " "}}
    assert api.data(ORDER_CREATE, bad, token=user["token"])["orderCreate"]["errors"][0]["code"] == "INVALID"


# --- GraphQL checkout errors ----------------------------------------------------------------------


def test_graphql_checkout_reports_codes(api: Api, factory, user):
    variables = {"input": {"shippingAddress": graphql_address()}}
    result = api.data(ORDER_CREATE, variables, token=user["token"])["orderCreate"]
    assert result["errors"][0]["code"] == "CART_EMPTY"
    product = factory.product(stock=1)
    add_to_cart(api, user["token"], product["id"])
    variables["input"]["promotionCodes"] = ["NOPE-" + unique()]
    result = api.data(ORDER_CREATE, variables, token=user["token"])["orderCreate"]
    assert result["errors"][0]["code"] == "PROMOTION_INVALID"
    assert result["errors"][0]["field"] == ["input", "promotionCodes"]
    variables["input"] = {"shippingAddress": graphql_address(postalCode="")}
    result = api.data(ORDER_CREATE, variables, token=user["token"])["orderCreate"]
    assert result["errors"][0] == {"code": "INVALID", "message": "Shipping address: postal code is required",
                                   "field": ["input", "shippingAddress", "postalCode"]}
    factory.set_product(product["id"], stock=0)
    variables["input"] = {"shippingAddress": graphql_address()}
    result = api.data(ORDER_CREATE, variables, token=user["token"])["orderCreate"]
    assert result["errors"][0]["code"] == "OUT_OF_STOCK"
    assert error_codes(api.graphql(ORDER_CREATE, variables)) == ["UNAUTHENTICATED"]


# --- GET /orders ------------------------------------------------------------------------------------


def test_orders_lists_own_orders_newest_first_with_meta(api: Api, factory):
    user, other = factory.user(), factory.user()
    product = factory.product(stock=100)
    placed = [buy(api, user["token"], product["id"])["id"] for _ in range(3)]
    buy(api, other["token"], product["id"])
    response = api.get("/api/v1/orders", token=user["token"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert [order["id"] for order in body["data"]] == placed[::-1]
    assert set(body["data"][0]) == ORDER_FIELDS
    assert body["meta"] == {"page": 1, "page_size": 20, "total_items": 3, "total_pages": 1,
                            "has_next": False, "has_prev": False}
    page = api.get("/api/v1/orders?page=2&page_size=2", token=user["token"]).json()
    assert [order["id"] for order in page["data"]] == [placed[0]]
    assert page["meta"] == {"page": 2, "page_size": 2, "total_items": 3, "total_pages": 2,
                            "has_next": False, "has_prev": True}
    past = api.get("/api/v1/orders?page=9&page_size=2", token=user["token"]).json()
    assert past["data"] == [] and past["meta"]["total_items"] == 3


def test_orders_of_a_new_user_is_an_empty_page(api: Api, user):
    body = api.get("/api/v1/orders", token=user["token"]).json()
    assert body == {"data": [], "meta": {"page": 1, "page_size": 20, "total_items": 0, "total_pages": 0,
                                         "has_next": False, "has_prev": False}}


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=x", "page_size=0", "page_size=abc"])
def test_orders_refuses_bad_paging(api: Api, user, query):
    assert_error(api.get(f"/api/v1/orders?{query}", token=user["token"]), 400, "bad_request")


def test_orders_requires_authentication(api: Api):
    assert_error(api.get("/api/v1/orders"), 401, "unauthorized")


# --- GET /orders/{id} -------------------------------------------------------------------------------


def test_order_detail_for_its_owner(api: Api, factory, user):
    order = buy(api, user["token"], factory.product()["id"])
    response = api.get(f"/api/v1/orders/{order['id']}", token=user["token"])
    assert response.status_code == 200, response.text
    assert response.json()["data"] == order


@pytest.mark.parametrize("role", ["admin", "manager", "customer_experience"])
def test_order_detail_for_staff(api: Api, factory, user, role):
    order = buy(api, user["token"], factory.product()["id"])
    staff = factory.user(roles=(role,))
    response = api.get(f"/api/v1/orders/{order['id']}", token=staff["token"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == order["id"]


def test_order_detail_of_someone_else_is_forbidden(api: Api, factory, user):
    order = buy(api, user["token"], factory.product()["id"])
    stranger = factory.user()
    assert_error(api.get(f"/api/v1/orders/{order['id']}", token=stranger["token"]), 403, "forbidden", "permission")
    body = api.graphql("query($id: ID!) { node(id: $id) { id } }", {"id": order["id"]}, token=stranger["token"])
    assert body["data"]["node"] is None


def test_unknown_order_is_not_found(api: Api, user):
    assert_error(api.get("/api/v1/orders/ord_unknown", token=user["token"]), 404, "not_found")
    assert_error(api.get(f"/api/v1/orders/{'x' * 3000}", token=user["token"]), 404, "not_found")


def test_order_detail_requires_authentication(api: Api):
    assert_error(api.get("/api/v1/orders/ord_x"), 401, "unauthorized")
    assert_error(api.get("/api/v1/orders/"), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/api/v1/orders/", "/api/v1/orders/%20"])
def test_order_detail_without_an_id_is_a_bad_request(api: Api, factory, user, path):
    buy(api, user["token"], factory.product()["id"])
    assert_error(api.get(path, token=user["token"]), 400, "bad_request", "order id is required")
    body = api.graphql('{ order(id: "") { id } }', token=user["token"])
    assert error_codes(body) == ["INVALID"] and body["errors"][0]["message"] == "Order ID is required"


def test_checkout_still_works_with_a_trailing_slash(api: Api, factory, user):
    add_to_cart(api, user["token"], factory.product()["id"])
    response = api.post("/api/v1/orders/", token=user["token"], json={"shipping_address": address()})
    assert response.status_code == 201, response.text
    assert order_count(factory, user["id"]) == 1


def test_order_detail_is_not_widened_by_the_read_orders_permission(api: Api, factory, user):
    # ROUTES.md: the owner or the admin, manager and customer_experience roles; anyone else → 403.
    order = buy(api, user["token"], factory.product()["id"])
    auditor = factory.user(roles=("user", factory.role(permissions=("read_orders",))["name"]))
    assert_error(api.get(f"/api/v1/orders/{order['id']}", token=auditor["token"]), 403, "forbidden")
    body = api.graphql("query($id: ID!) { order(id: $id) { id } node(id: $id) { id } }", {"id": order["id"]},
                       token=auditor["token"])
    assert error_codes(body) == ["FORBIDDEN"]


# --- status workflow --------------------------------------------------------------------------------

STATUS_UPDATE = """
mutation Move($id: ID!, $status: OrderStatus!) {
  orderStatusUpdate(id: $id, status: $status) { order { id status } errors { code message field } }
}
"""


def move(api: Api, token: str, order_id: str, status: str) -> dict:
    return api.data(STATUS_UPDATE, {"id": order_id, "status": status}, token=token)["orderStatusUpdate"]


def test_staff_move_orders_through_the_workflow(api: Api, factory, user):
    manager = factory.user(roles=("manager",))
    order = buy(api, user["token"], factory.product()["id"])
    for status in ("PAID", "PROCESSING", "SHIPPED", "DELIVERED", "REFUNDED"):
        result = move(api, manager["token"], order["id"], status)
        assert result["errors"] == [] and result["order"]["status"] == status
    assert api.get(f"/api/v1/orders/{order['id']}", token=user["token"]).json()["data"]["status"] == "refunded"


@pytest.mark.parametrize(
    ("path", "target"),
    [((), "SHIPPED"), ((), "PENDING"), ((), "DELIVERED"), (("PAID",), "DELIVERED"), (("PAID", "PROCESSING"), "REFUNDED"),
     (("PAID", "PROCESSING", "SHIPPED"), "CANCELED"), (("CANCELED",), "PAID"), (("PAID", "REFUNDED"), "PROCESSING")],
)
def test_moves_outside_the_workflow_are_invalid_transitions(api: Api, factory, user, path, target):
    admin = factory.user(roles=("admin",))
    order = buy(api, user["token"], factory.product()["id"])
    for status in path:
        assert move(api, admin["token"], order["id"], status)["errors"] == []
    result = move(api, admin["token"], order["id"], target)
    assert result["order"] is None
    assert result["errors"][0]["code"] == "INVALID_TRANSITION"
    current = api.get(f"/api/v1/orders/{order['id']}", token=user["token"]).json()["data"]["status"]
    assert current == (path[-1] if path else "PENDING").lower()


def test_canceling_restores_the_stock_once(api: Api, factory, user):
    admin = factory.user(roles=("admin",))
    product = factory.product(stock=10)
    variant = factory.variant(product["id"], stock=5)
    add_to_cart(api, user["token"], product["id"], 3)
    add_to_cart(api, user["token"], product["id"], 2, variant_id=variant["id"])
    order = checkout(api, user["token"]).json()["data"]
    assert (factory.product_stock(product["id"]), factory.variant_stock(variant["id"])) == (7, 3)
    assert move(api, admin["token"], order["id"], "CANCELED")["errors"] == []
    assert (factory.product_stock(product["id"]), factory.variant_stock(variant["id"])) == (10, 5)
    assert move(api, admin["token"], order["id"], "CANCELED")["errors"][0]["code"] == "INVALID_TRANSITION"
    assert (factory.product_stock(product["id"]), factory.variant_stock(variant["id"])) == (10, 5)


def test_canceling_after_a_variant_delete_attempt_restores_the_variant_not_the_product(api: Api, factory, user):
    manager = factory.user(roles=("manager",))
    product = factory.product(stock=10)
    ordered, unordered = factory.variant(product["id"], stock=5), factory.variant(product["id"], stock=5)
    add_to_cart(api, user["token"], product["id"], 2, variant_id=ordered["id"])
    order = checkout(api, user["token"]).json()["data"]
    delete = 'mutation($id: ID!) { productVariantDelete(id: $id) { deletedId errors { code message field } } }'
    refused = api.data(delete, {"id": ordered["id"]}, token=manager["token"])["productVariantDelete"]
    assert refused["deletedId"] is None
    assert refused["errors"][0]["code"] == "INVALID" and "appears in orders" in refused["errors"][0]["message"]
    assert move(api, manager["token"], order["id"], "CANCELED")["errors"] == []
    # The units go back to the variant they came from; the product's own stock is untouched.
    assert (factory.product_stock(product["id"]), factory.variant_stock(ordered["id"])) == (10, 5)
    deleted = api.data(delete, {"id": unordered["id"]}, token=manager["token"])["productVariantDelete"]
    assert deleted == {"deletedId": unordered["id"], "errors": []}


def test_status_updates_need_manage_orders(api: Api, factory, user):
    order = buy(api, user["token"], factory.product()["id"])
    for token in (user["token"], factory.user(roles=("customer_experience",))["token"]):
        body = api.graphql(STATUS_UPDATE, {"id": order["id"], "status": "PAID"}, token=token)
        assert error_codes(body) == ["FORBIDDEN"]
    body = api.graphql(STATUS_UPDATE, {"id": order["id"], "status": "PAID"})
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert api.get(f"/api/v1/orders/{order['id']}", token=user["token"]).json()["data"]["status"] == "pending"


def test_status_updates_need_a_staff_role_as_well_as_manage_orders(api: Api, factory, user):
    order = buy(api, user["token"], factory.product()["id"])
    mover = factory.user(roles=("user", factory.role(permissions=("manage_orders",))["name"]))
    body = api.graphql(STATUS_UPDATE, {"id": order["id"], "status": "PAID"}, token=mover["token"])
    assert error_codes(body) == ["FORBIDDEN"]
    assert api.get(f"/api/v1/orders/{order['id']}", token=user["token"]).json()["data"]["status"] == "pending"


def sdl_directives(sdl: str, type_name: str, field_name: str) -> list[tuple[str, list[str]]]:
    """The directives on a field of the exported SDL, as (name, [argument values])."""
    for definition in parse(sdl).definitions:
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value == type_name:
            [field] = [f for f in definition.fields if f.name.value == field_name]
            return [(d.name.value, [v.value for a in d.arguments or () for v in a.value.values])
                    for d in field.directives or ()]
    raise AssertionError(f"{type_name} not in the SDL")


def test_the_exported_sdl_shows_who_may_view_and_move_orders(backend):
    exported = run_cli(backend.database_url, "export-schema")
    assert exported.returncode == 0, exported.stderr
    assert sdl_directives(exported.stdout, "Mutation", "orderStatusUpdate") == [
        ("hasRole", ["admin", "manager", "customer_experience"]), ("hasPermission", ["manage_orders"]),
    ]
    # Who sees an order is decided per order (owner or staff role) once signed in.
    assert sdl_directives(exported.stdout, "Query", "order") == [("authenticated", [])]


def test_status_update_of_an_unknown_order_is_not_found(api: Api, factory):
    admin = factory.user(roles=("admin",))
    assert move(api, admin["token"], "ord_unknown", "PAID")["errors"][0]["code"] == "NOT_FOUND"
    body = api.graphql(STATUS_UPDATE, {"id": "ord_x", "status": "LOST"}, token=admin["token"])
    assert error_codes(body) == ["BAD_USER_INPUT"]


# --- GraphQL reads and dataloaders -------------------------------------------------------------------

ORDERS_DEEP = """
{ orders(first: 50) { totalCount nodes { id orderNumber status
    items { sku product { id brand { name } } variant { id sku productId price { amount } } } } } }
"""


def test_order_items_products_variants_and_brands_load_in_constant_statements(api: Api, factory):
    def statements(orders: int) -> int:
        user = factory.user()
        for _ in range(orders):
            a = factory.product(brand_id=factory.brand()["id"], stock=10)
            b = factory.product(brand_id=factory.brand()["id"], stock=10)
            variant = factory.variant(b["id"], stock=10)
            add_to_cart(api, user["token"], a["id"])
            add_to_cart(api, user["token"], b["id"], 2, variant_id=variant["id"])
            assert checkout(api, user["token"]).status_code == 201
        response = api.graphql_response(ORDERS_DEEP, token=user["token"])
        body = response.json()
        assert "errors" not in body, body
        nodes = body["data"]["orders"]["nodes"]
        assert body["data"]["orders"]["totalCount"] == len(nodes) == orders
        for order in nodes:
            plain, with_variant = sorted(order["items"], key=lambda item: item["variant"] is not None)
            assert plain["variant"] is None and plain["product"]["brand"]["name"]
            assert with_variant["variant"]["sku"] == with_variant["sku"]
            assert with_variant["variant"]["productId"] == with_variant["product"]["id"]
        return int(response.headers["x-sql-statements"])

    counts = {orders: statements(orders) for orders in (1, 4, 15)}
    assert len(set(counts.values())) == 1, counts


def test_graphql_order_and_node_for_the_owner(api: Api, factory, user):
    order = buy(api, user["token"], factory.product()["id"])
    query = """query($id: ID!) {
      order(id: $id) { id orderNumber status total { amount } shippingAddress { firstName postalCode }
                       items { variant { id } product { id } } }
      node(id: $id) { ... on Order { id } }
    }"""
    data = api.data(query, {"id": order["id"]}, token=user["token"])
    assert data["order"]["orderNumber"] == order["order_number"]
    assert data["order"]["status"] == "PENDING"
    assert data["order"]["shippingAddress"] == {"firstName": "John", "postalCode": "10001"}
    assert data["node"] == {"id": order["id"]}
    stranger = factory.user()
    body = api.graphql(query, {"id": order["id"]}, token=stranger["token"])
    assert error_codes(body) == ["FORBIDDEN"]
    assert api.data("{ order(id: \"ord_nope\") { id } }", token=user["token"])["order"] is None


def test_shipping_methods_are_public(api: Api, factory):
    method = factory.shipping_method(price_amount=1234, free_over_amount=None)
    hidden = factory.shipping_method(active=False)
    data = api.data("{ shippingMethods { id name price { amount currency } freeOver { amount } active } }")
    ids = {m["id"]: m for m in data["shippingMethods"]}
    assert ids[method["id"]]["price"] == usd(1234)
    assert ids[method["id"]]["freeOver"] is None
    assert hidden["id"] not in ids
