"""HTTP caching: opt-in. ETag + public Cache-Control on public reads (the catalog routes,
GraphQL GET queries of public root fields), 304 on If-None-Match; `no-store` for everything
else: tokens, single-use OAuth states, private data, errors, POSTs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from rest_compat.routes import ROUTES
from tests.factories import Factory, unique
from tests.support.api import Api
from tests.support.fake_google import FakeGoogle
from tests.support.server import ServerProcess

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


def test_graphql_get_of_non_public_root_fields_is_not_stored(api, factory):
    brand = factory.brand()
    for query in (
        "{ googleAuthUrl { state } }",  # writes a single-use OAuth state: never public
        '{ node(id: "usr_01J0000000000000000000000") { id } }',
        f'{{ brand(id: "{brand["id"]}") {{ id }} node(id: "ord_01J0000000000000000000000") {{ id }} }}',
    ):
        response = api.get("/graphql", params={"query": query})
        assert "no-store" in response.headers["cache-control"], query
        assert "etag" not in response.headers, query


@pytest.mark.parametrize("query", [
    "{ shippingMethods { id } }",
    "{ __schema { queryType { name } } }",
    "query($id: ID!) { node(id: $id) { id } }",
    "query($id: ID!) { nodes(ids: [$id]) { id } }",
])
def test_graphql_get_of_public_root_fields_is_cacheable(api, factory, query):
    product = factory.product()
    response = api.get("/graphql", params={"query": query, "variables": json.dumps({"id": product["id"]})})
    assert response.status_code == 200
    assert "errors" not in response.json()
    assert response.headers["cache-control"] == PUBLIC
    assert "etag" in response.headers


# --- /auth: tokens and single-use OAuth states are never stored ------------------------------------

CALLBACK = "/api/v1/auth/google/callback"


@dataclass
class AuthSite:
    api: Api
    factory: Factory
    fake: FakeGoogle


@pytest.fixture(scope="module")
def auth_site(databases) -> Iterator[AuthSite]:
    url = databases.new()
    with FakeGoogle() as fake:
        server = ServerProcess(url, **fake.server_env())
        server.env["GOOGLE_REDIRECT_URI"] = f"{server.base_url}{CALLBACK}"
        with server:
            factory = Factory(url)
            api = Api(server.base_url)
            yield AuthSite(api, factory, fake)
            api.close()
            factory.close()


def _signed_in(site: AuthSite) -> dict[str, Any]:
    user = site.factory.user()
    response = site.api.post("/api/v1/auth/login", json={"email": user["email"], "password": user["password"]})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _google_url(site: AuthSite) -> httpx.Response:
    return site.api.get("/api/v1/auth/google")


def _google_callback(site: AuthSite) -> httpx.Response:
    site.fake.sign_in_as(email=f"{unique('g')}@example.com", email_verified=True)
    params = site.fake.authorize(_google_url(site).json()["data"]["url"])
    return site.api.get(CALLBACK, params=params)


# One successful request per /auth route (a new route fails the coverage check below).
AUTH_CALLS: dict[tuple[str, str], Callable[[AuthSite], httpx.Response]] = {
    ("POST", "/api/v1/auth/register"): lambda site: site.api.post(
        "/api/v1/auth/register", json={"email": f"{unique('r')}@example.com", "password": "a long enough password"}),
    ("POST", "/api/v1/auth/login"): lambda site: site.api.post(
        "/api/v1/auth/login", json=(lambda u: {"email": u["email"], "password": u["password"]})(site.factory.user())),
    ("POST", "/api/v1/auth/refresh"): lambda site: site.api.post(
        "/api/v1/auth/refresh", json={"refresh_token": _signed_in(site)["refresh_token"]}),
    ("GET", "/api/v1/auth/google"): _google_url,
    ("GET", CALLBACK): _google_callback,
    ("GET", "/api/v1/auth/profile"): lambda site: site.api.get(
        "/api/v1/auth/profile", token=site.factory.user()["token"]),
    ("POST", "/api/v1/auth/logout"): lambda site: site.api.post(
        "/api/v1/auth/logout", token=site.factory.user()["token"]),
}


def test_every_auth_route_is_covered():
    assert {(r.method, r.path) for r in ROUTES if r.path.startswith("/api/v1/auth")} == set(AUTH_CALLS)


@pytest.mark.parametrize("route", sorted(AUTH_CALLS), ids=lambda route: f"{route[0]} {route[1]}")
def test_auth_routes_are_never_stored(auth_site, route):
    response = AUTH_CALLS[route](auth_site)
    assert response.status_code < 300, response.text
    assert "no-store" in response.headers["cache-control"]
    assert "public" not in response.headers["cache-control"]
    assert "etag" not in response.headers


def test_a_google_callback_with_tokens_is_not_stored(auth_site):
    response = _google_callback(auth_site)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["access_token"]
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


def test_the_google_authorization_url_is_fresh_every_time(auth_site):
    first = _google_url(auth_site)
    again = auth_site.api.get("/api/v1/auth/google", headers={"If-None-Match": "*"})
    assert again.status_code == 200
    assert again.json()["data"]["state"] != first.json()["data"]["state"]
    assert again.headers["cache-control"] == "no-store"


def test_google_auth_url_over_graphql_get_is_not_stored(auth_site):
    response = auth_site.api.get("/graphql", params={"query": "{ googleAuthUrl { url state } }"})
    assert response.status_code == 200
    assert response.json()["data"]["googleAuthUrl"]["state"]
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
