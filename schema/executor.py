"""Runs GraphQL operations for both front doors (/graphql and the REST layer).

Parsing and validation are cached per document text (validation is most of an uncached
request's cost), execution goes straight to graphql-core with Strawberry's resolvers, and
errors are classified into stable `extensions.code`s, unexpected ones masked and logged with
the request id.

Limits (schema/limits.py): the token limit applies while parsing, the selection count right
after (before the validator's quadratic field comparisons), the depth/alias rules and
graphql-core's MaxIntrospectionDepthRule during validation (built once, so cached validation
stays valid), and the static cost right before execution, memoised per document, operation
and the values of the variables that can change it. Refused documents are cached too, so
sending the same bad document again costs a dictionary look-up. Trusted documents (the REST
layer's, validated at start-up) skip the limits.

Variables are checked before execution (no NUL characters, bounded nesting), and when
graphql-core cannot coerce them the errors are rewritten to name the variable path and the
expected type without ever echoing the value (it may be a password or a token).
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
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLDefaultInput,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute,
    get_variable_values,
    parse,
    specified_rules,
    validate,
)
from graphql.utilities import get_default_value_ast, type_from_ast
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from db.engine import is_database_unavailable
from resolvers.errors import AccessError, DomainError
from schema.limits import (
    INTROSPECTION_ROOTS,
    QUERY_TOO_COMPLEX,
    CostCalculator,
    IntrospectionDepthRule,
    alias_rule,
    cost_variables,
    depth_rule,
    selection_refusal,
)

log = logging.getLogger("shopql.graphql")

INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE_MESSAGE = "Service temporarily unavailable: the database cannot be reached"
MAX_TOKENS_EXCEEDED = "MAX_TOKENS_EXCEEDED"
_MISSING = "\x00missing"
_COST_MEMO_SIZE = 256
# Refused documents remembered per text (a client retrying a bad document costs nothing).
_FAILURE_CACHE_SIZE = 256
# Introspection-only results remembered per document (GraphiQL, codegen and gql ask often).
_INTROSPECTION_CACHE_SIZE = 16
# Variables nest at most this deep (JSON scalars included): deeper input is never meaningful
# and would exhaust the stack of whatever walks it later (serialisers, the database driver).
MAX_INPUT_DEPTH = 64


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


def input_path(parts: Sequence[str | int]) -> str:
    """`a.b[2].c`: input field names joined by dots, list indices in brackets."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class InputProblem:
    """Why a variable was refused: where (`path`: the variable's name, then input field names
    and list indices) and what was expected (`reason`, never the value itself)."""

    path: tuple[str | int, ...]
    reason: str
    missing: bool = False

    @property
    def variable(self) -> str:
        return str(self.path[0])

    def message(self) -> str:
        where = input_path(self.path[1:])
        return f"Variable '${self.variable}'{f' at {where!r}' if where else ''}: {self.reason}"


class RequestError(Exception):
    """The request cannot be executed at all (unparsable, invalid, wrong operation...).

    `extensions` (e.g. the query cost) go into the response's top-level `extensions`;
    `problems` say which variables were refused and why, for the REST layer's messages.
    """

    def __init__(
        self,
        errors: Sequence[dict[str, Any]],
        code: str,
        extensions: dict[str, Any] | None = None,
        problems: Sequence[InputProblem] = (),
    ) -> None:
        super().__init__(errors[0]["message"] if errors else code)
        self.errors = list(errors)
        self.code = code
        self.extensions = extensions
        self.problems = tuple(problems)

    def again(self) -> RequestError:
        """A fresh copy to raise for a cached refusal (callers may add extensions)."""
        return RequestError(self.errors, self.code, dict(self.extensions) if self.extensions else None, self.problems)


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
    costs: dict[tuple[Any, ...], int | None] = field(default_factory=dict, repr=False, compare=False)
    # Facts about an operation computed once per document (e.g. the root fields it reads).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

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
TOO_DEEP_MESSAGE = f"Variables must not nest deeper than {MAX_INPUT_DEPTH} levels"


def input_refusal(variables: Mapping[str, Any]) -> RequestError | None:
    """Refuse NUL characters (PostgreSQL cannot store them, they are never meaningful input)
    and nesting deeper than MAX_INPUT_DEPTH, walking the values without recursion."""
    pending: list[tuple[Any, int]] = [(variables, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return RequestError([_error(NUL_MESSAGE, "BAD_USER_INPUT")], "BAD_USER_INPUT")
        elif isinstance(value, (dict, list)):
            if depth >= MAX_INPUT_DEPTH:
                return RequestError([_error(TOO_DEEP_MESSAGE, "BAD_REQUEST")], "BAD_REQUEST")
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)
    return None


# --- value-free descriptions of refused variables ---------------------------------------------------

_SCALAR_HINTS = {
    "Int": "Int (a 32-bit integer)",
    "Float": "Float (a number)",
    "String": "String",
    "Boolean": "Boolean (true or false)",
    "ID": "ID (a string)",
    "Long": "Long (a 64-bit integer)",
    "DateTime": "DateTime (RFC 3339, e.g. 2025-01-18T10:00:00Z)",
    "Decimal": "Decimal (a decimal number as a string or a number)",
}


def _kind(value: Any) -> str:
    """What JSON sort of thing a value is: safe to show, unlike the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a value"


def _leaf_accepts(type_: GraphQLScalarType | GraphQLEnumType, value: Any) -> bool:
    try:
        return type_.parse_value(value) is not Undefined
    except (GraphQLError, TypeError, ValueError, ArithmeticError):
        return False


def _expected(type_: GraphQLScalarType | GraphQLEnumType, value: Any) -> str:
    if isinstance(type_, GraphQLEnumType):
        values = list(type_.values)
        options = f"one of {', '.join(values)}" if len(values) <= 12 else f"a {type_.name} value"
        return f"expected {options}, got {_kind(value)}"
    return f"expected {_SCALAR_HINTS.get(type_.name, type_.name)}, got {_kind(value)}"


def input_problems(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Mapping[str, Any], limit: int = 10
) -> list[InputProblem]:
    """Why `variables` do not fit `operation`'s variable definitions, without their values."""
    problems: list[InputProblem] = []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        declared = type_from_ast(schema, definition.type)
        if declared is None:
            continue
        if name not in variables:
            if isinstance(declared, GraphQLNonNull) and definition.default_value is None:
                problems.append(InputProblem((name,), f"a value of type '{declared}' is required", True))
            continue
        pending: list[tuple[Any, GraphQLInputType, tuple[str | int, ...]]] = [(variables[name], declared, (name,))]
        while pending and len(problems) < limit:
            value, type_, path = pending.pop()
            if isinstance(type_, GraphQLNonNull):
                if value is None:
                    problems.append(InputProblem(path, f"must not be null (expected '{type_}')"))
                    continue
                type_ = type_.of_type
            if value is None:
                continue
            if isinstance(type_, GraphQLList):
                items = value if isinstance(value, list) else [value]
                step = isinstance(value, list)
                pending.extend(
                    (item, type_.of_type, (*path, index) if step else path) for index, item in enumerate(items)
                )
            elif isinstance(type_, GraphQLInputObjectType):
                if not isinstance(value, dict):
                    problems.append(InputProblem(path, f"expected an object of type '{type_.name}', got {_kind(value)}"))
                    continue
                for field_name, input_field in type_.fields.items():
                    if field_name in value:
                        pending.append((value[field_name], input_field.type, (*path, field_name)))
                    elif isinstance(input_field.type, GraphQLNonNull) and input_field.default_value is Undefined:
                        problems.append(InputProblem(
                            (*path, field_name), f"a value of type '{input_field.type}' is required", True
                        ))
                for key in value:
                    if key not in type_.fields:
                        problems.append(InputProblem((*path, str(key)), f"is not a field of '{type_.name}'"))
            elif isinstance(type_, (GraphQLScalarType, GraphQLEnumType)) and not _leaf_accepts(type_, value):
                problems.append(InputProblem(path, _expected(type_, value)))
    return problems[:limit]


def _variable_error(problem: InputProblem) -> dict[str, Any]:
    return _error(problem.message(), "BAD_USER_INPUT", field=list(problem.path))


@dataclass
class CostBudget:
    """What is left of the cost limit: a batch's operations share one budget."""

    remaining: int


def _error(message: str, code: str, error: GraphQLError | None = None, **extra: Any) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": message}
    if error is not None and error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error is not None and error.path:
        formatted["path"] = list(error.path)
    formatted["extensions"] = {"code": code, **extra}
    return formatted


def _cost_key_value(variables: Mapping[str, Any], name: str) -> Any:
    """What of a variable's raw value can change the cost: the number itself (tagged with its
    type, 100 and 100.0 coerce alike but are kept apart), a list's length; not the text of
    strings or objects (an ID's value never changes a cost)."""
    if name not in variables:
        return _MISSING
    value = variables[name]
    if value is None or isinstance(value, (bool, int, float)):
        return (type(value).__name__, value)
    if isinstance(value, list):
        return ("list", len(value))
    return (type(value).__name__,)


def _root_fields(document: DocumentNode, operation: OperationDefinitionNode) -> tuple[FieldNode, ...]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    fields: list[FieldNode] = []
    seen: set[str] = set()
    pending: list[SelectionSetNode] = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                fields.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return tuple(fields)


def root_fields(prepared: PreparedDocument, operation: OperationDefinitionNode) -> tuple[FieldNode, ...]:
    """The root fields `operation` selects, through fragments (directives ignored: an upper
    bound); memoised on the document."""
    key = ("root-fields", operation.name.value if operation.name else None)
    fields = prepared.memo.get(key)
    if fields is None:
        fields = prepared.memo[key] = _root_fields(prepared.document, operation)
    return fields


def root_field_names(prepared: PreparedDocument, operation: OperationDefinitionNode) -> frozenset[str]:
    key = ("root-field-names", operation.name.value if operation.name else None)
    names = prepared.memo.get(key)
    if names is None:
        names = prepared.memo[key] = frozenset(node.name.value for node in root_fields(prepared, operation))
    return names


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


@dataclass(frozen=True)
class Plan:
    """An operation cleared to run: its definition and the cost to report (None: not costed)."""

    operation: OperationDefinitionNode
    extensions: dict[str, Any] | None


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
        max_fields: int | None = None,
        max_repeated_fields: int | None = None,
    ) -> None:
        self.strawberry_schema = schema
        self.schema = schema._schema
        make_defaults_introspectable(self.schema)
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.max_fields = max_fields
        self.max_repeated_fields = max_repeated_fields
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
        self._failures: OrderedDict[str, RequestError] = OrderedDict()
        self._introspection: OrderedDict[tuple[str, str | None], Any] = OrderedDict()
        self.execution_context_class = type(
            "SchemaExecutionContext", (FastExecutionContext,), {"plain_leaves": _plain_leaves(self.schema)}
        )
        self._cache_size = cache_size

    # --- parse and validate ----------------------------------------------------------------

    def prepare(self, source: str, *, cache: bool = True, trusted: bool = False) -> PreparedDocument:
        """Parse and validate `source`, from the cache when seen before; raise RequestError.

        `trusted` documents (written by us, e.g. the REST layer's) skip the limits. Refusals
        are cached as well as successes (bounded), so repeating a bad document is cheap.
        """
        if cache:
            prepared = self._cache.get(source)
            if prepared is not None:
                self._cache.move_to_end(source)
                return prepared
            refused = self._failures.get(source)
            if refused is not None:
                self._failures.move_to_end(source)
                raise refused.again()
        try:
            prepared = self._prepare(source, trusted)
        except RequestError as error:
            if cache:
                self._failures[source] = error.again()
                if len(self._failures) > _FAILURE_CACHE_SIZE:
                    self._failures.popitem(last=False)
            raise
        if cache:
            self._cache[source] = prepared
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return prepared

    def _prepare(self, source: str, trusted: bool) -> PreparedDocument:
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
        if not trusted and (self.max_fields is not None or self.max_repeated_fields is not None):
            refusal = selection_refusal(
                document,
                self.max_fields if self.max_fields is not None else 10**9,
                self.max_repeated_fields if self.max_repeated_fields is not None else 10**9,
            )
            if refusal is not None:
                code = refusal.extensions["code"]
                raise RequestError([_error(refusal.message, code)], code)
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
        return PreparedDocument(source, document, operations, trusted)

    # --- cost -------------------------------------------------------------------------------------

    def cost(
        self,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> int | None:
        """Static cost of `operation`, memoised per relevant variable values.

        Computed from graphql-core's coerced variable values; None when those variables
        cannot be coerced (execution then refuses them with a precise error).
        """
        name = operation.name.value if operation.name else None
        inputs = prepared.cost_inputs.get(name)
        if inputs is None:
            inputs = prepared.cost_inputs[name] = cost_variables(prepared.document, operation)
        values = variables or {}
        key = (name, *(_cost_key_value(values, variable) for variable in inputs))
        if key in prepared.costs:
            return prepared.costs[key]
        coerced = self._coerce_cost_variables(operation, inputs, values)
        try:
            cost = None if coerced is None else self.costs.cost(prepared.document, operation, coerced)
        except RecursionError:
            # Only introspection can nest this deep (`ofType` chains): too deep to answer.
            raise RequestError(
                [_error("The query nests too deeply to be costed", QUERY_TOO_COMPLEX)], QUERY_TOO_COMPLEX
            ) from None
        if len(prepared.costs) >= _COST_MEMO_SIZE:
            prepared.costs.clear()
        prepared.costs[key] = cost
        return cost

    def _coerce_cost_variables(
        self, operation: OperationDefinitionNode, names: tuple[str, ...], values: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        if not names:
            return {}
        definitions = [d for d in operation.variable_definitions or () if d.variable.name.value in names]
        try:
            coerced = get_variable_values(self.schema, definitions, dict(values), max_errors=1)
        except RecursionError:
            return None
        return None if isinstance(coerced, list) else coerced.coerced

    def cost_extension(self, cost: int | None, maximum: int | None = None) -> dict[str, Any]:
        """`extensions.cost`; `requestedQueryCost` is null when the cost was not computed."""
        return {"cost": {"requestedQueryCost": cost, "maximumAvailable": self.max_cost if maximum is None else maximum}}

    # --- execute -------------------------------------------------------------------------------

    def plan(
        self,
        prepared: PreparedDocument,
        *,
        variables: Any = None,
        operation_name: str | None = None,
        allowed: Collection[OperationType] = (OperationType.QUERY, OperationType.MUTATION),
        budget: CostBudget | None = None,
    ) -> Plan:
        """Everything decided before running: operation, variables' shape, the cost limit.

        Raises RequestError. With a `budget` (a batch), the cost is charged to it.
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
        if variables:
            refusal = input_refusal(variables)
            if refusal is not None:
                raise refusal
        if prepared.trusted:
            return Plan(operation, None)
        cost = self.cost(prepared, operation, variables)
        maximum = self.max_cost if budget is None else budget.remaining
        extensions = self.cost_extension(cost, maximum)
        if cost is not None and maximum is not None:
            if cost > maximum:
                limit = "the batch's remaining budget of" if budget is not None else "the maximum of"
                raise RequestError(
                    [_error(f"The query's cost {cost} exceeds {limit} {maximum}",
                            QUERY_TOO_COMPLEX, requestedQueryCost=cost, maximumAvailable=maximum)],
                    QUERY_TOO_COMPLEX,
                    extensions,
                )
            if budget is not None:
                budget.remaining -= cost
        return Plan(operation, extensions)

    async def run(
        self,
        prepared: PreparedDocument,
        plan: Plan,
        *,
        context: Any,
        variables: dict[str, Any] | None = None,
    ) -> tuple[ExecutionResult, list[dict[str, Any]]]:
        """Execute a planned operation; returns the raw result and its formatted errors."""
        operation = plan.operation
        name = operation.name.value if operation.name else None
        cache_key = (prepared.source, name) if self._is_static_introspection(prepared, operation) else None
        cached = self._introspection.get(cache_key) if cache_key is not None else None
        if cached is not None:
            self._introspection.move_to_end(cache_key)  # type: ignore[arg-type]
            return ExecutionResult(cached, None, plan.extensions), []
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=name,
            is_awaitable=optimized_is_awaitable,
            executor_class=self.execution_context_class,
            hide_suggestions=self.hide_suggestions,
        )
        if optimized_is_awaitable(result):
            result = await result  # type: ignore[misc]
        if result.data is None and result.errors and not any(error.path for error in result.errors):
            # Nothing ran (variables could not be coerced): the request itself is invalid.
            raise self._variables_refused(operation, variables or {}, result.errors, context, plan.extensions)
        errors = [self.format_error(error, context) for error in result.errors or ()]
        if cache_key is not None and not errors:
            self._introspection[cache_key] = result.data
            if len(self._introspection) > _INTROSPECTION_CACHE_SIZE:
                self._introspection.popitem(last=False)
        if plan.extensions is not None:
            result.extensions = plan.extensions
        return result, errors

    async def execute(
        self,
        prepared: PreparedDocument,
        *,
        context: Any,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        allowed: Collection[OperationType] = (OperationType.QUERY, OperationType.MUTATION),
        budget: CostBudget | None = None,
    ) -> tuple[ExecutionResult, list[dict[str, Any]]]:
        """Plan and run one operation (for untrusted documents `result.extensions` has the cost)."""
        plan = self.plan(prepared, variables=variables, operation_name=operation_name, allowed=allowed, budget=budget)
        return await self.run(prepared, plan, context=context, variables=variables)

    def _is_static_introspection(self, prepared: PreparedDocument, operation: OperationDefinitionNode) -> bool:
        """Only `__schema`/`__type`/`__typename` at the root and no variables: same answer always."""
        if operation.variable_definitions:
            return False
        names = root_field_names(prepared, operation)
        return bool(names) and names <= {*INTROSPECTION_ROOTS, "__typename"} and bool(names & INTROSPECTION_ROOTS)

    def _variables_refused(
        self,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        errors: Sequence[GraphQLError],
        context: Any,
        extensions: dict[str, Any] | None,
    ) -> RequestError:
        """The request error for variables graphql-core refused, said without their values."""
        problems = input_problems(self.schema, operation, variables)
        if problems:
            return RequestError([_variable_error(p) for p in problems], "BAD_USER_INPUT", extensions, problems)
        formatted = []
        for error in errors:
            if error.message.startswith("Variable '$"):
                # graphql-core's wording repeats the value: keep only the variable's name.
                variable = error.message.split("'")[1]
                formatted.append(_error(f"Variable '{variable}' has an invalid value", "BAD_USER_INPUT", error))
            else:
                formatted.append(self.format_error(error, context))
        return RequestError(formatted, formatted[0]["extensions"]["code"], extensions)

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
