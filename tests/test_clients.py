"""A real third-party GraphQL client (`gql` over httpx) against the live server."""

from __future__ import annotations

import asyncio

import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport, HTTPXTransport

from tests.factories import unique


@pytest.fixture
def client(backend):
    # fetch_schema_from_transport: gql introspects the server first and validates locally.
    transport = HTTPXTransport(url=f"{backend.server.base_url}/graphql", timeout=30)
    with Client(transport=transport, fetch_schema_from_transport=True) as session:
        yield session


def test_gql_introspects_the_schema_and_runs_queries(client, factory):
    brand = factory.brand()
    product = factory.product(brand_id=brand["id"], base_price_amount=4200)
    result = client.execute(gql(
        """query Product($id: ID!) {
            product(id: $id) { id name basePrice { amount currency } brand { id name } }
        }"""
    ), variable_values={"id": product["id"]})
    assert result["product"] == {
        "id": product["id"],
        "name": product["name"],
        "basePrice": {"amount": 4200, "currency": "USD"},
        "brand": {"id": brand["id"], "name": brand["name"]},
    }
    assert client.client.schema is not None
    assert client.client.schema.get_type("Product") is not None


def test_gql_parses_custom_scalars_through_the_fetched_schema(client, factory):
    product = factory.product()
    result = client.execute(
        gql("query($id: ID!) { product(id: $id) { createdAt } }"), variable_values={"id": product["id"]}
    )
    assert result["product"]["createdAt"].endswith("Z")


def test_gql_runs_a_mutation(client):
    email = f"{unique('gql')}@example.com"
    result = client.execute(gql(
        """mutation Register($input: AuthRegisterInput!) {
            authRegister(input: $input) { user { email } accessToken errors { code field message } }
        }"""
    ), variable_values={"input": {"email": email, "password": "a long enough password"}})
    payload = result["authRegister"]
    assert payload["errors"] == []
    assert payload["user"]["email"] == email
    assert payload["accessToken"]
    again = client.execute(gql(
        "mutation($input: AuthRegisterInput!) { authRegister(input: $input) { errors { code } } }"
    ), variable_values={"input": {"email": email, "password": "a long enough password"}})
    assert again["authRegister"]["errors"] == [{"code": "ALREADY_EXISTS"}]


def test_gql_surfaces_access_errors_with_their_code(client):
    with pytest.raises(TransportQueryError) as raised:
        client.execute(gql("mutation { authLogout { revokedSessions } }"))
    assert raised.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    with pytest.raises(TransportQueryError) as query_error:
        client.execute(gql("{ me { roles } }"))
    assert query_error.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_gql_surfaces_server_side_refusals(backend):
    # Without a local schema gql sends whatever it is given: the server refuses it.
    transport = HTTPXTransport(url=f"{backend.server.base_url}/graphql", timeout=30)
    with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError) as invalid:
            session.execute(gql("{ noSuchField }"))
        assert invalid.value.errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        deep = "{ category(id: \"x\") { " + "parent { " * 12 + "id" + " }" * 12 + " } }"
        with pytest.raises(TransportQueryError) as too_deep:
            session.execute(gql(deep))
        assert too_deep.value.errors[0]["extensions"]["code"] == "MAX_DEPTH_EXCEEDED"


def test_gql_batches_requests(backend, factory):
    brand = factory.brand()
    transport = HTTPXTransport(url=f"{backend.server.base_url}/graphql", timeout=30)
    with Client(transport=transport) as session:
        results = session.execute_batch([
            GraphQLRequest("query($id: ID!) { brand(id: $id) { name } }", variable_values={"id": brand["id"]}),
            GraphQLRequest("{ brands(first: 1) { totalCount } }"),
        ])
    assert results[0] == {"brand": {"name": brand["name"]}}
    assert results[1]["brands"]["totalCount"] >= 1


def test_gql_async_transport_with_a_token(backend, factory):
    user = factory.user()

    async def run() -> dict:
        transport = HTTPXAsyncTransport(
            url=f"{backend.server.base_url}/graphql", headers={"Authorization": f"Bearer {user['token']}"}
        )
        async with Client(transport=transport) as session:
            return await session.execute(gql("{ me { user { email } roles } }"))

    result = asyncio.run(run())
    assert result["me"] == {"user": {"email": user["email"]}, "roles": ["user"]}
