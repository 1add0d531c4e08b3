"""Automatic persisted queries (Apollo's protocol) stored in the database, their eviction,
and the safelist mode with its `shopql persist` manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from db.models import PersistedQuery
from rest_compat.documents import load_document
from tests.factories import Factory, unique, utcnow
from tests.support.api import Api, error_codes
from tests.support.server import ServerProcess, run_cli

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
    assert body == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}],
        "extensions": {"cost": {"requestedQueryCost": None, "maximumAvailable": 50000}},
    }


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
    ({"persistedQuery": {"version": 1, "sha256Hash": "a" * 64 + "\n"}}, "BAD_REQUEST"),
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


def test_documents_over_the_cost_limit_are_not_registered(api, factory):
    query = f"query Costly_{unique('c')} {{ products(first: 100) {{ nodes {{ category {{ products(first: 100) " \
            "{ nodes { variants { id } } } } } } }"
    sha = sha256(query)
    body = api.post("/graphql", json={"query": query, "extensions": persisted(sha)}).json()
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert stored(factory, sha) == []
    assert error_codes(api.post("/graphql", json={"extensions": persisted(sha)}).json()) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_other_extensions_are_ignored(api):
    response = api.post("/graphql", json={"query": "{ __typename }", "extensions": {"tracing": True}})
    assert response.json()["data"] == {"__typename": "Query"}


# --- eviction ---------------------------------------------------------------------------------------


def last_used(factory: Factory) -> dict[str, dt.datetime]:
    return dict(factory.execute(select(PersistedQuery.sha256, PersistedQuery.last_used_at)))


def test_the_least_recently_used_documents_are_evicted_past_the_cap(fresh_database_url):
    factory = Factory(fresh_database_url)
    queries = [new_query() for _ in range(7)]
    hashes = [sha256(query) for query in queries]
    try:
        with ServerProcess(fresh_database_url, PERSISTED_QUERIES_MAX="3") as first:
            for query, sha in zip(queries[:3], hashes[:3], strict=True):
                assert "errors" not in httpx.post(f"{first.base_url}/graphql",
                                                  json={"query": query, "extensions": persisted(sha)}).json()
        long_ago = utcnow() - dt.timedelta(hours=3)
        for hours, sha in zip((2, 3, 1), hashes[:3], strict=True):
            factory.execute(update(PersistedQuery).where(PersistedQuery.sha256 == sha)
                            .values(last_used_at=utcnow() - dt.timedelta(hours=hours)))
        with ServerProcess(fresh_database_url, PERSISTED_QUERIES_MAX="3") as second:
            url = f"{second.base_url}/graphql"
            # Using q1 by hash records the use (its row says it was used hours ago).
            assert "errors" not in httpx.post(url, json={"extensions": persisted(hashes[1])}).json()
            assert last_used(factory)[hashes[1]] > long_ago + dt.timedelta(hours=2)
            # The 4th document passes the cap: the least recently used (q0, q2) make room.
            httpx.post(url, json={"query": queries[3], "extensions": persisted(hashes[3])})
            assert set(last_used(factory)) == {hashes[1], hashes[3]}
            for query, sha in zip(queries[4:], hashes[4:], strict=True):
                assert "errors" not in httpx.post(url, json={"query": query, "extensions": persisted(sha)}).json()
            assert len(last_used(factory)) <= 3
            evicted = httpx.post(url, json={"extensions": persisted(hashes[0])}).json()
            assert error_codes(evicted) == ["PERSISTED_QUERY_NOT_FOUND"]
        # Being full is logged once, not at every registration.
        assert second.log().count("persisted query store reached its cap") == 1
    finally:
        factory.close()


def test_registration_can_be_switched_off(fresh_database_url):
    factory = Factory(fresh_database_url)
    query = new_query()
    try:
        with ServerProcess(fresh_database_url, PERSISTED_QUERIES_MAX="0") as server:
            response = httpx.post(f"{server.base_url}/graphql", json={"query": query, "extensions": persisted(sha256(query))})
        assert "errors" not in response.json()  # the query runs, it is just not kept
        assert stored(factory, sha256(query)) == []
    finally:
        factory.close()


# --- safelist mode: `shopql persist` loads a manifest ----------------------------------------------

SAFE = "query SafeBrands { brands(first: 2) { totalCount } }"
OTHER_SAFE = "query SafeCategories { categories(first: 1) { totalCount } }"
OPEN = "query OpenProducts { products(first: 1) { totalCount } }"  # registered while APQ was open


def apollo_manifest(*queries: str) -> dict:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha256(q), "name": q.split()[1], "type": "query", "body": q} for q in queries],
    }


def write_manifest(tmp_path: Path, manifest: object) -> str:
    path = tmp_path / f"{unique('manifest')}.json"
    path.write_text(json.dumps(manifest))
    return str(path)


@dataclass
class Safelisted:
    api: Api
    factory: Factory


@pytest.fixture(scope="module")
def safelisted(databases, tmp_path_factory) -> Iterator[Safelisted]:
    url = databases.new()
    factory = Factory(url)
    with ServerProcess(url) as open_server:  # APQ open: anyone may register documents
        httpx.post(f"{open_server.base_url}/graphql", json={"query": OPEN, "extensions": persisted(sha256(OPEN))})
    manifest = write_manifest(tmp_path_factory.mktemp("manifests"), apollo_manifest(SAFE, OTHER_SAFE))
    result = run_cli(url, "persist", manifest)
    assert result.returncode == 0, result.stderr
    assert "safelisted 2 document(s)" in result.stderr
    with ServerProcess(url, PERSISTED_QUERIES_ONLY="1") as server:
        client = Api(server.base_url)
        yield Safelisted(client, factory)
        client.close()
    factory.close()


def test_safelist_runs_persisted_documents_by_hash_and_by_text(safelisted):
    api = safelisted.api
    by_hash = api.post("/graphql", json={"extensions": persisted(sha256(SAFE))})
    assert "errors" not in by_hash.json()
    by_text = api.post("/graphql", json={"query": SAFE})
    assert by_text.json() == by_hash.json()
    both = api.get("/graphql", params={"query": SAFE, "extensions": json.dumps(persisted(sha256(SAFE)))})
    assert both.status_code == 200 and "errors" not in both.json()
    assert "errors" not in api.post("/graphql", json={"query": OTHER_SAFE}).json()


def test_safelist_refuses_documents_registered_while_apq_was_open(safelisted):
    api, factory = safelisted.api, safelisted.factory
    assert stored(factory, sha256(OPEN)) == [OPEN]
    for body in ({"extensions": persisted(sha256(OPEN))}, {"query": OPEN},
                 {"query": OPEN, "extensions": persisted(sha256(OPEN))}):
        assert error_codes(api.post("/graphql", json=body).json()) == ["OPERATION_NOT_SAFELISTED"]


def test_safelist_refuses_other_documents_and_registrations(safelisted):
    api, factory = safelisted.api, safelisted.factory
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
    api = safelisted.api
    response = api.get("/api/v1/catalog/products?page_size=2")
    assert response.status_code == 200
    assert set(response.json()) == {"data", "meta"}
    assert api.get("/api/v1/catalog/brands").status_code == 200


def test_safelist_accepts_the_rest_layers_documents_at_graphql(safelisted):
    api = safelisted.api
    document = load_document("catalog/brands")
    for body in ({"query": document}, {"extensions": persisted(sha256(document))}):
        response = api.post("/graphql", json={**body, "variables": {"first": 2}})
        assert "errors" not in response.json(), response.json()
        assert "page" in response.json()["data"]


# --- `shopql persist` --------------------------------------------------------------------------------


def test_persist_reads_a_flat_hash_to_query_map_and_can_replace_the_safelist(fresh_database_url, tmp_path):
    factory = Factory(fresh_database_url)
    first, second = new_query(), new_query()
    try:
        result = run_cli(fresh_database_url, "persist", write_manifest(tmp_path, {sha256(first): first}))
        assert result.returncode == 0, result.stderr
        again = run_cli(fresh_database_url, "persist", "--replace",
                        write_manifest(tmp_path, apollo_manifest(second)))
        assert again.returncode == 0, again.stderr
        assert "1 no longer safelisted" in again.stderr
        flags = dict(factory.execute(select(PersistedQuery.sha256, PersistedQuery.safelisted)))
        assert flags == {sha256(first): False, sha256(second): True}
    finally:
        factory.close()


@pytest.mark.parametrize(("manifest", "message"), [
    ({sha256("{ __typename }"): "{ __typename } "}, "is not the sha256 of the document"),
    ({"abc": "{ __typename }"}, "64 lower-case hex digits"),
    ({sha256("{ nope }"): "{ nope }"}, "Cannot query field 'nope'"),
    ({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}, "unsupported"),
    ([], "expected a JSON object"),
])
def test_persist_refuses_a_bad_manifest_and_stores_nothing(fresh_database_url, tmp_path, manifest, message):
    factory = Factory(fresh_database_url)
    try:
        result = run_cli(fresh_database_url, "persist", write_manifest(tmp_path, manifest))
        assert result.returncode == 2
        assert message in result.stderr
        assert factory.execute(select(PersistedQuery.sha256)) == []
    finally:
        factory.close()
