"""GraphQL over HTTP at /graphql: POST (single or batched), GET, GraphiQL for browsers.

A thin Starlette endpoint over schema.executor.GraphQLEngine (cached parse + validation,
direct execution) that follows the GraphQL-over-HTTP spec (docs/graphql-http.md):

- Response media type by the Accept header: `application/graphql-response+json` when the
  client prefers it (or sends no Accept at all), `application/json` for JSON and wildcard
  clients, 406 when neither is acceptable.
- Status: malformed HTTP requests are 400 (body not JSON, wrong parameter types), 413 for
  bodies over MAX_BODY_BYTES, 415 for POST bodies that are not JSON, 405 + `Allow: POST` for
  mutations over GET. GraphQL request errors (parse, validation, limits, cost, variables,
  unknown operation, unknown persisted query) are 400 with graphql-response+json and 200 with
  application/json (legacy clients keep their 200s). 503 when the database is unreachable
  and no data could be produced.
- Automatic persisted queries (shopql/persisted_queries.py), a safelist mode, and HTTP
  caching of public GET queries (shopql/http_cache.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from db.engine import is_database_unavailable
from schema.executor import GraphQLEngine, RequestError
from shopql import persisted_queries as apq
from shopql.http_cache import NO_STORE, PRIVATE, public_response
from shopql.http_io import BodyTooLarge, read_body

log = logging.getLogger("shopql.graphql")

ContextFactory = Callable[[Request], Awaitable[Any]]

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
_CONTENT_TYPES = {
    GRAPHQL_RESPONSE_JSON: f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8",
    APPLICATION_JSON: APPLICATION_JSON,
}
_JSON_BODY_TYPES = frozenset({APPLICATION_JSON, GRAPHQL_RESPONSE_JSON})
_UTF8 = frozenset({"utf-8", "utf8"})

QUERY_AND_MUTATION = (OperationType.QUERY, OperationType.MUTATION)
QUERY_ONLY = (OperationType.QUERY,)

# Request-error codes whose HTTP status does not depend on the negotiated media type.
FIXED_STATUS = {
    "OPERATION_NOT_ALLOWED": 405,
    "SERVICE_UNAVAILABLE": 503,
    apq.HASH_MISMATCH: 400,
}
# With graphql-response+json, request errors are 4xx: these codes get a more precise one.
GRAPHQL_RESPONSE_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}


# --- content negotiation ---------------------------------------------------------------------------


def _media_ranges(header: str) -> list[tuple[str, float, int]]:
    ranges = []
    for position, part in enumerate(header.split(",")):
        media, *params = part.split(";")
        media = media.strip().lower()
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality, position))
    return ranges


@lru_cache(maxsize=512)
def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None means 406 Not Acceptable.

    No Accept header: graphql-response+json (the spec's post-2025 default). Exact matches
    beat wildcards; a wildcard alone (`*/*`, `application/*`) gets application/json, as
    legacy clients expect.
    """
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    ranges = _media_ranges(accept)

    def match(media_type: str) -> tuple[float, int, int]:
        """(quality, specificity, -position) of the most specific range matching media_type."""
        best = (0.0, -1, 0)
        for media, quality, position in ranges:
            if media == media_type:
                specificity = 2
            elif media == "application/*":
                specificity = 1
            elif media == "*/*":
                specificity = 0
            else:
                continue
            if specificity > best[1]:
                best = (quality, specificity, -position)
        return best

    graphql_response = match(GRAPHQL_RESPONSE_JSON)
    json = match(APPLICATION_JSON)
    if graphql_response[0] <= 0 and json[0] <= 0:
        return None
    if graphql_response[0] != json[0]:
        return GRAPHQL_RESPONSE_JSON if graphql_response[0] > json[0] else APPLICATION_JSON
    if graphql_response[1] == 2 and (json[1] < 2 or graphql_response[2] > json[2]):
        return GRAPHQL_RESPONSE_JSON  # listed explicitly (and first, when both are)
    return APPLICATION_JSON


@lru_cache(maxsize=128)
def json_body_type(content_type: str | None) -> bool:
    """True for a Content-Type we read as JSON (either JSON media type, UTF-8)."""
    if not content_type:
        return False
    media, *params = content_type.split(";")
    if media.strip().lower() not in _JSON_BODY_TYPES:
        return False
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8:
            return False
    return True


# --- outcomes --------------------------------------------------------------------------------------


class HttpRefusal(Exception):
    """The HTTP request is malformed or unacceptable: this status whatever the media type."""

    def __init__(self, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"errors": [{"message": message, "extensions": {"code": code}}]}
        self.headers = headers or {}


@dataclass
class Outcome:
    """One operation's result: its response body and what decides the HTTP status."""

    body: dict[str, Any]
    executed: bool  # False: a request error (no `data` entry)
    code: str = ""  # first error's code
    status: int | None = None  # fixed status, whatever the media type
    context: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def http_status(self, media_type: str) -> int:
        if self.status is not None:
            return self.status
        if self.executed:
            if self.body.get("data") is None and self.code == "SERVICE_UNAVAILABLE":
                return 503
            return 200
        if media_type == APPLICATION_JSON:
            return 200
        return GRAPHQL_RESPONSE_STATUS.get(self.code, 400)


def _request_error_outcome(error: RequestError) -> Outcome:
    body: dict[str, Any] = {"errors": error.errors}
    if error.extensions:
        body["extensions"] = error.extensions
    status = FIXED_STATUS.get(error.code)
    headers = {"Allow": "POST"} if status == 405 else {}
    return Outcome(body, False, error.code, status, headers=headers)


def _refusal_outcome(refusal: HttpRefusal) -> Outcome:
    code = refusal.body["errors"][0]["extensions"]["code"]
    return Outcome(refusal.body, False, code, refusal.status, headers=refusal.headers)


def _error_entry(message: str, code: str) -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code}}]


# --- the endpoint ----------------------------------------------------------------------------------


class GraphQLEndpoint:
    def __init__(
        self,
        engine: GraphQLEngine,
        make_context: ContextFactory,
        *,
        graphiql: bool = True,
        max_body_bytes: int = 1_000_000,
        max_batch: int = 10,
        persisted: apq.PersistedQueryStore | None = None,
        safelist_only: bool = False,
        trusted_sources: Collection[str] = (),
        cache_max_age: int = 30,
    ) -> None:
        self.engine = engine
        self.make_context = make_context
        self.graphiql = graphiql
        self.max_body_bytes = max_body_bytes
        self.max_batch = max_batch
        self.persisted = persisted
        self.safelist_only = safelist_only
        self.trusted_sources = frozenset(trusted_sources)
        self.cache_max_age = cache_max_age
        self._graphiql_html = get_graphql_ide_html(graphql_ide="graphiql") if graphiql else ""

    async def handle(self, request: Request) -> Response:
        headers = request.headers
        is_get = request.method == "GET"
        if is_get and "text/html" in headers.get("accept", "") and not request.query_params:
            if not self.graphiql:
                return self._json(
                    {"errors": _error_entry("GraphiQL is disabled on this server", "NOT_FOUND")}, 404
                )
            return HTMLResponse(self._graphiql_html)
        media_type = negotiate(headers.get("accept"))
        if media_type is None:
            return self._json(
                {"errors": _error_entry(
                    f"Not acceptable: this endpoint answers {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}",
                    "NOT_ACCEPTABLE",
                )},
                406,
            )
        try:
            payload = self._params_from_query(request) if is_get else await self._params_from_body(request)
        except HttpRefusal as refusal:
            return self._json(refusal.body, refusal.status, media_type, {**refusal.headers, "Cache-Control": NO_STORE})
        if isinstance(payload, list):
            return await self._batch(request, payload, media_type)
        outcome = await self._operation(request, payload, QUERY_ONLY if is_get else QUERY_AND_MUTATION)
        status = outcome.http_status(media_type)
        if is_get and self._is_public(request, outcome, status):
            return public_response(
                orjson.dumps(outcome.body),
                _CONTENT_TYPES[media_type],
                headers.get("if-none-match", ""),
                self.cache_max_age,
                outcome.headers,
            )
        private = "authorization" in headers or (outcome.context is not None and outcome.context.touched_private_data)
        return self._json(
            outcome.body, status, media_type, {**outcome.headers, "Cache-Control": PRIVATE if private else NO_STORE}
        )

    @staticmethod
    def _json(
        body: Any, status: int, media_type: str = APPLICATION_JSON, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type=_CONTENT_TYPES[media_type], headers=headers)

    @staticmethod
    def _is_public(request: Request, outcome: Outcome, status: int) -> bool:
        return (
            status == 200
            and outcome.executed
            and "errors" not in outcome.body
            and "authorization" not in request.headers
            and outcome.context is not None
            and not outcome.context.touched_private_data
        )

    # --- request parameters ----------------------------------------------------------------------

    @staticmethod
    def _params_from_query(request: Request) -> dict[str, Any]:
        query_params = request.query_params
        params: dict[str, Any] = {
            "query": query_params.get("query"),
            "operationName": query_params.get("operationName") or None,
        }
        for name in ("variables", "extensions"):
            raw = query_params.get(name)
            if raw:
                try:
                    params[name] = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise HttpRefusal(400, f"'{name}' is not valid JSON", "BAD_REQUEST") from None
        return params

    async def _params_from_body(self, request: Request) -> dict[str, Any] | list[Any]:
        if not json_body_type(request.headers.get("content-type")):
            raise HttpRefusal(
                415,
                f"POST bodies must be {APPLICATION_JSON} (or {GRAPHQL_RESPONSE_JSON}) in UTF-8",
                "UNSUPPORTED_MEDIA_TYPE",
            )
        try:
            raw = await read_body(request, self.max_body_bytes)
        except BodyTooLarge as error:
            raise HttpRefusal(413, str(error), "PAYLOAD_TOO_LARGE") from None
        try:
            params = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise HttpRefusal(400, "Request body is not valid JSON", "BAD_REQUEST") from None
        if isinstance(params, list):
            if not params:
                raise HttpRefusal(400, "A batch must hold at least one operation", "BAD_REQUEST")
            if len(params) > self.max_batch:
                raise HttpRefusal(
                    400, f"A batch may hold at most {self.max_batch} operations, got {len(params)}",
                    "BATCH_TOO_LARGE",
                )
            return params
        if not isinstance(params, dict):
            raise HttpRefusal(400, "Request body must be a JSON object (or an array of them)", "BAD_REQUEST")
        return params

    @staticmethod
    def _check_params(params: Any) -> tuple[Any, str | None, Any, Any]:
        if not isinstance(params, dict):
            raise HttpRefusal(400, "Each operation must be a JSON object", "BAD_REQUEST")
        query = params.get("query")
        operation_name = params.get("operationName")
        variables = params.get("variables")
        extensions = params.get("extensions")
        if query is not None and not isinstance(query, str):
            raise HttpRefusal(400, "'query' must be a string", "BAD_REQUEST")
        if operation_name is not None and not isinstance(operation_name, str):
            raise HttpRefusal(400, "'operationName' must be a string", "BAD_REQUEST")
        if variables is not None and not isinstance(variables, dict):
            raise HttpRefusal(400, "'variables' must be a JSON object", "BAD_REQUEST")
        if extensions is not None and not isinstance(extensions, dict):
            raise HttpRefusal(400, "'extensions' must be a JSON object", "BAD_REQUEST")
        return query, operation_name or None, variables, extensions

    # --- one operation ---------------------------------------------------------------------------------

    async def _operation(self, request: Request, params: Any, allowed: tuple[OperationType, ...]) -> Outcome:
        try:
            query, operation_name, variables, extensions = self._check_params(params)
            query, register = await self._document(query, extensions)
            prepared = self.engine.prepare(query)
            if register is not None:
                if prepared.operation(operation_name).operation not in allowed:
                    raise RequestError(
                        _error_entry("Mutation operations are not allowed here", "OPERATION_NOT_ALLOWED"),
                        "OPERATION_NOT_ALLOWED",
                    )
                await self.persisted.put(register, query)  # type: ignore[union-attr]
            context = await self.make_context(request)
            result, errors = await self.engine.execute(
                prepared,
                context=context,
                variables=variables,
                operation_name=operation_name,
                allowed=allowed,
            )
        except HttpRefusal as refusal:
            return _refusal_outcome(refusal)
        except RequestError as error:
            return _request_error_outcome(error)
        except Exception as error:  # noqa: BLE001 - the store or the context failed: never a bare 500
            return self._failure(request, error)
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        if result.extensions:
            body["extensions"] = result.extensions
        return Outcome(
            body,
            True,
            errors[0]["extensions"]["code"] if errors else "",
            context=context,
            headers=dict(context.response_headers),
        )

    async def _document(self, query: str | None, extensions: Any) -> tuple[str, str | None]:
        """The document to run, and the hash to register it under (None: nothing to register)."""
        try:
            sha = apq.parse_extension(extensions)
        except apq.PersistedQueryError as error:
            raise HttpRefusal(400, error.message, error.code) from None
        if sha is not None:
            if self.persisted is None:
                raise HttpRefusal(400, "PersistedQueryNotSupported", apq.NOT_SUPPORTED)
            if query is None:
                stored = await self.persisted.get(sha)
                if stored is None:
                    raise RequestError(_error_entry(apq.NOT_FOUND_MESSAGE, apq.NOT_FOUND), apq.NOT_FOUND)
                return stored, None
            if apq.sha256_hex(query) != sha:
                raise RequestError(
                    _error_entry("The provided sha256Hash does not match the query", apq.HASH_MISMATCH),
                    apq.HASH_MISMATCH,
                )
            if await self.persisted.get(sha) is not None:
                return query, None
            if self.safelist_only:
                raise self._not_safelisted()
            return query, sha
        if query is None:
            raise HttpRefusal(400, "'query' is required (or a persisted query hash)", "BAD_REQUEST")
        if self.safelist_only and query not in self.trusted_sources:
            if self.persisted is None or await self.persisted.get(apq.sha256_hex(query)) is None:
                raise self._not_safelisted()
        return query, None

    @staticmethod
    def _not_safelisted() -> RequestError:
        return RequestError(
            _error_entry(
                "This server only runs persisted operations; this document is not among them",
                apq.NOT_SAFELISTED,
            ),
            apq.NOT_SAFELISTED,
        )

    def _failure(self, request: Request, error: Exception) -> Outcome:
        request_id = request.scope.get("state", {}).get("request_id", "")
        if is_database_unavailable(error):
            log.warning("database unavailable (request %s): %s", request_id, error)
            code, message, status = "SERVICE_UNAVAILABLE", "Service temporarily unavailable", 503
        else:
            log.error("unexpected error at /graphql (request %s)", request_id, exc_info=error)
            code, message, status = "INTERNAL_SERVER_ERROR", "Internal server error", 500
        body = {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}
        return Outcome(body, False, code, status)

    # --- batches -----------------------------------------------------------------------------------------

    async def _batch(self, request: Request, batch: list[Any], media_type: str) -> Response:
        """Operations run one after the other (mutations keep their order); always 200."""
        bodies = []
        headers: dict[str, str] = {}
        private = "authorization" in request.headers
        for params in batch:
            outcome = await self._operation(request, params, QUERY_AND_MUTATION)
            bodies.append(outcome.body)
            headers.update(outcome.headers)
            private = private or (outcome.context is not None and outcome.context.touched_private_data)
        headers["Cache-Control"] = PRIVATE if private else NO_STORE
        return self._json(bodies, 200, media_type, headers)
