"""Runs GraphQL operations for both front doors (/graphql and the REST layer).

Parsing and validation are cached per document text (validation is most of an uncached
request's cost), execution goes straight to graphql-core with Strawberry's resolvers, and
errors are classified into stable `extensions.code`s, unexpected ones masked.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from db.engine import is_database_unavailable
from resolvers.errors import AccessError, DomainError

log = logging.getLogger("shopql.graphql")

INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE_MESSAGE = "Service temporarily unavailable: the database cannot be reached"


class RequestError(Exception):
    """The request cannot be executed at all (unparsable, invalid, wrong operation...)."""

    def __init__(self, errors: Sequence[dict[str, Any]], code: str) -> None:
        super().__init__(errors[0]["message"] if errors else code)
        self.errors = list(errors)
        self.code = code


@dataclass(frozen=True)
class PreparedDocument:
    """A parsed and validated document; `operations` maps each name to its type."""

    source: str
    document: DocumentNode
    operations: dict[str | None, OperationDefinitionNode] = field(repr=False)

    def operation(self, name: str | None) -> OperationDefinitionNode:
        if name is None:
            if len(self.operations) != 1:
                raise RequestError(
                    [{"message": "An operation name is required when the document holds several",
                      "extensions": {"code": "BAD_REQUEST"}}],
                    "BAD_REQUEST",
                )
            return next(iter(self.operations.values()))
        try:
            return self.operations[name]
        except KeyError:
            raise RequestError(
                [{"message": f"Unknown operation named '{name}'", "extensions": {"code": "BAD_REQUEST"}}],
                "BAD_REQUEST",
            ) from None


NUL_MESSAGE = "Text must not contain NUL (\\u0000) characters"


def _contains_nul(value: Any) -> bool:
    """NUL cannot be stored in PostgreSQL text and is never meaningful input: refuse it up front."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _error(message: str, code: str, error: GraphQLError | None = None, **extra: Any) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": message}
    if error is not None and error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error is not None and error.path:
        formatted["path"] = list(error.path)
    formatted["extensions"] = {"code": code, **extra}
    return formatted


class GraphQLEngine:
    def __init__(
        self,
        schema: Any,
        *,
        max_tokens: int = 2000,
        validation_rules: Collection[type[ASTValidationRule]] = (),
        cache_size: int = 1024,
        debug: bool = False,
    ) -> None:
        self.strawberry_schema = schema
        self.schema = schema._schema
        self.max_tokens = max_tokens
        self.rules = (*specified_rules, *validation_rules)
        self.debug = debug
        self._cache: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._cache_size = cache_size

    # --- parse and validate ----------------------------------------------------------------

    def prepare(self, source: str, *, cache: bool = True) -> PreparedDocument:
        """Parse and validate `source`, from the cache when seen before; raise RequestError."""
        prepared = self._cache.get(source) if cache else None
        if prepared is not None:
            self._cache.move_to_end(source)
            return prepared
        if "\x00" in source or "\\u0000" in source:
            raise RequestError([_error(NUL_MESSAGE, "BAD_USER_INPUT")], "BAD_USER_INPUT")
        try:
            document = parse(source, max_tokens=self.max_tokens)
        except GraphQLError as error:
            code = "GRAPHQL_PARSE_FAILED"
            if "token limit" in error.message.lower():
                code = "QUERY_TOO_LARGE"
            raise RequestError([_error(error.message, code, error)], code) from None
        errors = validate(self.schema, document, self.rules)
        if errors:
            formatted = [
                _error(error.message, (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED"), error)
                for error in errors
            ]
            raise RequestError(formatted, formatted[0]["extensions"]["code"])
        operations = {
            (node.name.value if node.name else None): node
            for node in document.definitions
            if isinstance(node, OperationDefinitionNode)
        }
        prepared = PreparedDocument(source, document, operations)
        if cache:
            self._cache[source] = prepared
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return prepared

    # --- execute -------------------------------------------------------------------------------

    async def execute(
        self,
        prepared: PreparedDocument,
        *,
        context: Any,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        allowed: Collection[OperationType] = (OperationType.QUERY, OperationType.MUTATION),
    ) -> tuple[ExecutionResult, list[dict[str, Any]]]:
        """Execute one operation; returns the raw result and its formatted errors."""
        operation = prepared.operation(operation_name)
        if operation.operation not in allowed:
            raise RequestError(
                [_error(f"{operation.operation.value.capitalize()} operations are not allowed here",
                        "OPERATION_NOT_ALLOWED")],
                "OPERATION_NOT_ALLOWED",
            )
        if variables is not None and not isinstance(variables, dict):
            raise RequestError([_error("'variables' must be a JSON object", "BAD_REQUEST")], "BAD_REQUEST")
        if variables and _contains_nul(variables):
            raise RequestError([_error(NUL_MESSAGE, "BAD_USER_INPUT")], "BAD_USER_INPUT")
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,
            executor_class=StrawberryGraphQLCoreExecutionContext,
        )
        if optimized_is_awaitable(result):
            result = await result  # type: ignore[misc]
        errors = [self.format_error(error, context) for error in result.errors or ()]
        if result.data is None and errors and not any(error.path for error in result.errors or ()):
            # Nothing ran (variables could not be coerced): the request itself is invalid.
            raise RequestError(errors, errors[0]["extensions"]["code"])
        return result, errors

    # --- errors ----------------------------------------------------------------------------------

    def format_error(self, error: GraphQLError, context: Any) -> dict[str, Any]:
        original = error.original_error
        if original is None:
            code = (error.extensions or {}).get("code")
            if code is None:
                code = "BAD_USER_INPUT" if not error.path else "INTERNAL_SERVER_ERROR"
            return _error(error.message, code, error)
        if isinstance(original, AccessError):
            return _error(original.message, original.code, error)
        if isinstance(original, DomainError):
            extra = {"field": original.field} if original.field else {}
            return _error(original.message, original.code, error, **extra)
        if isinstance(original, GraphQLError):
            # Raised by scalars and Strawberry's own checks: a message meant for the client.
            return _error(original.message, (original.extensions or {}).get("code", "BAD_USER_INPUT"), error)
        request_id = getattr(context, "request_id", "")
        if is_database_unavailable(original):
            log.warning("database unavailable (request %s): %s", request_id, original)
            return _error(UNAVAILABLE_MESSAGE, "SERVICE_UNAVAILABLE", error, requestId=request_id)
        log.error(
            "unexpected error in %s (request %s)",
            ".".join(str(p) for p in error.path or ()) or "operation",
            request_id,
            exc_info=(type(original), original, original.__traceback__),
        )
        message = f"{INTERNAL_MESSAGE}: {original!r}" if self.debug else INTERNAL_MESSAGE
        return _error(message, "INTERNAL_SERVER_ERROR", error, requestId=request_id)

