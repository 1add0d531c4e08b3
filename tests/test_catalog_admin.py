"""Catalog administration in GraphQL: create/update/delete with validation errors and
permission guards; what admins create shows in the public catalog."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy.exc import IntegrityError

from db.models import OrderItem
from tests.factories import unique
from tests.support.api import Api, error_codes

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
PROMOTIONS = ("query($first: Int, $after: String, $search: String, $active: Boolean) { promotions(first: $first, "
              "after: $after, search: $search, active: $active) { totalCount pageInfo { hasNextPage endCursor } "
              "nodes { id code active usageCount } edges { cursor node { code } } } }")
TAX_RATES = ("query($first: Int, $after: String, $country: String) { taxRates(first: $first, after: $after, "
             "country: $country) { totalCount pageInfo { hasNextPage endCursor } nodes { id country state rate } } }")


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
# Every catalog mutation and admin list: name -> (document, variables, the permission it needs).
# The variables pass GraphQL validation, so an allowed caller reaches the resolver (and gets a
# payload, with errors such as NOT_FOUND for the unknown ids), a refused one never does.

CATALOG_PERMISSIONS = ("manage_products", "manage_categories", "manage_brands", "manage_promotions",
                       "manage_shipping", "manage_taxes")


def _guarded() -> dict[str, tuple[str, Callable[[], dict], str]]:
    return {
        "categoryCreate": (CATEGORY_CREATE, lambda: {"input": {"name": "x", "slug": unique("guard-")}},
                           "manage_categories"),
        "categoryUpdate": (CATEGORY_UPDATE, lambda: {"id": "cat_x", "input": {"name": "x"}}, "manage_categories"),
        "categoryDelete": (CATEGORY_DELETE, lambda: {"id": "cat_x"}, "manage_categories"),
        "brandCreate": (BRAND_CREATE, lambda: {"input": {"name": "x", "slug": unique("guard-")}}, "manage_brands"),
        "brandUpdate": (BRAND_UPDATE, lambda: {"id": "brand_x", "input": {"name": "x"}}, "manage_brands"),
        "brandDelete": (BRAND_DELETE, lambda: {"id": "brand_x"}, "manage_brands"),
        "productCreate": (PRODUCT_CREATE, lambda: {"input": {"sku": unique("G-"), "name": "x",
                                                             "basePrice": {"amount": 1}}}, "manage_products"),
        "productUpdate": (PRODUCT_UPDATE, lambda: {"id": "prod_x", "input": {"name": "x"}}, "manage_products"),
        "productDelete": (PRODUCT_DELETE, lambda: {"id": "prod_x"}, "manage_products"),
        "productVariantCreate": (VARIANT_CREATE, lambda: {"input": {"productId": "prod_x", "sku": unique("G-"),
                                                                    "name": "x"}}, "manage_products"),
        "productVariantUpdate": (VARIANT_UPDATE, lambda: {"id": "var_x", "input": {"name": "x"}}, "manage_products"),
        "productVariantDelete": (VARIANT_DELETE, lambda: {"id": "var_x"}, "manage_products"),
        "promotionCreate": (PROMOTION_CREATE, lambda: {"input": {"code": unique("G"), "kind": "PERCENTAGE",
                                                                 "value": 10, "active": False}}, "manage_promotions"),
        "promotionUpdate": (PROMOTION_UPDATE, lambda: {"id": "promo_x", "input": {"value": 5}}, "manage_promotions"),
        "promotionDelete": (PROMOTION_DELETE, lambda: {"id": "promo_x"}, "manage_promotions"),
        "shippingMethodCreate": (SHIPPING_CREATE, lambda: {"input": {"name": "x", "price": {"amount": 1},
                                                                     "active": False}}, "manage_shipping"),
        "shippingMethodUpdate": (SHIPPING_UPDATE, lambda: {"id": "ship_x", "input": {"name": "x"}}, "manage_shipping"),
        "shippingMethodDelete": (SHIPPING_DELETE, lambda: {"id": "ship_x"}, "manage_shipping"),
        "taxRateCreate": (TAX_CREATE, lambda: {"input": {"country": "AQ", "state": unique("G").upper()[-8:],
                                                         "rate": "0.1"}}, "manage_taxes"),
        "taxRateUpdate": (TAX_UPDATE, lambda: {"id": "tax_x", "input": {"rate": "0.1"}}, "manage_taxes"),
        "taxRateDelete": (TAX_DELETE, lambda: {"id": "tax_x"}, "manage_taxes"),
        "promotions": (PROMOTIONS, lambda: {"first": 1}, "manage_promotions"),
        "taxRates": (TAX_RATES, lambda: {"first": 1}, "manage_taxes"),
    }


GUARDED = _guarded()
REFUSED_CALLERS = ["anonymous", "user", "customer_experience", "every_other_catalog_permission"]
ALLOWED_CALLERS = ["manager", "admin", "only_this_permission"]


def _caller_token(factory, caller: str, permission: str) -> str | None:
    if caller == "anonymous":
        return None
    if caller == "every_other_catalog_permission":
        others = factory.role(permissions=tuple(p for p in CATALOG_PERMISSIONS if p != permission))
        return factory.user(roles=("user", others["name"]))["token"]
    if caller == "only_this_permission":
        only = factory.role(permissions=(permission,))
        return factory.user(roles=("user", only["name"]))["token"]
    return factory.user(roles=(caller,))["token"]


def test_every_catalog_mutation_is_covered():
    from schema.root import schema

    mutations = set(schema._schema.mutation_type.fields)
    catalog = {name for name in mutations if name.startswith(("category", "brand", "product", "promotion",
                                                              "shippingMethod", "taxRate"))}
    assert len(catalog) == 21
    assert catalog <= set(GUARDED)


@pytest.mark.parametrize("caller", REFUSED_CALLERS)
@pytest.mark.parametrize("name", list(GUARDED))
def test_catalog_operations_refuse_callers_without_their_permission(api, factory, name, caller):
    document, variables, permission = GUARDED[name]
    body = api.graphql(document, variables(), token=_caller_token(factory, caller, permission))
    assert error_codes(body) == (["UNAUTHENTICATED"] if caller == "anonymous" else ["FORBIDDEN"])
    assert body["data"] is None


@pytest.mark.parametrize("caller", ALLOWED_CALLERS)
@pytest.mark.parametrize("name", list(GUARDED))
def test_catalog_operations_let_holders_of_their_permission_through(api, factory, name, caller):
    document, variables, permission = GUARDED[name]
    body = api.graphql(document, variables(), token=_caller_token(factory, caller, permission))
    assert "errors" not in body, body
    result = body["data"][name]
    assert result is not None
    if "errors" in result:  # a mutation payload: refusals now come from the input rules only
        assert all(error["code"] in {"NOT_FOUND", "INVALID"} for error in result["errors"]), result
    else:
        assert isinstance(result["totalCount"], int)


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


def _nested(depth):
    value = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


def test_product_attributes_nest_at_most_16_levels_and_stay_readable(api, manager):
    product = _ok(api, PRODUCT_CREATE, {"input": _product_input(attributes=_nested(16))}, manager["token"],
                  "productCreate")["product"]
    public = api.data("query($id: ID!) { product(id: $id) { attributes } }", {"id": product["id"]})
    assert public["product"]["attributes"] == _nested(16)
    _refused(api, PRODUCT_CREATE, {"input": _product_input(attributes=_nested(17))}, manager["token"],
             "productCreate", "INVALID", ["input", "attributes"])


@pytest.mark.parametrize("depth", [250, 300, 1200])
def test_deeply_nested_attributes_are_refused_not_stored(api, manager, depth):
    name = unique("Deep ")
    # Written by hand: Python's own JSON encoder cannot nest this deep.
    variables = json.dumps({"input": _product_input(name=name, attributes="ATTRIBUTES")})
    nested = '{"next": ' * (depth - 1) + '{"leaf": 1}' + "}" * (depth - 1)
    document = json.dumps({"query": PRODUCT_CREATE})[:-1] + ', "variables": ' + variables.replace('"ATTRIBUTES"', nested) + "}"
    response = api.post("/graphql", content=document, token=manager["token"],
                        headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    body = response.json()
    errors = body.get("errors") or body["data"]["productCreate"]["errors"]
    assert errors and "INTERNAL_SERVER_ERROR" not in str(errors)
    listed = api.data("query($s: String) { products(first: 1, search: $s) { totalCount } }", {"s": name})
    assert listed["products"]["totalCount"] == 0


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


def test_skus_are_unique_whatever_their_case_across_products_and_variants(api, factory, manager):
    token = manager["token"]
    product = factory.product(sku=unique("Case-Sku-"))
    variant = factory.variant(product["id"], sku=unique("Var-Sku-"))
    other = factory.product()
    refusals = [
        (PRODUCT_CREATE, {"input": _product_input(sku=product["sku"].lower())}, "productCreate", "product"),
        (PRODUCT_CREATE, {"input": _product_input(sku=product["sku"].upper())}, "productCreate", "product"),
        (PRODUCT_CREATE, {"input": _product_input(sku=variant["sku"].upper())}, "productCreate", "variant"),
        (PRODUCT_UPDATE, {"id": other["id"], "input": {"sku": variant["sku"].lower()}}, "productUpdate", "variant"),
        (VARIANT_CREATE, {"input": {"productId": other["id"], "sku": product["sku"].upper(), "name": "V"}},
         "productVariantCreate", "product"),
        # A variant cannot reuse its own product's SKU either.
        (VARIANT_CREATE, {"input": {"productId": product["id"], "sku": product["sku"], "name": "V"}},
         "productVariantCreate", "product"),
        (VARIANT_CREATE, {"input": {"productId": other["id"], "sku": variant["sku"].swapcase(), "name": "V"}},
         "productVariantCreate", "variant"),
    ]
    for mutation, variables, field, owner in refusals:
        payload = _refused(api, mutation, variables, token, field, "ALREADY_EXISTS", ["input", "sku"])
        assert payload["errors"][0]["message"].startswith(f"A {owner} with SKU "), payload
    # Changing the case of one's own SKU is not a conflict.
    renamed = _ok(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"sku": product["sku"].upper()}}, token,
                  "productUpdate")["product"]
    assert renamed["sku"] == product["sku"].upper()
    _ok(api, VARIANT_UPDATE, {"id": variant["id"], "input": {"sku": variant["sku"].lower()}}, token,
        "productVariantUpdate")


def test_the_database_refuses_case_duplicate_skus_and_sales_above_base_price(factory):
    """The rules hold for writers that bypass the resolvers too (and for races between them)."""
    product = factory.product(sku=unique("Db-Sku-"))
    with pytest.raises(IntegrityError):
        factory.product(sku=product["sku"].upper())
    variant = factory.variant(product["id"])
    with pytest.raises(IntegrityError):
        factory.variant(product["id"], sku=variant["sku"].lower())
    for sale in (1000, 1001):
        with pytest.raises(IntegrityError):
            factory.product(base_price_amount=1000, sale_price_amount=sale)
    with pytest.raises(IntegrityError):
        factory.set_product(product["id"], sale_price_amount=product["base_price_amount"])
    factory.set_product(product["id"], sale_price_amount=product["base_price_amount"] - 1)


def test_racing_product_and_variant_with_one_sku_leave_exactly_one(api, factory, manager):
    """No index spans two tables: the resolver serialises writers of one SKU. Each round sends a
    product and a variant with the same SKU (in different case) at once; exactly one may win."""
    product = factory.product()

    def send(document: str, variables: dict) -> list:
        client = Api(api.base_url)
        try:
            return client.graphql(document, variables, token=manager["token"])["data"]
        finally:
            client.close()

    for _ in range(8):
        sku_value = unique("Race-")
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda job: send(*job), [
                (PRODUCT_CREATE, {"input": _product_input(sku=sku_value)}),
                (VARIANT_CREATE, {"input": {"productId": product["id"], "sku": sku_value.lower(), "name": "V"}}),
            ]))
        outcomes = sorted(bool(next(iter(data.values()))["errors"]) for data in results)
        assert outcomes == [False, True], results


@pytest.mark.parametrize("sale", [1999, 2500])
def test_a_sale_price_must_be_below_the_base_price(api, manager, sale):
    payload = _refused(api, PRODUCT_CREATE, {"input": _product_input(salePrice={"amount": sale, "currency": "USD"})},
                       manager["token"], "productCreate", path=["input", "salePrice", "amount"])
    assert payload["errors"][0]["message"] == f"salePrice ({sale}) must be below basePrice (1999)"
    below = _ok(api, PRODUCT_CREATE, {"input": _product_input(salePrice={"amount": 1998, "currency": "USD"})},
                manager["token"], "productCreate")["product"]
    assert below["salePrice"] == {"amount": 1998, "currency": "USD"}


def test_updates_keep_the_sale_price_below_the_base_price(api, factory, manager):
    token = manager["token"]
    product = factory.product(base_price_amount=1000, sale_price_amount=800)
    # Lowering the base price under the stored sale price: named on basePrice.
    _refused(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"basePrice": {"amount": 800}}}, token,
             "productUpdate", path=["input", "basePrice", "amount"])
    _refused(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"salePrice": {"amount": 1000}}}, token,
             "productUpdate", path=["input", "salePrice", "amount"])
    both = _ok(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"basePrice": {"amount": 700},
                                                                    "salePrice": {"amount": 500}}},
               token, "productUpdate")["product"]
    assert (both["basePrice"]["amount"], both["salePrice"]["amount"]) == (700, 500)
    cleared = _ok(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"salePrice": None,
                                                                       "basePrice": {"amount": 100}}},
                  token, "productUpdate")["product"]
    assert cleared["salePrice"] is None


def test_sale_window_updates_are_checked_against_the_stored_dates(api, factory, manager):
    token = manager["token"]
    product = factory.product(sale_price_amount=500, sale_starts_at=dt.datetime(2030, 1, 10, tzinfo=dt.UTC),
                              sale_ends_at=dt.datetime(2030, 1, 20, tzinfo=dt.UTC))
    _refused(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"saleEndsAt": "2030-01-05T00:00:00Z"}}, token,
             "productUpdate", path=["input", "saleEndsAt"])
    _refused(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"saleStartsAt": "2030-01-25T00:00:00Z"}}, token,
             "productUpdate", path=["input", "saleEndsAt"])
    _refused(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"saleStartsAt": "2030-01-20T00:00:00Z"}}, token,
             "productUpdate", path=["input", "saleEndsAt"])
    moved = _ok(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"saleStartsAt": "2030-01-25T00:00:00Z",
                                                                     "saleEndsAt": "2030-02-01T00:00:00Z"}},
                token, "productUpdate")["product"]
    assert (moved["saleStartsAt"], moved["saleEndsAt"]) == ("2030-01-25T00:00:00Z", "2030-02-01T00:00:00Z")
    opened = _ok(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"saleEndsAt": None}}, token,
                 "productUpdate")["product"]
    assert opened["saleEndsAt"] is None


def test_the_currency_cannot_change_under_priced_variants(api, factory, manager):
    token = manager["token"]
    product = factory.product()
    factory.variant(product["id"], price_amount=1200)
    _refused(api, PRODUCT_UPDATE, {"id": product["id"], "input": {"basePrice": {"amount": 900, "currency": "EUR"}}},
             token, "productUpdate", path=["input", "basePrice", "currency"])
    unpriced = factory.product(sale_price_amount=700)
    factory.variant(unpriced["id"])  # sells at the product's price: it follows the currency
    _refused(api, PRODUCT_UPDATE, {"id": unpriced["id"], "input": {"basePrice": {"amount": 900, "currency": "EUR"}}},
             token, "productUpdate", path=["input", "salePrice"])
    changed = _ok(api, PRODUCT_UPDATE, {"id": unpriced["id"], "input": {
        "basePrice": {"amount": 900, "currency": "EUR"}, "salePrice": {"amount": 800, "currency": "EUR"}}},
        token, "productUpdate")["product"]
    assert changed["basePrice"] == {"amount": 900, "currency": "EUR"}
    assert changed["salePrice"] == {"amount": 800, "currency": "EUR"}
    public = api.get(f"/api/v1/catalog/products/{product['id']}").json()["data"]
    assert public["base_price"]["currency"] == "USD"


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


def test_category_slugs_are_unique(api, factory, manager):
    token = manager["token"]
    existing = factory.category()
    payload = _refused(api, CATEGORY_CREATE, {"input": {"name": "Again", "slug": existing["slug"]}}, token,
                       "categoryCreate", "ALREADY_EXISTS", ["input", "slug"])
    assert payload["category"] is None
    other = factory.category()
    _refused(api, CATEGORY_UPDATE, {"id": other["id"], "input": {"slug": existing["slug"]}}, token,
             "categoryUpdate", "ALREADY_EXISTS", ["input", "slug"])
    listed = api.data("query($id: ID!) { category(id: $id) { slug } }", {"id": other["id"]})["category"]
    assert listed == {"slug": other["slug"]}


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
    _refused(api, PROMOTION_CREATE, {"input": {"code": unique("p"), "kind": "FIXED_AMOUNT", "value": 5,
                                               "minSubtotal": -1}}, token, "promotionCreate",
             path=["input", "minSubtotal"])
    _refused(api, PROMOTION_CREATE, {"input": {"code": unique("p"), "kind": "PERCENTAGE", "value": 5,
                                               "maxDiscount": 0}}, token, "promotionCreate",
             path=["input", "maxDiscount"])
    _refused(api, PROMOTION_UPDATE, {"id": created["id"], "input": {"maxDiscount": 0}}, token, "promotionUpdate",
             path=["input", "maxDiscount"])
    _refused(api, PROMOTION_UPDATE, {"id": created["id"], "input": {"minSubtotal": -100}}, token, "promotionUpdate",
             path=["input", "minSubtotal"])
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
    _refused(api, SHIPPING_CREATE, {"input": {"name": "X", "price": {"amount": 1}, "freeOver": {"amount": -1}}},
             token, "shippingMethodCreate", path=["input", "freeOver", "amount"])
    _refused(api, SHIPPING_UPDATE, {"id": chosen, "input": {"freeOver": {"amount": -5}}}, token,
             "shippingMethodUpdate", path=["input", "freeOver", "amount"])
    # A chosen id is matched whole: a trailing newline is refused (it used to overflow the column).
    for bad_id in ("ship_" + "a" * 35 + "\n", "ship_x\n", "ship_x\r\n", " ship_x", "ship_\u0430"):
        _refused(api, SHIPPING_CREATE, {"input": {"id": bad_id, "name": "X", "price": {"amount": 1}}}, token,
                 "shippingMethodCreate", path=["input", "id"])
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
    for rate in ("1", "1.5", "-0.01", "0.1234567"):
        _refused(api, TAX_CREATE, {"input": {"country": "DE", "state": unique("Z").upper()[:8], "rate": rate}},
                 token, "taxRateCreate", path=["input", "rate"])
    # Not a finite decimal at all: the Decimal scalar refuses it before the resolver runs.
    for rate in ("lots", "NaN", "Infinity"):
        body = api.graphql(TAX_CREATE, {"input": {"country": "DE", "rate": rate}}, token=token)
        assert error_codes(body) == ["BAD_USER_INPUT"], rate
    for country in ("USA", "XX", "", "u"):
        _refused(api, TAX_CREATE, {"input": {"country": country, "rate": "0.1"}}, token, "taxRateCreate",
                 path=["input", "country"])
    zero = _ok(api, TAX_UPDATE, {"id": created["id"], "input": {"rate": "0"}}, token, "taxRateUpdate")["taxRate"]
    assert zero["rate"] == "0"
    _ok(api, TAX_DELETE, {"id": created["id"]}, token, "taxRateDelete")
    _refused(api, TAX_DELETE, {"id": created["id"]}, token, "taxRateDelete", "NOT_FOUND")


# --- admin lists: promotions and tax rates ----------------------------------------------------------------------


def test_promotions_are_listed_for_their_managers_with_filters_and_pages(api, factory, manager):
    token = manager["token"]
    marker = unique("LIST").upper()
    first = factory.promotion(code=f"{marker}A", active=True)
    second = factory.promotion(code=f"{marker}B", active=False, usage_count=3, usage_limit=3)
    listed = api.data(PROMOTIONS, {"search": marker.lower(), "first": 10}, token=token)["promotions"]
    assert listed["totalCount"] == 2
    assert {node["code"] for node in listed["nodes"]} == {first["code"], second["code"]}
    assert [edge["node"]["code"] for edge in listed["edges"]] == [node["code"] for node in listed["nodes"]]
    inactive = api.data(PROMOTIONS, {"search": marker, "active": False}, token=token)["promotions"]
    assert inactive["nodes"] == [{"id": second["id"], "code": second["code"], "active": False, "usageCount": 3}]
    page = api.data(PROMOTIONS, {"search": marker, "first": 1}, token=token)["promotions"]
    assert page["pageInfo"]["hasNextPage"] is True and len(page["nodes"]) == 1
    rest = api.data(PROMOTIONS, {"search": marker, "first": 1, "after": page["pageInfo"]["endCursor"]},
                    token=token)["promotions"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert {page["nodes"][0]["code"], rest["nodes"][0]["code"]} == {first["code"], second["code"]}
    # LIKE wildcards in the search are plain characters.
    assert api.data(PROMOTIONS, {"search": "%"}, token=token)["promotions"]["totalCount"] == 0
    body = api.graphql(PROMOTIONS, {"search": "x" * 65}, token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_tax_rates_are_listed_by_country_then_state(api, factory, manager):
    token = manager["token"]
    factory.tax_rate("GL", "", "0.2")
    factory.tax_rate("GL", "ZB", "0.05")
    factory.tax_rate("GL", "AA", "0.01")
    listed = api.data(TAX_RATES, {"country": "gl"}, token=token)["taxRates"]
    assert listed["totalCount"] == 3
    assert [(node["country"], node["state"], node["rate"]) for node in listed["nodes"]] == [
        ("GL", "", "0.2"), ("GL", "AA", "0.01"), ("GL", "ZB", "0.05")]
    everything = api.data(TAX_RATES, {"first": 100}, token=token)["taxRates"]
    assert everything["totalCount"] >= 3
    countries = [node["country"] for node in everything["nodes"]]
    assert countries == sorted(countries)
    for country in ("XX", "GLX", ""):
        assert error_codes(api.graphql(TAX_RATES, {"country": country}, token=token)) == ["BAD_USER_INPUT"]
