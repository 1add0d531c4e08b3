"""What a REST document returns, read off the document and the schema at start-up.

From one .graphql document come both the JSON Schema of its result (for OpenAPI) and the
response paths holding enum values (REST shows them in lower case). Aliases are the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.pyutils import Undefined

Path = tuple[str, ...]

SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ID": {"type": "string"},
    "String": {"type": "string"},
    "Int": {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1},
    "Long": {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1},
    "Float": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "DateTime": {"type": "string", "format": "date-time"},
    "JSON": {},
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return {**schema, "type": [*types, "null"]}
    if not schema:
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _enum_schema(enum: GraphQLEnumType) -> dict[str, Any]:
    return {"type": "string", "enum": [name.lower() for name in enum.values]}


@dataclass
class ResponseShape:
    schema: dict[str, Any]
    enum_paths: set[Path] = field(default_factory=set)
    enums: EnumTrie = field(init=False)

    def __post_init__(self) -> None:
        self.enums = enum_trie(self.enum_paths)


class _Walker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
        }
        self.enum_paths: set[Path] = set()

    def output(self, graphql_type: GraphQLOutputType, selection: SelectionSetNode | None, path: Path) -> dict[str, Any]:
        if isinstance(graphql_type, GraphQLNonNull):
            return self._non_null_output(graphql_type.of_type, selection, path)
        return _nullable(self._non_null_output(graphql_type, selection, path))

    def _non_null_output(self, graphql_type: Any, selection: SelectionSetNode | None, path: Path) -> dict[str, Any]:
        if isinstance(graphql_type, GraphQLList):
            return {"type": "array", "items": self.output(graphql_type.of_type, selection, path)}
        if isinstance(graphql_type, GraphQLEnumType):
            self.enum_paths.add(path)
            return _enum_schema(graphql_type)
        if isinstance(graphql_type, GraphQLScalarType):
            return dict(SCALAR_SCHEMAS.get(graphql_type.name, {}))
        assert selection is not None, f"{graphql_type} needs a selection set"
        return self.selection(selection, graphql_type, path)

    def selection(self, selection_set: SelectionSetNode, parent: Any, path: Path) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                name = node.name.value
                if name.startswith("__"):
                    properties[node.alias.value if node.alias else name] = {"type": "string"}
                    continue
                key = node.alias.value if node.alias else name
                field_type = parent.fields[name].type
                properties[key] = self.output(field_type, node.selection_set, (*path, key))
            elif isinstance(node, InlineFragmentNode):
                target = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                properties.update(self.selection(node.selection_set, target, path)["properties"])
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments[node.name.value]
                target = self.schema.get_type(fragment.type_condition.name.value)
                properties.update(self.selection(fragment.selection_set, target, path)["properties"])
        return {"type": "object", "properties": properties, "required": list(properties)}


def response_shape(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) -> ResponseShape:
    walker = _Walker(schema, document)
    root = schema.get_root_type(operation.operation)
    return ResponseShape(walker.selection(operation.selection_set, root, ()), walker.enum_paths)


def input_schema(
    graphql_type: GraphQLInputType,
    names: Mapping[str, str] | None = None,
    nested: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """JSON Schema of an input type as REST sends it.

    `names` maps REST keys to GraphQL input fields (only those keys are shown); `nested`
    does the same one level down, per REST key (e.g. snake_case address fields).
    """
    if isinstance(graphql_type, GraphQLNonNull):
        return _input_non_null(graphql_type.of_type, names, nested)
    return _nullable(_input_non_null(graphql_type, names, nested))


def _input_non_null(
    graphql_type: Any, names: Mapping[str, str] | None, nested: Mapping[str, Mapping[str, str]] | None
) -> dict[str, Any]:
    if isinstance(graphql_type, GraphQLList):
        return {"type": "array", "items": input_schema(graphql_type.of_type)}
    if isinstance(graphql_type, GraphQLEnumType):
        return _enum_schema(graphql_type)
    if isinstance(graphql_type, GraphQLScalarType):
        return dict(SCALAR_SCHEMAS.get(graphql_type.name, {}))
    assert isinstance(graphql_type, GraphQLInputObjectType)
    rest_names = {graphql: rest for rest, graphql in (names or {}).items()}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, input_field in graphql_type.fields.items():
        if names is not None and name not in rest_names:
            continue
        key = rest_names.get(name, name)
        properties[key] = input_schema(input_field.type, (nested or {}).get(key))
        if input_field.description:
            properties[key]["description"] = input_field.description
        if isinstance(input_field.type, GraphQLNonNull) and input_field.default_value is Undefined:
            required.append(key)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


# Enum response paths as a trie: {"page": {"items": {"status": None}}}; None marks an enum.
EnumTrie = dict[str, "EnumTrie | None"]


def enum_trie(paths: set[Path]) -> EnumTrie:
    trie: EnumTrie = {}
    for path in paths:
        node = trie
        for key in path[:-1]:
            node = node.setdefault(key, {})  # type: ignore[assignment]
        node[path[-1]] = None
    return trie


def lower_enums(data: Any, trie: EnumTrie) -> Any:
    """Lower-case enum values in place along the trie's paths (lists are walked through).

    Only the branches that lead to an enum are visited, not the whole response.
    """
    if isinstance(data, list):
        for item in data:
            lower_enums(item, trie)
    elif isinstance(data, dict):
        for key, branch in trie.items():
            value = data.get(key)
            if value is None:
                continue
            if branch is not None:
                lower_enums(value, branch)
            elif isinstance(value, str):
                data[key] = value.lower()
            elif isinstance(value, list):
                data[key] = [item.lower() if isinstance(item, str) else item for item in value]
    return data
