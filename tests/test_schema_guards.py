"""Every mutation (but the public sign-in ones) and every admin query carries a permission
directive, both on the Strawberry field (where it is enforced) and in the printed SDL."""

from __future__ import annotations

import pytest
from graphql import FieldDefinitionNode, ObjectTypeDefinitionNode, parse
from strawberry.permission import PermissionExtension

from schema.permissions import AuthenticatedDirective, HasPermissionDirective, HasRoleDirective
from schema.root import schema

PUBLIC_MUTATIONS = {"authRegister", "authLogin", "authRefresh", "authGoogleCallback"}
GUARD_DIRECTIVES = {"authenticated", "hasRole", "hasPermission"}
STAFF = ["admin", "manager", "customer_experience"]

ADMIN_QUERIES = {
    "roles": ("hasRole", STAFF),
    "role": ("hasRole", STAFF),
    "permissions": ("hasRole", STAFF),
    "permission": ("hasRole", STAFF),
    "userRoles": ("hasRole", STAFF),
    "userAccess": ("hasRole", STAFF),
    "users": ("hasPermission", ["manage_users"]),
    "user": ("hasPermission", ["manage_users"]),
}

EXPECTED_MUTATION_GUARDS = {
    **{name: ("hasRole", STAFF) for name in (
        "roleCreate", "roleUpdate", "roleDelete", "rolePermissionGrant", "rolePermissionRevoke",
        "permissionCreate", "permissionUpdate", "permissionDelete", "userRoleAssign", "userRoleRemove")},
    "userSetActive": ("hasPermission", ["manage_users"]),
    **{f"category{verb}": ("hasPermission", ["manage_categories"]) for verb in ("Create", "Update", "Delete")},
    **{f"brand{verb}": ("hasPermission", ["manage_brands"]) for verb in ("Create", "Update", "Delete")},
    **{f"product{verb}": ("hasPermission", ["manage_products"]) for verb in ("Create", "Update", "Delete")},
    **{f"productVariant{verb}": ("hasPermission", ["manage_products"]) for verb in ("Create", "Update", "Delete")},
    **{f"promotion{verb}": ("hasPermission", ["manage_promotions"]) for verb in ("Create", "Update", "Delete")},
    **{f"shippingMethod{verb}": ("hasPermission", ["manage_shipping"]) for verb in ("Create", "Update", "Delete")},
    **{f"taxRate{verb}": ("hasPermission", ["manage_taxes"]) for verb in ("Create", "Update", "Delete")},
}


def _sdl_fields(type_name: str) -> dict[str, FieldDefinitionNode]:
    document = parse(schema.as_str())
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value == type_name:
            return {field.name.value: field for field in definition.fields}
    raise AssertionError(f"{type_name} not in the SDL")


def _sdl_guard(field: FieldDefinitionNode) -> tuple[str, list[str]] | None:
    for directive in field.directives or ():
        name = directive.name.value
        if name in GUARD_DIRECTIVES:
            values = [value.value for argument in directive.arguments or () for value in argument.value.values]
            return name, values
    return None


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
                              if name not in PUBLIC_MUTATIONS and _sdl_guard(node) is None)
    unenforced = sorted(name for name, field in fields.items() if name not in PUBLIC_MUTATIONS and not _enforced(field))
    assert unguarded_in_sdl == []
    assert unenforced == []


def test_the_public_auth_mutations_exist_and_carry_no_guard():
    sdl = _sdl_fields("Mutation")
    present = PUBLIC_MUTATIONS & set(sdl)
    for name in present:
        assert _sdl_guard(sdl[name]) is None, name


@pytest.mark.parametrize("name", sorted(EXPECTED_MUTATION_GUARDS))
def test_admin_mutation_has_its_documented_guard(name):
    assert _sdl_guard(_sdl_fields("Mutation")[name]) == EXPECTED_MUTATION_GUARDS[name]


@pytest.mark.parametrize("name", sorted(ADMIN_QUERIES))
def test_admin_query_has_its_documented_guard(name):
    assert _sdl_guard(_sdl_fields("Query")[name]) == ADMIN_QUERIES[name]
    assert _enforced(_strawberry_fields("Query")[name])


def test_the_sdl_declares_the_directives():
    sdl = schema.as_str()
    assert "directive @authenticated on FIELD_DEFINITION" in sdl
    assert "directive @hasRole(roles: [String!]!) on FIELD_DEFINITION" in sdl
    assert "directive @hasPermission(permissions: [String!]!) on FIELD_DEFINITION" in sdl
    assert 'roleCreate(input: RoleCreateInput!): RolePayload! @hasRole(roles: ["admin", "manager", ' \
           '"customer_experience"])' in sdl
