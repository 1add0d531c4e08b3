"""Automatic persisted queries (Apollo's protocol) stored in the database, and the safelist mode."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import insert, select

from db.models import PersistedQuery
from tests.factories import Factory, unique, utcnow
from tests.support.api import Api, error_codes
from tests.support.server import ServerProcess

GRAPHQL_RESPONSE = "application/graphql-response+json"


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def new_query() -> str:
    """A document no test has sent before (so its hash is unknown to the server)."""
    return f"query Q_{unique('q')} {{ products(first: 1) {{ totalCount }} }}"


def persisted(sha: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


def stored(factory: Factory, sha: str) -> list[str]:
    return [row[0] for row in factory.execute(select(PersistedQuery.query).where(PersistedQuery.sha256 == sha))]


def test_unknown_hash_answers_persisted_query_not_found(api):
    response = api.post("/graphql", json={"extensions": persisted(sha256(new_query()))})
    assert response.status_code == 200
    body = response.json()
    assert body == {"errors": [{"message": "PersistedQueryNotFound",
                                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}


def test_unknown_hash_is_400_for_graphql_response_json(api):
    response = api.post("/graphql", json={"extensions": persisted(sha256(new_query()))},
                        headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400
    assert error_codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_the_apollo_round_trip_registers_the_document_in_the_database(api, factory):
    query = new_query()
    sha = sha256(query)
    assert error_codes(api.post("/graphql", json={"extensions": persisted(sha)}).json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = api.post("/graphql", json={"query": query, "extensions": persisted(sha)})
    assert registered.status_code == 200
    assert "totalCount" in json.dumps(registered.json()["data"])
    assert stored(factory, sha) == [query]
    by_hash = api.post("/graphql", json={"extensions": persisted(sha)})
    assert by_hash.json()["data"] == registered.json()["data"]


def test_persisted_queries_run_over_get_with_variables(api, factory):
    product = factory.product()
    query = f"query P_{unique('p')}($id: ID!) {{ product(id: $id) {{ id }} }}"
    sha = sha256(query)
    api.post("/graphql", json={"query": query, "variables": {"id": product["id"]}, "extensions": persisted(sha)})
    response = api.get("/graphql", params={
        "extensions": json.dumps(persisted(sha)), "variables": json.dumps({"id": product["id"]}),
    })
    assert response.status_code == 200
    assert response.json()["data"] == {"product": {"id": product["id"]}}
    assert response.headers["cache-control"] == "public, max-age=30"
    assert response.headers["etag"]


def test_get_can_register_a_query_but_not_a_mutation(api, factory):
    query = new_query()
    sha = sha256(query)
    response = api.get("/graphql", params={"query": query, "extensions": json.dumps(persisted(sha))})
    assert response.status_code == 200
    assert stored(factory, sha) == [query]
    mutation = f"mutation M_{unique('m')} {{ authLogout {{ __typename }} }}"
    refused = api.get("/graphql", params={"query": mutation, "extensions": json.dumps(persisted(sha256(mutation)))})
    assert refused.status_code == 405
    assert stored(factory, sha256(mutation)) == []


def test_documents_are_shared_by_every_server_process(backend, api):
    query = new_query()
    sha = sha256(query)
    api.post("/graphql", json={"query": query, "extensions": persisted(sha)})
    # Another process on the same database: nothing in its memory, the table answers.
    with ServerProcess(backend.database_url) as other:
        response = httpx.post(f"{other.base_url}/graphql", json={"extensions": persisted(sha)})
    assert response.status_code == 200
    assert "errors" not in response.json()


def test_hash_mismatch_is_refused_and_nothing_stored(api, factory):
    query = new_query()
    wrong = sha256(query + " ")
    response = api.post("/graphql", json={"query": query, "extensions": persisted(wrong)})
    assert response.status_code == 400
    assert error_codes(response.json()) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert stored(factory, wrong) == []
    assert stored(factory, sha256(query)) == []


@pytest.mark.parametrize(("extension", "code"), [
    ({"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}}, "PERSISTED_QUERY_NOT_SUPPORTED"),
    ({"persistedQuery": {"version": 1, "sha256Hash": "XYZ"}}, "BAD_REQUEST"),
    ({"persistedQuery": {"version": 1, "sha256Hash": "A" * 64}}, "BAD_REQUEST"),
    ({"persistedQuery": {"version": 1}}, "BAD_REQUEST"),
    ({"persistedQuery": "abc"}, "BAD_REQUEST"),
])
def test_malformed_persisted_query_extensions_are_400(api, extension, code):
    response = api.post("/graphql", json={"extensions": extension})
    assert response.status_code == 400
    assert error_codes(response.json()) == [code]


def test_invalid_documents_are_not_registered(api, factory):
    query = f"query Bad_{unique('b')} {{ noSuchField }}"
    sha = sha256(query)
    body = api.post("/graphql", json={"query": query, "extensions": persisted(sha)}).json()
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert stored(factory, sha) == []


def test_other_extensions_are_ignored(api):
    response = api.post("/graphql", json={"query": "{ __typename }", "extensions": {"tracing": True}})
    assert response.json()["data"] == {"__typename": "Query"}


# --- safelist mode -------------------------------------------------------------------------------------

SAFE = "query SafeBrands { brands(first: 2) { totalCount } }"


@pytest.fixture(scope="module")
def safelisted(databases) -> Iterator[tuple[Api, Factory]]:
    url = databases.new()
    factory = Factory(url)
    factory.execute(insert(PersistedQuery).values(sha256=sha256(SAFE), query=SAFE, created_at=utcnow()))
    with ServerProcess(url, PERSISTED_QUERIES_ONLY="1") as server:
        client = Api(server.base_url)
        yield client, factory
        client.close()
    factory.close()


def test_safelist_runs_persisted_documents_by_hash_and_by_text(safelisted):
    api, _ = safelisted
    by_hash = api.post("/graphql", json={"extensions": persisted(sha256(SAFE))})
    assert "errors" not in by_hash.json()
    by_text = api.post("/graphql", json={"query": SAFE})
    assert by_text.json() == by_hash.json()
    both = api.get("/graphql", params={"query": SAFE, "extensions": json.dumps(persisted(sha256(SAFE)))})
    assert both.status_code == 200 and "errors" not in both.json()


def test_safelist_refuses_other_documents_and_registrations(safelisted):
    api, factory = safelisted
    query = new_query()
    plain = api.post("/graphql", json={"query": query})
    assert plain.status_code == 200
    assert error_codes(plain.json()) == ["OPERATION_NOT_SAFELISTED"]
    registration = api.post("/graphql", json={"query": query, "extensions": persisted(sha256(query))})
    assert error_codes(registration.json()) == ["OPERATION_NOT_SAFELISTED"]
    assert stored(factory, sha256(query)) == []
    strict = api.post("/graphql", json={"query": query}, headers={"Accept": GRAPHQL_RESPONSE})
    assert strict.status_code == 400
    unknown = api.post("/graphql", json={"extensions": persisted(sha256(query))})
    assert error_codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_safelist_keeps_the_rest_layer_working(safelisted):
    api, _ = safelisted
    response = api.get("/api/v1/catalog/products?page_size=2")
    assert response.status_code == 200
    assert set(response.json()) == {"data", "meta"}
    assert api.get("/api/v1/catalog/brands").status_code == 200


def test_safelist_accepts_the_rest_layers_documents_at_graphql(safelisted):
    from rest_compat.documents import load_document

    api, _ = safelisted
    response = api.post("/graphql", json={"query": load_document("catalog/brands"), "variables": {"first": 2}})
    assert "errors" not in response.json(), response.json()
    assert "page" in response.json()["data"]
