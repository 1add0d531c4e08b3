"""Runs GraphQL operations for both front doors (/graphql and the REST layer).

Parsing and validation are cached per document text (validation is most of an uncached
request's cost), execution goes straight to graphql-core with Strawberry's resolvers, and
errors are classified into stable `extensions.code`s, unexpected ones masked and logged with
the request id.

Limits (schema/limits.py): the token limit applies while parsing, the depth/alias rules and
graphql-core's MaxIntrospectionDepthRule during validation (built once, so cached validation
stays valid), and the static cost right before execution, memoised per document, operation
and the values of the variables that can change it. Trusted documents (the REST layer's,
validated at start-up) skip the limits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graphql.pyutils import Path, Undefined
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLDefaultInput,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.utilities import get_default_value_ast
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from db.engine import is_database_unavailable
from resolvers.errors import AccessError, DomainError
from schema.limits import (
    QUERY_TOO_COMPLEX,
    CostCalculator,
    IntrospectionDepthRule,
    alias_rule,
    cost_variables,
    depth_rule,
)

log = logging.getLogger("shopql.graphql")

INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE_MESSAGE = "Service temporarily unavailable: the database cannot be reached"
MAX_TOKENS_EXCEEDED = "MAX_TOKENS_EXCEEDED"
_MISSING = "\x00missing"
_COST_MEMO_SIZE = 256


class _PlainLeaf(NamedTuple):
    attribute: str
    coerce: Any
    non_null: bool


def _plain_leaves(schema: GraphQLSchema) -> dict[str, dict[str, _PlainLeaf]]:
    """Per object type, the fields that only read an attribute and return a scalar or enum.

    These are most of a response (ids, names, amounts...). Resolving them through the full
    graphql-core machinery (resolve info, path, completion) costs several times the attribute
    read itself, so the execution context below reads and coerces them directly.
    """
    plain: dict[str, dict[str, _PlainLeaf]] = {}
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        fields = {}
        for field_name, field in graphql_type.fields.items():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is None or not definition.is_basic_field or field.args:
                continue
            non_null = isinstance(field.type, GraphQLNonNull)
            named = field.type.of_type if non_null else field.type
            if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
                fields[field_name] = _PlainLeaf(definition.python_name, named.coerce_output_value, non_null)
        if fields:
            plain[type_name] = fields
    return plain


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with a direct path for plain scalar and enum fields.

    Anything unusual (a null in a non-null field, a value the scalar refuses, a field with
    arguments) falls back to the regular path, so errors are reported exactly as before.
    """

    plain_leaves: dict[str, dict[str, _PlainLeaf]] = {}

    def execute_fields(  # type: ignore[override]
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plain = self.plain_leaves.get(parent_type.name)
        if plain is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            leaf = plain.get(node.name.value)
            if leaf is not None and not node.arguments:
                value = getattr(source_value, leaf.attribute, None)
                if value is None:
                    if not leaf.non_null:
                        results[response_name] = None
                        continue
                else:
                    coerced = leaf.coerce(value)
                    if coerced is not None and coerced is not Undefined:
                        results[response_name] = coerced
                        continue
            result = self.execute_field(
                parent_type, source_value, field_details_list, Path(path, response_name, parent_type.name),
                position_context,
            )
            if result is not Undefined:
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await asyncio.gather(*(results[field] for field in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


class RequestError(Exception):
    """The request cannot be executed at all (unparsable, invalid, wrong operation...).

    `extensions` (e.g. the query cost) go into the response's top-level `extensions`.
    """

    def __init__(
        self, errors: Sequence[dict[str, Any]], code: str, extensions: dict[str, Any] | None = None
    ) -> None:
        super().__init__(errors[0]["message"] if errors else code)
        self.errors = list(errors)
        self.code = code
        self.extensions = extensions


@dataclass(frozen=True)
class PreparedDocument:
    """A parsed and validated document; `operations` maps each name to its definition.

    `trusted` documents (the REST layer's) are exempt from the limits. The two dicts memoise
    the static cost per operation (and relevant variable values); they live and die with the
    document in the engine's cache.
    """

    source: str
    document: DocumentNode
    operations: dict[str | None, OperationDefinitionNode] = field(repr=False)
    trusted: bool = False
    cost_inputs: dict[str | None, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    costs: dict[tuple[Any, ...], int] = field(default_factory=dict, repr=False, compare=False)

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


def _cost_key_value(variables: Mapping[str, Any], name: str) -> Any:
    if name not in variables:
        return _MISSING
    value = variables[name]
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        return ("len", len(value))
    return None


def make_defaults_introspectable(schema: GraphQLSchema) -> None:
    """Let introspection print every default value (GraphiQL, codegen and `gql` need it).

    Strawberry hands graphql-core defaults as internal values; for a JSON-typed field with a
    default such as `{}` graphql-core cannot build a literal and `__InputValue.defaultValue`
    fails. Such defaults are re-declared as external defaults, which graphql-core prints
    with the scalar's value_to_literal (objects and lists included). Same value at runtime.
    """

    def repair(item: Any) -> None:
        if item.default is not None or item.default_value is Undefined:
            return
        try:
            get_default_value_ast(item)
        except TypeError:
            item.default = GraphQLDefaultInput(item.default_value)

    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLInputObjectType):
            for input_field in type_.fields.values():
                repair(input_field)
        elif isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            for object_field in type_.fields.values():
                for argument in object_field.args.values():
                    repair(argument)
    for directive in schema.directives:
        for argument in directive.args.values():
            repair(argument)


class GraphQLEngine:
    def __init__(
        self,
        schema: Any,
        *,
        max_tokens: int = 2000,
        validation_rules: Collection[type[ASTValidationRule]] = (),
        cache_size: int = 1024,
        debug: bool = False,
        max_depth: int | None = None,
        max_aliases: int | None = None,
        max_cost: int | None = None,
    ) -> None:
        self.strawberry_schema = schema
        self.schema = schema._schema
        make_defaults_introspectable(self.schema)
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.debug = debug
        # Suggestions ("Did you mean ...?") reveal the schema field by field: debug only.
        self.hide_suggestions = not debug
        limit_rules: list[type[ASTValidationRule]] = []
        if max_depth is not None:
            limit_rules.append(depth_rule(max_depth))
        if max_aliases is not None:
            limit_rules.append(alias_rule(max_aliases))
        # Built once: the same rule classes for every document keep validation cacheable.
        self.trusted_rules = (*specified_rules, *validation_rules)
        self.rules = (
            *(IntrospectionDepthRule if rule is MaxIntrospectionDepthRule else rule for rule in specified_rules),
            *validation_rules,
            *limit_rules,
        )
        self.costs = CostCalculator(self.schema)
        self._cache: OrderedDict[str, PreparedDocument] = OrderedDict()
        self.execution_context_class = type(
            "SchemaExecutionContext", (FastExecutionContext,), {"plain_leaves": _plain_leaves(self.schema)}
        )
        self._cache_size = cache_size

    # --- parse and validate ----------------------------------------------------------------

    def prepare(self, source: str, *, cache: bool = True, trusted: bool = False) -> PreparedDocument:
        """Parse and validate `source`, from the cache when seen before; raise RequestError.

        `trusted` documents (written by us, e.g. the REST layer's) skip the limits.
        """
        prepared = self._cache.get(source) if cache else None
        if prepared is not None:
            self._cache.move_to_end(source)
            return prepared
        if "\x00" in source or "\\u0000" in source:
            raise RequestError([_error(NUL_MESSAGE, "BAD_USER_INPUT")], "BAD_USER_INPUT")
        try:
            document = parse(source, max_tokens=None if trusted else self.max_tokens)
        except GraphQLError as error:
            code = "GRAPHQL_PARSE_FAILED"
            message = error.message
            if "tokens. Parsing aborted" in message:
                code = MAX_TOKENS_EXCEEDED
                message = f"The document exceeds the maximum of {self.max_tokens} tokens"
            raise RequestError([_error(message, code, error)], code) from None
        except RecursionError:
            raise RequestError(
                [_error("The document nests too deeply to be parsed", "GRAPHQL_PARSE_FAILED")],
                "GRAPHQL_PARSE_FAILED",
            ) from None
        errors = validate(
            self.schema,
            document,
            self.trusted_rules if trusted else self.rules,
            hide_suggestions=self.hide_suggestions,
        )
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
        prepared = PreparedDocument(source, document, operations, trusted)
        if cache:
            self._cache[source] = prepared
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return prepared

    # --- cost -------------------------------------------------------------------------------------

    def cost(
        self,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> int:
        """Static cost of `operation`, memoised per relevant variable values."""
        name = operation.name.value if operation.name else None
        inputs = prepared.cost_inputs.get(name)
        if inputs is None:
            inputs = prepared.cost_inputs[name] = cost_variables(prepared.document, operation)
        values = variables or {}
        key = (name, *(_cost_key_value(values, variable) for variable in inputs))
        cost = prepared.costs.get(key)
        if cost is None:
            cost = self.costs.cost(prepared.document, operation, values)
            if len(prepared.costs) >= _COST_MEMO_SIZE:
                prepared.costs.clear()
            prepared.costs[key] = cost
        return cost

    def cost_extension(self, cost: int) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": cost, "maximumAvailable": self.max_cost}}

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
        """Execute one operation; returns the raw result and its formatted errors.

        For untrusted documents with a cost limit, `result.extensions` carries the cost.
        """
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
        extensions = None
        if self.max_cost is not None and not prepared.trusted:
            cost = self.cost(prepared, operation, variables)
            extensions = self.cost_extension(cost)
            if cost > self.max_cost:
                raise RequestError(
                    [_error(f"The query's cost {cost} exceeds the maximum of {self.max_cost}",
                            QUERY_TOO_COMPLEX, requestedQueryCost=cost, maximumAvailable=self.max_cost)],
                    QUERY_TOO_COMPLEX,
                    extensions,
                )
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,
            executor_class=self.execution_context_class,
            hide_suggestions=self.hide_suggestions,
        )
        if optimized_is_awaitable(result):
            result = await result  # type: ignore[misc]
        errors = [self.format_error(error, context) for error in result.errors or ()]
        if result.data is None and errors and not any(error.path for error in result.errors or ()):
            # Nothing ran (variables could not be coerced): the request itself is invalid.
            raise RequestError(errors, errors[0]["extensions"]["code"], extensions)
        if extensions is not None:
            result.extensions = extensions
        return result, errors

    # --- errors ----------------------------------------------------------------------------------

    def format_error(self, error: GraphQLError, context: Any) -> dict[str, Any]:
        """A client-safe error dict with a stable `extensions.code`.

        Expected refusals (access, domain, input) keep their message and are not logged as
        failures; anything else is a bug: logged with its traceback and the request id, and
        answered as INTERNAL_SERVER_ERROR carrying that id.
        """
        original = error.original_error
        if original is None:
            code = (error.extensions or {}).get("code")
            if code is not None:
                return _error(error.message, code, error)
            if not error.path:
                return _error(error.message, "BAD_USER_INPUT", error)
            # graphql-core's own execution errors (a non-null field resolved to null, a
            # list field got no list...): the data broke the schema's promise.
            return self._internal(error, context, error)
        if isinstance(original, AccessError):
            return _error(original.message, original.code, error)
        if isinstance(original, DomainError):
            extra = {"field": original.field} if original.field else {}
            return _error(original.message, original.code, error, **extra)
        if isinstance(original, GraphQLError):
            code = (original.extensions or {}).get("code")
            if code is not None:
                return _error(original.message, code, error)
            if error.path:
                # Raised while completing a value (a scalar that cannot serialise it, a list
                # field without a list...): the data broke the schema's promise.
                return self._internal(error, context, original)
            # Raised by scalars parsing input: a message meant for the client.
            return _error(original.message, "BAD_USER_INPUT", error)
        if is_database_unavailable(original):
            request_id = getattr(context, "request_id", "")
            log.warning("database unavailable (request %s): %s", request_id, original)
            return _error(UNAVAILABLE_MESSAGE, "SERVICE_UNAVAILABLE", error, requestId=request_id)
        return self._internal(error, context, original)

    def _internal(self, error: GraphQLError, context: Any, cause: BaseException) -> dict[str, Any]:
        request_id = getattr(context, "request_id", "")
        log.error(
            "unexpected error in %s (request %s): %s",
            ".".join(str(p) for p in error.path or ()) or "operation",
            request_id,
            cause if cause is error else repr(cause),
            exc_info=(type(cause), cause, cause.__traceback__),
        )
        message = f"{INTERNAL_MESSAGE}: {cause!r}" if self.debug else INTERNAL_MESSAGE
        return _error(message, "INTERNAL_SERVER_ERROR", error, requestId=request_id)
