"""Request limits: depth, aliases, tokens, selections, body size, batch size and the static
query cost.

The shared server runs with the defaults (depth 12, aliases 30, tokens 2000, fields 1500,
repeated-field pairs 2000, cost 50000, batch 10, body 1 MB); `tight` is a server of its own
with every limit turned down.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from graphql import get_introspection_query

from schema.executor import GraphQLEngine, RequestError
from schema.root import schema
from tests.support.api import Api, error_codes
from tests.support.server import ServerProcess

GRAPHQL_RESPONSE = "application/graphql-response+json"


def nested_categories(levels: int) -> str:
    """`{ category(id: …) { parent { parent … { id } } } }`: `levels` levels of fields, cost linear."""
    inner = "id"
    for _ in range(levels - 2):
        inner = f"parent {{ {inner} }}"
    return f'{{ category(id: "cat_x") {{ {inner} }} }}'


def cost_of(body: dict) -> int:
    return body["extensions"]["cost"]["requestedQueryCost"]


# --- depth -------------------------------------------------------------------------------------------


def test_depth_at_the_maximum_is_allowed(api):
    body = api.graphql(nested_categories(12))
    assert "errors" not in body


def test_depth_over_the_maximum_is_refused(api):
    body = api.graphql(nested_categories(13))
    assert error_codes(body) == ["MAX_DEPTH_EXCEEDED"]
    assert "data" not in body
    assert "12" in body["errors"][0]["message"]


def test_depth_counts_through_fragments(api):
    query = nested_categories(10).replace("{ id }", "{ ...Deep }") + " fragment Deep on Category { parent { parent { parent { id } } } }"
    body = api.graphql(query)
    assert error_codes(body) == ["MAX_DEPTH_EXCEEDED"]


def test_depth_refusal_is_422_for_graphql_response_json(api):
    response = api.post("/graphql", json={"query": nested_categories(13)}, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 422
    assert error_codes(response.json()) == ["MAX_DEPTH_EXCEEDED"]


# --- aliases -------------------------------------------------------------------------------------------


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def test_aliases_up_to_the_maximum_are_allowed(api):
    assert "errors" not in api.graphql(aliases(30))


def test_too_many_aliases_are_refused(api):
    body = api.graphql(aliases(31))
    assert error_codes(body) == ["MAX_ALIASES_EXCEEDED"]


def test_aliases_count_inside_introspection_too(api):
    body = api.graphql("{ " + " ".join(f"s{i}: __schema {{ queryType {{ name }} }}" for i in range(31)) + " }")
    assert error_codes(body) == ["MAX_ALIASES_EXCEEDED"]
    assert "data" not in body


def test_aliases_in_fragments_count_once_per_spread(api):
    fragment = "fragment F on Query { " + " ".join(f"f{i}: __typename" for i in range(8)) + " }"
    query = "{ x1: categories(first: 1) { totalCount } ...F q: node(id: \"x\") { id } } " + fragment
    assert "errors" not in api.graphql(query)
    spread_thrice = (
        "{ a: categories(first: 1) { totalCount } b: brands(first: 1) { totalCount } ...F "
        "c: products(first: 1) { nodes { ...P } } d: products(first: 2) { nodes { ...P } } "
        "e: products(first: 3) { nodes { ...P } } } "
        + fragment + " fragment P on Product { " + " ".join(f"p{i}: id" for i in range(6)) + " }"
    )
    body = api.graphql(spread_thrice)
    assert error_codes(body) == ["MAX_ALIASES_EXCEEDED"]


# --- tokens and body size --------------------------------------------------------------------------


def test_documents_over_the_token_limit_are_refused(api):
    query = "{ " + " ".join("__typename" for _ in range(2001)) + " }"
    body = api.graphql(query)
    assert error_codes(body) == ["MAX_TOKENS_EXCEEDED"]
    assert "2000" in body["errors"][0]["message"]


def test_bodies_over_max_body_bytes_are_413(api):
    padding = " " * 1_000_001
    response = api.post("/graphql", content=json.dumps({"query": "{ __typename }" + padding}),
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert error_codes(response.json()) == ["PAYLOAD_TOO_LARGE"]


def test_chunked_bodies_are_cut_off_at_the_limit(api):
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }", "padding": "'
        for _ in range(200):
            yield b"x" * 10_000
        yield b'"}'

    response = api.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert error_codes(response.json()) == ["PAYLOAD_TOO_LARGE"]


# --- batches --------------------------------------------------------------------------------------------


def test_batches_up_to_the_maximum_run(api):
    response = api.post("/graphql", json=[{"query": f"{{ n{i}: __typename }}"} for i in range(10)])
    assert response.status_code == 200
    assert [item["data"] for item in response.json()] == [{f"n{i}": "Query"} for i in range(10)]


def test_batches_over_the_maximum_are_refused(api):
    response = api.post("/graphql", json=[{"query": "{ __typename }"}] * 11)
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BATCH_TOO_LARGE"]


# --- cost -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        ("{ __typename }", None, 0),
        ("{ product(id: \"prod_x\") { id name } }", None, 3),
        # A connection without first/last: the default page size (20) multiplies its nodes.
        ("{ products { nodes { id name } } }", None, 1 + 1 + 20 * 2),
        ("{ products(first: 5) { totalCount pageInfo { hasNextPage } nodes { id } } }", None,
         1 + 1 + 2 + (1 + 5 * 1)),
        ("{ products(last: 7) { edges { cursor node { id } } } }", None, 1 + 1 + 7 * (1 + 2)),
        # Lists inside lists compound: 3 products x 20 variants (a plain list: default 20).
        ("{ products(first: 3) { nodes { variants { sku price { amount } } } } }", None,
         1 + 1 + 3 * (1 + 20 * (1 + 2))),
        ("query($n: Int!) { products(first: $n) { nodes { id } } }", {"n": 50}, 1 + 1 + 50),
        ("query($n: Int = 4) { products(first: $n) { nodes { id } } }", None, 1 + 1 + 4),
        ("query($n: Int = 4) { products(first: $n) { nodes { id } } }", {"n": 9}, 1 + 1 + 9),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["a", "b", "c"]}, 1 + 3),
        ("{ nodes(ids: [\"a\", \"b\"]) { id ... on Product { name } } }", None, 1 + 2 * 2),
        ("fragment P on Product { id name } { products(first: 2) { nodes { ...P } } }", None, 1 + 1 + 2 * 2),
    ],
)
def test_every_response_reports_the_static_cost(api, query, variables, expected):
    body = api.graphql(query, variables)
    assert body["extensions"]["cost"] == {"requestedQueryCost": expected, "maximumAvailable": 50000}


def test_cost_compounds_through_nesting_and_is_refused_above_the_maximum(api):
    query = """{ products(first: 100) { nodes { category { products(first: 100) { nodes {
        brand { products(first: 100) { nodes { id } } } } } } } } }"""
    body = api.graphql(query)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "data" not in body
    cost = body["extensions"]["cost"]
    assert cost["maximumAvailable"] == 50000
    assert cost["requestedQueryCost"] == 1 + 1 + 100 * (1 + 1 + 1 + 100 * (1 + 1 + 1 + 100))
    assert body["errors"][0]["extensions"]["requestedQueryCost"] == cost["requestedQueryCost"]


def test_cost_follows_variable_values(api):
    query = "query($n: Int!) { products(first: $n) { nodes { variants { id } } } }"
    cheap = api.graphql(query, {"n": 2})
    assert cost_of(cheap) == 1 + 1 + 2 * (1 + 20)
    costly = api.graphql(query, {"n": 100})
    assert cost_of(costly) == 1 + 1 + 100 * (1 + 20)
    nested = "query($n: Int!) { products(first: $n) { nodes { category { products(first: $n) { nodes { variants { id } } } } } } }"
    assert error_codes(api.graphql(nested, {"n": 100})) == ["QUERY_TOO_COMPLEX"]
    assert "errors" not in api.graphql(nested, {"n": 3})


def test_errors_during_execution_still_report_the_cost(api):
    body = api.graphql("{ products(first: 101) { nodes { id } } }")
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert cost_of(body) == 1 + 1 + 101


def test_query_too_complex_is_422_for_graphql_response_json(api):
    response = api.post(
        "/graphql",
        json={"query": "query($n: Int!) { products(first: $n) { nodes { category { products(first: $n) "
                       "{ nodes { variants { id } } } } } } }", "variables": {"n": 100}},
        headers={"Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 422
    assert error_codes(response.json()) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.parametrize(("query", "variables", "expected"), [
    # graphql-core accepts 100.0 for an Int: the cost counts the 100 it becomes.
    ("query($n: Int) { products(first: $n) { nodes { id } } }", {"n": 100.0}, 1 + 1 + 100),
    # null means "not given", and `last` alone pages as the resolvers page.
    ("{ products(first: null, last: 100) { nodes { id } } }", None, 1 + 1 + 100),
    ("query($n: Int) { products(first: $n, last: 100) { nodes { id } } }", {"n": None}, 1 + 1 + 100),
    ("query($n: Int = 5) { products(first: $n) { nodes { id } } }", {"n": None}, 1 + 1 + 20),
    ("{ products(first: 5, last: 3) { nodes { id } } }", None, 1 + 1 + 3),
    ("query($l: Int) { brands(last: $l) { edges { node { id } } } }", {"l": 30}, 1 + 1 + 30 * 2),
])
def test_cost_follows_the_values_the_resolvers_receive(api, query, variables, expected):
    body = api.graphql(query, variables)
    assert "errors" not in body, body
    assert cost_of(body) == expected


def test_a_float_page_size_cannot_hide_the_cost(api):
    nested = ("query($n: Int!) { products(first: $n) { nodes { category { products(first: $n) "
              "{ nodes { variants { id } } } } } } }")
    body = api.graphql(nested, {"n": 100.0})
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert cost_of(body) == 1 + 1 + 100 * (1 + 1 + 1 + 100 * (1 + 20))


def test_invalid_variables_report_a_null_cost(api):
    body = api.graphql("query($n: Int!) { products(first: $n) { nodes { id } } }", {"n": "ten"})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["extensions"]["cost"] == {"requestedQueryCost": None, "maximumAvailable": 50000}


def test_the_standard_introspection_query_passes_every_limit(api):
    body = api.graphql(get_introspection_query(descriptions=True, input_value_deprecation=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    # Costed from the schema's real size (thousands of fields), not as one field.
    assert 5000 < cost_of(body) < 50000


def test_many_copies_of_the_schema_exceed_the_cost(api):
    fragment = "fragment T on __Type { name kind fields { name type { name kind ofType { name } } } }"
    query = "{ " + " ".join(f"s{i}: __schema {{ types {{ ...T }} }}" for i in range(30)) + " } " + fragment
    started = time.monotonic()
    body = api.graphql(query)
    assert time.monotonic() - started < 2
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "data" not in body
    one = api.graphql("{ __schema { types { ...T } } } " + fragment)
    assert "errors" not in one
    assert cost_of(body) == 30 * cost_of(one)


# --- selections: refused before the validator compares them pairwise ----------------------------


@pytest.mark.parametrize("query", [
    "{ " + "products { totalCount } " * 400 + "}",
    # Invalid too (brand needs an id): refused before the validator's quadratic work.
    "{ " + "brand { id } " * 480 + "}",
    # Merged through fragments: the same key selected by many fragments counts too.
    "{ products { nodes { " + " ".join(f"...F{i}" for i in range(70)) + " } } } "
    + " ".join(f"fragment F{i} on Product {{ id }}" for i in range(70)),
])
def test_repeated_fields_are_refused_quickly(api, query):
    started = time.monotonic()
    body = api.graphql(query)
    assert time.monotonic() - started < 0.5
    assert error_codes(body) == ["MAX_REPEATED_FIELDS_EXCEEDED"]
    assert "data" not in body
    assert body["extensions"]["cost"] == {"requestedQueryCost": None, "maximumAvailable": 50000}


def test_a_few_repeated_fields_are_fine(api):
    fragments = " ".join(f"fragment F{i} on Product {{ id name }}" for i in range(20))
    body = api.graphql("{ products(first: 1) { nodes { id " + " ".join(f"...F{i}" for i in range(20)) + " } } } " + fragments)
    assert "errors" not in body


def test_selection_refusals_are_422_for_graphql_response_json(api):
    response = api.post("/graphql", json={"query": "{ " + "products { totalCount } " * 400 + "}"},
                        headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 422
    assert error_codes(response.json()) == ["MAX_REPEATED_FIELDS_EXCEEDED"]


def test_exponential_introspection_is_refused(api):
    query = "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"
    body = api.graphql(query)
    assert error_codes(body) == ["MAX_DEPTH_EXCEEDED"]


def test_rest_routes_are_not_subject_to_graphql_limits(api):
    response = api.get("/api/v1/catalog/products?page_size=100")
    assert response.status_code == 200
    assert "extensions" not in response.json()


# --- validation stays cached (in-process: the engine the server runs) ----------------------------


def test_limited_validation_is_done_once_per_document():
    engine = GraphQLEngine(schema, max_depth=5, max_aliases=3, max_cost=100)
    rules = engine.rules
    source = "{ products(first: 2) { nodes { id } } }"
    first = engine.prepare(source)
    assert engine.prepare(source) is first
    assert engine.rules is rules  # the same rule classes for every request
    assert any(rule.__name__ == "MaxDepthRule" for rule in rules)
    assert any(rule.__name__ == "MaxAliasesRule" for rule in rules)
    with pytest.raises(RequestError) as refused:
        engine.prepare(nested_categories(6))
    assert refused.value.code == "MAX_DEPTH_EXCEEDED"


def test_refused_documents_are_cached():
    engine = GraphQLEngine(schema)  # no selection limits: the validator does all the work
    source = "{ " + "brand { id } " * 400 + "}"  # brand needs an id: invalid, slowly
    started = time.perf_counter()
    with pytest.raises(RequestError) as first:
        engine.prepare(source)
    uncached = time.perf_counter() - started
    started = time.perf_counter()
    with pytest.raises(RequestError) as again:
        engine.prepare(source)
    cached = time.perf_counter() - started
    assert again.value.errors == first.value.errors
    assert again.value.code == "GRAPHQL_VALIDATION_FAILED"
    assert cached < uncached / 20


def test_cost_is_memoised_per_relevant_variable_values():
    engine = GraphQLEngine(schema, max_cost=1000)
    prepared = engine.prepare("query($n: Int, $s: String) { products(first: $n, search: $s) { nodes { id } } }")
    operation = prepared.operation(None)
    assert engine.cost(prepared, operation, {"n": 5, "s": "a"}) == 7
    assert engine.cost(prepared, operation, {"n": 5, "s": "b"}) == 7
    assert len(prepared.costs) == 1  # `s` does not change the cost: one entry
    assert engine.cost(prepared, operation, {"n": 6}) == 8
    assert engine.cost(prepared, operation, {}) == 22
    assert len(prepared.costs) == 3
    assert engine.cost(prepared, operation, {"n": 6.0}) == 8  # coerced like 6
    assert engine.cost(prepared, operation, {"n": "six"}) is None  # refused when executed


# --- every limit is configurable ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tight(databases) -> Iterator[Api]:
    url = databases.new()
    with ServerProcess(
        url,
        GRAPHQL_MAX_DEPTH="3",
        GRAPHQL_MAX_ALIASES="2",
        GRAPHQL_MAX_TOKENS="40",
        GRAPHQL_MAX_COST="30",
        GRAPHQL_MAX_BATCH="2",
        GRAPHQL_MAX_FIELDS="6",
        GRAPHQL_MAX_REPEATED_FIELDS="1",
        MAX_BODY_BYTES="2048",
        SHOPQL_DEBUG="1",
    ) as server:
        client = Api(server.base_url)
        yield client
        client.close()


def test_configured_depth_limit(tight):
    assert "errors" not in tight.graphql("{ products { nodes { id } } }")
    assert error_codes(tight.graphql("{ products { nodes { category { id } } } }")) == ["MAX_DEPTH_EXCEEDED"]


def test_configured_alias_limit(tight):
    assert error_codes(tight.graphql(aliases(3))) == ["MAX_ALIASES_EXCEEDED"]


def test_configured_token_limit(tight):
    assert error_codes(tight.graphql(aliases(2).replace("}", "__typename " * 40 + "}"))) == ["MAX_TOKENS_EXCEEDED"]


def test_configured_cost_limit(tight):
    body = tight.graphql("{ products(first: 28) { nodes { id } } }")
    assert body["extensions"]["cost"] == {"requestedQueryCost": 30, "maximumAvailable": 30}
    refused = tight.graphql("{ products(first: 29) { nodes { id } } }")
    assert error_codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert refused["extensions"]["cost"] == {"requestedQueryCost": 31, "maximumAvailable": 30}


def test_configured_selection_limits(tight):
    assert "errors" not in tight.graphql("{ a: products { totalCount } products { totalCount } }")
    repeated = tight.graphql("{ products { totalCount } products { totalCount } products { totalCount } }")
    assert error_codes(repeated) == ["MAX_REPEATED_FIELDS_EXCEEDED"]
    fields = tight.graphql("{ products { totalCount nodes { id name sku stock } } }")
    assert error_codes(fields) == ["MAX_FIELDS_EXCEEDED"]


def test_a_batch_shares_one_cost_budget(tight):
    response = tight.post("/graphql", json=[{"query": "{ products(first: 14) { nodes { id } } }"}] * 2)
    assert response.status_code == 200
    first, second = response.json()
    assert "errors" not in first
    assert first["extensions"]["cost"] == {"requestedQueryCost": 16, "maximumAvailable": 30}
    assert error_codes(second) == ["QUERY_TOO_COMPLEX"]
    assert second["extensions"]["cost"] == {"requestedQueryCost": 16, "maximumAvailable": 14}
    cheap = tight.post("/graphql", json=[{"query": "{ products(first: 14) { nodes { id } } }"},
                                         {"query": "{ products(first: 12) { nodes { id } } }"}])
    assert [error_codes(item) for item in cheap.json()] == [[], []]


def test_configured_batch_and_body_limits(tight):
    assert tight.post("/graphql", json=[{"query": "{ __typename }"}] * 3).status_code == 400
    assert tight.post("/graphql", json=[{"query": "{ __typename }"}] * 2).status_code == 200
    response = tight.post("/graphql", json={"query": "{ __typename }", "variables": {"x": "y" * 3000}})
    assert response.status_code == 413


def test_tight_limits_leave_rest_working(tight):
    response = tight.get("/api/v1/catalog/products?page_size=100")
    assert response.status_code == 200


def test_debug_mode_shows_field_suggestions(tight):
    body = tight.graphql("{ prodcts { totalCount } }")
    assert "Did you mean 'product" in body["errors"][0]["message"]


def test_a_raw_http_client_sees_the_same_limits(tight):
    response = httpx.get(f"{tight.base_url}/graphql", params={"query": aliases(3)})
    assert response.status_code == 200
    assert error_codes(response.json()) == ["MAX_ALIASES_EXCEEDED"]
