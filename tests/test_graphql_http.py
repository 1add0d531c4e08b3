"""/graphql over HTTP: the GraphQL-over-HTTP spec (media types, status codes, GET, batches),
error masking and logging, GraphiQL, CORS, request ids and structured logs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.factories import unique
from tests.support.api import error_codes
from tests.support.server import ServerProcess

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
PRODUCTS = "{ products(first: 1) { totalCount } }"


def post(api, body, *, accept: str | None = JSON, content_type: str = JSON, headers=None) -> httpx.Response:
    merged = {"Content-Type": content_type, **(headers or {})}
    if accept is not None:
        merged["Accept"] = accept
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return api.http.post("/graphql", content=raw, headers=merged)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def read_log(server: ServerProcess) -> str:
    return server.log_path.read_text(errors="replace")


def assert_logged_as_error(server: ServerProcess, request_id: str) -> None:
    """The server logged an ERROR naming the request id, followed by its traceback."""
    lines = read_log(server).splitlines()
    [index] = [i for i, line in enumerate(lines) if request_id in line and " ERROR " in line]
    assert any(line.startswith("Traceback") for line in lines[index + 1:index + 4])


def assert_not_logged_as_failure(server: ServerProcess, request_id: str) -> None:
    lines = read_log(server).splitlines()
    for index, line in enumerate(lines):
        if request_id in line:
            assert " ERROR " not in line, line
            assert not any(following.startswith("Traceback") for following in lines[index + 1:index + 3])


# --- media types -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (JSON, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, {JSON}", JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE}", JSON),
        (f"{GRAPHQL_RESPONSE}; charset=utf-8, {JSON}; charset=utf-8", GRAPHQL_RESPONSE),
        ("text/html, */*;q=0.8", JSON),
    ],
)
def test_response_media_type_follows_the_accept_header(api, accept, expected):
    response = post(api, {"query": PRODUCTS}, accept=accept)
    assert response.status_code == 200
    assert media_type(response) == expected
    assert "errors" not in response.json()


def test_graphql_response_json_declares_utf8(api):
    response = post(api, {"query": PRODUCTS}, accept=GRAPHQL_RESPONSE)
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"


def test_no_accept_header_gets_graphql_response_json(backend):
    with httpx.Client(base_url=backend.server.base_url) as client:
        del client.headers["accept"]
        response = client.post("/graphql", json={"query": PRODUCTS})
        assert "accept" not in response.request.headers
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE


@pytest.mark.parametrize("accept", ["text/plain", "application/xml", f"{JSON};q=0, text/html", "image/*"])
def test_unsupported_accept_is_406(api, accept):
    response = post(api, {"query": PRODUCTS}, accept=accept)
    assert response.status_code == 406
    assert error_codes(response.json()) == ["NOT_ACCEPTABLE"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/graphql", "application/json; charset=latin-1"])
def test_post_with_unsupported_content_type_is_415(api, content_type):
    response = post(api, {"query": PRODUCTS}, content_type=content_type)
    assert response.status_code == 415
    assert error_codes(response.json()) == ["UNSUPPORTED_MEDIA_TYPE"]


def test_post_without_content_type_is_415(backend):
    response = httpx.post(f"{backend.server.base_url}/graphql", content=json.dumps({"query": PRODUCTS}))
    assert "content-type" not in response.request.headers
    assert response.status_code == 415


@pytest.mark.parametrize("content_type", [GRAPHQL_RESPONSE, f"{JSON}; charset=utf-8", "Application/JSON"])
def test_json_bodies_are_read_under_both_graphql_media_types(api, content_type):
    response = post(api, {"query": PRODUCTS}, content_type=content_type)
    assert response.status_code == 200
    assert "errors" not in response.json()


# --- status codes ------------------------------------------------------------------------------------

MALFORMED = [
    b"NONSENSE",
    b'{"query":',
    b"42",
    b'"{ __typename }"',
    json.dumps({"qeury": "{ __typename }"}).encode(),
    json.dumps({"query": 7}).encode(),
    json.dumps({"query": ["{ __typename }"]}).encode(),
    json.dumps({"query": "{ __typename }", "variables": [7]}).encode(),
    json.dumps({"query": "{ __typename }", "variables": "{}"}).encode(),
    json.dumps({"query": "{ __typename }", "operationName": 3}).encode(),
    json.dumps({"query": "{ __typename }", "extensions": "x"}).encode(),
    b"[]",
    b"[1, 2]",
]


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_requests_are_400_for_every_media_type(api, accept, body):
    response = post(api, body, accept=accept)
    if body.startswith(b"[1"):
        # A batch of non-objects: each slot answers for itself.
        assert response.status_code == 200
        assert [error_codes(item) for item in response.json()] == [["BAD_REQUEST"], ["BAD_REQUEST"]]
        return
    assert response.status_code == 400
    assert "data" not in response.json()
    assert error_codes(response.json()) == ["BAD_REQUEST"]


# (request, code, status with graphql-response+json): 400 when the request cannot be
# understood, 422 when a well-formed document or its variables are refused.
GRAPHQL_REQUEST_ERRORS = [
    ({"query": "{"}, "GRAPHQL_PARSE_FAILED", 400),
    ({"query": ""}, "GRAPHQL_PARSE_FAILED", 400),
    ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED", 422),
    ({"query": "query($f: Int!) { products(first: $f) { totalCount } }", "variables": {"f": "ten"}},
     "BAD_USER_INPUT", 422),
    ({"query": "query($f: Int!) { products(first: $f) { totalCount } }"}, "BAD_USER_INPUT", 422),
    ({"query": "query A { __typename } query B { __typename }"}, "BAD_REQUEST", 400),
    ({"query": "query A { __typename }", "operationName": "B"}, "BAD_REQUEST", 400),
]


@pytest.mark.parametrize(("body", "code", "_"), GRAPHQL_REQUEST_ERRORS)
def test_request_errors_are_200_for_application_json(api, body, code, _):
    response = post(api, body, accept=JSON)
    assert response.status_code == 200
    assert media_type(response) == JSON
    assert "data" not in response.json()
    assert error_codes(response.json())[0] == code


@pytest.mark.parametrize(("body", "code", "status"), GRAPHQL_REQUEST_ERRORS)
def test_request_errors_are_400_or_422_for_graphql_response_json(api, body, code, status):
    response = post(api, body, accept=GRAPHQL_RESPONSE)
    assert response.status_code == status
    assert media_type(response) == GRAPHQL_RESPONSE
    assert "data" not in response.json()
    assert error_codes(response.json())[0] == code


@pytest.mark.parametrize(("body", "code", "_"), GRAPHQL_REQUEST_ERRORS)
def test_request_errors_report_the_cost_as_not_computed(api, body, code, _):
    cost = post(api, body).json()["extensions"]["cost"]
    assert cost == {"requestedQueryCost": None, "maximumAvailable": 50000}


@pytest.mark.parametrize(("request_args", "status"), [
    ({"content": b"NONSENSE", "headers": {"Content-Type": JSON}}, 400),
    ({"content": b"{}", "headers": {"Content-Type": "text/plain"}}, 415),
    ({"content": b"{}", "headers": {"Content-Type": JSON, "Accept": "text/plain"}}, 406),
    ({"content": b'{"q": "' + b"x" * 1_000_001 + b'"}', "headers": {"Content-Type": JSON}}, 413),
])
def test_http_refusals_carry_the_cost_extension_too(api, request_args, status):
    response = api.http.post("/graphql", **request_args)
    assert response.status_code == status
    assert response.json()["extensions"]["cost"] == {"requestedQueryCost": None, "maximumAvailable": 50000}


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
def test_field_errors_with_a_data_entry_are_200(api, accept):
    response = post(api, {"query": "{ products(first: 101) { totalCount } }"}, accept=accept)
    assert response.status_code == 200
    body = response.json()
    assert "data" in body and body["data"] is None
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_operation_name_selects_among_several(api):
    body = post(api, {"query": "query A { a: __typename } query B { b: __typename }", "operationName": "B"}).json()
    assert body["data"] == {"b": "Query"}


# --- GET ------------------------------------------------------------------------------------------------


def test_get_runs_queries_with_variables_and_operation_name(api, factory):
    product = factory.product()
    response = api.get("/graphql", params={
        "query": "query P($id: ID!) { product(id: $id) { id } } query Q { __typename }",
        "operationName": "P",
        "variables": json.dumps({"id": product["id"]}),
    })
    assert response.status_code == 200
    assert response.json()["data"] == {"product": {"id": product["id"]}}


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
def test_mutations_over_get_are_405_with_allow_post(api, accept):
    response = api.get("/graphql", params={"query": "mutation { authLogout { __typename } }"},
                       headers={"Accept": accept})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert error_codes(response.json()) == ["OPERATION_NOT_ALLOWED"]


def test_get_selecting_the_mutation_of_a_mixed_document_is_405(api):
    response = api.get("/graphql", params={
        "query": "query Q { __typename } mutation M { authLogout { __typename } }", "operationName": "M",
    })
    assert response.status_code == 405
    query = api.get("/graphql", params={
        "query": "query Q { __typename } mutation M { authLogout { __typename } }", "operationName": "Q",
    })
    assert query.status_code == 200
    assert query.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("params", [{"variables": "{nope"}, {"extensions": "[1"}, {}])
def test_malformed_get_parameters_are_400(api, params):
    response = api.get("/graphql", params={**({"query": "{ __typename }"} if params else {}), **params})
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]


def test_head_is_answered_like_get_without_a_body(api):
    params = {"query": "{ brands(first: 1) { totalCount } }"}
    head = api.request("HEAD", "/graphql", params=params)
    get = api.get("/graphql", params=params)
    assert head.status_code == 200 == get.status_code
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["etag"] == get.headers["etag"]
    mutation = api.request("HEAD", "/graphql", params={"query": "mutation { authLogout { __typename } }"})
    assert mutation.status_code == 405


def test_other_methods_are_405(api):
    response = api.put("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405


# --- batches -------------------------------------------------------------------------------------------


def test_batches_answer_each_operation_in_order(api, factory):
    product = factory.product()
    response = post(api, [
        {"query": "query($id: ID!) { product(id: $id) { id } }", "variables": {"id": product["id"]}},
        {"query": "{ noSuchField }"},
        {"query": "mutation { authLogout { __typename } }"},
        {"query": "{ __typename }"},
    ])
    assert response.status_code == 200
    first, second, third, fourth = response.json()
    assert first["data"] == {"product": {"id": product["id"]}}
    assert error_codes(second) == ["GRAPHQL_VALIDATION_FAILED"]
    assert error_codes(third) == ["UNAUTHENTICATED"]
    assert fourth["data"] == {"__typename": "Query"}
    assert response.headers["cache-control"] == "no-store"


# --- variables: refused with the path and the expected type, never the value ------------------------

SECRET = "MySecretPass99"
LOGIN = "mutation($input: AuthLoginInput!) { authLogin(input: $input) { errors { code } } }"


@pytest.mark.parametrize(("variables", "message"), [
    ({"input": {"password": SECRET}}, "Variable '$input' at 'email': a value of type 'String!' is required"),
    ({"input": {"email": SECRET, "password": 7}}, "Variable '$input' at 'password': expected String, got a number"),
    ({"input": {"email": "a@example.com", "password": SECRET, "nickname": SECRET}},
     "Variable '$input' at 'nickname': is not a field of 'AuthLoginInput'"),
    ({"input": SECRET}, "Variable '$input': expected an object of type 'AuthLoginInput', got a string"),
    ({}, "Variable '$input': a value of type 'AuthLoginInput!' is required"),
])
def test_variable_errors_name_the_path_and_type_but_not_the_value(api, variables, message):
    body = api.graphql(LOGIN, variables)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == message
    assert SECRET not in json.dumps(body)


def test_variable_errors_point_into_lists(api):
    body = api.graphql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["a", None]})
    assert body["errors"][0]["message"] == "Variable '$ids' at '[1]': must not be null (expected 'ID!')"
    assert body["errors"][0]["extensions"]["field"] == ["ids", 1]


def test_rest_names_the_body_key_of_a_refused_value(api, factory):
    user = factory.user()
    product = factory.product()
    response = api.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": "two"},
                        token=user["token"])
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid value for 'quantity': expected Int (a 32-bit integer), got a string"


def test_rest_login_without_email_does_not_echo_the_password(api):
    response = api.post("/api/v1/auth/login", json={"password": SECRET})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Missing required field 'email'"
    assert SECRET not in response.text


def nested(depth: int):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
def test_deeply_nested_variables_are_a_bad_request(api, accept):
    # Every variable sent is checked, declared or not: none may nest this deep.
    response = post(api, {"query": "{ __typename }", "variables": {"v": nested(400)}}, accept=accept)
    assert response.status_code == (200 if accept == JSON else 400)
    assert error_codes(response.json()) == ["BAD_REQUEST"]
    over_get = api.get("/graphql", params={"query": "{ __typename }", "variables": json.dumps({"v": nested(400)})},
                       headers={"Accept": accept})
    assert over_get.status_code == (200 if accept == JSON else 400)
    assert error_codes(over_get.json()) == ["BAD_REQUEST"]


def test_deeply_nested_rest_bodies_are_400(api):
    response = api.post("/api/v1/auth/register", json={"email": nested(400), "password": "long enough pass"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert "x-request-id" in response.headers


# --- error masking, logging, suggestions ---------------------------------------------------------


@pytest.fixture
def corrupt_product(factory):
    """A row that breaks the schema's promise (images must be a list), so a resolver fails.

    Repaired afterwards: the database is shared with the rest of the session's tests.
    """
    product = factory.product(images={"not": "a list"})
    yield product
    factory.set_product(product["id"], images=[])


def test_unexpected_errors_are_masked_with_a_request_id_that_is_logged(api, backend, corrupt_product):
    product = corrupt_product
    request_id = unique("broken-")
    response = api.graphql_response(
        "query($id: ID!) { product(id: $id) { id images } }", {"id": product["id"]},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 200
    body = response.json()
    [error] = body["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert error["path"] == ["product", "images"]
    assert "Iterable" not in json.dumps(body)
    assert response.headers["x-request-id"] == request_id
    assert_logged_as_error(backend.server, request_id)


def test_unexpected_errors_over_rest_are_masked_500s_and_logged(api, backend, corrupt_product):
    product = corrupt_product
    request_id = unique("broken-rest-")
    response = api.get(f"/api/v1/catalog/products/{product['id']}", headers={"X-Request-ID": request_id})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_server_error", "message": "Internal server error"}}
    assert_logged_as_error(backend.server, request_id)


def test_expected_errors_are_not_logged_as_failures(api, backend, factory):
    hidden = factory.product(status="DRAFT")
    user = factory.user()
    ids = [unique("expected-") for _ in range(4)]
    unauthenticated = api.graphql_response(
        "query($id: ID!) { product(id: $id) { id } }", {"id": hidden["id"]},
        headers={"X-Request-ID": ids[0], "Authorization": "Bearer not-a-token"},
    )
    assert error_codes(unauthenticated.json()) == ["UNAUTHENTICATED"]
    me = api.graphql_response("{ me { roles } }", headers={"X-Request-ID": ids[1]})
    assert error_codes(me.json()) == ["UNAUTHENTICATED"]
    login = api.graphql_response(
        'mutation($e: String!) { authLogin(input: {email: $e, password: "wrong password!"}) '
        "{ errors { code } } }", {"e": user["email"]}, headers={"X-Request-ID": ids[2]},
    )
    assert login.json()["data"]["authLogin"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    invalid = api.graphql_response("{ nope }", headers={"X-Request-ID": ids[3]})
    assert error_codes(invalid.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    for request_id in ids:
        assert_not_logged_as_failure(backend.server, request_id)


@pytest.mark.parametrize("query", [
    "{ prodcts { totalCount } }",
    "{ products(frist: 1) { totalCount } }",
    "query($f: Inte) { products(first: $f) { totalCount } }",
    "{ products(first: 1) { nodes { nme } } }",
])
def test_field_suggestions_are_hidden_outside_debug(api, query):
    body = post(api, {"query": query}).json()
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in body["errors"][0]["message"]


def test_request_ids_from_clients_are_echoed_and_bad_ones_replaced(api):
    assert post(api, {"query": PRODUCTS}, headers={"X-Request-ID": "req-42.a_b"}).headers["x-request-id"] == "req-42.a_b"
    replaced = post(api, {"query": PRODUCTS}, headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert replaced != "bad id\twith spaces" and len(replaced) == 32


def test_graphiql_is_served_to_browsers(api):
    response = api.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


# --- a production-like server: GraphiQL off, JSON logs, access log, CORS -------------------------

ORIGIN = "https://shop.example"


@pytest.fixture(scope="module")
def production(databases) -> Iterator[ServerProcess]:
    url = databases.new()
    with ServerProcess(
        url, GRAPHIQL="0", LOG_FORMAT="json", ACCESS_LOG="1", CORS_ORIGINS=f"{ORIGIN},https://admin.example"
    ) as server:
        yield server


def test_graphiql_can_be_switched_off(production):
    response = httpx.get(f"{production.base_url}/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower().replace("graphiql is disabled", "")
    assert error_codes(response.json()) == ["NOT_FOUND"]
    # API clients are unaffected.
    assert httpx.post(f"{production.base_url}/graphql", json={"query": "{ __typename }"}).status_code == 200


def _json_lines(server: ServerProcess) -> list[dict]:
    lines = []
    for line in read_log(server).splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_json_logs_and_access_log_carry_the_request_id(production):
    request_id = unique("json-log-")
    response = httpx.get(f"{production.base_url}/api/v1/catalog/brands", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    deadline = time.monotonic() + 5
    while True:
        records = _json_lines(production)
        access = [r for r in records if r.get("request_id") == request_id and r["logger"] == "shopql.access"]
        if access or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    [record] = access
    assert record["level"] == "INFO"
    assert record["http"]["method"] == "GET"
    assert record["http"]["path"] == "/api/v1/catalog/brands"
    assert record["http"]["status"] == 200
    assert record["http"]["duration_ms"] >= 0
    # Every line of the server's log is JSON, uvicorn's own included.
    text_lines = [line for line in read_log(production).splitlines() if line.strip() and not line.startswith("{")]
    assert text_lines == []
    assert any(r["logger"].startswith("uvicorn") for r in records)


def test_cors_preflight_allows_configured_origins_with_credentials(production):
    response = httpx.options(f"{production.base_url}/graphql", headers={
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    actual = httpx.post(f"{production.base_url}/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN})
    assert actual.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in actual.headers["access-control-expose-headers"].lower()


def test_cors_refuses_other_origins(production):
    response = httpx.options(f"{production.base_url}/graphql", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
    })
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    simple = httpx.get(f"{production.base_url}/api/v1/catalog/brands", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_wildcard_never_goes_with_credentials(fresh_database_url):
    with ServerProcess(fresh_database_url, CORS_ORIGINS="*") as server:
        response = httpx.options(f"{server.base_url}/graphql", headers={
            "Origin": "https://anyone.example", "Access-Control-Request-Method": "POST",
        })
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in {"*", "https://anyone.example"}
    assert "access-control-allow-credentials" not in response.headers
