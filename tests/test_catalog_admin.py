"""Catalog administration in GraphQL: create/update/delete with validation errors and
permission guards; what admins create shows in the public catalog."""

from __future__ import annotations

import pytest

from db.models import OrderItem
from tests.factories import unique
from tests.support.api import error_codes

ERRORS = "errors { field message code }"
PRODUCT = ("id sku name status stock basePrice { amount currency } salePrice { amount currency } "
           "saleStartsAt saleEndsAt brandId categoryId images attributes")

CATEGORY_CREATE = f"mutation($input: CategoryCreateInput!) {{ categoryCreate(input: $input) {{ category {{ id name slug parentId active }} {ERRORS} }} }}"
CATEGORY_UPDATE = f"mutation($id: ID!, $input: CategoryUpdateInput!) {{ categoryUpdate(id: $id, input: $input) {{ category {{ id name slug parentId }} {ERRORS} }} }}"
CATEGORY_DELETE = f"mutation($id: ID!) {{ categoryDelete(id: $id) {{ deletedId {ERRORS} }} }}"
BRAND_CREATE = f"mutation($input: BrandCreateInput!) {{ brandCreate(input: $input) {{ brand {{ id name slug logoUrl }} {ERRORS} }} }}"
BRAND_UPDATE = f"mutation($id: ID!, $input: BrandUpdateInput!) {{ brandUpdate(id: $id, input: $input) {{ brand {{ id name slug active }} {ERRORS} }} }}"
BRAND_DELETE = f"mutation($id: ID!) {{ brandDelete(id: $id) {{ deletedId {ERRORS} }} }}"
PRODUCT_CREATE = f"mutation($input: ProductCreateInput!) {{ productCreate(input: $input) {{ product {{ {PRODUCT} }} {ERRORS} }} }}"
PRODUCT_UPDATE = f"mutation($id: ID!, $input: ProductUpdateInput!) {{ productUpdate(id: $id, input: $input) {{ product {{ {PRODUCT} }} {ERRORS} }} }}"
PRODUCT_DELETE = f"mutation($id: ID!) {{ productDelete(id: $id) {{ deletedId {ERRORS} }} }}"
VARIANT_CREATE = f"mutation($input: ProductVariantCreateInput!) {{ productVariantCreate(input: $input) {{ productVariant {{ id sku name stock price {{ amount currency }} productId }} {ERRORS} }} }}"
VARIANT_UPDATE = f"mutation($id: ID!, $input: ProductVariantUpdateInput!) {{ productVariantUpdate(id: $id, input: $input) {{ productVariant {{ id sku stock price {{ amount currency }} }} {ERRORS} }} }}"
VARIANT_DELETE = f"mutation($id: ID!) {{ productVariantDelete(id: $id) {{ deletedId {ERRORS} }} }}"
PROMOTION_CREATE = f"mutation($input: PromotionCreateInput!) {{ promotionCreate(input: $input) {{ promotion {{ id code kind value minSubtotal {{ amount currency }} maxDiscount {{ amount }} usageLimit active }} {ERRORS} }} }}"
PROMOTION_UPDATE = f"mutation($id: ID!, $input: PromotionUpdateInput!) {{ promotionUpdate(id: $id, input: $input) {{ promotion {{ id code kind value }} {ERRORS} }} }}"
PROMOTION_DELETE = f"mutation($id: ID!) {{ promotionDelete(id: $id) {{ deletedId {ERRORS} }} }}"
SHIPPING_CREATE = f"mutation($input: ShippingMethodCreateInput!) {{ shippingMethodCreate(input: $input) {{ shippingMethod {{ id name price {{ amount currency }} freeOver {{ amount currency }} active }} {ERRORS} }} }}"
SHIPPING_UPDATE = f"mutation($id: ID!, $input: ShippingMethodUpdateInput!) {{ shippingMethodUpdate(id: $id, input: $input) {{ shippingMethod {{ id name price {{ amount }} freeOver {{ amount }} }} {ERRORS} }} }}"
SHIPPING_DELETE = f"mutation($id: ID!) {{ shippingMethodDelete(id: $id) {{ deletedId {ERRORS} }} }}"
TAX_CREATE = f"mutation($input: TaxRateCreateInput!) {{ taxRateCreate(input: $input) {{ taxRate {{ id country state rate }} {ERRORS} }} }}"
TAX_UPDATE = f"mutation($id: ID!, $input: TaxRateUpdateInput!) {{ taxRateUpdate(id: $id, input: $input) {{ taxRate {{ id country state rate }} {ERRORS} }} }}"
TAX_DELETE = f"mutation($id: ID!) {{ taxRateDelete(id: $id) {{ deletedId {ERRORS} }} }}"


@pytest.fixture
def manager(factory):
    return factory.user(roles=("manager",))


def _ok(api, mutation, variables, token, field):
    payload = api.data(mutation, variables, token=token)[field]
    assert payload["errors"] == [], payload["errors"]
    return payload


def _refused(api, mutation, variables, token, field, code="INVALID", path=None):
    payload = api.data(mutation, variables, token=token)[field]
    assert [e["code"] for e in payload["errors"]] == [code], payload
    if path is not None:
        assert payload["errors"][0]["field"] == path
    return payload


def _product_input(**overrides):
    return {"sku": unique("SKU-"), "name": unique("Widget "), "basePrice": {"amount": 1999, "currency": "USD"},
            "status": "ACTIVE", "stock": 5, **overrides}


# --- guards ---------------------------------------------------------------------------------------------------

GUARDED = [
    (CATEGORY_CREATE, {"input": {"name": "x", "slug": "x"}}),
    (BRAND_CREATE, {"input": {"name": "x", "slug": "x"}}),
    (PRODUCT_CREATE, {"input": {"sku": "x", "name": "x", "basePrice": {"amount": 1}}}),
    (VARIANT_CREATE, {"input": {"productId": "prod_x", "sku": "x", "name": "x"}}),
    (PROMOTION_CREATE, {"input": {"code": "X", "kind": "PERCENTAGE", "value": 10}}),
    (SHIPPING_CREATE, {"input": {"name": "x", "price": {"amount": 1}}}),
    (TAX_CREATE, {"input": {"country": "US", "rate": "0.1"}}),
    (CATEGORY_DELETE, {"id": "cat_x"}),
    (PRODUCT_UPDATE, {"id": "prod_x", "input": {"name": "x"}}),
    (TAX_DELETE, {"id": "tax_x"}),
]


@pytest.mark.parametrize("mutation,variables", GUARDED, ids=range(len(GUARDED)))
@pytest.mark.parametrize("role", ["customer_experience", "user", None])
def test_catalog_mutations_need_their_permission(api, factory, mutation, variables, role):
    token = factory.user(roles=(role,))["token"] if role else None
    body = api.graphql(mutation, variables, token=token)
    assert error_codes(body) == (["FORBIDDEN"] if role else ["UNAUTHENTICATED"])
    assert body["data"] is None


def test_one_permission_opens_only_its_own_mutations(api, factory):
    brands_only = factory.role(permissions=("manage_brands",))
    caller = factory.user(roles=("user", brands_only["name"]))
    slug = unique("brand-")
    _ok(api, BRAND_CREATE, {"input": {"name": "Acme", "slug": slug}}, caller["token"], "brandCreate")
    body = api.graphql(CATEGORY_CREATE, {"input": {"name": "x", "slug": unique("cat-")}}, token=caller["token"])
    assert error_codes(body) == ["FORBIDDEN"]


# --- products -----------------------------------------------------------------------------------------------


def test_created_products_appear_in_the_public_catalog(api, factory, manager):
    category = factory.category()
    brand = factory.brand()
    created = _ok(api, PRODUCT_CREATE, {"input": _product_input(
        categoryId=category["id"], brandId=brand["id"], images=["https://img.example.com/1.jpg"],
        attributes={"color": "silver"}, description="Shiny")}, manager["token"], "productCreate")["product"]
    assert created["basePrice"] == {"amount": 1999, "currency": "USD"}
    assert created["status"] == "ACTIVE"

    public = api.get(f"/api/v1/catalog/products/{created['id']}")
    assert public.status_code == 200
    product = public.json()["data"]
    assert (product["sku"], product["name"], product["status"]) == (created["sku"], created["name"], "active")
    assert product["category_id"] == category["id"] and product["brand_id"] == brand["id"]
    assert product["attributes"] == {"color": "silver"}
    listing = api.get(f"/api/v1/catalog/products/category/{category['id']}").json()
    assert [item["id"] for item in listing["data"]] == [created["id"]]


def test_products_are_drafts_unless_told_otherwise(api, manager):
    draft = _ok(api, PRODUCT_CREATE, {"input": {k: v for k, v in _product_input().items() if k != "status"}},
                manager["token"], "productCreate")["product"]
    assert draft["status"] == "DRAFT"
    assert api.get(f"/api/v1/catalog/products/{draft['id']}").status_code == 404
    _ok(api, PRODUCT_UPDATE, {"id": draft["id"], "input": {"status": "ACTIVE"}}, manager["token"], "productUpdate")
    assert api.get(f"/api/v1/catalog/products/{draft['id']}").status_code == 200


def test_product_updates_change_only_what_is_given(api, factory, manager):
    product = factory.product(sale_price_amount=500)
    updated = _ok(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"name": "Renamed", "stock": 0}},
                  manager["token"], "productUpdate")["product"]
    assert (updated["name"], updated["stock"], updated["sku"]) == ("Renamed", 0, product["sku"])
    assert updated["salePrice"] == {"amount": 500, "currency": "USD"}
    cleared = _ok(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"salePrice": None}}, manager["token"],
                  "productUpdate")["product"]
    assert cleared["salePrice"] is None


@pytest.mark.parametrize("overrides,path", [
    ({"basePrice": {"amount": -1, "currency": "USD"}}, ["input", "basePrice", "amount"]),
    ({"basePrice": {"amount": 100, "currency": "XYZ"}}, ["input", "basePrice", "currency"]),
    ({"basePrice": {"amount": 100, "currency": "usd"}}, None),
    ({"salePrice": {"amount": -5, "currency": "USD"}}, ["input", "salePrice", "amount"]),
    ({"salePrice": {"amount": 5, "currency": "EUR"}}, ["input", "salePrice", "currency"]),
    ({"stock": -1}, ["input", "stock"]),
    ({"stock": 2**31}, None),
    ({"saleStartsAt": "2030-01-02T00:00:00Z", "saleEndsAt": "2030-01-01T00:00:00Z"}, ["input", "saleEndsAt"]),
    ({"saleStartsAt": "2030-01-01T00:00:00Z", "saleEndsAt": "2030-01-01T00:00:00Z"}, ["input", "saleEndsAt"]),
    ({"sku": ""}, ["input", "sku"]),
    ({"sku": "has space"}, ["input", "sku"]),
    ({"sku": "S" * 65}, ["input", "sku"]),
    ({"name": "   "}, ["input", "name"]),
    ({"name": "n" * 301}, ["input", "name"]),
    ({"images": ["javascript:alert(1)"]}, ["input", "images"]),
    ({"attributes": [1, 2]}, ["input", "attributes"]),
    ({"attributes": {"big": "x" * 20_000}}, ["input", "attributes"]),
    ({"categoryId": "cat_nope"}, ["input", "categoryId"]),
    ({"brandId": "brand_nope"}, ["input", "brandId"]),
])
def test_invalid_products_are_refused_with_typed_errors(api, manager, overrides, path):
    if overrides == {"basePrice": {"amount": 100, "currency": "usd"}}:
        # Lower-case currency codes are normalised, not refused.
        product = _ok(api, PRODUCT_CREATE, {"input": _product_input(**overrides)}, manager["token"],
                      "productCreate")["product"]
        assert product["basePrice"]["currency"] == "USD"
        return
    if overrides == {"stock": 2**31}:
        # Beyond GraphQL's Int: a top-level variable error, nothing written.
        body = api.graphql(PRODUCT_CREATE, {"input": _product_input(**overrides)}, token=manager["token"])
        assert error_codes(body) == ["BAD_USER_INPUT"]
        return
    code = "NOT_FOUND" if "Id" in (path or [""])[-1] else "INVALID"
    payload = _refused(api, PRODUCT_CREATE, {"input": _product_input(**overrides)}, manager["token"],
                       "productCreate", code, path)
    assert payload["product"] is None


def test_duplicate_skus_are_already_exists_and_write_nothing(api, factory, manager):
    existing = factory.product()
    name = unique("Dup ")
    _refused(api, PRODUCT_CREATE, {"input": _product_input(sku=existing["sku"], name=name)}, manager["token"],
             "productCreate", "ALREADY_EXISTS", ["input", "sku"])
    other = factory.product()
    _refused(api, PRODUCT_UPDATE, {"id": other["id"], "input": {"sku": existing["sku"]}}, manager["token"],
             "productUpdate", "ALREADY_EXISTS", ["input", "sku"])
    listing = api.get("/api/v1/catalog/products", params={"keyword": name}).json()
    assert listing["data"] == []


def test_product_delete_and_its_limits(api, factory, manager):
    product = factory.product()
    variant = factory.variant(product["id"])
    deleted = _ok(api, PRODUCT_DELETE, {"id": product["id"]}, manager["token"], "productDelete")
    assert deleted["deletedId"] == product["id"]
    assert api.get(f"/api/v1/catalog/products/{product['id']}").status_code == 404
    node = api.data("query($id: ID!) { node(id: $id) { id } }", {"id": variant["id"]})
    assert node["node"] is None
    _refused(api, PRODUCT_DELETE, {"id": product["id"]}, manager["token"], "productDelete", "NOT_FOUND", ["id"])


def test_an_ordered_product_cannot_be_deleted(api, factory, manager):
    buyer = factory.user()
    product = factory.product()
    order_id = _order(factory, buyer["id"], product)
    payload = _refused(api, PRODUCT_DELETE, {"id": product["id"]}, manager["token"], "productDelete")
    assert "ARCHIVED" in payload["errors"][0]["message"]
    assert api.get(f"/api/v1/catalog/products/{product['id']}").status_code == 200
    assert order_id


def _order(factory, user_id, product):
    from sqlalchemy import insert

    from db.ids import new_id
    from db.models import Order, utcnow

    order_id = new_id("ord")
    now = utcnow()
    factory.execute(insert(Order).values(
        id=order_id, order_number=unique("ORD-"), user_id=user_id, status="PENDING", currency="USD",
        subtotal_amount=1000, total_amount=1000, shipping_address={}, created_at=now, updated_at=now))
    factory.execute(insert(OrderItem).values(
        id=new_id("oitem"), order_id=order_id, product_id=product["id"], sku=product["sku"], name=product["name"],
        currency="USD", unit_price_amount=1000, quantity=1, total_amount=1000))
    return order_id


# --- variants -----------------------------------------------------------------------------------------------------


def test_variant_lifecycle_and_rules(api, factory, manager):
    token = manager["token"]
    product = factory.product()
    created = _ok(api, VARIANT_CREATE, {"input": {"productId": product["id"], "sku": unique("V-"), "name": "Large",
                                                  "stock": 3}}, token, "productVariantCreate")["productVariant"]
    assert created["price"] == {"amount": 1000, "currency": "USD"}  # the product's price
    priced = _ok(api, VARIANT_UPDATE, {"id": created["id"], "input": {"price": {"amount": 1200}}}, token,
                 "productVariantUpdate")["productVariant"]
    assert priced["price"] == {"amount": 1200, "currency": "USD"}
    _refused(api, VARIANT_UPDATE, {"id": created["id"], "input": {"price": {"amount": 1200, "currency": "EUR"}}},
             token, "productVariantUpdate", path=["input", "price", "currency"])
    _refused(api, VARIANT_UPDATE, {"id": created["id"], "input": {"stock": -2}}, token, "productVariantUpdate",
             path=["input", "stock"])
    _refused(api, VARIANT_CREATE, {"input": {"productId": product["id"], "sku": created["sku"], "name": "Dup"}},
             token, "productVariantCreate", "ALREADY_EXISTS", ["input", "sku"])
    _refused(api, VARIANT_CREATE, {"input": {"productId": "prod_nope", "sku": unique("V-"), "name": "X"}},
             token, "productVariantCreate", "NOT_FOUND", ["input", "productId"])
    _ok(api, VARIANT_DELETE, {"id": created["id"]}, token, "productVariantDelete")
    _refused(api, VARIANT_DELETE, {"id": created["id"]}, token, "productVariantDelete", "NOT_FOUND")


# --- categories and brands ------------------------------------------------------------------------------------------


def test_category_tree_rules(api, manager):
    token = manager["token"]
    root = _ok(api, CATEGORY_CREATE, {"input": {"name": "Root", "slug": unique("root-")}}, token,
               "categoryCreate")["category"]
    child = _ok(api, CATEGORY_CREATE, {"input": {"name": "Child", "slug": unique("child-"), "parentId": root["id"]}},
                token, "categoryCreate")["category"]
    grandchild = _ok(api, CATEGORY_CREATE, {"input": {"name": "Leaf", "slug": unique("leaf-"),
                                                      "parentId": child["id"]}}, token, "categoryCreate")["category"]
    assert grandchild["parentId"] == child["id"]
    # No cycles: not its own parent, not under its own descendant.
    _refused(api, CATEGORY_UPDATE, {"id": root["id"], "input": {"parentId": root["id"]}}, token, "categoryUpdate",
             path=["input", "parentId"])
    _refused(api, CATEGORY_UPDATE, {"id": root["id"], "input": {"parentId": grandchild["id"]}}, token,
             "categoryUpdate", path=["input", "parentId"])
    _refused(api, CATEGORY_CREATE, {"input": {"name": "Orphan", "slug": unique("o-"), "parentId": "cat_nope"}},
             token, "categoryCreate", "NOT_FOUND", ["input", "parentId"])
    moved = _ok(api, CATEGORY_UPDATE, {"id": grandchild["id"], "input": {"parentId": None}}, token,
                "categoryUpdate")["category"]
    assert moved["parentId"] is None
    # Deleting a parent moves its children to the root.
    _ok(api, CATEGORY_DELETE, {"id": root["id"]}, token, "categoryDelete")
    child_now = api.data("query($id: ID!) { category(id: $id) { parentId } }", {"id": child["id"]})["category"]
    assert child_now == {"parentId": None}


@pytest.mark.parametrize("slug", ["", "Upper", "has space", "double--hyphen", "-leading", "trailing-", "a" * 201])
def test_bad_slugs_are_invalid(api, manager, slug):
    _refused(api, CATEGORY_CREATE, {"input": {"name": "X", "slug": slug}}, manager["token"], "categoryCreate",
             path=["input", "slug"])
    _refused(api, BRAND_CREATE, {"input": {"name": "X", "slug": slug}}, manager["token"], "brandCreate",
             path=["input", "slug"])


def test_brand_lifecycle_and_unique_slugs(api, factory, manager):
    token = manager["token"]
    slug = unique("brand-")
    brand = _ok(api, BRAND_CREATE, {"input": {"name": "Globex", "slug": slug, "logoUrl": "https://x.example/l.png"}},
                token, "brandCreate")["brand"]
    assert brand["logoUrl"] == "https://x.example/l.png"
    _refused(api, BRAND_CREATE, {"input": {"name": "Again", "slug": slug}}, token, "brandCreate", "ALREADY_EXISTS",
             ["input", "slug"])
    _refused(api, BRAND_CREATE, {"input": {"name": "Bad logo", "slug": unique("b-"), "logoUrl": "ftp://x"}}, token,
             "brandCreate", path=["input", "logoUrl"])
    hidden = _ok(api, BRAND_UPDATE, {"id": brand["id"], "input": {"active": False}}, token, "brandUpdate")["brand"]
    assert hidden["active"] is False and hidden["slug"] == slug
    product = factory.product(brand_id=brand["id"])
    _ok(api, BRAND_DELETE, {"id": brand["id"]}, token, "brandDelete")
    assert api.get(f"/api/v1/catalog/products/{product['id']}").json()["data"]["brand_id"] is None
    _refused(api, BRAND_UPDATE, {"id": brand["id"], "input": {"name": "Gone"}}, token, "brandUpdate", "NOT_FOUND")


# --- promotions, shipping, tax -----------------------------------------------------------------------------------------


def test_promotion_rules(api, manager):
    token = manager["token"]
    code = unique("save")
    created = _ok(api, PROMOTION_CREATE, {"input": {"code": f"  {code} ", "kind": "PERCENTAGE", "value": 10,
                                                    "maxDiscount": 500, "usageLimit": 3}}, token,
                  "promotionCreate")["promotion"]
    assert created["code"] == code.upper()
    assert created["minSubtotal"] == {"amount": 0, "currency": "USD"}
    assert created["maxDiscount"] == {"amount": 500}
    _refused(api, PROMOTION_CREATE, {"input": {"code": code.lower(), "kind": "FIXED_AMOUNT", "value": 100}},
             token, "promotionCreate", "ALREADY_EXISTS", ["input", "code"])
    for kind, value in (("PERCENTAGE", 0), ("PERCENTAGE", 101), ("FIXED_AMOUNT", 0), ("FIXED_AMOUNT", -100)):
        _refused(api, PROMOTION_CREATE, {"input": {"code": unique("p"), "kind": kind, "value": value}}, token,
                 "promotionCreate", path=["input", "value"])
    _refused(api, PROMOTION_CREATE, {"input": {"code": unique("p"), "kind": "FIXED_AMOUNT", "value": 100,
                                               "startsAt": "2030-02-01T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z"}},
             token, "promotionCreate", path=["input", "endsAt"])
    _refused(api, PROMOTION_CREATE, {"input": {"code": "bad code!", "kind": "PERCENTAGE", "value": 5}}, token,
             "promotionCreate", path=["input", "code"])
    _refused(api, PROMOTION_CREATE, {"input": {"code": unique("p"), "kind": "FIXED_AMOUNT", "value": 5,
                                               "currency": "ABC"}}, token, "promotionCreate", path=["input", "currency"])
    # Switching kind re-checks the value against the new kind.
    fixed = _ok(api, PROMOTION_CREATE, {"input": {"code": unique("p"), "kind": "FIXED_AMOUNT", "value": 2500}},
                token, "promotionCreate")["promotion"]
    _refused(api, PROMOTION_UPDATE, {"id": fixed["id"], "input": {"kind": "PERCENTAGE"}}, token, "promotionUpdate",
             path=["input", "value"])
    switched = _ok(api, PROMOTION_UPDATE, {"id": fixed["id"], "input": {"kind": "PERCENTAGE", "value": 25}}, token,
                   "promotionUpdate")["promotion"]
    assert (switched["kind"], switched["value"]) == ("PERCENTAGE", 25)
    _ok(api, PROMOTION_DELETE, {"id": fixed["id"]}, token, "promotionDelete")
    _refused(api, PROMOTION_DELETE, {"id": fixed["id"]}, token, "promotionDelete", "NOT_FOUND")


def test_shipping_method_rules(api, manager):
    token = manager["token"]
    chosen = f"ship_{unique('m').lower()}"
    created = _ok(api, SHIPPING_CREATE, {"input": {"id": chosen, "name": "Courier", "price": {"amount": 799},
                                                   "freeOver": {"amount": 10000}}}, token,
                  "shippingMethodCreate")["shippingMethod"]
    assert created == {"id": chosen, "name": "Courier", "price": {"amount": 799, "currency": "USD"},
                       "freeOver": {"amount": 10000, "currency": "USD"}, "active": True}
    listed = api.data("{ shippingMethods { id } }")["shippingMethods"]
    assert {"id": chosen} in listed
    _refused(api, SHIPPING_CREATE, {"input": {"id": chosen, "name": "Again", "price": {"amount": 1}}}, token,
             "shippingMethodCreate", "ALREADY_EXISTS", ["input", "id"])
    _refused(api, SHIPPING_CREATE, {"input": {"id": "standard", "name": "X", "price": {"amount": 1}}}, token,
             "shippingMethodCreate", path=["input", "id"])
    _refused(api, SHIPPING_CREATE, {"input": {"name": "X", "price": {"amount": -1}}}, token, "shippingMethodCreate",
             path=["input", "price", "amount"])
    _refused(api, SHIPPING_CREATE, {"input": {"name": "X", "price": {"amount": 1},
                                              "freeOver": {"amount": 5, "currency": "EUR"}}}, token,
             "shippingMethodCreate", path=["input", "freeOver", "currency"])
    generated = _ok(api, SHIPPING_CREATE, {"input": {"name": "Slow", "price": {"amount": 0}}}, token,
                    "shippingMethodCreate")["shippingMethod"]
    assert generated["id"].startswith("ship_") and generated["freeOver"] is None
    updated = _ok(api, SHIPPING_UPDATE, {"id": chosen, "input": {"freeOver": None, "name": "Courier+"}}, token,
                  "shippingMethodUpdate")["shippingMethod"]
    assert updated == {"id": chosen, "name": "Courier+", "price": {"amount": 799}, "freeOver": None}
    _ok(api, SHIPPING_DELETE, {"id": chosen}, token, "shippingMethodDelete")
    assert {"id": chosen} not in api.data("{ shippingMethods { id } }")["shippingMethods"]


def test_tax_rate_rules(api, manager):
    token = manager["token"]
    state = unique("S").upper()[:8]
    created = _ok(api, TAX_CREATE, {"input": {"country": "us", "state": state.lower(), "rate": "0.0875"}}, token,
                  "taxRateCreate")["taxRate"]
    assert (created["country"], created["state"], created["rate"]) == ("US", state, "0.0875")
    from_float = _ok(api, TAX_UPDATE, {"id": created["id"], "input": {"rate": 0.07}}, token,
                     "taxRateUpdate")["taxRate"]
    assert from_float["rate"] == "0.07"
    _refused(api, TAX_CREATE, {"input": {"country": "US", "state": state, "rate": "0.05"}}, token, "taxRateCreate",
             "ALREADY_EXISTS", ["input", "state"])
    for rate in ("1", "1.5", "-0.01", "0.1234567", "NaN", "Infinity"):
        _refused(api, TAX_CREATE, {"input": {"country": "DE", "state": unique("Z").upper()[:8], "rate": rate}},
                 token, "taxRateCreate", path=["input", "rate"])
    body = api.graphql(TAX_CREATE, {"input": {"country": "DE", "rate": "lots"}}, token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    for country in ("USA", "XX", "", "u"):
        _refused(api, TAX_CREATE, {"input": {"country": country, "rate": "0.1"}}, token, "taxRateCreate",
                 path=["input", "country"])
    zero = _ok(api, TAX_UPDATE, {"id": created["id"], "input": {"rate": "0"}}, token, "taxRateUpdate")["taxRate"]
    assert zero["rate"] == "0"
    _ok(api, TAX_DELETE, {"id": created["id"]}, token, "taxRateDelete")
    _refused(api, TAX_DELETE, {"id": created["id"]}, token, "taxRateDelete", "NOT_FOUND")
