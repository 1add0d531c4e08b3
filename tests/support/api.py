"""An HTTP client for the tests: REST calls and GraphQL operations against a live server."""

from __future__ import annotations

from typing import Any

import httpx

# Every test talks plain HTTP to loopback, but each httpx client builds a TLS context and loads
# the CA bundle (~30 ms): a third of the suite's time. One context serves them all.
TLS = httpx.create_ssl_context()


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30, verify=TLS)

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _headers(token: str | None, headers: dict[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        if token:
            merged["Authorization"] = f"Bearer {token}"
        return merged

    def request(self, method: str, path: str, *, token: str | None = None,
                headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers=self._headers(token, headers), **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def graphql_response(self, query: str, variables: dict[str, Any] | None = None, *,
                         token: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.post("/graphql", json=body, token=token, headers=headers)

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *,
                token: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """The JSON body of a GraphQL call that must answer 200."""
        response = self.graphql_response(query, variables, token=token, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict[str, Any]:
        """`data` of a GraphQL call that must succeed without errors."""
        body = self.graphql(query, variables, token=token)
        assert "errors" not in body, body["errors"]
        return body["data"]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
