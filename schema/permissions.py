"""Permission directives: declared once on a field, printed in the SDL, enforced by the same object.

Usage: `@strawberry.field(extensions=authenticated())`, `has_role("admin", "manager")`,
`has_permission("manage_products")`, or several at once with `all_of(...)`. The check raises
UNAUTHENTICATED / FORBIDDEN errors.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLField
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info


@strawberry.schema_directive(
    name="authenticated",
    locations=[Location.FIELD_DEFINITION],
    description="Requires a valid access token (UNAUTHENTICATED otherwise).",
)
class AuthenticatedDirective:
    pass


@strawberry.schema_directive(
    name="hasRole",
    locations=[Location.FIELD_DEFINITION],
    description="Requires one of the listed roles (FORBIDDEN otherwise).",
)
class HasRoleDirective:
    roles: list[str]


@strawberry.schema_directive(
    name="hasPermission",
    locations=[Location.FIELD_DEFINITION],
    description="Requires every listed permission (FORBIDDEN otherwise).",
)
class HasPermissionDirective:
    permissions: list[str]


class Guard(BasePermission):
    """A permission whose check needs only the request context (so REST can run it up front)."""

    message = "Insufficient permissions"

    async def check(self, context: Any) -> None:
        """Raise AccessError (UNAUTHENTICATED or FORBIDDEN) unless the caller may go on."""
        raise NotImplementedError

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await self.check(info.context)
        return True


class IsAuthenticated(Guard):
    message = "Authentication required"
    _schema_directive = AuthenticatedDirective()

    async def check(self, context: Any) -> None:
        await context.require_viewer()


class HasRole(Guard):
    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles
        self._schema_directive = HasRoleDirective(roles=list(roles))

    async def check(self, context: Any) -> None:
        await context.require_role(*self.roles)


class HasPermission(Guard):
    def __init__(self, permissions: tuple[str, ...]) -> None:
        self.permissions = permissions
        self._schema_directive = HasPermissionDirective(permissions=list(permissions))

    async def check(self, context: Any) -> None:
        await context.require_permissions(*self.permissions)


def field_guards(field: GraphQLField) -> list[Guard]:
    """The guards declared on a schema field (through its PermissionExtension), in order."""
    definition = (field.extensions or {}).get("strawberry-definition")
    return [
        permission
        for extension in getattr(definition, "extensions", None) or ()
        if isinstance(extension, PermissionExtension)
        for permission in extension.permissions
        if isinstance(permission, Guard)
    ]


def authenticated() -> list[PermissionExtension]:
    return [PermissionExtension(permissions=[IsAuthenticated()], use_directives=True)]


def has_role(*roles: str) -> list[PermissionExtension]:
    return [PermissionExtension(permissions=[HasRole(roles)], use_directives=True)]


def has_permission(*permissions: str) -> list[PermissionExtension]:
    return [PermissionExtension(permissions=[HasPermission(permissions)], use_directives=True)]


def all_of(*guards: Guard) -> list[PermissionExtension]:
    """Several guards on one field, checked in the order given (REST runs them in the same order)
    and each printed as its directive, e.g. `all_of(HasRole(staff), HasPermission(("manage_roles",)))`."""
    return [PermissionExtension(permissions=list(guards), use_directives=True)]
