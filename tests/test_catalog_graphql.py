"""The public catalog over GraphQL: connections, relations, node lookups, visibility."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import utcnow
from tests.support.api import error_codes

PRODUCTS_IN_CATEGORY = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  category(id: $id) {
    products(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      edges { cursor node { id } }
      nodes { id }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""


@pytest.fixture
def five_products(factory):
    category = factory.category()
    start = utcnow() - dt.timedelta(hours=1)
    products = [
        factory.product(category_id=category["id"], created_at=start + dt.timedelta(minutes=i)) for i in range(5)
    ]
    return category, [p["id"] for p in reversed(products)]  # newest first


def _page(api, category_id, **args):
    data = api.data(PRODUCTS_IN_CATEGORY, {"id": category_id, **args})
    return data["category"]["products"]


def test_forward_pagination_with_cursors(api, five_products):
    category, ids = five_products
    first = _page(api, category["id"], first=2)
    assert first["nodes"] == [{"id": i} for i in ids[:2]]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = _page(api, category["id"], first=2, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in second["edges"]] == ids[2:4]
    last = _page(api, category["id"], first=2, after=second["pageInfo"]["endCursor"])
    assert last["nodes"] == [{"id": ids[4]}]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["hasPreviousPage"] is True


def test_backward_pagination_with_last_and_before(api, five_products):
    category, ids = five_products
    tail = _page(api, category["id"], last=2)
    assert tail["nodes"] == [{"id": i} for i in ids[3:]]
    before = _page(api, category["id"], last=2, before=tail["pageInfo"]["startCursor"])
    assert before["nodes"] == [{"id": i} for i in ids[1:3]]
    assert before["pageInfo"]["hasPreviousPage"] is True


def test_edges_cursors_resume_after_each_item(api, five_products):
    category, ids = five_products
    edges = _page(api, category["id"], first=5)["edges"]
    for index, edge in enumerate(edges[:-1]):
        assert _page(api, category["id"], first=1, after=edge["cursor"])["nodes"] == [{"id": ids[index + 1]}]


@pytest.mark.parametrize("args", [{"first": 101}, {"first": -1}, {"last": 1000}])
def test_page_sizes_outside_0_to_100_are_refused(api, args):
    body = api.graphql("query($first: Int, $last: Int) { products(first: $first, last: $last) { totalCount } }", args)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["data"] is None


@pytest.mark.parametrize("cursor", ["garbage", "b2Zmc2V0Oi0x", "", "b2Zmc2V0OjEwMDAwMDAwMDAwMDAwMDAwMDAw"])
def test_invalid_cursors_are_refused(api, cursor):
    body = api.graphql("query($after: String) { products(first: 2, after: $after) { totalCount } }", {"after": cursor})
    if cursor == "":
        assert "errors" not in body
    else:
        assert error_codes(body) == ["BAD_USER_INPUT"]


def test_product_resolves_brand_category_and_variants(api, factory):
    brand = factory.brand()
    category = factory.category()
    product = factory.product(brand_id=brand["id"], category_id=category["id"], base_price_amount=5000)
    small = factory.variant(product["id"], name="Small", price_amount=None, stock=0)
    large = factory.variant(product["id"], name="Large", price_amount=6000, stock=3)
    data = api.data(
        """query($id: ID!) { product(id: $id) {
            id brand { id name } category { id slug }
            variants { id name sku price { amount currency } stock inStock }
            basePrice { amount } effectivePrice { amount } inStock
        } }""",
        {"id": product["id"]},
    )["product"]
    assert data["brand"] == {"id": brand["id"], "name": brand["name"]}
    assert data["category"] == {"id": category["id"], "slug": category["slug"]}
    assert [v["id"] for v in data["variants"]] == [small["id"], large["id"]]
    assert data["variants"][0]["price"] == {"amount": 5000, "currency": "USD"}
    assert data["variants"][0]["inStock"] is False
    assert data["variants"][1]["price"]["amount"] == 6000
    assert data["effectivePrice"] == {"amount": 5000}


def test_effective_price_follows_the_sale_window(api, factory):
    now = utcnow()
    on_sale = factory.product(base_price_amount=1000, sale_price_amount=700,
                              sale_starts_at=now - dt.timedelta(hours=1), sale_ends_at=now + dt.timedelta(hours=1))
    ended = factory.product(base_price_amount=1000, sale_price_amount=700,
                            sale_starts_at=now - dt.timedelta(hours=2), sale_ends_at=now - dt.timedelta(hours=1))
    query = "query($id: ID!) { product(id: $id) { salePrice { amount } effectivePrice { amount } } }"
    assert api.data(query, {"id": on_sale["id"]})["product"] == {"salePrice": {"amount": 700}, "effectivePrice": {"amount": 700}}
    assert api.data(query, {"id": ended["id"]})["product"] == {"salePrice": None, "effectivePrice": {"amount": 1000}}


def test_status_is_an_uppercase_enum_in_graphql(api, factory):
    product = factory.product()
    assert api.data("query($id: ID!) { product(id: $id) { status } }", {"id": product["id"]})["product"] == {"status": "ACTIVE"}


def test_hidden_products_are_null_for_the_public(api, factory):
    draft = factory.product(status="DRAFT")
    data = api.data(
        "query($id: ID!) { product(id: $id) { id } node(id: $id) { id } nodes(ids: [$id]) { id } }",
        {"id": draft["id"]},
    )
    assert data == {"product": None, "node": None, "nodes": [None]}


def test_staff_with_manage_products_see_drafts(api, factory):
    draft = factory.product(status="DRAFT")
    manager = factory.user(roles=("manager",))
    customer = factory.user()
    query = "query($id: ID!) { product(id: $id) { id status } }"
    assert api.data(query, {"id": draft["id"]}, token=manager["token"])["product"] == {"id": draft["id"], "status": "DRAFT"}
    assert api.data(query, {"id": draft["id"]}, token=customer["token"])["product"] is None


def test_node_fetches_any_catalog_object_by_prefixed_id(api, factory):
    brand = factory.brand()
    category = factory.category()
    product = factory.product(brand_id=brand["id"])
    variant = factory.variant(product["id"])
    data = api.data(
        """query($ids: [ID!]!) { nodes(ids: $ids) {
            __typename id
            ... on Product { sku }
            ... on Brand { slug }
            ... on Category { slug }
            ... on ProductVariant { productId }
        } }""",
        {"ids": [product["id"], brand["id"], category["id"], variant["id"], "prod_missing", "zzz_1", "nonsense"]},
    )["nodes"]
    assert data[0] == {"__typename": "Product", "id": product["id"], "sku": product["sku"]}
    assert data[1] == {"__typename": "Brand", "id": brand["id"], "slug": brand["slug"]}
    assert data[2] == {"__typename": "Category", "id": category["id"], "slug": category["slug"]}
    assert data[3] == {"__typename": "ProductVariant", "id": variant["id"], "productId": product["id"]}
    assert data[4:] == [None, None, None]


def test_nodes_refuses_more_than_100_ids(api):
    body = api.graphql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["prod_x"] * 101})
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_products_filter_by_brand_and_search(api, factory):
    brand = factory.brand()
    other = factory.brand()
    mine = factory.product(brand_id=brand["id"], name="Quasar Lamp")
    factory.product(brand_id=other["id"], name="Quasar Lamp")
    data = api.data(
        "query($b: ID!) { products(brandId: $b, search: \"quasar\") { totalCount nodes { id } } }", {"b": brand["id"]}
    )
    assert data["products"] == {"totalCount": 1, "nodes": [{"id": mine["id"]}]}


def test_category_tree_parent_and_children(api, factory):
    root = factory.category()
    child = factory.category(parent_id=root["id"])
    factory.category(parent_id=root["id"], active=False)
    data = api.data(
        "query($id: ID!, $child: ID!) { category(id: $id) { children { id } } "
        "child: category(id: $child) { parent { id } } }",
        {"id": root["id"], "child": child["id"]},
    )
    assert data["category"]["children"] == [{"id": child["id"]}]
    assert data["child"]["parent"] == {"id": root["id"]}


def test_brand_and_category_lists_are_connections(api, factory):
    brand = factory.brand()
    data = api.data("{ brands(first: 100) { totalCount nodes { id } } categories(first: 1) { totalCount pageInfo { hasNextPage } } }")
    assert brand["id"] in [b["id"] for b in data["brands"]["nodes"]]
    assert data["brands"]["totalCount"] >= 1
    assert data["categories"]["pageInfo"]["hasNextPage"] == (data["categories"]["totalCount"] > 1)


def test_statement_count_is_independent_of_page_size_with_relations(api, factory):
    category = factory.category()
    brand = factory.brand()
    for _ in range(3):
        product = factory.product(category_id=category["id"], brand_id=brand["id"])
        factory.variant(product["id"])
    query = """query($first: Int!) { products(first: $first) { totalCount nodes {
        id brand { name } category { name } variants { sku } } } }"""
    counts = []
    for first in (20, 100):
        response = api.graphql_response(query, {"first": first})
        assert "errors" not in response.json()
        counts.append(int(response.headers["x-sql-statements"]))
    assert counts[0] == counts[1]
    assert counts[0] <= 5  # page, count, brands, categories, variants
