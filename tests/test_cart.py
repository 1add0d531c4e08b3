"""The cart over HTTP (REST routes and GraphQL), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import unique
from tests.support.api import Api, error_codes
from tests.support.shop import add_to_cart

CART_FIELDS = {"id", "user_id", "session_id", "items", "created_at", "updated_at"}
ITEM_FIELDS = {"id", "product_id", "variant_id", "sku", "name", "price", "quantity", "attributes"}


def assert_error(response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    for word in words:
        assert word.lower() in body["error"]["message"].lower(), body["error"]["message"]


@pytest.fixture
def user(factory):
    return factory.user()


# --- GET /cart ------------------------------------------------------------------------------------


def test_get_cart_requires_authentication(api: Api):
    assert_error(api.get("/api/v1/cart"), 401, "unauthorized")
    assert_error(api.get("/api/v1/cart", headers={"Authorization": "Bearer nonsense"}), 401, "unauthorized")


def test_first_get_creates_an_empty_cart_with_the_documented_shape(api: Api, user):
    response = api.get("/api/v1/cart", token=user["token"])
    assert response.status_code == 200, response.text
    cart = response.json()["data"]
    assert set(cart) == CART_FIELDS
    assert cart["id"].startswith("cart_")
    assert cart["user_id"] == user["id"]
    assert cart["session_id"] == ""
    assert cart["items"] == []
    assert cart["created_at"].endswith("Z")
    again = api.get("/api/v1/cart", token=user["token"]).json()["data"]
    assert again["id"] == cart["id"]


def test_concurrent_first_requests_share_one_cart(api: Api, backend, factory):
    user = factory.user()
    product = factory.product(stock=50)

    def first_use(index: int):
        client = Api(backend.server.base_url)
        try:
            if index % 2:
                return client.get("/api/v1/cart", token=user["token"])
            return add_to_cart(client, user["token"], product["id"], 1)
        finally:
            client.close()

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(first_use, range(8)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    cart = api.get("/api/v1/cart", token=user["token"]).json()["data"]
    assert [item["quantity"] for item in cart["items"]] == [4]


# --- POST /cart/items -------------------------------------------------------------------------------


def test_add_item_returns_the_cart_with_the_documented_item_fields(api: Api, factory, user):
    product = factory.product(base_price_amount=99999, stock=5, sku=unique("LAPTOP-"))
    response = add_to_cart(api, user["token"], product["id"], 2, attributes={"color": "Black"})
    assert response.status_code == 200, response.text
    cart = response.json()["data"]
    assert set(cart) == CART_FIELDS
    [item] = cart["items"]
    assert set(item) == ITEM_FIELDS
    assert item["id"].startswith("item_")
    assert item["product_id"] == product["id"]
    assert item["variant_id"] is None
    assert item["sku"] == product["sku"]
    assert item["name"] == product["name"]
    assert item["price"] == {"amount": 99999, "currency": "USD"}
    assert item["quantity"] == 2
    assert item["attributes"] == {"color": "Black"}


def test_adding_the_same_product_again_adds_to_its_line(api: Api, factory, user):
    product = factory.product(stock=10)
    add_to_cart(api, user["token"], product["id"], 2)
    cart = add_to_cart(api, user["token"], product["id"], 3).json()["data"]
    assert [(item["product_id"], item["quantity"]) for item in cart["items"]] == [(product["id"], 5)]


def test_quantity_defaults_to_one(api: Api, factory, user):
    product = factory.product()
    response = api.post("/api/v1/cart/items", token=user["token"], json={"product_id": product["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["items"][0]["quantity"] == 1


def test_cart_line_shows_the_sale_price_while_the_sale_is_open(api: Api, factory, user):
    now = dt.datetime.now(dt.UTC)
    on_sale = factory.product(base_price_amount=2000, sale_price_amount=1500,
                              sale_starts_at=now - dt.timedelta(days=1), sale_ends_at=now + dt.timedelta(days=1))
    ended = factory.product(base_price_amount=2000, sale_price_amount=1500,
                            sale_starts_at=now - dt.timedelta(days=3), sale_ends_at=now - dt.timedelta(days=1))
    add_to_cart(api, user["token"], on_sale["id"])
    cart = add_to_cart(api, user["token"], ended["id"]).json()["data"]
    prices = {item["product_id"]: item["price"]["amount"] for item in cart["items"]}
    assert prices == {on_sale["id"]: 1500, ended["id"]: 2000}


def test_variant_lines_are_separate_and_use_the_variant_sku_name_and_price(api: Api, factory, user):
    product = factory.product(base_price_amount=1000, stock=10)
    priced = factory.variant(product["id"], price_amount=1300, stock=4)
    plain = factory.variant(product["id"], price_amount=None, stock=4)
    add_to_cart(api, user["token"], product["id"], 1)
    add_to_cart(api, user["token"], product["id"], 1, variant_id=priced["id"])
    cart = add_to_cart(api, user["token"], product["id"], 2, variant_id=plain["id"]).json()["data"]
    lines = {item["variant_id"]: item for item in cart["items"]}
    assert set(lines) == {None, priced["id"], plain["id"]}
    assert lines[priced["id"]]["sku"] == priced["sku"] and lines[priced["id"]]["name"] == priced["name"]
    assert lines[priced["id"]]["price"]["amount"] == 1300
    assert lines[plain["id"]]["price"]["amount"] == 1000
    assert lines[plain["id"]]["quantity"] == 2


def test_a_variant_with_its_own_price_ignores_the_product_sale_one_without_takes_it(api: Api, factory, user):
    # docs/orders.md "Unit prices": only products have sale prices.
    now = dt.datetime.now(dt.UTC)
    product = factory.product(base_price_amount=2000, sale_price_amount=1500, stock=10,
                              sale_starts_at=now - dt.timedelta(days=1), sale_ends_at=now + dt.timedelta(days=1))
    priced = factory.variant(product["id"], price_amount=2500)
    plain = factory.variant(product["id"], price_amount=None)
    add_to_cart(api, user["token"], product["id"], 1, variant_id=priced["id"])
    cart = add_to_cart(api, user["token"], product["id"], 1, variant_id=plain["id"]).json()["data"]
    assert {i["variant_id"]: i["price"]["amount"] for i in cart["items"]} == {priced["id"]: 2500, plain["id"]: 1500}


def test_a_variant_of_another_product_is_refused(api: Api, factory, user):
    product = factory.product()
    other = factory.product()
    variant = factory.variant(other["id"])
    response = add_to_cart(api, user["token"], product["id"], 1, variant_id=variant["id"])
    assert_error(response, 400, "bad_request", "variant")
    assert add_to_cart(api, user["token"], product["id"], 1, variant_id="var_unknown").status_code == 400


@pytest.mark.parametrize("status", ["DRAFT", "ARCHIVED"])
def test_a_product_that_is_not_active_is_refused(api: Api, factory, user, status):
    product = factory.product(status=status)
    assert_error(add_to_cart(api, user["token"], product["id"]), 400, "bad_request", "not available")


def test_an_unknown_product_is_refused_with_400(api: Api, user):
    assert_error(add_to_cart(api, user["token"], "prod_nope"), 400, "bad_request", "not available")
    assert_error(add_to_cart(api, user["token"], "x" * 5000), 400, "bad_request")


def test_more_than_the_stock_is_refused(api: Api, factory, user):
    product = factory.product(stock=3)
    assert_error(add_to_cart(api, user["token"], product["id"], 4), 400, "bad_request", "stock")
    assert add_to_cart(api, user["token"], product["id"], 2).status_code == 200
    # The line would hold 4 > 3.
    assert_error(add_to_cart(api, user["token"], product["id"], 2), 400, "bad_request", "stock")
    sold_out = factory.product(stock=0)
    assert_error(add_to_cart(api, user["token"], sold_out["id"], 1), 400, "bad_request", "out of stock")
    cart = api.get("/api/v1/cart", token=user["token"]).json()["data"]
    assert [item["quantity"] for item in cart["items"]] == [2]


def test_variant_stock_is_checked_not_the_product_stock(api: Api, factory, user):
    product = factory.product(stock=100)
    variant = factory.variant(product["id"], stock=1)
    assert_error(add_to_cart(api, user["token"], product["id"], 2, variant_id=variant["id"]), 400, "bad_request")


@pytest.mark.parametrize("quantity", [0, -1, 100, 10**12, "two", 1.5, None, True])
def test_quantity_out_of_range_or_not_an_integer_is_refused(api: Api, factory, user, quantity):
    product = factory.product(stock=1000)
    response = api.post("/api/v1/cart/items", token=user["token"],
                        json={"product_id": product["id"], "quantity": quantity})
    assert_error(response, 400, "bad_request")


def test_a_line_cannot_grow_beyond_the_maximum_quantity(api: Api, factory, user):
    product = factory.product(stock=1000)
    assert add_to_cart(api, user["token"], product["id"], 99).status_code == 200
    assert_error(add_to_cart(api, user["token"], product["id"], 1), 400, "bad_request", "99")


@pytest.mark.parametrize(
    "body",
    [{}, {"quantity": 1}, {"product_id": None}, {"product_id": ["prod_x"]}, {"product_id": "p", "attributes": [1]},
     {"product_id": "p", "attributes": "red"}],
)
def test_invalid_add_bodies_are_refused(api: Api, factory, user, body):
    product = factory.product()
    if body.get("product_id") == "p":
        body = {**body, "product_id": product["id"]}
    assert_error(api.post("/api/v1/cart/items", token=user["token"], json=body), 400, "bad_request")


def test_non_json_and_non_object_bodies_are_refused(api: Api, user):
    headers = {"Authorization": f"Bearer {user['token']}", "Content-Type": "application/json"}
    assert_error(api.http.post("/api/v1/cart/items", content=b"{nope", headers=headers), 400, "bad_request")
    assert_error(api.http.post("/api/v1/cart/items", content=b"[1, 2]", headers=headers), 400, "bad_request")
    assert_error(api.http.post("/api/v1/cart/items", content=b"", headers=headers), 400, "bad_request")


def test_add_requires_authentication(api: Api, factory):
    product = factory.product()
    assert_error(api.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 1}), 401, "unauthorized")


# --- PATCH /cart/items/{id} -------------------------------------------------------------------------


def test_update_sets_the_quantity(api: Api, factory, user):
    product = factory.product(stock=10)
    item = add_to_cart(api, user["token"], product["id"], 1).json()["data"]["items"][0]
    response = api.patch(f"/api/v1/cart/items/{item['id']}", token=user["token"], json={"quantity": 7})
    assert response.status_code == 200, response.text
    cart = response.json()["data"]
    assert set(cart) == CART_FIELDS
    assert [(i["id"], i["quantity"]) for i in cart["items"]] == [(item["id"], 7)]
    assert api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"][0]["quantity"] == 7


def test_update_beyond_the_stock_or_range_is_refused(api: Api, factory, user):
    product = factory.product(stock=5)
    item = add_to_cart(api, user["token"], product["id"], 1).json()["data"]["items"][0]
    path = f"/api/v1/cart/items/{item['id']}"
    assert_error(api.patch(path, token=user["token"], json={"quantity": 6}), 400, "bad_request", "stock")
    for quantity in (0, -3, 100, 2**40, "x", None):
        assert_error(api.patch(path, token=user["token"], json={"quantity": quantity}), 400, "bad_request")
    assert_error(api.patch(path, token=user["token"], json={}), 400, "bad_request")
    assert api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"][0]["quantity"] == 1


def test_update_of_another_users_item_is_not_found(api: Api, factory, user):
    product = factory.product()
    other = factory.user()
    item = add_to_cart(api, other["token"], product["id"], 1).json()["data"]["items"][0]
    api.get("/api/v1/cart", token=user["token"])
    response = api.patch(f"/api/v1/cart/items/{item['id']}", token=user["token"], json={"quantity": 2})
    assert_error(response, 404, "not_found", "not found")
    assert_error(api.patch("/api/v1/cart/items/item_unknown", token=user["token"], json={"quantity": 2}),
                 404, "not_found")
    assert api.get("/api/v1/cart", token=other["token"]).json()["data"]["items"][0]["quantity"] == 1


def test_update_requires_authentication(api: Api):
    assert_error(api.patch("/api/v1/cart/items/item_x", json={"quantity": 1}), 401, "unauthorized")


# --- DELETE /cart/items/{id} and DELETE /cart ------------------------------------------------------


def test_remove_deletes_the_line(api: Api, factory, user):
    keep, drop = factory.product(), factory.product()
    add_to_cart(api, user["token"], keep["id"])
    item = next(i for i in add_to_cart(api, user["token"], drop["id"]).json()["data"]["items"]
                if i["product_id"] == drop["id"])
    response = api.delete(f"/api/v1/cart/items/{item['id']}", token=user["token"])
    assert response.status_code == 200, response.text
    assert [i["product_id"] for i in response.json()["data"]["items"]] == [keep["id"]]
    assert_error(api.delete(f"/api/v1/cart/items/{item['id']}", token=user["token"]), 404, "not_found")


def test_remove_of_another_users_item_is_not_found(api: Api, factory, user):
    product = factory.product()
    other = factory.user()
    item = add_to_cart(api, other["token"], product["id"]).json()["data"]["items"][0]
    assert_error(api.delete(f"/api/v1/cart/items/{item['id']}", token=user["token"]), 404, "not_found")
    assert len(api.get("/api/v1/cart", token=other["token"]).json()["data"]["items"]) == 1


def test_remove_requires_authentication(api: Api):
    assert_error(api.delete("/api/v1/cart/items/item_x"), 401, "unauthorized")


def test_clear_empties_the_cart_and_keeps_it(api: Api, factory, user):
    cart_id = add_to_cart(api, user["token"], factory.product()["id"]).json()["data"]["id"]
    add_to_cart(api, user["token"], factory.product()["id"])
    response = api.delete("/api/v1/cart", token=user["token"])
    assert response.status_code == 200, response.text
    cart = response.json()["data"]
    assert set(cart) == CART_FIELDS
    assert cart["items"] == [] and cart["id"] == cart_id
    assert api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"] == []
    # Clearing an empty (or brand-new) cart is fine too.
    assert api.delete("/api/v1/cart", token=factory.user()["token"]).status_code == 200


def test_clear_requires_authentication(api: Api):
    assert_error(api.delete("/api/v1/cart"), 401, "unauthorized")


# --- GraphQL ---------------------------------------------------------------------------------------

CART_ITEM_ADD = """
mutation Add($input: CartItemAddInput!) {
  cartItemAdd(input: $input) {
    cart { id itemCount subtotal { amount currency } items { productId quantity lineTotal { amount } product { id name } } }
    errors { code message field }
  }
}
"""


def test_graphql_cart_requires_authentication(api: Api):
    body = api.graphql("{ cart { id } }")
    assert error_codes(body) == ["UNAUTHENTICATED"]
    body = api.graphql('mutation { cartClear { errors { code } } }')
    assert error_codes(body) == ["UNAUTHENTICATED"]


def test_graphql_add_returns_the_cart_with_totals_and_products(api: Api, factory, user):
    product = factory.product(base_price_amount=1250, stock=9)
    data = api.data(CART_ITEM_ADD, {"input": {"productId": product["id"], "quantity": 3}}, token=user["token"])
    payload = data["cartItemAdd"]
    assert payload["errors"] == []
    cart = payload["cart"]
    assert cart["itemCount"] == 3
    assert cart["subtotal"] == {"amount": 3750, "currency": "USD"}
    assert cart["items"] == [{"productId": product["id"], "quantity": 3, "lineTotal": {"amount": 3750},
                              "product": {"id": product["id"], "name": product["name"]}}]


def test_graphql_add_reports_user_errors_with_codes(api: Api, factory, user):
    product = factory.product(stock=1)
    data = api.data(CART_ITEM_ADD, {"input": {"productId": product["id"], "quantity": 2}}, token=user["token"])
    assert data["cartItemAdd"]["cart"] is None
    [error] = data["cartItemAdd"]["errors"]
    assert error["code"] == "OUT_OF_STOCK"
    assert error["field"] == ["input", "quantity"]
    data = api.data(CART_ITEM_ADD, {"input": {"productId": product["id"], "quantity": 0}}, token=user["token"])
    assert data["cartItemAdd"]["errors"][0]["code"] == "INVALID"


def test_graphql_update_and_remove_of_unknown_items_are_not_found(api: Api, user):
    data = api.data('mutation { u: cartItemUpdate(id: "item_x", quantity: 2) { errors { code } } '
                    'r: cartItemRemove(id: "item_x") { errors { code } } }', token=user["token"])
    assert data["u"]["errors"] == [{"code": "NOT_FOUND"}]
    assert data["r"]["errors"] == [{"code": "NOT_FOUND"}]


def test_reading_the_cart_costs_the_same_statements_for_one_or_many_items(api: Api, factory):
    def statements(items: int) -> int:
        user = factory.user()
        for _ in range(items):
            add_to_cart(api, user["token"], factory.product()["id"])
        response = api.get("/api/v1/cart", token=user["token"])
        assert len(response.json()["data"]["items"]) == items
        return int(response.headers["x-sql-statements"])

    assert statements(1) == statements(8)


# --- attributes: size and nesting ---------------------------------------------------------------


def nested(depth: int) -> dict:
    """`{"a": {"a": … {"a": 1}}}` with `depth` objects."""
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value  # type: ignore[return-value]


def test_attributes_may_nest_sixteen_levels(api: Api, factory, user):
    product = factory.product(stock=5)
    deep = {"engraving": nested(15), "tags": ["gift"]}  # 16 levels with the outer object
    response = add_to_cart(api, user["token"], product["id"], 1, attributes=deep)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["items"][0]["attributes"] == deep
    assert api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"][0]["attributes"] == deep


def assert_cart_usable_with_only(api: Api, user, item: dict) -> None:
    cart = api.get("/api/v1/cart", token=user["token"])
    assert cart.status_code == 200, cart.text
    assert [(i["id"], i["quantity"], i["attributes"]) for i in cart.json()["data"]["items"]] == [(item["id"], 1, {})]
    updated = api.patch(f"/api/v1/cart/items/{item['id']}", token=user["token"], json={"quantity": 1})
    assert updated.status_code == 200, updated.text


@pytest.mark.parametrize("depth", [17, 24])
def test_attributes_nested_too_deep_are_refused_and_the_cart_stays_usable(api: Api, factory, user, depth):
    product = factory.product(stock=5)
    kept = add_to_cart(api, user["token"], product["id"], 1).json()["data"]["items"][0]
    response = add_to_cart(api, user["token"], product["id"], 1, attributes=nested(depth))
    assert_error(response, 400, "bad_request", "16 levels")
    # An array counts as a level too.
    listed: object = 1
    for _ in range(depth - 1):
        listed = [listed]
    response = add_to_cart(api, user["token"], product["id"], 1, attributes={"a": listed})
    assert_error(response, 400, "bad_request", "16 levels")
    assert_cart_usable_with_only(api, user, kept)


# 250: small enough for the old 4 KB check, too deep for the REST reply to encode (it broke the
# cart until cleared); 260: beyond what orjson writes at all (a 500 before). Variables this deep
# may be refused before the resolver (the executor bounds nesting too): any 400 will do.
@pytest.mark.parametrize("depth", [250, 260])
def test_attributes_nested_hundreds_deep_are_a_bad_request_not_a_broken_cart(api: Api, factory, user, depth):
    product = factory.product(stock=5)
    kept = add_to_cart(api, user["token"], product["id"], 1).json()["data"]["items"][0]
    assert_error(add_to_cart(api, user["token"], product["id"], 1, attributes=nested(depth)), 400, "bad_request")
    assert_cart_usable_with_only(api, user, kept)


def test_attributes_above_four_kilobytes_are_refused(api: Api, factory, user):
    product = factory.product()
    response = add_to_cart(api, user["token"], product["id"], 1, attributes={"note": "x" * 4100})
    assert_error(response, 400, "bad_request", "4096 bytes")


CART_ITEM_ADD_ATTRIBUTES = """
mutation Add($input: CartItemAddInput!) {
  cartItemAdd(input: $input) { cart { items { attributes } } errors { code message field } }
}
"""


@pytest.mark.parametrize("depth", [17, 24])
def test_graphql_refuses_attributes_nested_too_deep(api: Api, factory, user, depth):
    product = factory.product()
    variables = {"input": {"productId": product["id"], "attributes": nested(depth)}}
    payload = api.data(CART_ITEM_ADD_ATTRIBUTES, variables, token=user["token"])["cartItemAdd"]
    assert payload["cart"] is None
    [error] = payload["errors"]
    assert error["code"] == "INVALID" and error["field"] == ["input", "attributes"]
    assert "16 levels" in error["message"]
    assert api.data("{ cart { items { id } } }", token=user["token"])["cart"]["items"] == []
    ok = api.data(CART_ITEM_ADD_ATTRIBUTES, {"input": {"productId": product["id"], "attributes": nested(16)}},
                  token=user["token"])["cartItemAdd"]
    assert ok["errors"] == [] and ok["cart"]["items"][0]["attributes"] == nested(16)


@pytest.mark.parametrize("depth", [250, 260])
def test_graphql_refuses_attributes_nested_hundreds_deep_without_an_internal_error(api: Api, factory, user, depth):
    product = factory.product()
    variables = {"input": {"productId": product["id"], "attributes": nested(depth)}}
    response = api.graphql_response(CART_ITEM_ADD_ATTRIBUTES, variables, token=user["token"],
                                    headers={"Accept": "application/json"})
    assert response.status_code < 500, response.text
    body = response.json()
    payload = (body.get("data") or {}).get("cartItemAdd")
    if payload is not None:  # refused by the resolver
        assert payload["cart"] is None and payload["errors"][0]["code"] == "INVALID"
    else:  # refused before execution
        assert error_codes(body) and "INTERNAL_SERVER_ERROR" not in error_codes(body)
    assert api.data("{ cart { items { id } } }", token=user["token"])["cart"]["items"] == []


def test_graphql_refuses_attribute_integers_json_cannot_carry(api: Api, factory, user):
    product = factory.product()
    query = ('mutation($id: ID!) { cartItemAdd(input: {productId: $id, attributes: {n: 100000000000000000000000}}) '
             '{ cart { id } errors { code field } } }')
    payload = api.data(query, {"id": product["id"]}, token=user["token"])["cartItemAdd"]
    assert payload == {"cart": None, "errors": [{"code": "INVALID", "field": ["input", "attributes"]}]}


# --- the documented "400 - Item ID is required" ---------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/cart/items/", "/api/v1/cart/items/%20%20"])
def test_changing_an_item_without_its_id_is_a_bad_request(api: Api, factory, user, path):
    add_to_cart(api, user["token"], factory.product()["id"], 1)
    assert_error(api.patch(path, token=user["token"], json={"quantity": 2}), 400, "bad_request", "item id is required")
    assert_error(api.delete(path, token=user["token"]), 400, "bad_request", "item id is required")
    assert [i["quantity"] for i in api.get("/api/v1/cart", token=user["token"]).json()["data"]["items"]] == [1]


def test_adding_still_works_with_a_trailing_slash(api: Api, factory, user):
    product = factory.product()
    response = api.post("/api/v1/cart/items/", token=user["token"], json={"product_id": product["id"]})
    assert response.status_code == 200, response.text
    assert [i["product_id"] for i in response.json()["data"]["items"]] == [product["id"]]


def test_changing_an_item_without_its_id_still_requires_authentication(api: Api):
    assert_error(api.patch("/api/v1/cart/items/", json={"quantity": 2}), 401, "unauthorized")
    assert_error(api.delete("/api/v1/cart/items/"), 401, "unauthorized")


def test_graphql_refuses_a_blank_item_id(api: Api, user):
    data = api.data('mutation { u: cartItemUpdate(id: " ", quantity: 2) { errors { code message field } } '
                    'r: cartItemRemove(id: "") { errors { code message field } } }', token=user["token"])
    expected = [{"code": "INVALID", "message": "Item ID is required", "field": ["id"]}]
    assert data["u"]["errors"] == expected and data["r"]["errors"] == expected
