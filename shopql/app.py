"""The application: /graphql, the REST routes, /health, /openapi.json and /docs in one Starlette app."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.engine import Database, is_database_unavailable, statement_counter
from resolvers.context import RequestContext
from rest_compat.openapi import openapi_document
from rest_compat.routes import ROUTES
from rest_compat.service import RestService, error_response, json_response
from schema.executor import GraphQLEngine
from schema.root import schema
from shopql.graphql_http import GraphQLEndpoint
from shopql.settings import Settings, get_settings

log = logging.getLogger("shopql")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SWAGGER_UI = """<!doctype html>
<html><head><meta charset="utf-8"><title>ShopQL REST API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""


class RequestIdMiddleware:
    """Gives each request an id (the client's X-Request-ID when sane) and echoes it back.

    With SQL_COUNT_HEADER on, also reports the request's SQL statement count (X-SQL-Statements),
    which the tests use to pin the number of queries per request.
    """

    def __init__(self, app: ASGIApp, count_statements: bool = False) -> None:
        self.app = app
        self.count_statements = count_statements

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        counter = [0] if self.count_statements else None
        token = statement_counter.set(counter) if counter is not None else None

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if counter is not None:
                    headers.append((b"x-sql-statements", str(counter[0]).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if token is not None:
                statement_counter.reset(token)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    db = Database(settings.database_url, settings.db_pool_size, settings.db_max_overflow)
    engine = GraphQLEngine(schema, max_tokens=settings.max_tokens, debug=settings.debug)

    async def make_context(request: Request) -> RequestContext:
        return RequestContext(
            db=db,
            settings=settings,
            authorization=request.headers.get("authorization", ""),
            client_address=_client_address(request),
            request_id=request.scope.get("state", {}).get("request_id", ""),
            headers=request.headers,  # type: ignore[arg-type]
        )

    rest = RestService(engine, ROUTES, make_context, settings.max_body_bytes)
    graphql = GraphQLEndpoint(engine, make_context, graphiql=settings.graphiql, max_body_bytes=settings.max_body_bytes)
    openapi = openapi_document(rest.compiled)

    async def health(_: Request) -> Response:
        try:
            async with asyncio.timeout(3):
                async with db.read() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
            if not (is_database_unavailable(error) or isinstance(error, TimeoutError)):
                log.exception("health check failed")
            return error_response(503, "Database unavailable")
        return json_response(200, {"status": "ok"})

    async def openapi_json(_: Request) -> Response:
        return json_response(200, openapi)

    async def docs(_: Request) -> Response:
        return HTMLResponse(SWAGGER_UI)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: "Route not found", 405: "Method not allowed"}.get(exc.status_code, exc.detail)
        return error_response(exc.status_code, message, dict(exc.headers or {}))

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        request_id = request.scope.get("state", {}).get("request_id", "")
        if is_database_unavailable(exc):
            return error_response(503, "Service temporarily unavailable")
        log.error("unhandled error (request %s)", request_id, exc_info=exc)
        return error_response(500, "Internal server error")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Objects built at start-up live for the whole process: keep them out of every GC pass.
        gc.collect()
        gc.freeze()
        yield
        await db.dispose()

    middleware = [Middleware(RequestIdMiddleware, count_statements=settings.sql_count_header)]
    if settings.cors_origins:
        wildcard = "*" in settings.cors_origins
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_credentials=not wildcard,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Retry-After", "ETag"],
                max_age=600,
            )
        )

    routes: list[Any] = [
        Route("/health", health, methods=["GET"]),
        Route("/graphql", graphql.handle, methods=["GET", "POST"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        *rest.starlette_routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: unexpected_error},
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.engine = engine
    app.state.settings = settings
    app.state.openapi = openapi
    return app
