"""HTTP caching: ETag + public Cache-Control on public reads, 304 on If-None-Match,
never for private data, errors or POSTs.
"""

from __future__ import annotations

import pytest

from tests.factories import unique

PUBLIC = "public, max-age=30"
PRIVATE = "private, no-store"


def brand_query(brand_id: str) -> dict:
    return {"query": "query($id: ID!) { brand(id: $id) { id name } }", "variables": f'{{"id": "{brand_id}"}}'}


# --- REST catalog GETs -----------------------------------------------------------------------------


def test_rest_catalog_reads_carry_an_etag_and_public_cache_control(api, factory):
    product = factory.product()
    response = api.get(f"/api/v1/catalog/products/{product['id']}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == PUBLIC
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert api.get(f"/api/v1/catalog/products/{product['id']}").headers["etag"] == etag


@pytest.mark.parametrize("path", ["/api/v1/catalog/products", "/api/v1/catalog/categories",
                                  "/api/v1/catalog/brands", "/api/v1/catalog/products?page=2&page_size=3"])
def test_every_public_catalog_list_is_cacheable(api, path):
    response = api.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == PUBLIC
    assert "etag" in response.headers


def test_if_none_match_with_the_current_etag_is_304_without_a_body(api, factory):
    product = factory.product()
    path = f"/api/v1/catalog/products/{product['id']}"
    etag = api.get(path).headers["etag"]
    response = api.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == PUBLIC


@pytest.mark.parametrize("header", ['W/{etag}', '"nope", {etag}', "*"])
def test_if_none_match_uses_weak_comparison_lists_and_star(api, factory, header):
    product = factory.product()
    path = f"/api/v1/catalog/products/{product['id']}"
    etag = api.get(path).headers["etag"]
    assert api.get(path, headers={"If-None-Match": header.format(etag=etag)}).status_code == 304


def test_a_changed_resource_gets_a_new_etag_and_a_full_response(api, factory):
    product = factory.product()
    path = f"/api/v1/catalog/products/{product['id']}"
    etag = api.get(path).headers["etag"]
    factory.set_product(product["id"], name=unique("Renamed "))
    response = api.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag
    assert response.json()["data"]["name"].startswith("Renamed ")


def test_rest_reads_with_authorization_are_private(api, factory):
    user = factory.user()
    product = factory.product()
    response = api.get(f"/api/v1/catalog/products/{product['id']}", token=user["token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == PRIVATE
    assert "etag" not in response.headers
    assert api.get(f"/api/v1/catalog/products/{product['id']}", token=user["token"],
                   headers={"If-None-Match": "*"}).status_code == 200


def test_rest_errors_are_not_stored(api):
    response = api.get(f"/api/v1/catalog/products/{unique('prod_')}")
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


def test_health_is_not_stored(api):
    assert api.get("/health").headers["cache-control"] == "no-store"


# --- GraphQL GET -----------------------------------------------------------------------------------------


def test_public_graphql_get_queries_are_cacheable(api, factory):
    brand = factory.brand()
    response = api.get("/graphql", params=brand_query(brand["id"]))
    assert response.status_code == 200
    assert response.json()["data"] == {"brand": {"id": brand["id"], "name": brand["name"]}}
    assert response.headers["cache-control"] == PUBLIC
    assert "Authorization" in response.headers["vary"] and "Accept" in response.headers["vary"]
    etag = response.headers["etag"]
    again = api.get("/graphql", params=brand_query(brand["id"]), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_graphql_etags_differ_per_media_type(api, factory):
    brand = factory.brand()
    as_json = api.get("/graphql", params=brand_query(brand["id"]), headers={"Accept": "application/json"})
    as_graphql = api.get("/graphql", params=brand_query(brand["id"]),
                         headers={"Accept": "application/graphql-response+json"})
    assert as_json.content == as_graphql.content
    assert as_json.headers["etag"] != as_graphql.headers["etag"]


def test_graphql_get_with_authorization_is_private(api, factory):
    user = factory.user()
    brand = factory.brand()
    response = api.get("/graphql", params=brand_query(brand["id"]), token=user["token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == PRIVATE
    assert "etag" not in response.headers
    me = api.get("/graphql", params={"query": "{ me { roles } }"}, token=user["token"])
    assert me.json()["data"]["me"]["roles"] == ["user"]
    assert me.headers["cache-control"] == PRIVATE


def test_graphql_get_with_errors_is_not_cached(api):
    response = api.get("/graphql", params={"query": "{ products(first: 101) { totalCount } }"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    invalid = api.get("/graphql", params={"query": "{ nope }"})
    assert invalid.headers["cache-control"] == "no-store"


def test_graphql_posts_are_never_stored(api, factory):
    brand = factory.brand()
    response = api.post("/graphql", json={"query": "query($id: ID!) { brand(id: $id) { id } }",
                                         "variables": {"id": brand["id"]}})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    user = factory.user()
    private = api.post("/graphql", json={"query": "{ me { roles } }"}, token=user["token"])
    assert private.headers["cache-control"] == PRIVATE
