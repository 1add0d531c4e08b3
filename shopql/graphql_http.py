"""GraphQL over HTTP at /graphql: POST and GET, GraphiQL for browsers.

A thin Starlette endpoint over schema.executor.GraphQLEngine (cached parse + validation,
direct execution), so the whole request path stays small and measurable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from schema.executor import GraphQLEngine, RequestError

ContextFactory = Callable[[Request], Awaitable[Any]]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _request_error(message: str, code: str = "BAD_REQUEST", status: int = 400) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


class GraphQLEndpoint:
    def __init__(
        self,
        engine: GraphQLEngine,
        make_context: ContextFactory,
        *,
        graphiql: bool = True,
        max_body_bytes: int = 1_000_000,
    ) -> None:
        self.engine = engine
        self.make_context = make_context
        self.graphiql = graphiql
        self.max_body_bytes = max_body_bytes
        self._graphiql_html = get_graphql_ide_html(graphql_ide="graphiql") if graphiql else ""

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            if "query" not in request.query_params and self._wants_html(request):
                if not self.graphiql:
                    return _request_error("GraphiQL is disabled on this server", status=404)
                return HTMLResponse(self._graphiql_html)
            params = self._params_from_query(request)
            if isinstance(params, Response):
                return params
            return await self._run(request, params, (OperationType.QUERY,))
        params = await self._params_from_body(request)
        if isinstance(params, Response):
            return params
        return await self._run(request, params, (OperationType.QUERY, OperationType.MUTATION))

    @staticmethod
    def _wants_html(request: Request) -> bool:
        return "text/html" in request.headers.get("accept", "")

    @staticmethod
    def _params_from_query(request: Request) -> dict[str, Any] | Response:
        params: dict[str, Any] = {
            "query": request.query_params.get("query"),
            "operationName": request.query_params.get("operationName"),
        }
        raw_variables = request.query_params.get("variables")
        if raw_variables:
            try:
                params["variables"] = orjson.loads(raw_variables)
            except orjson.JSONDecodeError:
                return _request_error("'variables' is not valid JSON")
        return params

    async def _params_from_body(self, request: Request) -> dict[str, Any] | Response:
        raw = await request.body()
        if len(raw) > self.max_body_bytes:
            return _request_error(f"Request body exceeds {self.max_body_bytes} bytes", "PAYLOAD_TOO_LARGE", 413)
        try:
            params = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _request_error("Request body is not valid JSON")
        if not isinstance(params, dict):
            return _request_error("Request body must be a JSON object")
        return params

    async def _run(
        self, request: Request, params: dict[str, Any], allowed: tuple[OperationType, ...]
    ) -> Response:
        query = params.get("query")
        operation_name = params.get("operationName")
        variables = params.get("variables")
        if not isinstance(query, str) or not query.strip():
            return _request_error("'query' must be a non-empty string")
        if operation_name is not None and not isinstance(operation_name, str):
            return _request_error("'operationName' must be a string")
        context = await self.make_context(request)
        try:
            prepared = self.engine.prepare(query)
            result, errors = await self.engine.execute(
                prepared,
                context=context,
                variables=variables,
                operation_name=operation_name,
                allowed=allowed,
            )
        except RequestError as error:
            status = 405 if error.code == "OPERATION_NOT_ALLOWED" else 200
            headers = {"Allow": "POST"} if status == 405 else None
            return _json({"errors": error.errors}, status, headers)
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        status = 503 if result.data is None and any(
            e["extensions"]["code"] == "SERVICE_UNAVAILABLE" for e in errors
        ) else 200
        return _json(body, status, dict(context.response_headers) or None)
