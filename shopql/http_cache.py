"""HTTP caching of public reads: strong ETags over the body, Cache-Control, 304s.

Caching is opt-in; `no-store` is the default the HTTP middleware adds to every response
that chose nothing itself. A response is public (`Cache-Control: public, max-age=N` and an
ETag; a matching If-None-Match gets 304 with no body) only when all of these hold:

- it reads public data by declaration: a REST route marked `cacheable` (the catalog reads),
  or a GraphQL GET query whose root fields are all on PUBLIC_ROOT_FIELDS (`node`/`nodes`
  only for IDs of public types);
- no Authorization header, and nothing private was read while answering;
- 200 without errors.

Responses for a known caller are `private, no-store`; everything else `no-store`. Anything
with a side effect (a mutation, or a query such as `googleAuthUrl` that writes a single-use
OAuth state) is never on the list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from graphql import ListValueNode, OperationDefinitionNode, OperationType, StringValueNode, VariableNode
from starlette.responses import Response

from db.ids import prefix_of
from schema.executor import PreparedDocument, root_field_names, root_fields

PRIVATE = "private, no-store"
NO_STORE = "no-store"
VARY = "Accept, Authorization"

# GraphQL root fields that read only the public catalog (and the schema itself).
PUBLIC_ROOT_FIELDS = frozenset({
    "product", "products", "category", "categories", "brand", "brands", "shippingMethods",
    "__typename", "__schema", "__type",
})
# Relay lookups: public only when every ID names a public type (by its prefix).
NODE_LOOKUPS = {"node": "id", "nodes": "ids"}
PUBLIC_NODE_PREFIXES = frozenset({"prod", "var", "cat", "brand"})


def _ids(value_node: Any, variables: Mapping[str, Any]) -> list[Any]:
    if isinstance(value_node, VariableNode):
        value = variables.get(value_node.name.value)
        return value if isinstance(value, list) else [value]
    if isinstance(value_node, ListValueNode):
        return [item for node in value_node.values for item in _ids(node, variables)]
    if isinstance(value_node, StringValueNode):
        return [value_node.value]
    return [None]


def _public_ids(ids: list[Any]) -> bool:
    return all(isinstance(identifier, str) and prefix_of(identifier) in PUBLIC_NODE_PREFIXES for identifier in ids)


def is_public_read(
    prepared: PreparedDocument, operation: OperationDefinitionNode, variables: Mapping[str, Any] | None
) -> bool:
    """True when `operation` is a query that reads only public data (see the module docstring)."""
    if operation.operation is not OperationType.QUERY:
        return False
    names = root_field_names(prepared, operation)
    if not names <= PUBLIC_ROOT_FIELDS.union(NODE_LOOKUPS):
        return False
    if names.isdisjoint(NODE_LOOKUPS):
        return True
    values = variables or {}
    for node in root_fields(prepared, operation):
        argument = NODE_LOOKUPS.get(node.name.value)
        if argument is None:
            continue
        value_node = next((a.value for a in node.arguments or () if a.name.value == argument), None)
        if not _public_ids(_ids(value_node, values)):
            return False
    return True


def etag_for(body: bytes, media_type: str = "") -> str:
    """A strong validator: the hash of the representation (its media type and bytes)."""
    digest = hashlib.blake2b(media_type.encode(), digest_size=16)
    digest.update(b"\0")
    digest.update(body)
    return f'"{digest.hexdigest()}"'


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against our ETag."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        if candidate.strip().removeprefix("W/") == opaque:
            return True
    return False


def public_response(
    body: bytes,
    media_type: str,
    if_none_match: str,
    max_age: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """200 with validators and a public Cache-Control, or 304 when the client's copy is current."""
    etag = etag_for(body, media_type)
    cache_headers = {
        **(headers or {}),
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": VARY,
    }
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=cache_headers)
    return Response(body, status_code=200, media_type=media_type, headers=cache_headers)
