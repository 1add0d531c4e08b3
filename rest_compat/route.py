"""The pieces a REST route is made of: how a request becomes GraphQL variables, and how the
GraphQL result becomes the documented JSON and status. No business rules here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, encode_cursor

MAX_PAGE = 10**9

# GraphQL error codes (top-level `extensions.code` or a payload's UserError.code) -> HTTP status.
STATUS_BY_CODE: dict[str, int] = {
    "BAD_REQUEST": 400,
    "BAD_USER_INPUT": 400,
    "GRAPHQL_PARSE_FAILED": 400,
    "GRAPHQL_VALIDATION_FAILED": 400,
    "INVALID": 400,
    "REQUIRED": 400,
    "OUT_OF_STOCK": 400,
    "CART_EMPTY": 400,
    "PROMOTION_INVALID": 400,
    "INVALID_TRANSITION": 400,
    "OAUTH_ERROR": 400,
    "UNAUTHENTICATED": 401,
    "INVALID_CREDENTIALS": 401,
    "INVALID_TOKEN": 401,
    "FORBIDDEN": 403,
    "ACCOUNT_INACTIVE": 403,
    "OUT_OF_SCOPE_PERMISSION": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "IDEMPOTENCY_CONFLICT": 409,
    "QUERY_TOO_COMPLEX": 400,
    "TOO_MANY_REQUESTS": 429,
    "SERVICE_UNAVAILABLE": 503,
    "INTERNAL_SERVER_ERROR": 500,
}

# HTTP status -> the envelope's `error.code` (docs/rest-compat.md).
ENVELOPE_CODE: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_server_error",
    503: "service_unavailable",
}


def status_for(code: str) -> int:
    # Payload error codes arrive lower-cased (REST lower-cases every enum value).
    return STATUS_BY_CODE.get(code.upper(), 500)


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": ENVELOPE_CODE.get(status, "error"), "message": message}}


class RestError(Exception):
    """Answer with the error envelope and this status."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass
class RestRequest:
    path_params: dict[str, str]
    query: Mapping[str, str]
    body: dict[str, Any] | None
    headers: Mapping[str, str]
    # Set by `paged`, read back by the `page` responder for `meta`.
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class RestResult:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Variables = Callable[[RestRequest], dict[str, Any]]


# --- request -> variables -----------------------------------------------------------------------


def _positive_int(request: RestRequest, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12 or int(text) < 1:
        raise RestError(400, f"Query parameter '{name}' must be a positive integer, got {raw!r}")
    value = int(text)
    if value > maximum:
        if name == "page_size":
            return MAX_PAGE_SIZE  # ROUTES.md: "max: 100" — larger sizes are clamped.
        raise RestError(400, f"Query parameter '{name}' must be at most {maximum}")
    return value


def paged(request: RestRequest) -> dict[str, Any]:
    """`page` (>= 1) and `page_size` (1..100, default 20, larger clamped) as first/after."""
    request.page = _positive_int(request, "page", 1, MAX_PAGE)
    request.page_size = _positive_int(request, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = (request.page - 1) * request.page_size
    return {"first": request.page_size, "after": encode_cursor(offset - 1) if offset else None}


def path(*names: str, rename: Mapping[str, str] | None = None) -> Variables:
    """Path parameters as variables (optionally renamed: {"permId": "permissionId"})."""

    def variables(request: RestRequest) -> dict[str, Any]:
        return {(rename or {}).get(name, name): request.path_params[name] for name in names}

    return variables


def query(**names: str) -> Variables:
    """Optional query-string parameters: query(search="keyword") maps ?keyword= to $search."""

    def variables(request: RestRequest) -> dict[str, Any]:
        return {variable: request.query.get(param) for variable, param in names.items()}

    return variables


@dataclass(frozen=True)
class Body:
    """JSON body keys -> GraphQL variables: Body({"first_name": "firstName"}, into="input").

    With `into`, the keys form one input object variable; without, each is a variable.
    Keys not listed are ignored; absent keys stay absent so GraphQL reports required ones.
    """

    fields: Mapping[str, str]
    into: str | None = None
    # Per REST key, the same renaming one level down: {"shipping_address": {"first_name": ...}}.
    nested: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def variables(self, request: RestRequest) -> dict[str, Any]:
        payload = request.body or {}
        values = {graphql: self._value(rest, payload[rest]) for rest, graphql in self.fields.items() if rest in payload}
        return {self.into: values} if self.into else values

    def _value(self, key: str, value: Any) -> Any:
        names = self.nested.get(key)
        # Anything but an object goes through as is, for GraphQL to refuse with its own message.
        if names is None or not isinstance(value, dict):
            return value
        return {names[name]: item for name, item in value.items() if name in names}


def combine(*parts: Variables) -> Variables:
    def variables(request: RestRequest) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part(request))
        return merged

    return variables


def no_variables(_: RestRequest) -> dict[str, Any]:
    return {}


# --- result -> response ---------------------------------------------------------------------------
# Each responder turns the (alias-shaped) data into the documented body and also describes
# that body for OpenAPI, from the JSON Schema of the document's result.

PAGE_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["page", "page_size", "total_items", "total_pages", "has_next", "has_prev"],
    "properties": {
        "page": {"type": "integer"},
        "page_size": {"type": "integer"},
        "total_items": {"type": "integer"},
        "total_pages": {"type": "integer"},
        "has_next": {"type": "boolean"},
        "has_prev": {"type": "boolean"},
    },
}


def _data_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["data"], "properties": {"data": schema}}


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    types = schema.get("type")
    if isinstance(types, list):
        remaining = [t for t in types if t != "null"]
        return {**schema, "type": remaining[0] if len(remaining) == 1 else remaining}
    return schema


@dataclass(frozen=True)
class Page:
    """`{data: [...], meta: {...}}` from `page: <connection>{ total_items items }`.

    `require`: a sibling field that must be non-null (e.g. the category of the listing).
    """

    require: str | None = None
    not_found: str = ""

    def __call__(self, data: dict[str, Any], request: RestRequest) -> RestResult:
        if self.require is not None and data.get(self.require) is None:
            raise RestError(404, self.not_found)
        listing = data["page"]
        total = listing["total_items"]
        total_pages = math.ceil(total / request.page_size) if total else 0
        meta = {
            "page": request.page,
            "page_size": request.page_size,
            "total_items": total,
            "total_pages": total_pages,
            "has_next": request.page < total_pages,
            "has_prev": request.page > 1,
        }
        return RestResult(200, {"data": listing["items"], "meta": meta})

    def success_schema(self, result: dict[str, Any]) -> dict[str, Any] | None:
        items = result["properties"]["page"]["properties"]["items"]
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {"data": items, "meta": PAGE_META_SCHEMA},
        }


@dataclass(frozen=True)
class Single:
    """`{data: <field>}`, or 404 with `not_found` when the field is null."""

    field: str
    not_found: str

    def __call__(self, data: dict[str, Any], _: RestRequest) -> RestResult:
        value = data.get(self.field)
        if value is None:
            raise RestError(404, self.not_found)
        return RestResult(200, {"data": value})

    def success_schema(self, result: dict[str, Any]) -> dict[str, Any] | None:
        return _data_envelope(_non_null(result["properties"][self.field]))


@dataclass(frozen=True)
class Whole:
    """`{data: <the whole result>}`: the document's aliases already give the documented shape."""

    status: int = 200

    def __call__(self, data: dict[str, Any], _: RestRequest) -> RestResult:
        return RestResult(self.status, {"data": data})

    def success_schema(self, result: dict[str, Any]) -> dict[str, Any] | None:
        return _data_envelope(result)


@dataclass(frozen=True)
class Payload:
    """A mutation payload: its first user error becomes the error envelope, else success.

    Success body: `{data: payload[key]}` (the payload minus `errors` when key is None),
    `{data: {message}}` when `message` is given, and no body when status is 204.
    """

    field: str
    key: str | None = None
    status: int = 200
    message: str | None = None

    def __call__(self, data: dict[str, Any], _: RestRequest) -> RestResult:
        result = data[self.field]
        errors = result.get("errors") or []
        if errors:
            first = errors[0]
            raise RestError(status_for(first["code"]), first["message"])
        if self.status == 204:
            return RestResult(204)
        if self.message is not None:
            return RestResult(self.status, {"data": {"message": self.message}})
        if self.key is not None:
            return RestResult(self.status, {"data": result[self.key]})
        return RestResult(self.status, {"data": {k: v for k, v in result.items() if k != "errors"}})

    def success_schema(self, result: dict[str, Any]) -> dict[str, Any] | None:
        if self.status == 204:
            return None
        if self.message is not None:
            return _data_envelope(
                {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
            )
        payload = _non_null(result["properties"][self.field])["properties"]
        if self.key is not None:
            return _data_envelope(_non_null(payload[self.key]))
        fields = {k: v for k, v in payload.items() if k != "errors"}
        return _data_envelope({"type": "object", "required": list(fields), "properties": fields})


Respond = Page | Single | Whole | Payload


@dataclass(frozen=True)
class QueryParam:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


PAGE_PARAMS = (
    QueryParam(
        "page",
        "Page number, 1 or more (default 1).",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    ),
    QueryParam(
        "page_size",
        "Items per page, 1-100 (default 20); larger values are clamped to 100.",
        {"type": "integer", "minimum": 1, "default": 20},
    ),
)


@dataclass(frozen=True)
class Route:
    """One documented REST route: a .graphql document plus the two mappings around it."""

    method: str
    path: str
    document: str
    summary: str
    variables: Variables = no_variables
    respond: Respond = Whole()
    status: int = 200
    query_params: tuple[QueryParam, ...] = ()
    header_params: tuple[QueryParam, ...] = ()  # documented request headers (OpenAPI only)
    body: Body | None = None
    errors: tuple[int, ...] = ()
    tag: str = ""
    # False: served but left out of the OpenAPI document (the empty-id twin of a documented path).
    listed: bool = True
    # True: a public read whose 200s may be cached by anyone (ETag + Cache-Control: public).
    # Off by default: tokens, single-use OAuth states and caller data must never be stored.
    cacheable: bool = False

    def build_variables(self, request: RestRequest) -> dict[str, Any]:
        variables = self.variables(request)
        if self.body is not None:
            variables.update(self.body.variables(request))
        return variables


def id_left_out(route: Route) -> Route:
    """The route at its path with the trailing `{id}` left out (`/cart/items/`), unlisted: the
    same document runs with an empty id, which the resolver refuses with the documented 400
    ("Item ID is required") — rather than a trailing-slash redirect and a 404 or 405."""
    path = route.path.removesuffix("{id}")
    if path == route.path:
        raise ValueError(f"{route.path} does not end with {{id}}")
    with_id = route.variables

    def variables(request: RestRequest) -> dict[str, Any]:
        request.path_params["id"] = ""
        return with_id(request)

    return replace(route, path=path, variables=variables, listed=False)
