"""Request limits: the pre-validation selection count, the depth and alias validation
rules, and the static query cost (all described in docs/graphql-http.md).

`selection_refusal` runs on the parsed document BEFORE validation: graphql-core's
OverlappingFieldsCanBeMergedRule compares every pair of selections that share a response key,
so a document repeating one field a few hundred times costs seconds of CPU while passing
every other limit. Counting those pairs first is linear and refuses such documents cheaply.

The rules are built ONCE per engine and passed to graphql-core's `validate` as fixed classes,
so a document validated once stays validated (the engine caches the result per document
text; a new rule class per request would defeat that).

Introspection (`__schema`, `__type`) is exempt from the depth rule only (graphql-core's
MaxIntrospectionDepthRule bounds its nesting); its aliases count, and its cost is estimated
from the real size of this schema, so GraphiQL, codegen and `gql` can introspect while
hundreds of aliased `__schema` copies cannot.

Cost model: every field costs 1 (`__typename` is free); a field returning a list multiplies
the cost of what is selected under it by its page size (the resolvers' rule: `first`, or
`last`, or the smaller of both, null meaning absent; the default page size otherwise),
by `len(ids)` for `ids:` lists, else by the default page size (20). A connection (`…Connection`
with `pageInfo`) multiplies its `nodes`/`edges` by its own page size while
`pageInfo`/`totalCount` count once. Argument values are graphql-core's coerced values
(so `first: 100.0` sent as a variable counts as 100). Multipliers compound through nesting.
Inline fragments and spreads on abstract types are all summed (an upper bound). Under
`__schema`, introspection lists count with this schema's average sizes (types x fields per
type ...), under `__type` with the largest ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    VisitorAction,
)
from graphql.language import SKIP
from graphql.pyutils import Undefined
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.utilities import value_from_ast
from graphql.validation import MaxIntrospectionDepthRule

from resolvers.pagination import DEFAULT_PAGE_SIZE

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
MULTIPLIER_ARGUMENTS = ("first", "last")
SIZE_ARGUMENTS = ("ids",)

MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
MAX_FIELDS_EXCEEDED = "MAX_FIELDS_EXCEEDED"
MAX_REPEATED_FIELDS_EXCEEDED = "MAX_REPEATED_FIELDS_EXCEEDED"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


class _TooDeep(Exception):
    pass


def _fragments(context: ValidationContext) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in context.document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def _operation_label(node: OperationDefinitionNode) -> str:
    return f"'{node.name.value}'" if node.name else "the anonymous operation"


def depth_rule(max_depth: int) -> type[ASTValidationRule]:
    """A rule refusing operations whose fields nest deeper than `max_depth` levels."""

    class MaxDepthRule(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> VisitorAction:
            fragments = _fragments(self.context)
            memo: dict[str, int] = {}

            def depth(selection_set: SelectionSetNode | None, level: int, path: tuple[str, ...]) -> int:
                if selection_set is None:
                    return level
                if level > max_depth:
                    raise _TooDeep
                deepest = level
                for selection in selection_set.selections:
                    if isinstance(selection, FieldNode):
                        name = selection.name.value
                        if name in INTROSPECTION_ROOTS or name == "__typename":
                            continue
                        deepest = max(deepest, depth(selection.selection_set, level + 1, path))
                    elif isinstance(selection, InlineFragmentNode):
                        deepest = max(deepest, depth(selection.selection_set, level, path))
                    elif isinstance(selection, FragmentSpreadNode):
                        name = selection.name.value
                        fragment = fragments.get(name)
                        if fragment is None or name in path:  # other rules report these
                            continue
                        # A fragment's own depth does not depend on where it is spread.
                        if name not in memo:
                            memo[name] = depth(fragment.selection_set, 0, (*path, name))
                        deepest = max(deepest, level + memo[name])
                        if deepest > max_depth:
                            raise _TooDeep
                return deepest

            try:
                too_deep = depth(node.selection_set, 0, ()) > max_depth
            except (_TooDeep, RecursionError):
                too_deep = True
            if too_deep:
                self.report_error(
                    GraphQLError(
                        f"{_operation_label(node).capitalize()} exceeds the maximum query depth of {max_depth}",
                        node,
                        extensions={"code": MAX_DEPTH_EXCEEDED},
                    )
                )
            return SKIP

    return MaxDepthRule


def alias_rule(max_aliases: int) -> type[ASTValidationRule]:
    """A rule refusing operations with more than `max_aliases` aliased fields (fragments expanded).

    Aliases count everywhere, introspection included: aliasing is what multiplies a cheap
    selection into a huge response.
    """

    class MaxAliasesRule(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> VisitorAction:
            fragments = _fragments(self.context)
            memo: dict[str, int] = {}

            def count(selection_set: SelectionSetNode | None, path: tuple[str, ...]) -> int:
                if selection_set is None:
                    return 0
                total = 0
                for selection in selection_set.selections:
                    if isinstance(selection, FieldNode):
                        total += (selection.alias is not None) + count(selection.selection_set, path)
                    elif isinstance(selection, InlineFragmentNode):
                        total += count(selection.selection_set, path)
                    elif isinstance(selection, FragmentSpreadNode):
                        name = selection.name.value
                        fragment = fragments.get(name)
                        if fragment is None or name in path:
                            continue
                        if name not in memo:
                            memo[name] = count(fragment.selection_set, (*path, name))
                        total += memo[name]
                    if total > max_aliases:
                        return total
                return total

            try:
                aliases = count(node.selection_set, ())
            except RecursionError:
                aliases = max_aliases + 1
            if aliases > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"{_operation_label(node).capitalize()} uses more than {max_aliases} aliases",
                        node,
                        extensions={"code": MAX_ALIASES_EXCEEDED},
                    )
                )
            return SKIP

    return MaxAliasesRule


# --- selections, counted before validation -----------------------------------------------------


@dataclass
class SelectionCount:
    """`fields`: field selections, fragments expanded and same-key fields merged level by level;
    `repeated`: pairs of selections sharing a response key in one selection set, which the
    validator compares one by one (n selections of a key make n*(n-1)/2 pairs)."""

    fields: int = 0
    repeated: int = 0


def count_selections(document: DocumentNode, max_fields: int, max_repeated: int) -> SelectionCount:
    """Count every operation and fragment of `document` (stops early once over a limit).

    Iterative, linear in what it counts: fields of the same response key are merged before
    their sub-selections are counted, as the validator compares them; a fragment is expanded
    once per selection set and never inside itself.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    count = SelectionCount()
    pending: list[tuple[list[SelectionSetNode], frozenset[str]]] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            pending.append(([definition.selection_set], frozenset()))
        elif isinstance(definition, FragmentDefinitionNode):
            pending.append(([definition.selection_set], frozenset({definition.name.value})))
    while pending:
        selection_sets, visiting = pending.pop()
        by_key: dict[str, list[FieldNode]] = {}
        expanded: set[str] = set()
        flatten = list(selection_sets)
        while flatten:
            for selection in flatten.pop().selections:
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    by_key.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    flatten.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name in fragments and name not in expanded and name not in visiting:
                        expanded.add(name)
                        flatten.append(fragments[name].selection_set)
        inner = visiting | expanded if expanded else visiting
        for fields in by_key.values():
            count.fields += len(fields)
            count.repeated += len(fields) * (len(fields) - 1) // 2
            if count.fields > max_fields or count.repeated > max_repeated:
                return count
            children = [f.selection_set for f in fields if f.selection_set is not None]
            if children:
                pending.append((children, inner))
    return count


def selection_refusal(document: DocumentNode, max_fields: int, max_repeated: int) -> GraphQLError | None:
    """The error refusing `document` for its selections, or None when within both limits."""
    count = count_selections(document, max_fields, max_repeated)
    if count.fields > max_fields:
        return GraphQLError(
            f"The document selects more than {max_fields} fields (fragments expanded)",
            extensions={"code": MAX_FIELDS_EXCEEDED},
        )
    if count.repeated > max_repeated:
        return GraphQLError(
            f"The document repeats fields too often: more than {max_repeated} pairs of selections "
            "share a response key within a selection set (merge them, or use aliases)",
            extensions={"code": MAX_REPEATED_FIELDS_EXCEEDED},
        )
    return None


class IntrospectionDepthRule(MaxIntrospectionDepthRule):
    """graphql-core's guard against exponential introspection queries, with our code."""

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {"code": MAX_DEPTH_EXCEEDED}
        super().report_error(error)


# --- static cost ------------------------------------------------------------------------------------


def _named(type_: Any) -> tuple[Any, bool]:
    """The named type under NonNull/List wrappers, and whether a list was among them."""
    is_list = False
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


def _is_connection(type_: Any) -> bool:
    return (
        isinstance(type_, GraphQLObjectType)
        and type_.name.endswith("Connection")
        and "pageInfo" in type_.fields
    )


def _argument(node: FieldNode, name: str) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return argument.value
    return None


def page_size(first: int | None, last: int | None) -> int | None:
    """Rows a connection returns for first/last, as resolvers.pagination.window_from_args cuts
    them: `first` rows, of which the last `last` when both are given; None when neither is."""
    if first is not None and last is not None:
        return max(min(first, last), 0)
    if first is not None:
        return max(first, 0)
    if last is not None:
        return max(last, 0)
    return None


def cost_variables(document: DocumentNode, operation: OperationDefinitionNode) -> tuple[str, ...]:
    """Names of the variables that can change `operation`'s cost (used in first/last/ids)."""
    names: set[str] = set()
    watched = (*MULTIPLIER_ARGUMENTS, *SIZE_ARGUMENTS)

    def visit(selection_set: SelectionSetNode | None, seen: set[str]) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    if argument.name.value in watched and isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)
                visit(selection.selection_set, seen)
            elif isinstance(selection, InlineFragmentNode):
                visit(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen:
                    seen.add(name)
                    visit(fragments[name].selection_set if name in fragments else None, seen)

    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    visit(operation.selection_set, set())
    return tuple(sorted(names))


# Introspection list fields and how their length is measured on a schema.
_INTROSPECTION_LISTS = ("types", "directives", "fields", "inputFields", "enumValues", "interfaces",
                        "possibleTypes", "args")


def introspection_sizes(schema: GraphQLSchema) -> dict[str, dict[tuple[str, str], int]]:
    """Per mode ("schema": averages, "type": maxima), the length of each introspection list.

    Under `__schema { types { … } }` a type's `fields` multiply by the average number of
    fields per type, so the estimate is the real size of the answer; a single `__type` may
    be the largest type, so it uses maxima.
    """
    types = list(schema.type_map.values())
    fields = [
        field
        for type_ in types
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType))
        for field in type_.fields.values()
    ]

    def per_type(measure: Any) -> list[int]:
        return [measure(type_) for type_ in types]

    lengths = {
        ("__Type", "fields"): per_type(
            lambda t: len(t.fields) if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType)) else 0),
        ("__Type", "inputFields"): per_type(
            lambda t: len(t.fields) if isinstance(t, GraphQLInputObjectType) else 0),
        ("__Type", "enumValues"): per_type(lambda t: len(t.values) if isinstance(t, GraphQLEnumType) else 0),
        ("__Type", "interfaces"): per_type(
            lambda t: len(t.interfaces) if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType)) else 0),
        ("__Type", "possibleTypes"): per_type(
            lambda t: len(schema.get_possible_types(t))
            if isinstance(t, (GraphQLInterfaceType, GraphQLUnionType)) else 0),
        ("__Field", "args"): [len(field.args) for field in fields] or [0],
        ("__Directive", "args"): [len(directive.args) for directive in schema.directives] or [0],
    }
    # `ofType` chains are as long as a type's List/NonNull wrappers, then null.
    typed = [
        *(field.type for field in fields),
        *(arg.type for field in fields for arg in field.args.values()),
        *(field.type for t in types if isinstance(t, GraphQLInputObjectType) for field in t.fields.values()),
    ]
    lengths[("__Type", "ofType")] = [_wrappers(type_) for type_ in typed] or [0]
    average = {key: max(math.ceil(sum(values) / len(values)), 1) for key, values in lengths.items()}
    largest = {key: max(max(values), 1) for key, values in lengths.items()}
    whole = {("__Schema", "types"): len(types), ("__Schema", "directives"): len(schema.directives)}
    return {"schema": {**average, **whole}, "type": {**largest, **whole}}


def _wrappers(type_: Any) -> int:
    depth = 0
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        depth += 1
        type_ = type_.of_type
    return depth


class CostCalculator:
    """Static cost of an operation under given (coerced) variable values (module docstring)."""

    def __init__(self, schema: GraphQLSchema, default_page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.schema = schema
        self.default_page_size = default_page_size
        self.introspection = introspection_sizes(schema)
        self._meta_fields = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}

    def cost(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> int:
        """`variables`: coerced values (graphql-core's get_variable_values), absent ones omitted."""
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        values = dict(variables or {})
        memo: dict[tuple[str, int | None, str | None], int] = {}

        def argument(node: FieldNode, definition: GraphQLField, name: str) -> Any:
            """The coerced argument value; None when absent or null (both mean "not given")."""
            value_node = _argument(node, name)
            arg = definition.args.get(name)
            if arg is None:
                return None
            value = Undefined if value_node is None else value_from_ast(value_node, arg.type, values)
            if value is Undefined:
                value = arg.default_value
            return None if value is Undefined else value

        def count(node: FieldNode, definition: GraphQLField, name: str) -> int | None:
            value = argument(node, definition, name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        def page(node: FieldNode, definition: GraphQLField) -> int | None:
            return page_size(count(node, definition, "first"), count(node, definition, "last"))

        def multiplier(node: FieldNode, definition: GraphQLField) -> int:
            given = page(node, definition)
            if given is not None:
                return given
            for name in SIZE_ARGUMENTS:
                value_node = _argument(node, name)
                if isinstance(value_node, ListValueNode):
                    return len(value_node.values)
                value = argument(node, definition, name)
                if isinstance(value, list):
                    return len(value)
            return self.default_page_size

        def selection_cost(
            selection_set: SelectionSetNode | None, parent: Any, page_size_: int | None, mode: str | None
        ) -> int:
            """Cost of a selection set; `page_size_` is set inside a connection (for nodes/edges),
            `mode` inside introspection ("schema" or "type")."""
            if selection_set is None:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    total += field_cost(selection, parent, page_size_, mode)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = self.schema.get_type(condition.name.value) if condition else parent
                    total += selection_cost(selection.selection_set, target, page_size_, mode)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = fragments.get(name)
                    if fragment is None:
                        continue
                    key = (name, page_size_, mode)
                    if key not in memo:
                        memo[key] = 0  # a cycle (refused by validation) costs nothing more
                        target = self.schema.get_type(fragment.type_condition.name.value)
                        memo[key] = selection_cost(fragment.selection_set, target, page_size_, mode)
                    total += memo[key]
            return total

        def field_cost(node: FieldNode, parent: Any, page_size_: int | None, mode: str | None) -> int:
            name = node.name.value
            if name == "__typename":
                return 0
            if name in self._meta_fields:
                definition: GraphQLField | None = self._meta_fields[name]
                mode = "schema" if name == "__schema" else "type"
            elif isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
                definition = parent.fields.get(name)
            else:
                definition = None
            if definition is None or node.selection_set is None:
                return 1
            named, is_list = _named(definition.type)
            if mode is not None:
                return 1 + self._introspection_cost(node, parent, named, is_list, mode, selection_cost)
            if _is_connection(named):
                given = page(node, definition)
                return 1 + selection_cost(
                    node.selection_set, named, self.default_page_size if given is None else given, None
                )
            if is_list:
                factor = page_size_ if page_size_ is not None and _is_connection(parent) else multiplier(node, definition)
                return 1 + factor * selection_cost(node.selection_set, named, None, None)
            return 1 + selection_cost(node.selection_set, named, None, None)

        return selection_cost(operation.selection_set, root, None, None)

    def _introspection_cost(
        self, node: FieldNode, parent: Any, named: Any, is_list: bool, mode: str, selection_cost: Any
    ) -> int:
        """What an introspection field's selection costs beyond the field itself.

        `mode` is "schema" or "type", followed by ":<n>" inside n nested `ofType`s, which stop
        (null) after as many levels as this schema's types have wrappers.
        """
        kind, _, level = mode.partition(":")
        sizes = self.introspection[kind]
        if node.name.value == "ofType":
            depth = int(level or 0)
            if depth >= sizes[("__Type", "ofType")]:
                return 0
            return selection_cost(node.selection_set, named, None, f"{kind}:{depth + 1}")
        factor = sizes.get((parent.name, node.name.value), 1) if is_list else 1
        return factor * selection_cost(node.selection_set, named, None, kind)
