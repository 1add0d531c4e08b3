"""Role-based administration: roles, permissions, grants and user roles.

Every role/permission field is behind the documented /admin role gate (admin, manager,
customer_experience) and the permission it needs, both declared here and printed in the SDL:
read_roles to read, manage_roles to change roles and permissions, manage_users to assign
roles. Escalation inside that is refused by resolvers/rbac.py with OUT_OF_SCOPE_PERMISSION
user errors. Rules: docs/rbac.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from db.defaults import STAFF_ROLES
from resolvers import rbac
from resolvers.errors import DomainError
from schema.auth import User, fetch_user
from schema.errors import UserError, user_error
from schema.node import register_node
from schema.permissions import HasPermission, HasRole, all_of, has_permission
from schema.types import After, Before, Connection, First, IdArg, Last, Node, paginate

T = TypeVar("T")

READ_ROLES = "read_roles"


def staff_gate(permission: str) -> list[Any]:
    """The documented /admin role gate, then the permission the operation needs (one extension
    instance per field). Staff without the permission get FORBIDDEN — REST 403."""
    return all_of(HasRole(STAFF_ROLES), HasPermission((permission,)))


def role_reads() -> list[Any]:
    return staff_gate(READ_ROLES)


def role_changes() -> list[Any]:
    return staff_gate(rbac.MANAGE_ROLES)


def user_role_changes() -> list[Any]:
    return staff_gate(rbac.MANAGE_USERS)


UserIdArg = Annotated[strawberry.ID, strawberry.argument(description="The user's ID.")]
RoleIdArg = Annotated[strawberry.ID, strawberry.argument(description="The role's ID.")]
PermissionIdArg = Annotated[strawberry.ID, strawberry.argument(description="The permission's ID.")]


@strawberry.type(description="A named permission, e.g. `manage_products` on resource `products`, action `manage`.")
class Permission(Node):
    name: str = strawberry.field(description="Unique name, e.g. `manage_products`.")
    resource: str = strawberry.field(description="What it is about, e.g. `products`.")
    action: str = strawberry.field(description="What it allows on the resource, e.g. `manage` or `read`.")
    description: str = strawberry.field(description="What holders of it may do.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Permission:
        return cls(
            id=row.id,
            name=row.name,
            resource=row.resource,
            action=row.action,
            description=row.description,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A named set of permissions given to users, e.g. `manager`.")
class Role(Node):
    name: str = strawberry.field(description="Unique name, e.g. `inventory_manager`.")
    description: str = strawberry.field(description="What the role is for.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Role:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="Permissions granted to this role, by name.")
    async def permissions(self, info: Info) -> list[Permission]:
        rows = await info.context.loaders.permissions_of_role.load(self.id)
        return [Permission.from_row(row) for row in rows]


@strawberry.type(description="The roles of one user and the permissions they add up to.")
class UserAccess:
    user_id: strawberry.ID = strawberry.field(description="The user's ID.")
    roles: list[Role] = strawberry.field(description="Roles assigned to the user, by name.")
    role_names: list[str] = strawberry.field(description="Names of those roles, e.g. `[\"admin\", \"user\"]`.")
    permissions: list[str] = strawberry.field(description="Names of every permission the roles grant.")

    @strawberry.field(description="The account (null unless you may see it: read_customers).")
    async def user(self, info: Info) -> User | None:
        return await fetch_user(info, self.user_id)

    @classmethod
    def from_access(cls, access: rbac.UserAccess) -> UserAccess:
        return cls(
            user_id=access.user_id,
            roles=[Role.from_row(row) for row in access.roles],
            role_names=rbac.role_names(access),
            permissions=access.permissions,
        )


# --- inputs and payloads ------------------------------------------------------------------------


@strawberry.input(description="A new role; it starts without permissions.")
class RoleCreateInput:
    name: str = strawberry.field(
        description="Unique name: an ASCII lower-case letter, then lower-case letters, digits or `_` (at "
        "most 64; nothing is trimmed). Built-in role names are reserved."
    )
    description: str | None = strawberry.field(default="", description="What the role is for (at most 500).")


@strawberry.input(description="Changes to a role; omitted fields stay as they are.")
class RoleUpdateInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="New unique name (built-in roles keep theirs)."
    )
    description: str | None = strawberry.field(default=strawberry.UNSET, description="New description.")


@strawberry.input(description="A new permission. It is granted to the admin role at once.")
class PermissionCreateInput:
    name: str = strawberry.field(description="Unique name, e.g. `manage_inventory` (same rules as role names).")
    resource: str = strawberry.field(description="What it is about, e.g. `inventory`.")
    action: str = strawberry.field(description="What it allows, e.g. `manage`.")
    description: str | None = strawberry.field(default="", description="What holders may do (at most 500).")


@strawberry.input(description="Changes to a permission; omitted fields stay as they are.")
class PermissionUpdateInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="New unique name (built-in permissions cannot be changed)."
    )
    resource: str | None = strawberry.field(default=strawberry.UNSET, description="New resource.")
    action: str | None = strawberry.field(default=strawberry.UNSET, description="New action.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="New description.")


@strawberry.type(description="Result of a change to a role.")
class RolePayload:
    role: Role | None = strawberry.field(description="The role as it now is; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a role.")
class RoleDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted role; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


@strawberry.type(description="Result of a change to a permission.")
class PermissionPayload:
    permission: Permission | None = strawberry.field(description="The permission as it now is; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a permission.")
class PermissionDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="ID of the deleted permission; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


@strawberry.type(description="Result of a change to a user's roles.")
class UserAccessPayload:
    user_access: UserAccess | None = strawberry.field(
        description="The user's roles and permissions as they now are; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of a change to an account.")
class UserPayload:
    user: User | None = strawberry.field(description="The account as it now is; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


def changes_of(value: object) -> dict[str, Any]:
    """The fields of an input that were given (explicit nulls included)."""
    return {
        name: getattr(value, name)
        for name in vars(value)
        if not name.startswith("_") and getattr(value, name) is not strawberry.UNSET
    }


async def caller_id(info: Info) -> str:
    return (await info.context.require_viewer()).user_id


async def attempt(work: Callable[[], Awaitable[T]], refused: Callable[[list[UserError]], T]) -> T:
    """Run a mutation; a DomainError (nothing written: its transaction rolled back) becomes the
    payload's errors."""
    try:
        return await work()
    except DomainError as error:
        return refused([user_error(error)])


async def _access_payload(info: Info, user_id: str) -> UserAccessPayload:
    access = await rbac.user_access(info.context.db, user_id)
    return UserAccessPayload(user_access=UserAccess.from_access(access) if access else None, errors=[])


# --- Relay node lookups: staff only ------------------------------------------------------------------


async def _may_read_roles(info: Info) -> bool:
    """The same rule as the `role`/`permission` fields' guards."""
    viewer = await info.context.viewer()
    return viewer is not None and viewer.has_role(*STAFF_ROLES) and viewer.has_permissions(READ_ROLES)


async def fetch_role(info: Info, role_id: str) -> Role | None:
    if not await _may_read_roles(info):
        return None
    rows = await rbac.roles_by_id(info.context.db, [role_id])
    return Role.from_row(rows[0]) if rows[0] is not None else None


async def fetch_permission(info: Info, permission_id: str) -> Permission | None:
    if not await _may_read_roles(info):
        return None
    rows = await rbac.permissions_by_id(info.context.db, [permission_id])
    return Permission.from_row(rows[0]) if rows[0] is not None else None


register_node("role", fetch_role)
register_node("perm", fetch_permission)


# --- root fields ----------------------------------------------------------------------------------------


@strawberry.type
class RbacQuery:
    @strawberry.field(description="Every role, by name.", extensions=role_reads())
    async def roles(self, info: Info) -> list[Role]:
        return [Role.from_row(row) for row in await rbac.list_roles(info.context.db)]

    @strawberry.field(description="A role by ID; null when unknown.", extensions=role_reads())
    async def role(self, info: Info, id: IdArg) -> Role | None:
        rows = await rbac.roles_by_id(info.context.db, [id])
        return Role.from_row(rows[0]) if rows[0] is not None else None

    @strawberry.field(description="Every permission, by name.", extensions=role_reads())
    async def permissions(self, info: Info) -> list[Permission]:
        return [Permission.from_row(row) for row in await rbac.list_permissions(info.context.db)]

    @strawberry.field(description="A permission by ID; null when unknown.", extensions=role_reads())
    async def permission(self, info: Info, id: IdArg) -> Permission | None:
        rows = await rbac.permissions_by_id(info.context.db, [id])
        return Permission.from_row(rows[0]) if rows[0] is not None else None

    @strawberry.field(
        description="Roles assigned to a user, by name. NOT_FOUND error when the user does not exist.",
        extensions=role_reads(),
    )
    async def user_roles(self, info: Info, user_id: UserIdArg) -> list[Role]:
        access = await rbac.user_access(info.context.db, user_id)
        if access is None:
            raise DomainError("NOT_FOUND", "User not found", ["userId"])
        return [Role.from_row(row) for row in access.roles]

    @strawberry.field(
        description="A user's roles (objects and names) and effective permissions; null when the user "
        "does not exist.",
        extensions=role_reads(),
    )
    async def user_access(self, info: Info, user_id: UserIdArg) -> UserAccess | None:
        access = await rbac.user_access(info.context.db, user_id)
        return UserAccess.from_access(access) if access is not None else None

    @strawberry.field(
        description="Accounts, newest first; `search` matches email, first or last name (case-insensitive "
        "substring).",
        extensions=has_permission("manage_users"),
    )
    async def users(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of an email or name (at most 320 characters).")
        ] = None,
    ) -> Connection[User]:
        db = info.context.db
        keyword = rbac.normalise_search(search)
        return await paginate(
            first=first,
            after=after,
            last=last,
            before=before,
            fetch=lambda window: rbac.list_users(db, keyword, window),
            count=lambda: rbac.count_users(db, keyword),
            to_node=User.from_row,
        )

    @strawberry.field(description="Any account by ID; null when unknown.", extensions=has_permission("manage_users"))
    async def user(self, info: Info, id: IdArg) -> User | None:
        row = await rbac.user_by_id(info.context.db, id)
        return User.from_row(row) if row is not None else None


@strawberry.type
class RbacMutation:
    @strawberry.mutation(description="Create a role (without permissions). Built-in names are reserved.",
                         extensions=role_changes())
    async def role_create(self, info: Info, input: RoleCreateInput) -> RolePayload:
        async def work() -> RolePayload:
            role = await rbac.create_role(info.context.db, await caller_id(info), input.name, input.description)
            return RolePayload(role=Role.from_row(role), errors=[])

        return await attempt(work, lambda errors: RolePayload(role=None, errors=errors))

    @strawberry.mutation(
        description="Rename a role or change its description. Refused (OUT_OF_SCOPE_PERMISSION) when "
        "the role holds permissions you lack, or when renaming a built-in role.",
        extensions=role_changes(),
    )
    async def role_update(self, info: Info, id: RoleIdArg, input: RoleUpdateInput) -> RolePayload:
        async def work() -> RolePayload:
            role = await rbac.update_role(info.context.db, await caller_id(info), id, changes_of(input))
            return RolePayload(role=Role.from_row(role), errors=[])

        return await attempt(work, lambda errors: RolePayload(role=None, errors=errors))

    @strawberry.mutation(
        description="Delete a role with its grants and assignments. Refused for built-in roles and "
        "for roles holding permissions you lack.",
        extensions=role_changes(),
    )
    async def role_delete(self, info: Info, id: RoleIdArg) -> RoleDeletePayload:
        async def work() -> RoleDeletePayload:
            deleted = await rbac.delete_role(info.context.db, await caller_id(info), id)
            return RoleDeletePayload(deleted_id=deleted, errors=[])

        return await attempt(work, lambda errors: RoleDeletePayload(deleted_id=None, errors=errors))

    @strawberry.mutation(
        description="Grant a permission to a role (idempotent). You must hold the permission and every "
        "permission the role already has; the `user` role, which every account holds, holds none.",
        extensions=role_changes(),
    )
    async def role_permission_grant(
        self, info: Info, role_id: RoleIdArg, permission_id: PermissionIdArg
    ) -> RolePayload:
        async def work() -> RolePayload:
            role = await rbac.grant_permission(info.context.db, await caller_id(info), role_id, permission_id)
            return RolePayload(role=Role.from_row(role), errors=[])

        return await attempt(work, lambda errors: RolePayload(role=None, errors=errors))

    @strawberry.mutation(
        description="Revoke a permission from a role. You must hold every permission the role has; "
        "the admin role keeps all of them.",
        extensions=role_changes(),
    )
    async def role_permission_revoke(
        self, info: Info, role_id: RoleIdArg, permission_id: PermissionIdArg
    ) -> RolePayload:
        async def work() -> RolePayload:
            role = await rbac.revoke_permission(info.context.db, await caller_id(info), role_id, permission_id)
            return RolePayload(role=Role.from_row(role), errors=[])

        return await attempt(work, lambda errors: RolePayload(role=None, errors=errors))

    @strawberry.mutation(
        description="Create a permission; it is granted to the admin role at once. Built-in names are "
        "reserved.", extensions=role_changes()
    )
    async def permission_create(self, info: Info, input: PermissionCreateInput) -> PermissionPayload:
        async def work() -> PermissionPayload:
            permission = await rbac.create_permission(info.context.db, await caller_id(info), changes_of(input))
            return PermissionPayload(permission=Permission.from_row(permission), errors=[])

        return await attempt(work, lambda errors: PermissionPayload(permission=None, errors=errors))

    @strawberry.mutation(
        description="Change a permission you hold. Built-in permissions cannot be changed: the code "
        "enforces them by name and their text says what it does.",
        extensions=role_changes(),
    )
    async def permission_update(
        self, info: Info, id: PermissionIdArg, input: PermissionUpdateInput
    ) -> PermissionPayload:
        async def work() -> PermissionPayload:
            permission = await rbac.update_permission(
                info.context.db, await caller_id(info), id, changes_of(input)
            )
            return PermissionPayload(permission=Permission.from_row(permission), errors=[])

        return await attempt(work, lambda errors: PermissionPayload(permission=None, errors=errors))

    @strawberry.mutation(
        description="Delete a permission you hold, with its grants (built-in permissions stay).",
        extensions=role_changes(),
    )
    async def permission_delete(self, info: Info, id: PermissionIdArg) -> PermissionDeletePayload:
        async def work() -> PermissionDeletePayload:
            deleted = await rbac.delete_permission(info.context.db, await caller_id(info), id)
            return PermissionDeletePayload(deleted_id=deleted, errors=[])

        return await attempt(work, lambda errors: PermissionDeletePayload(deleted_id=None, errors=errors))

    @strawberry.mutation(
        description="Give a user a role, named by `roleId` or `roleName` (exactly one; idempotent). "
        "Refused when the role holds permissions you lack — for yourself too.",
        extensions=user_role_changes(),
    )
    async def user_role_assign(
        self,
        info: Info,
        user_id: UserIdArg,
        role_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The role's ID (or give `roleName`).")
        ] = None,
        role_name: Annotated[
            str | None, strawberry.argument(description="The role's name (or give `roleId`).")
        ] = None,
    ) -> UserAccessPayload:
        async def work() -> UserAccessPayload:
            assigned = await rbac.assign_role(info.context.db, await caller_id(info), user_id, role_id, role_name)
            return await _access_payload(info, assigned)

        return await attempt(work, lambda errors: UserAccessPayload(user_access=None, errors=errors))

    @strawberry.mutation(
        description="Take a role from a user. Refused when the role holds permissions you lack, and "
        "for the admin role of the last active admin.",
        extensions=user_role_changes(),
    )
    async def user_role_remove(self, info: Info, user_id: UserIdArg, role_id: RoleIdArg) -> UserAccessPayload:
        async def work() -> UserAccessPayload:
            removed = await rbac.remove_role(info.context.db, await caller_id(info), user_id, role_id)
            return await _access_payload(info, removed)

        return await attempt(work, lambda errors: UserAccessPayload(user_access=None, errors=errors))

    @strawberry.mutation(
        description="Activate or deactivate an account. Deactivation takes effect at once (its access tokens "
        "stop working, its refresh tokens are revoked). Refused (OUT_OF_SCOPE_PERMISSION) for accounts "
        "holding permissions you lack and for the last active admin.",
        extensions=has_permission(rbac.MANAGE_USERS),
    )
    async def user_set_active(
        self,
        info: Info,
        user_id: UserIdArg,
        active: Annotated[bool, strawberry.argument(description="True to activate, false to deactivate.")],
    ) -> UserPayload:
        async def work() -> UserPayload:
            row = await rbac.set_user_active(info.context.db, await caller_id(info), user_id, active)
            return UserPayload(user=User.from_row(row), errors=[])

        return await attempt(work, lambda errors: UserPayload(user=None, errors=errors))
