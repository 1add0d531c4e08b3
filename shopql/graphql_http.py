"""GraphQL over HTTP at /graphql: POST (single or batched), GET, GraphiQL for browsers.

A thin Starlette endpoint over schema.executor.GraphQLEngine (cached parse + validation,
direct execution) that follows the GraphQL-over-HTTP spec (docs/graphql-http.md):

- Response media type by the Accept header: `application/graphql-response+json` when the
  client prefers it (or sends no Accept at all), `application/json` for JSON and wildcard
  clients, 406 when neither is acceptable.
- Status: malformed HTTP requests are 400 (body not JSON, wrong parameter types), 413 for
  bodies over MAX_BODY_BYTES, 415 for POST bodies that are not JSON, 405 + `Allow: POST` for
  mutations over GET (HEAD is GET without a body). GraphQL request errors are 200 with
  application/json (legacy clients keep their 200s); with graphql-response+json they are
  400 when the request cannot be understood (unparsable document, too many tokens, unknown
  operation or persisted query) and 422 when it is understood but refused (validation,
  variables, depth/alias/field limits, cost). 503 + Retry-After when the database is
  unreachable or too slow and no root field produced data.
- Every JSON body carries `extensions.cost` (`requestedQueryCost` null when not computed).
- Batches share one cost budget and one request deadline.
- Automatic persisted queries (shopql/persisted_queries.py), a safelist mode, and HTTP
  caching of public GET queries (shopql/http_cache.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from graphql import ExecutionResult, OperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from db.engine import is_database_unavailable, run_within
from schema.executor import CostBudget, GraphQLEngine, Plan, PreparedDocument, RequestError, root_fields
from schema.limits import (
    MAX_ALIASES_EXCEEDED,
    MAX_DEPTH_EXCEEDED,
    MAX_FIELDS_EXCEEDED,
    MAX_REPEATED_FIELDS_EXCEEDED,
    QUERY_TOO_COMPLEX,
)
from shopql import persisted_queries as apq
from shopql.http_cache import NO_STORE, PRIVATE, is_public_read, public_response
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

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
# Seconds a client should wait before retrying a 503 (the database is down or too slow).
RETRY_AFTER_SECONDS = 5

# Request-error codes whose HTTP status does not depend on the negotiated media type.
FIXED_STATUS = {
    "OPERATION_NOT_ALLOWED": 405,
    SERVICE_UNAVAILABLE: 503,
    apq.HASH_MISMATCH: 400,
}
# With graphql-response+json, request errors are 4xx: 400 by default (the request could not
# be understood), 422 for a well-formed document refused as it stands (GraphQL-over-HTTP
# allows any 4xx; 422 is what the issue asks and what the spec's pending edit proposes).
GRAPHQL_RESPONSE_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    **dict.fromkeys(
        (
            "GRAPHQL_VALIDATION_FAILED",
            "BAD_USER_INPUT",
            MAX_DEPTH_EXCEEDED,
            MAX_ALIASES_EXCEEDED,
            MAX_FIELDS_EXCEEDED,
            MAX_REPEATED_FIELDS_EXCEEDED,
            QUERY_TOO_COMPLEX,
        ),
        422,
    ),
}


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
    public: bool = False  # reads public data only (may be cached when everything else allows)
    unavailable: bool = False  # the database failed and no root field produced data

    def http_status(self, media_type: str) -> int:
        if self.status is not None:
            return self.status
        if self.unavailable:
            return 503
        if self.executed or media_type == APPLICATION_JSON:
            return 200
        return GRAPHQL_RESPONSE_STATUS.get(self.code, 400)

    @property
    def private(self) -> bool:
        return self.context is not None and self.context.touched_private_data


def _request_error_outcome(error: RequestError) -> Outcome:
    body: dict[str, Any] = {"errors": error.errors}
    if error.extensions:
        body["extensions"] = error.extensions
    status = FIXED_STATUS.get(error.code)
    headers = {"Allow": "POST"} if status == 405 else {}
    return Outcome(body, False, error.code, status, headers=headers, unavailable=status == 503)


def _refusal_outcome(refusal: HttpRefusal) -> Outcome:
    code = refusal.body["errors"][0]["extensions"]["code"]
    return Outcome(refusal.body, False, code, refusal.status, headers=refusal.headers)


def _error_entry(message: str, code: str) -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code}}]


def _nothing_produced(prepared: PreparedDocument, operation: Any, data: dict[str, Any] | None) -> bool:
    """No root field (other than `__typename`) produced a value."""
    if not data:
        return True
    typename_keys = {
        (node.alias or node.name).value for node in root_fields(prepared, operation) if node.name.value == "__typename"
    }
    return all(value is None for key, value in data.items() if key not in typename_keys)


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
        request_timeout: float = 5.0,
    ) -> None:
        self.engine = engine
        self.make_context = make_context
        self.graphiql = graphiql
        self.max_body_bytes = max_body_bytes
        self.max_batch = max_batch
        self.persisted = persisted
        self.safelist_only = safelist_only
        self.trusted_sources = frozenset(trusted_sources)
        # The REST layer's documents, also reachable by hash in safelist mode.
        self.trusted_by_hash = {apq.sha256_hex(source): source for source in self.trusted_sources}
        self.cache_max_age = cache_max_age
        self.request_timeout = request_timeout
        self._graphiql_html = get_graphql_ide_html(graphql_ide="graphiql") if graphiql else ""

    async def handle(self, request: Request) -> Response:
        headers = request.headers
        is_get = request.method in ("GET", "HEAD")  # HEAD: a GET whose body the server drops
        if is_get and "text/html" in headers.get("accept", "") and not request.query_params:
            if not self.graphiql:
                return self._json(
                    self._with_cost({"errors": _error_entry("GraphiQL is disabled on this server", "NOT_FOUND")}), 404
                )
            return HTMLResponse(self._graphiql_html)
        media_type = negotiate(headers.get("accept"))
        if media_type is None:
            return self._json(
                self._with_cost({"errors": _error_entry(
                    f"Not acceptable: this endpoint answers {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}",
                    "NOT_ACCEPTABLE",
                )}),
                406,
            )
        # One deadline for the whole request (a batch included): a hung database means 503.
        deadline = asyncio.get_running_loop().time() + self.request_timeout
        try:
            payload = self._params_from_query(request) if is_get else await self._params_from_body(request)
        except HttpRefusal as refusal:
            return self._json(
                self._with_cost(refusal.body), refusal.status, media_type,
                {**refusal.headers, "Cache-Control": NO_STORE},
            )
        if isinstance(payload, list):
            return await self._batch(request, payload, media_type, deadline)
        outcome = await self._operation(
            request, payload, QUERY_ONLY if is_get else QUERY_AND_MUTATION, deadline, public_read=is_get
        )
        status = outcome.http_status(media_type)
        response_headers = dict(outcome.headers)
        if status == 503:
            response_headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        if is_get and self._is_public(request, outcome, status):
            return public_response(
                orjson.dumps(outcome.body),
                _CONTENT_TYPES[media_type],
                headers.get("if-none-match", ""),
                self.cache_max_age,
                response_headers,
            )
        private = "authorization" in headers or outcome.private
        response_headers["Cache-Control"] = PRIVATE if private else NO_STORE
        return self._json(outcome.body, status, media_type, response_headers)

    @staticmethod
    def _json(
        body: Any, status: int, media_type: str = APPLICATION_JSON, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type=_CONTENT_TYPES[media_type], headers=headers)

    def _with_cost(self, body: dict[str, Any]) -> dict[str, Any]:
        """Every response states the cost, null when the request never got that far."""
        if "cost" not in body.get("extensions", {}):
            body = {**body, "extensions": {**body.get("extensions", {}), **self.engine.cost_extension(None)}}
        return body

    @staticmethod
    def _is_public(request: Request, outcome: Outcome, status: int) -> bool:
        return (
            status == 200
            and outcome.public
            and outcome.executed
            and "errors" not in outcome.body
            and "authorization" not in request.headers
            and outcome.context is not None
            and not outcome.private
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

    async def _operation(
        self,
        request: Request,
        params: Any,
        allowed: tuple[OperationType, ...],
        deadline: float,
        budget: CostBudget | None = None,
        public_read: bool = False,
    ) -> Outcome:
        outcome = await self._attempt(request, params, allowed, deadline, budget, public_read)
        outcome.body = self._with_cost(outcome.body)
        return outcome

    async def _attempt(
        self,
        request: Request,
        params: Any,
        allowed: tuple[OperationType, ...],
        deadline: float,
        budget: CostBudget | None,
        public_read: bool,
    ) -> Outcome:
        try:
            query, operation_name, variables, extensions = self._check_params(params)
            prepared, plan, context, result, errors = await run_within(
                deadline, self._run(request, query, operation_name, variables, extensions, allowed, budget)
            )
        except HttpRefusal as refusal:
            return _refusal_outcome(refusal)
        except RequestError as error:
            return _request_error_outcome(error)
        except Exception as error:  # noqa: BLE001 - the store, the context or the deadline failed: never a bare 500
            return self._failure(request, error)
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        if result.extensions:
            body["extensions"] = result.extensions
        unavailable = any(error["extensions"]["code"] == SERVICE_UNAVAILABLE for error in errors) and _nothing_produced(
            prepared, plan.operation, result.data
        )
        return Outcome(
            body,
            True,
            errors[0]["extensions"]["code"] if errors else "",
            context=context,
            headers=dict(context.response_headers),
            public=public_read and is_public_read(prepared, plan.operation, variables),
            unavailable=unavailable,
        )

    async def _run(
        self,
        request: Request,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        extensions: Any,
        allowed: tuple[OperationType, ...],
        budget: CostBudget | None,
    ) -> tuple[PreparedDocument, Plan, Any, ExecutionResult, list[dict[str, Any]]]:
        query, register = await self._document(query, extensions)
        prepared = self.engine.prepare(query)
        plan = self.engine.plan(
            prepared, variables=variables, operation_name=operation_name, allowed=allowed, budget=budget
        )
        if register is not None:
            # Only documents that passed validation and the cost limit are kept.
            await self.persisted.put(register, query)  # type: ignore[union-attr]
        context = await self.make_context(request)
        result, errors = await self.engine.run(prepared, plan, context=context, variables=variables)
        return prepared, plan, context, result, errors

    async def _document(self, query: str | None, extensions: Any) -> tuple[str, str | None]:
        """The document to run, and the hash to register it under (None: nothing to register)."""
        try:
            sha = apq.parse_extension(extensions)
        except apq.PersistedQueryError as error:
            raise HttpRefusal(400, error.message, error.code) from None
        if sha is not None:
            if self.persisted is None:
                raise HttpRefusal(400, "PersistedQueryNotSupported", apq.NOT_SUPPORTED)
            if query is not None and apq.sha256_hex(query) != sha:
                raise RequestError(
                    _error_entry("The provided sha256Hash does not match the query", apq.HASH_MISMATCH),
                    apq.HASH_MISMATCH,
                )
            if self.safelist_only:
                return await self._safelisted(sha, query), None
            stored = await self.persisted.get(sha)
            if stored is not None:
                return stored.query, None
            if query is None:
                raise RequestError(_error_entry(apq.NOT_FOUND_MESSAGE, apq.NOT_FOUND), apq.NOT_FOUND)
            return query, sha if self.persisted.accepts_registrations else None
        if query is None:
            raise HttpRefusal(400, "'query' is required (or a persisted query hash)", "BAD_REQUEST")
        if self.safelist_only and query not in self.trusted_sources:
            return await self._safelisted(apq.sha256_hex(query), query), None
        return query, None

    async def _safelisted(self, sha: str, query: str | None) -> str:
        """Safelist mode: the REST layer's documents and the documents persisted as safelisted
        (`shopql persist`), nothing else; no registrations."""
        trusted = self.trusted_by_hash.get(sha)
        if trusted is not None:
            return trusted
        stored = await self.persisted.get(sha) if self.persisted is not None else None
        if stored is not None and stored.safelisted:
            return stored.query
        if stored is None and query is None:
            raise RequestError(_error_entry(apq.NOT_FOUND_MESSAGE, apq.NOT_FOUND), apq.NOT_FOUND)
        raise self._not_safelisted()

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
        if isinstance(error, TimeoutError) or is_database_unavailable(error):
            log.warning("database unavailable (request %s): %r", request_id, error)
            code, message, status = SERVICE_UNAVAILABLE, "Service temporarily unavailable", 503
        else:
            log.error("unexpected error at /graphql (request %s)", request_id, exc_info=error)
            code, message, status = "INTERNAL_SERVER_ERROR", "Internal server error", 500
        body = {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}
        return Outcome(body, False, code, status, unavailable=status == 503)

    # --- batches -----------------------------------------------------------------------------------------

    async def _batch(self, request: Request, batch: list[Any], media_type: str, deadline: float) -> Response:
        """Operations run one after the other (mutations keep their order) under one cost budget.

        200, unless the database failed every one of them (503 + Retry-After).
        """
        budget = CostBudget(self.engine.max_cost) if self.engine.max_cost is not None else None
        bodies = []
        headers: dict[str, str] = {}
        private = "authorization" in request.headers
        unavailable = []
        for params in batch:
            outcome = await self._operation(request, params, QUERY_AND_MUTATION, deadline, budget)
            bodies.append(outcome.body)
            headers.update(outcome.headers)
            private = private or outcome.private
            unavailable.append(outcome.http_status(media_type) == 503)
        if any(unavailable):
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        headers["Cache-Control"] = PRIVATE if private else NO_STORE
        return self._json(bodies, 503 if all(unavailable) else 200, media_type, headers)
