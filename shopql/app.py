"""The application: /graphql, the REST routes, /health, /openapi.json and /docs in one Starlette app."""

from __future__ import annotations

import asyncio
import gc
import logging
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

from db.engine import Database, is_database_unavailable, run_within
from resolvers import passwords
from resolvers.context import RequestContext
from rest_compat.openapi import openapi_document
from rest_compat.routes import ROUTES
from rest_compat.service import RETRY_AFTER_SECONDS, RestService, error_response, json_response
from schema.executor import GraphQLEngine
from schema.root import schema
from shopql.graphql_http import GraphQLEndpoint
from shopql.logs import configure_logging
from shopql.middleware import RequestIdMiddleware
from shopql.persisted_queries import PersistedQueryStore
from shopql.settings import Settings, get_settings

log = logging.getLogger("shopql")

HEALTH_TIMEOUT = 3.0

SWAGGER_UI = """<!doctype html>
<html><head><meta charset="utf-8"><title>ShopQL REST API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""


def _client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging(settings)
    db = Database(settings.database_url, settings.db_pool_size, settings.db_max_overflow, settings.db_timeouts)
    engine = GraphQLEngine(
        schema,
        max_tokens=settings.max_tokens,
        debug=settings.debug,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_cost=settings.max_query_cost,
        max_fields=settings.max_fields,
        max_repeated_fields=settings.max_repeated_fields,
    )

    async def make_context(request: Request) -> RequestContext:
        return RequestContext(
            db=db,
            settings=settings,
            authorization=request.headers.get("authorization", ""),
            client_address=_client_address(request),
            request_id=request.scope.get("state", {}).get("request_id", ""),
            headers=request.headers,  # type: ignore[arg-type]
        )

    rest = RestService(
        engine, ROUTES, make_context, settings.max_body_bytes, settings.http_cache_max_age,
        request_timeout=settings.db_request_timeout,
    )
    graphql = GraphQLEndpoint(
        engine,
        make_context,
        graphiql=settings.graphiql,
        max_body_bytes=settings.max_body_bytes,
        max_batch=settings.max_batch_size,
        persisted=PersistedQueryStore(db, max_stored=settings.persisted_queries_max),
        safelist_only=settings.persisted_queries_only,
        # Safelist mode still runs the REST layer's documents, also when sent to /graphql.
        trusted_sources=[c.prepared.source for c in rest.compiled],
        cache_max_age=settings.http_cache_max_age,
        request_timeout=settings.db_request_timeout,
    )
    openapi = openapi_document(rest.compiled)

    async def health(_: Request) -> Response:
        async def ping() -> None:
            async with db.read() as conn:
                await conn.execute(text("SELECT 1"))

        # A load balancer needs its answer quickly, whatever the request deadline.
        deadline = asyncio.get_running_loop().time() + min(HEALTH_TIMEOUT, settings.db_request_timeout)
        try:
            await run_within(deadline, ping())
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
            if not (is_database_unavailable(error) or isinstance(error, TimeoutError)):
                log.exception("health check failed")
            return error_response(503, "Database unavailable", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        return json_response(200, {"status": "ok"})

    async def openapi_json(_: Request) -> Response:
        return json_response(200, openapi)

    async def docs(_: Request) -> Response:
        return HTMLResponse(SWAGGER_UI)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: "Route not found", 405: "Method not allowed"}.get(exc.status_code, exc.detail)
        return error_response(exc.status_code, message, dict(exc.headers or {}))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Objects built at start-up live for the whole process: keep them out of every GC pass.
        gc.collect()
        gc.freeze()
        warming = asyncio.get_running_loop().run_in_executor(None, passwords.warm_up)
        yield
        await warming
        await db.dispose()

    middleware = [
        Middleware(
            RequestIdMiddleware, count_statements=settings.sql_count_header, log_access=settings.access_log
        )
    ]
    if settings.cors_origins:
        wildcard = "*" in settings.cors_origins
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_credentials=not wildcard,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID", "If-None-Match"],
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
        # Unexpected errors are answered by RequestIdMiddleware (inside the request-id scope),
        # not by a Starlette `Exception` handler, which runs outside every middleware.
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.engine = engine
    app.state.settings = settings
    app.state.openapi = openapi
    return app
