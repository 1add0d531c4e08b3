"""Serves the route table: each request runs its pre-validated document against the schema.

Caching is opt-in per route (`Route.cacheable`, the public catalog reads); every other
response is `no-store` (`private, no-store` for a known caller). Each request runs under the
database deadline (DB_REQUEST_TIMEOUT) and anything unexpected is answered here, inside the
request-id scope: a logged, masked 500 (or a 503 + Retry-After when the database is down).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import FieldNode, GraphQLInputType, OperationType, type_from_ast
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from db.engine import is_database_unavailable, run_within
from resolvers.errors import AccessError
from rest_compat.documents import load_document
from rest_compat.route import Body, RestError, RestRequest, Route, error_body, status_for
from rest_compat.shapes import ResponseShape, lower_enums, response_shape
from schema.executor import GraphQLEngine, PreparedDocument, RequestError, input_path
from schema.permissions import Guard, field_guards
from shopql.http_cache import NO_STORE, PRIVATE, public_response
from shopql.http_io import BodyTooLarge, read_body

log = logging.getLogger("shopql.rest")

ContextFactory = Callable[[Request], Awaitable[Any]]

# Seconds a client should wait before retrying a 503 (the database is down or too slow).
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    prepared: PreparedDocument
    shape: ResponseShape
    variable_types: dict[str, GraphQLInputType]
    # The permission guards of the document's root fields, as declared in the schema.
    guards: tuple[Guard, ...]


def json_response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    if status == 204 or body is None:
        return Response(status_code=status, headers=headers)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if status == 401:
        # RFC 9110 requires a challenge on every 401; RFC 6750 names the scheme.
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return json_response(status, error_body(status, message), headers)


def compile_route(engine: GraphQLEngine, route: Route) -> CompiledRoute:
    """Parse and validate a route's document once, outside the shared query cache."""
    prepared = engine.prepare(load_document(route.document), cache=False, trusted=True)
    operation = prepared.operation(None)
    variable_types = {
        definition.variable.name.value: type_from_ast(engine.schema, definition.type)
        for definition in operation.variable_definitions or ()
    }
    root = engine.schema.get_root_type(operation.operation)
    guards = tuple(
        guard
        for node in operation.selection_set.selections
        if isinstance(node, FieldNode) and not node.name.value.startswith("__")
        for guard in field_guards(root.fields[node.name.value])
    )
    return CompiledRoute(
        route, prepared, response_shape(engine.schema, prepared.document, operation), variable_types, guards
    )


def rest_field(body: Body | None, path: Sequence[str | int]) -> str:
    """A refused variable's path (variable name, input fields, list indices) as the REST client
    named it: body keys (renamed through `Body.fields`, one level down through `Body.nested`),
    `a.b[2]` style. Variables that do not come from the body keep their GraphQL names."""
    parts = list(path)
    if body is not None and body.into is not None and parts and parts[0] == body.into:
        parts = parts[1:]
    if body is None or not parts:
        return input_path(path)
    renamed = {graphql: rest for rest, graphql in body.fields.items()}
    head = renamed.get(str(parts[0]))
    if head is None:
        return input_path(path)
    rest_parts: list[str | int] = [head]
    nested = {graphql: rest for rest, graphql in body.nested.get(head, {}).items()}
    for position, part in enumerate(parts[1:]):
        rest_parts.append(nested.get(part, part) if position == 0 and isinstance(part, str) else part)
    return input_path(rest_parts)


def _rest_message(error: RequestError, route: Route) -> str:
    """Say a refused variable in REST's words: the field as the client sent it, never its value."""
    if not error.problems:
        return str(error.errors[0]["message"])
    problem = error.problems[0]
    name = rest_field(route.body, problem.path)
    if problem.missing:
        return f"Missing required field '{name}'"
    return f"Invalid value for '{name}': {problem.reason}"


async def _read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    try:
        raw = await read_body(request, max_bytes)
    except BodyTooLarge as error:
        raise RestError(413, str(error)) from None
    if not raw.strip():
        raise RestError(400, "Request body must be a JSON object")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RestError(400, "Request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise RestError(400, "Request body must be a JSON object")
    return parsed


class RestService:
    def __init__(
        self,
        engine: GraphQLEngine,
        routes: list[Route],
        make_context: ContextFactory,
        max_body_bytes: int = 1_000_000,
        cache_max_age: int = 30,
        request_timeout: float = 5.0,
    ) -> None:
        self.engine = engine
        self.make_context = make_context
        self.max_body_bytes = max_body_bytes
        self.cache_max_age = cache_max_age
        self.request_timeout = request_timeout
        self.compiled = [compile_route(engine, route) for route in routes]

    def starlette_routes(self) -> list[StarletteRoute]:
        """One Starlette route per path, so a wrong method's 405 lists all the path's methods."""
        by_path: dict[str, dict[str, CompiledRoute]] = {}
        for compiled in self.compiled:
            by_path.setdefault(compiled.route.path, {})[compiled.route.method] = compiled
        return [
            StarletteRoute(route_path, self._endpoint(by_method), methods=list(by_method))
            for route_path, by_method in by_path.items()
        ]

    def _endpoint(self, by_method: dict[str, CompiledRoute]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            compiled = by_method["GET" if request.method == "HEAD" else request.method]
            deadline = asyncio.get_running_loop().time() + self.request_timeout
            try:
                return await run_within(deadline, self.handle(compiled, request))
            except RestError as error:
                headers = error.headers
                if error.status == 503:
                    headers = {**headers, "Retry-After": str(RETRY_AFTER_SECONDS)}
                return error_response(error.status, error.message, headers)
            except Exception as error:  # noqa: BLE001 - answered here, inside the request-id scope
                return _unexpected(request, error)

        return endpoint

    async def handle(self, compiled: CompiledRoute, request: Request) -> Response:
        route = compiled.route
        context = await self.make_context(request)
        # The schema's guards run first: a caller who may not use the route learns nothing
        # about its input rules (401/403 before any 400).
        for guard in compiled.guards:
            try:
                await guard.check(context)
            except AccessError as error:
                raise RestError(status_for(error.code), error.message, context.response_headers) from None
        body = await _read_json_object(request, self.max_body_bytes) if route.body is not None else None
        rest_request = RestRequest(
            path_params=dict(request.path_params),
            query=request.query_params,
            body=body,
            headers=request.headers,
        )
        variables = route.build_variables(rest_request)
        try:
            result, errors = await self.engine.execute(
                compiled.prepared,
                context=context,
                variables=variables,
                allowed=(OperationType.QUERY, OperationType.MUTATION),
            )
        except RequestError as error:
            raise RestError(status_for(error.code), _rest_message(error, route)) from None
        headers = dict(context.response_headers)
        if errors:
            first = errors[0]
            raise RestError(status_for(first["extensions"]["code"]), first["message"], headers)
        data = lower_enums(result.data, compiled.shape.enums)
        try:
            outcome = route.respond(data, rest_request)
        except RestError as error:
            # A payload's user error (e.g. 429) keeps the headers the resolver set (Retry-After).
            error.headers = {**headers, **error.headers}
            raise
        headers.update(outcome.headers)
        private = "authorization" in request.headers or context.touched_private_data
        if route.cacheable and not private and outcome.status == 200 and outcome.body is not None:
            # Public read: cacheable by anyone for a short while, revalidated by ETag.
            return public_response(
                orjson.dumps(outcome.body),
                "application/json",
                request.headers.get("if-none-match", ""),
                self.cache_max_age,
                headers,
            )
        headers["Cache-Control"] = PRIVATE if private else NO_STORE
        return json_response(outcome.status, outcome.body, headers)


def _unexpected(request: Request, error: Exception) -> Response:
    """A masked answer for an error nothing else handled: 503 when the database is out of
    reach (or did not answer in time), else a 500 logged once with its traceback."""
    request_id = request.scope.get("state", {}).get("request_id", "")
    if isinstance(error, TimeoutError) or is_database_unavailable(error):
        log.warning("database unavailable (request %s): %r", request_id, error)
        return error_response(503, "Service temporarily unavailable", {"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.error("unexpected error at %s %s (request %s)", request.method, request.url.path, request_id, exc_info=error)
    return error_response(500, "Internal server error")
