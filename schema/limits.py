"""Request limits: depth and alias validation rules, and the static query cost.

The rules are built ONCE per engine (`limit_rules(...)`) and passed to graphql-core's
`validate` as fixed classes, so a document validated once stays validated (the engine
caches the result per document text; a new rule class per request would defeat that).

Introspection (`__schema`, `__type` and everything below them) is exempt from depth, alias
and cost counting: graphql-core's MaxIntrospectionDepthRule bounds it instead, so GraphiQL,
codegen and `gql` can always introspect.

Cost model (docs/graphql-http.md): every field costs 1 (`__typename` is free); a field
returning a list multiplies the cost of what is selected under it by `first`/`last` when
given, by `len(ids)` for `ids:` lists, else by the default page size (20). A connection
(`…Connection` with `pageInfo`) multiplies its `nodes`/`edges` by its own `first`/`last`
(default 20) while `pageInfo`/`totalCount` count once. Multipliers compound through
nesting. Inline fragments and spreads on abstract types are all summed (an upper bound).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLInterfaceType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    VisitorAction,
)
from graphql.language import SKIP
from graphql.validation import MaxIntrospectionDepthRule

from resolvers.pagination import DEFAULT_PAGE_SIZE

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
MULTIPLIER_ARGUMENTS = ("first", "last")
SIZE_ARGUMENTS = ("ids",)

MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
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
    """A rule refusing operations with more than `max_aliases` aliased fields (fragments expanded)."""

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
                        if selection.name.value in INTROSPECTION_ROOTS:
                            continue
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


class CostCalculator:
    """Static cost of an operation under given variable values (see the module docstring)."""

    def __init__(self, schema: GraphQLSchema, default_page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.schema = schema
        self.default_page_size = default_page_size

    def cost(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
        }
        values = variables or {}
        memo: dict[str, int] = {}

        def number(value_node: Any, fallback: int) -> int:
            if isinstance(value_node, IntValueNode):
                return max(int(value_node.value), 0)
            if isinstance(value_node, VariableNode):
                name = value_node.name.value
                if name in values:
                    value = values[name]
                    return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) else fallback
                return number(defaults.get(name), fallback)
            return fallback

        def size(value_node: Any) -> int:
            if isinstance(value_node, ListValueNode):
                return len(value_node.values)
            if isinstance(value_node, VariableNode):
                name = value_node.name.value
                if name in values:
                    value = values[name]
                    return len(value) if isinstance(value, list) else 1
                return size(defaults.get(name))
            return 1

        def page(node: FieldNode) -> int | None:
            for name in MULTIPLIER_ARGUMENTS:
                value_node = _argument(node, name)
                if value_node is not None:
                    return number(value_node, self.default_page_size)
            return None

        def multiplier(node: FieldNode) -> int:
            given = page(node)
            if given is not None:
                return given
            for name in SIZE_ARGUMENTS:
                value_node = _argument(node, name)
                if value_node is not None:
                    return size(value_node)
            return self.default_page_size

        def selection_cost(selection_set: SelectionSetNode | None, parent: Any, page_size: int | None) -> int:
            """Cost of a selection set; `page_size` is set inside a connection (for nodes/edges)."""
            if selection_set is None:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    total += field_cost(selection, parent, page_size)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = self.schema.get_type(condition.name.value) if condition else parent
                    total += selection_cost(selection.selection_set, target, page_size)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = fragments.get(name)
                    if fragment is None:
                        continue
                    key = f"{name}:{page_size}"
                    if key not in memo:
                        target = self.schema.get_type(fragment.type_condition.name.value)
                        memo[key] = selection_cost(fragment.selection_set, target, page_size)
                    total += memo[key]
            return total

        def field_cost(node: FieldNode, parent: Any, page_size: int | None) -> int:
            name = node.name.value
            if name == "__typename":
                return 0
            if name in INTROSPECTION_ROOTS:
                return 1
            if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
                return 1
            definition = parent.fields.get(name)
            if definition is None:
                return 1
            named, is_list = _named(definition.type)
            if node.selection_set is None:
                return 1
            if _is_connection(named):
                given = page(node)
                return 1 + selection_cost(
                    node.selection_set, named, self.default_page_size if given is None else given
                )
            if is_list:
                factor = page_size if page_size is not None and _in_connection(parent) else multiplier(node)
                return 1 + factor * selection_cost(node.selection_set, named, None)
            return 1 + selection_cost(node.selection_set, named, None)

        return selection_cost(operation.selection_set, root, None)


def _in_connection(parent: Any) -> bool:
    return _is_connection(parent)
