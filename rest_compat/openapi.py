"""OpenAPI 3.1 for the REST routes, derived from the route table and its documents."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLNonNull

from rest_compat.route import ENVELOPE_CODE
from rest_compat.service import CompiledRoute
from rest_compat.shapes import input_schema

ERROR_RESPONSE = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string", "enum": sorted(set(ENVELOPE_CODE.values()))},
                            "message": {"type": "string"},
                        },
                    }
                },
            }
        }
    }
}

ERROR_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Authentication required, or the token is invalid or expired",
    403: "Insufficient permissions",
    404: "Not found",
    409: "Conflict: the resource already exists",
    413: "Request body too large",
    429: "Too many requests; retry after the Retry-After header's seconds",
    500: "Unexpected server error (the message carries no detail)",
    503: "The database cannot be reached; retry later",
}


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[{}]", "", path.removeprefix("/api/v1")).strip("/").replace("/", "_")
    return f"{method.lower()}_{words or 'root'}"


def _request_body(compiled: CompiledRoute) -> dict[str, Any] | None:
    body = compiled.route.body
    if body is None:
        return None
    if body.into is not None:
        graphql_type = compiled.variable_types[body.into]
        if not isinstance(graphql_type, GraphQLNonNull):
            graphql_type = GraphQLNonNull(graphql_type)  # the body is always a JSON object
        schema = input_schema(graphql_type, body.fields, body.nested)
    else:
        properties = {}
        required = []
        for rest, graphql in body.fields.items():
            graphql_type = compiled.variable_types[graphql]
            properties[rest] = input_schema(graphql_type, body.nested.get(rest))
            if isinstance(graphql_type, GraphQLNonNull):
                required.append(rest)
        schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _operation(compiled: CompiledRoute) -> dict[str, Any]:
    route = compiled.route
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ] + [
        {"name": p.name, "in": "query", "required": False, "description": p.description, "schema": p.schema}
        for p in route.query_params
    ] + [
        {"name": p.name, "in": "header", "required": False, "description": p.description, "schema": p.schema}
        for p in route.header_params
    ]
    success_status = getattr(route.respond, "status", 200)
    success_schema = route.respond.success_schema(compiled.shape.schema)
    success: dict[str, Any] = {"description": "Success"}
    if success_schema is not None:
        success["content"] = {"application/json": {"schema": success_schema}}
    responses: dict[str, Any] = {str(success_status): success}
    statuses = set(route.errors) | {500, 503}
    if compiled.guards:
        statuses.add(401)
    for status in sorted(statuses):
        responses[str(status)] = {"description": ERROR_DESCRIPTIONS.get(status, "Error"), **ERROR_RESPONSE}
    operation: dict[str, Any] = {
        "operationId": _operation_id(route.method, route.path),
        "summary": route.summary,
        "tags": [route.tag] if route.tag else [],
        "parameters": parameters,
        "responses": responses,
    }
    request_body = _request_body(compiled)
    if request_body is not None:
        operation["requestBody"] = request_body
    if compiled.guards:
        operation["security"] = [{"bearerAuth": []}]
    return operation


HEALTH = {
    "get": {
        "operationId": "get_health",
        "summary": "Liveness and database reachability.",
        "tags": ["health"],
        "responses": {
            "200": {
                "description": "The API and its database are up",
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": ["ok"]}},
                }}},
            },
            "503": {"description": ERROR_DESCRIPTIONS[503], **ERROR_RESPONSE},
        },
    }
}


def openapi_document(compiled_routes: list[CompiledRoute], version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, Any] = {"/health": HEALTH}
    for compiled in (c for c in compiled_routes if c.route.listed):
        paths.setdefault(compiled.route.path, {})[compiled.route.method.lower()] = _operation(compiled)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ShopQL REST API",
            "version": version,
            "description": "REST view of the ShopQL GraphQL schema (ROUTES.md). Every route runs "
            "a GraphQL document against /graphql's schema.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        },
    }
