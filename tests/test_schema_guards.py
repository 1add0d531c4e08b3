"""Every mutation (but the public sign-in ones) and every admin query carries its permission
directives, both on the Strawberry field (where they are enforced) and in the printed SDL —
and what is printed is exactly what is enforced."""

from __future__ import annotations

import pytest
from graphql import FieldDefinitionNode, ObjectTypeDefinitionNode, parse
from strawberry.permission import PermissionExtension

from schema.permissions import AuthenticatedDirective, HasPermissionDirective, HasRoleDirective
from schema.root import schema

PUBLIC_MUTATIONS = {"authRegister", "authLogin", "authRefresh", "authGoogleCallback"}
GUARD_DIRECTIVES = {"authenticated", "hasRole", "hasPermission"}
STAFF = ["admin", "manager", "customer_experience"]
GATE = ("hasRole", STAFF)


def needs(*permissions: str) -> tuple[str, list[str]]:
    return ("hasPermission", list(permissions))


# The /admin role gate, then the permission each operation needs (docs/rbac.md).
ADMIN_QUERIES = {
    **{name: [GATE, needs("read_roles")] for name in (
        "roles", "role", "permissions", "permission", "userRoles", "userAccess")},
    "users": [needs("manage_users")],
    "user": [needs("manage_users")],
    "promotions": [needs("manage_promotions")],
    "taxRates": [needs("manage_taxes")],
}

EXPECTED_MUTATION_GUARDS = {
    **{name: [GATE, needs("manage_roles")] for name in (
        "roleCreate", "roleUpdate", "roleDelete", "rolePermissionGrant", "rolePermissionRevoke",
        "permissionCreate", "permissionUpdate", "permissionDelete")},
    **{name: [GATE, needs("manage_users")] for name in ("userRoleAssign", "userRoleRemove")},
    "userSetActive": [needs("manage_users")],
    **{f"category{verb}": [needs("manage_categories")] for verb in ("Create", "Update", "Delete")},
    **{f"brand{verb}": [needs("manage_brands")] for verb in ("Create", "Update", "Delete")},
    **{f"product{verb}": [needs("manage_products")] for verb in ("Create", "Update", "Delete")},
    **{f"productVariant{verb}": [needs("manage_products")] for verb in ("Create", "Update", "Delete")},
    **{f"promotion{verb}": [needs("manage_promotions")] for verb in ("Create", "Update", "Delete")},
    **{f"shippingMethod{verb}": [needs("manage_shipping")] for verb in ("Create", "Update", "Delete")},
    **{f"taxRate{verb}": [needs("manage_taxes")] for verb in ("Create", "Update", "Delete")},
}


def _sdl_fields(type_name: str) -> dict[str, FieldDefinitionNode]:
    document = parse(schema.as_str())
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value == type_name:
            return {field.name.value: field for field in definition.fields}
    raise AssertionError(f"{type_name} not in the SDL")


def _sdl_guards(field: FieldDefinitionNode) -> list[tuple[str, list[str]]]:
    """The guard directives printed on a field, in order, with their arguments."""
    return [
        (directive.name.value,
         [value.value for argument in directive.arguments or () for value in argument.value.values])
        for directive in field.directives or ()
        if directive.name.value in GUARD_DIRECTIVES
    ]


def _enforced_guards(field: object) -> list[tuple[str, list[str]]]:
    """What the field's PermissionExtensions check, said the way the SDL prints it."""
    guards: list[tuple[str, list[str]]] = []
    for extension in getattr(field, "extensions", []):
        if not isinstance(extension, PermissionExtension):
            continue
        for permission in extension.permissions:
            directive = getattr(permission, "_schema_directive", None)
            if isinstance(directive, HasRoleDirective):
                guards.append(("hasRole", list(directive.roles)))
            elif isinstance(directive, HasPermissionDirective):
                guards.append(("hasPermission", list(directive.permissions)))
            elif isinstance(directive, AuthenticatedDirective):
                guards.append(("authenticated", []))
    return guards


def _strawberry_fields(type_name: str) -> dict[str, object]:
    definition = schema.get_type_by_name(type_name)
    assert definition is not None
    config = schema.config.name_converter
    return {config.get_graphql_name(field): field for field in definition.fields}


def _enforced(field: object) -> bool:
    """The guard is a PermissionExtension whose permission prints one of our directives."""
    for extension in getattr(field, "extensions", []):
        if isinstance(extension, PermissionExtension) and extension.use_directives:
            directives = [getattr(p, "_schema_directive", None) for p in extension.permissions]
            if any(isinstance(d, (AuthenticatedDirective, HasRoleDirective, HasPermissionDirective))
                   for d in directives):
                return True
    return False


def test_every_non_public_mutation_is_guarded_in_code_and_in_the_sdl():
    sdl = _sdl_fields("Mutation")
    fields = _strawberry_fields("Mutation")
    assert set(sdl) == set(fields)
    unguarded_in_sdl = sorted(name for name, node in sdl.items()
                              if name not in PUBLIC_MUTATIONS and not _sdl_guards(node))
    unenforced = sorted(name for name, field in fields.items() if name not in PUBLIC_MUTATIONS and not _enforced(field))
    assert unguarded_in_sdl == []
    assert unenforced == []


def test_the_public_auth_mutations_exist_and_carry_no_guard():
    sdl = _sdl_fields("Mutation")
    present = PUBLIC_MUTATIONS & set(sdl)
    for name in present:
        assert _sdl_guards(sdl[name]) == [], name


@pytest.mark.parametrize("name", sorted(EXPECTED_MUTATION_GUARDS))
def test_admin_mutation_has_its_documented_guards_printed_as_enforced(name):
    assert _sdl_guards(_sdl_fields("Mutation")[name]) == EXPECTED_MUTATION_GUARDS[name]
    assert _enforced_guards(_strawberry_fields("Mutation")[name]) == EXPECTED_MUTATION_GUARDS[name]


@pytest.mark.parametrize("name", sorted(ADMIN_QUERIES))
def test_admin_query_has_its_documented_guards_printed_as_enforced(name):
    assert _sdl_guards(_sdl_fields("Query")[name]) == ADMIN_QUERIES[name]
    assert _enforced_guards(_strawberry_fields("Query")[name]) == ADMIN_QUERIES[name]


def test_every_printed_guard_is_an_enforced_one():
    for type_name in ("Query", "Mutation"):
        sdl = _sdl_fields(type_name)
        for name, field in _strawberry_fields(type_name).items():
            assert _sdl_guards(sdl[name]) == _enforced_guards(field), (type_name, name)


def test_the_sdl_declares_the_directives():
    sdl = schema.as_str()
    assert "directive @authenticated on FIELD_DEFINITION" in sdl
    assert "directive @hasRole(roles: [String!]!) on FIELD_DEFINITION" in sdl
    assert "directive @hasPermission(permissions: [String!]!) on FIELD_DEFINITION" in sdl
    assert 'roleCreate(input: RoleCreateInput!): RolePayload! @hasRole(roles: ["admin", "manager", ' \
           '"customer_experience"]) @hasPermission(permissions: ["manage_roles"])' in sdl
