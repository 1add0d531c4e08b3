"""The public catalog over REST: /api/v1/catalog/* shapes, pagination, search, visibility."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import unique, utcnow

PRODUCT_KEYS = {
    "id", "sku", "name", "description", "base_price", "SalePrice", "status", "brand_id",
    "category_id", "images", "attributes", "stock", "created_at", "updated_at",
}
META_KEYS = {"page", "page_size", "total_items", "total_pages", "has_next", "has_prev"}


def _category_with_products(factory, count, **product_values):
    category = factory.category()
    start = utcnow() - dt.timedelta(hours=count)
    products = [
        factory.product(category_id=category["id"], created_at=start + dt.timedelta(minutes=i), **product_values)
        for i in range(count)
    ]
    return category, products


def test_product_list_has_documented_shape(api, factory):
    brand = factory.brand()
    category, [product] = _category_with_products(
        factory, 1, brand_id=brand["id"], base_price_amount=99999, images=["https://x.test/a.jpg"],
        attributes={"color": "silver", "ram": "16GB"},
    )
    body = api.get(f"/api/v1/catalog/products/category/{category['id']}").json()
    assert set(body) == {"data", "meta"}
    [item] = body["data"]
    assert set(item) == PRODUCT_KEYS
    assert item["id"] == product["id"]
    assert item["base_price"] == {"amount": 99999, "currency": "USD"}
    assert item["SalePrice"] is None
    assert item["status"] == "active"
    assert item["brand_id"] == brand["id"]
    assert item["category_id"] == category["id"]
    assert item["images"] == ["https://x.test/a.jpg"]
    assert item["attributes"] == {"color": "silver", "ram": "16GB"}
    assert item["created_at"].endswith("Z")
    assert body["meta"] == {
        "page": 1, "page_size": 20, "total_items": 1, "total_pages": 1, "has_next": False, "has_prev": False,
    }


def test_products_are_listed_newest_first_across_pages(api, factory):
    category, products = _category_with_products(factory, 5)
    newest_first = [p["id"] for p in reversed(products)]
    seen = []
    for page in (1, 2, 3):
        body = api.get(f"/api/v1/catalog/products/category/{category['id']}?page={page}&page_size=2").json()
        seen += [item["id"] for item in body["data"]]
        assert body["meta"] == {
            "page": page, "page_size": 2, "total_items": 5, "total_pages": 3,
            "has_next": page < 3, "has_prev": page > 1,
        }
    assert seen == newest_first


def test_page_past_the_end_is_empty_with_correct_meta(api, factory):
    category, _ = _category_with_products(factory, 3)
    response = api.get(f"/api/v1/catalog/products/category/{category['id']}?page=9&page_size=2")
    assert response.status_code == 200
    assert response.json() == {
        "data": [],
        "meta": {"page": 9, "page_size": 2, "total_items": 3, "total_pages": 2, "has_next": False, "has_prev": True},
    }


@pytest.mark.parametrize("query", [
    "page=0", "page=-1", "page=abc", "page=1.5", "page=%20", "page_size=0", "page_size=-5",
    "page_size=ten", "page=99999999999999", "page=１",
])
@pytest.mark.parametrize("route", ["/api/v1/catalog/products", "/api/v1/catalog/categories", "/api/v1/catalog/brands"])
def test_bad_pagination_parameters_are_400_naming_the_parameter(api, route, query):
    response = api.get(f"{route}?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert query.split("=")[0] in error["message"]


def test_page_size_above_100_is_clamped(api):
    body = api.get("/api/v1/catalog/products?page_size=5000").json()
    assert body["meta"]["page_size"] == 100
    assert len(body["data"]) <= 100


def test_total_items_reflects_filters(api, factory):
    category, _ = _category_with_products(factory, 4)
    factory.product(category_id=category["id"], status="DRAFT")
    body = api.get(f"/api/v1/catalog/products/category/{category['id']}").json()
    assert body["meta"]["total_items"] == 4
    everything = api.get("/api/v1/catalog/products").json()["meta"]["total_items"]
    assert everything > 4


def test_drafts_and_archived_products_are_invisible(api, factory):
    category = factory.category()
    visible = factory.product(category_id=category["id"])
    draft = factory.product(category_id=category["id"], status="DRAFT", name=unique("Draftword"))
    archived = factory.product(category_id=category["id"], status="ARCHIVED")
    listed = api.get(f"/api/v1/catalog/products/category/{category['id']}").json()
    assert [item["id"] for item in listed["data"]] == [visible["id"]]
    for hidden in (draft, archived):
        response = api.get(f"/api/v1/catalog/products/{hidden['id']}")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "Product not found"}}
    assert api.get(f"/api/v1/catalog/products?keyword={draft['name']}").json()["meta"]["total_items"] == 0


def test_product_detail(api, factory):
    product = factory.product(base_price_amount=2500)
    response = api.get(f"/api/v1/catalog/products/{product['id']}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == PRODUCT_KEYS
    assert data["sku"] == product["sku"]
    assert data["base_price"] == {"amount": 2500, "currency": "USD"}


@pytest.mark.parametrize("product_id", ["prod_00000000000000000000000000", "nonsense", "cat_x", "x" * 300])
def test_unknown_product_is_404(api, product_id):
    response = api.get(f"/api/v1/catalog/products/{product_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_nul_characters_are_refused_as_bad_requests(api):
    for response in (
        api.get("/api/v1/catalog/products/prod_%00"),
        api.get("/api/v1/catalog/products", params={"keyword": "lap\u0000top"}),
    ):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_request"


def test_sale_price_shows_only_inside_its_window(api, factory):
    now = utcnow()
    windows = {
        "open": (now - dt.timedelta(days=1), now + dt.timedelta(days=1), True),
        "open-ended": (now - dt.timedelta(days=1), None, True),
        "no-start": (None, now + dt.timedelta(days=1), True),
        "future": (now + dt.timedelta(days=1), now + dt.timedelta(days=2), False),
        "ended": (now - dt.timedelta(days=2), now - dt.timedelta(days=1), False),
    }
    for label, (starts, ends, shown) in windows.items():
        product = factory.product(base_price_amount=1000, sale_price_amount=800, sale_starts_at=starts, sale_ends_at=ends)
        data = api.get(f"/api/v1/catalog/products/{product['id']}").json()["data"]
        expected = {"amount": 800, "currency": "USD"} if shown else None
        assert data["SalePrice"] == expected, label


def test_category_products_of_unknown_category_is_404(api):
    response = api.get("/api/v1/catalog/products/category/cat_unknown")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Category not found"}}


def test_categories_list_shape_and_hides_inactive(api, factory):
    parent = factory.category()
    child = factory.category(parent_id=parent["id"], description="Laptops and more")
    inactive = factory.category(active=False)
    body = api.get("/api/v1/catalog/categories?page_size=100").json()
    by_id = {item["id"]: item for item in body["data"]}
    assert inactive["id"] not in by_id
    assert by_id[child["id"]] == {
        "id": child["id"], "name": child["name"], "slug": child["slug"], "description": "Laptops and more",
        "parent_id": parent["id"], "image_url": "", "active": True,
        "created_at": by_id[child["id"]]["created_at"], "updated_at": by_id[child["id"]]["updated_at"],
    }
    assert set(body["meta"]) == META_KEYS


def test_brands_list_shape_and_hides_inactive(api, factory):
    brand = factory.brand(description="Leading technology manufacturer")
    inactive = factory.brand(active=False)
    body = api.get("/api/v1/catalog/brands?page_size=100").json()
    by_id = {item["id"]: item for item in body["data"]}
    assert inactive["id"] not in by_id
    assert set(by_id[brand["id"]]) == {
        "id", "name", "slug", "description", "logo_url", "active", "created_at", "updated_at",
    }
    assert by_id[brand["id"]]["description"] == "Leading technology manufacturer"
    total = body["meta"]["total_items"]
    assert body["meta"]["total_pages"] == -(-total // 100)


# --- keyword search ---------------------------------------------------------------------------------


def _search(api, keyword, **params):
    response = api.get("/api/v1/catalog/products", params={"keyword": keyword, "page_size": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_search_matches_name_case_insensitively_as_substring(api, factory):
    token = unique("zq")
    product = factory.product(name=f"Professional {token.upper()}book Laptop")
    for keyword in (token, token.upper(), token[1:-1], f"{token}BOOK"):
        body = _search(api, keyword)
        assert [item["id"] for item in body["data"]] == [product["id"]], keyword
        assert body["meta"]["total_items"] == 1


def test_search_matches_description(api, factory):
    token = unique("desc")
    product = factory.product(description=f"High-performance {token} for professionals")
    assert [item["id"] for item in _search(api, f"performance {token}")["data"]] == [product["id"]]


def test_search_treats_wildcards_literally(api, factory):
    token = unique("wild")
    percent = factory.product(name=f"{token} 100% cotton")
    underscore = factory.product(name=f"{token} snake_case")
    factory.product(name=f"{token} 100 cotton")
    factory.product(name=f"{token} snakeXcase")
    assert [i["id"] for i in _search(api, f"{token} 100%")["data"]] == [percent["id"]]
    assert [i["id"] for i in _search(api, "e_c")["data"] if token in i["name"]] == [underscore["id"]]
    assert _search(api, f"{token}%cotton")["meta"]["total_items"] == 0
    assert _search(api, f'{token} "quoted')["meta"]["total_items"] == 0


def test_search_with_short_keyword_still_filters(api, factory):
    token = unique("k")
    product = factory.product(name=f"{token} Qj")
    ids = [item["id"] for item in _search(api, "qJ")["data"]]
    assert product["id"] in ids


def test_blank_keyword_means_no_filter(api):
    assert _search(api, "   ")["meta"]["total_items"] == api.get("/api/v1/catalog/products").json()["meta"]["total_items"]


def test_search_results_are_paginated_with_filtered_totals(api, factory):
    token = unique("page")
    for _ in range(3):
        factory.product(name=f"{token} item")
    body = api.get("/api/v1/catalog/products", params={"keyword": token, "page_size": 2, "page": 2}).json()
    assert len(body["data"]) == 1
    assert body["meta"] == {
        "page": 2, "page_size": 2, "total_items": 3, "total_pages": 2, "has_next": False, "has_prev": True,
    }


def test_search_handles_hostile_keywords(api):
    for keyword in ["'; DROP TABLE products; --", '"', "*", "NEAR(a b)", "a OR b", "\\", "%%%", "x" * 2000, "ü", "😀😀😀"]:
        response = api.get("/api/v1/catalog/products", params={"keyword": keyword})
        assert response.status_code == 200, (keyword, response.text)


# --- query count ------------------------------------------------------------------------------------


def test_statement_count_does_not_depend_on_page_size(api, factory):
    category, _ = _category_with_products(factory, 25)
    counts = set()
    for route in ("/api/v1/catalog/products", f"/api/v1/catalog/products/category/{category['id']}"):
        small = api.get(f"{route}?page_size=20")
        large = api.get(f"{route}?page_size=100")
        assert small.status_code == large.status_code == 200
        counts.add((route, small.headers["x-sql-statements"] == large.headers["x-sql-statements"]))
    assert all(same for _, same in counts)


def test_search_index_follows_status_and_name_changes(api, factory):
    token = unique("idx")
    product = factory.product(name=f"{token} original", status="DRAFT")
    assert _search(api, token)["meta"]["total_items"] == 0
    factory.set_product(product["id"], status="ACTIVE")
    assert [i["id"] for i in _search(api, token)["data"]] == [product["id"]]
    factory.set_product(product["id"], name=f"{token} renamed")
    assert _search(api, f"{token} renamed")["meta"]["total_items"] == 1
    assert _search(api, f"{token} original")["meta"]["total_items"] == 0
    factory.set_product(product["id"], status="ARCHIVED")
    assert _search(api, token)["meta"]["total_items"] == 0


def test_search_with_many_matches_pages_newest_first(api, factory):
    """Enough matches for the dense-match plan: the order and totals must not change."""
    token = unique("dense")
    start = utcnow() - dt.timedelta(days=1)
    rows = [
        {"name": f"{token} {i}", "created_at": start + dt.timedelta(seconds=i)} for i in range(1050)
    ]
    factory.products_bulk(rows)
    body = api.get("/api/v1/catalog/products", params={"keyword": token, "page_size": 100, "page": 2}).json()
    assert body["meta"]["total_items"] == 1050
    assert [item["name"] for item in body["data"]] == [f"{token} {i}" for i in range(949, 849, -1)]


@pytest.mark.parametrize(("path", "message"), [
    ("/api/v1/catalog/products/", "Product ID is required"),
    ("/api/v1/catalog/products/category/", "Category ID is required"),
])
def test_a_missing_id_is_400_as_documented(api, path, message):
    response = api.get(path)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "bad_request", "message": message}}
    assert response.headers["cache-control"] == "no-store"


def test_a_blank_product_id_is_invalid_in_graphql(api):
    body = api.graphql('{ product(id: " ") { id } }')
    assert body["data"] == {"product": None}
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [("Product ID is required", "INVALID")]
