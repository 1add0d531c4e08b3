"""Serves the route table: each request runs its pre-validated document against the schema."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import FieldNode, GraphQLInputType, OperationType, type_from_ast
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from resolvers.errors import AccessError
from rest_compat.documents import load_document
from rest_compat.route import RestError, RestRequest, Route, error_body, status_for
from rest_compat.shapes import ResponseShape, lower_enums, response_shape
from schema.executor import GraphQLEngine, PreparedDocument, RequestError
from schema.permissions import Guard, field_guards
from shopql.http_cache import PRIVATE, public_response
from shopql.http_io import BodyTooLarge, read_body

ContextFactory = Callable[[Request], Awaitable[Any]]

_VARIABLE_ERROR = re.compile(r"^Variable '\$\w+' (?:got invalid value .*? at '[\w.\[\]]*?\.?([\w\[\]]*)'; )?(.*)$", re.S)


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


def _rest_message(message: str, route: Route) -> str:
    """Say GraphQL's variable errors in REST's words: field names as the client sent them."""
    match = _VARIABLE_ERROR.match(message)
    if not match:
        return message
    graphql_field, reason = match.groups()
    body = route.body
    renamings = [body.fields, *body.nested.values()] if body else []
    rest_names = {graphql: rest for names in renamings for rest, graphql in names.items()}
    if graphql_field:
        return f"Invalid value for '{rest_names.get(graphql_field, graphql_field)}': {reason}"
    for graphql, rest in rest_names.items():
        reason = reason.replace(f"'{graphql}'", f"'{rest}'")
    return f"Invalid request: {reason}"


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
    ) -> None:
        self.engine = engine
        self.make_context = make_context
        self.max_body_bytes = max_body_bytes
        self.cache_max_age = cache_max_age
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
            try:
                return await self.handle(compiled, request)
            except RestError as error:
                return error_response(error.status, error.message, error.headers)

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
                raise RestError(status_for(error.code), error.message) from None
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
            raise RestError(status_for(error.code), _rest_message(error.errors[0]["message"], route)) from None
        headers = dict(context.response_headers)
        if errors:
            first = errors[0]
            raise RestError(status_for(first["extensions"]["code"]), first["message"], headers)
        data = lower_enums(result.data, compiled.shape.enum_paths)
        try:
            outcome = route.respond(data, rest_request)
        except RestError as error:
            # A payload's user error (e.g. 429) keeps the headers the resolver set (Retry-After).
            error.headers = {**headers, **error.headers}
            raise
        headers.update(outcome.headers)
        if route.method == "GET" and outcome.status == 200 and outcome.body is not None:
            if "authorization" not in request.headers and not context.touched_private_data:
                # Public read: cacheable by anyone for a short while, revalidated by ETag.
                return public_response(
                    orjson.dumps(outcome.body),
                    "application/json",
                    request.headers.get("if-none-match", ""),
                    self.cache_max_age,
                    headers,
                )
            headers["Cache-Control"] = PRIVATE
        return json_response(outcome.status, outcome.body, headers)
