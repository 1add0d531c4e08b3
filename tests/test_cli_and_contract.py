"""The `shopql` command line, the committed SDL and the OpenAPI document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rest_compat.routes import ROUTES
from tests.factories import Factory
from tests.support.api import Api
from tests.support.server import ROOT, ServerProcess, run_cli


def test_committed_schema_matches_the_code():
    exported = subprocess.run(
        [sys.executable, "-m", "shopql.cli", "export-schema"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    committed = (Path(ROOT) / "schema.graphql").read_text()
    assert exported == committed, "schema.graphql is stale: run `make schema` and commit it"


def test_exported_sdl_prints_directives_and_descriptions():
    sdl = (Path(ROOT) / "schema.graphql").read_text()
    assert "directive @authenticated" in sdl
    assert '"""A product of the catalog."""' in sdl
    assert "scalar DateTime @specifiedBy" in sdl


def test_openapi_lists_every_route_with_its_method(fresh_database_url):
    result = run_cli(fresh_database_url, "openapi")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["openapi"].startswith("3.1")
    for route in (route for route in ROUTES if route.listed):  # unlisted: empty-id twins of a path
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["responses"], route.path
    assert "/health" in document["paths"]


def test_openapi_and_docs_are_served(api):
    assert api.get("/openapi.json").json()["info"]["title"] == "ShopQL REST API"
    docs = api.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text


def test_seed_demo_loads_a_realistic_catalog_once(fresh_database_url):
    first = run_cli(fresh_database_url, "seed-demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    second = run_cli(fresh_database_url, "seed-demo", "--if-empty")
    assert "not loaded" in second.stderr
    with ServerProcess(fresh_database_url) as server:
        api = Api(server.base_url)
        categories = api.get("/api/v1/catalog/categories?page_size=100").json()
        assert categories["meta"]["total_items"] >= 8
        assert any(c["parent_id"] for c in categories["data"])
        assert api.get("/api/v1/catalog/brands").json()["meta"]["total_items"] >= 8
        products = api.data("{ products(first: 100) { totalCount nodes { salePrice { amount } inStock variants { id } } } }")["products"]
        assert products["totalCount"] >= 100
        nodes = products["nodes"]
        assert any(p["salePrice"] for p in nodes)
        assert any(not p["inStock"] for p in nodes)
        assert any(p["variants"] for p in nodes)
    factory = Factory(fresh_database_url)
    try:
        from sqlalchemy import func, select

        from db.models import Product

        statuses = dict(factory.execute(select(Product.status, func.count()).group_by(Product.status)))
        assert statuses["DRAFT"] > 0
        assert sum(statuses.values()) >= 100
    finally:
        factory.close()


def test_create_admin_is_idempotent_and_grants_admin(fresh_database_url):
    first = run_cli(fresh_database_url, "create-admin", "--email", "Boss@Example.com", "--password", "longenough1")
    second = run_cli(fresh_database_url, "create-admin", "--email", "boss@example.com", "--password", "other-password")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stderr.startswith("created admin usr_")
    assert second.stderr.startswith("updated admin usr_")
    assert first.stderr.split()[2] == second.stderr.split()[2]
    short = run_cli(fresh_database_url, "create-admin", "--email", "x@example.com", "--password", "short")
    assert short.returncode == 2


def test_production_refuses_to_start_without_jwt_secret(fresh_database_url):
    result = run_cli(fresh_database_url, "migrate", SHOPQL_ENV="production", JWT_SECRET="")
    assert result.returncode == 2
    assert "JWT_SECRET is required" in result.stderr
