"""Role-based access control: roles, permissions, grants, user roles — and no escalation.

Who may call these at all is declared on the schema fields: the documented /admin role gate
(admin, manager, customer_experience) plus the permission each operation names — read_roles
to read, manage_roles to change roles and permissions, manage_users to assign roles and
administer accounts. Inside that, every change is checked against the caller's own
permissions, read again inside the write transaction (docs/rbac.md):

- nobody grants a permission they do not hold, nor assigns or removes a role whose
  permissions exceed their own (themselves included);
- nobody edits, deletes, grants to or revokes from a role holding permissions they lack,
  nor edits or deletes a permission they do not hold;
- the `user` role, which every account holds, holds no permissions: granting to it would
  grant to the public;
- the `admin` role holds every permission (new permissions are granted to it at once), and at
  least one active user keeps it: the last admin cannot be removed or deactivated;
- built-in roles keep their names, built-in permissions stay exactly as shipped, and their
  names stay reserved (db/defaults.py): code refers to them by name.

Refusals raise OUT_OF_SCOPE_PERMISSION; unknown ids NOT_FOUND (also when a row vanishes
mid-write: a foreign-key violation); duplicate names ALREADY_EXISTS (from the unique
constraints); bad names INVALID.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.conflicts import insert_ignoring_conflict, violated_constraint
from db.defaults import PERMISSIONS as DEFAULT_PERMISSIONS
from db.defaults import ROLES as DEFAULT_ROLES
from db.engine import Database
from db.models import Permission, RefreshToken, Role, RolePermission, User, UserRole, utcnow
from resolvers.errors import DomainError, Invalid, NotFound
from resolvers.pagination import Window

ADMIN_ROLE = "admin"
# Every account holds it (sign-up gives it), so whatever it held, the public would hold.
USER_ROLE = "user"
MANAGE_ROLES = "manage_roles"
MANAGE_USERS = "manage_users"
BUILT_IN_ROLES = frozenset(DEFAULT_ROLES)
BUILT_IN_PERMISSIONS = frozenset(name for name, *_ in DEFAULT_PERMISSIONS)

# Matched whole (`fullmatch`): with `match` and `$`, "admin\n" passed and looked like admin.
# `[a-z]` is ASCII only, so look-alikes from other scripts are refused too.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 500
MAX_SEARCH_LENGTH = 320
# Every permission is loaded for each admin request (admin holds them all): keep the sets small.
MAX_ROLES = 1000
MAX_PERMISSIONS = 1000

roles = Role.__table__
permissions = Permission.__table__
role_permissions = RolePermission.__table__
user_roles = UserRole.__table__
users = User.__table__


class OutOfScope(DomainError):
    """The caller is staff, but this change would exceed what they hold (or break an invariant)."""

    def __init__(self, reason: str) -> None:
        super().__init__("OUT_OF_SCOPE_PERMISSION", f"Insufficient permissions: {reason}")


@dataclass(frozen=True)
class UserAccess:
    """A user's roles (rows, by name) and the permissions they add up to."""

    user_id: str
    roles: list[Row[Any]]
    permissions: list[str]


# --- validation ---------------------------------------------------------------------------------


def check_name(value: Any, field: Sequence[str], what: str = "name") -> str:
    """ASCII lower-case letters, digits and underscores, starting with a letter, 1-64 characters.
    Nothing is trimmed: a name with spaces or line breaks is refused, not silently changed."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"{what} must not be empty", field)
    if len(value) > MAX_NAME_LENGTH:
        raise Invalid(f"{what} must be at most {MAX_NAME_LENGTH} characters", field)
    if NAME_PATTERN.fullmatch(value) is None:
        raise Invalid(
            f"{what} must start with a lower-case letter and hold only lower-case letters (a-z), digits "
            "and underscores, without spaces (e.g. inventory_manager)",
            field,
        )
    return value


def check_description(value: Any, field: Sequence[str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("description must be a string", field)
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise Invalid(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters", field)
    return value


def _require_changes(changes: Mapping[str, Any], allowed: Iterable[str], field: Sequence[str]) -> None:
    if not any(key in changes for key in allowed):
        raise Invalid(f"Give at least one of: {', '.join(allowed)}", field)


# --- reads -------------------------------------------------------------------------------------------


async def list_roles(db: Database) -> Sequence[Row[Any]]:
    async with db.read() as conn:
        return (await conn.execute(select(roles).order_by(roles.c.name))).all()


async def list_permissions(db: Database) -> Sequence[Row[Any]]:
    async with db.read() as conn:
        return (await conn.execute(select(permissions).order_by(permissions.c.name))).all()


async def _rows_by_id(db: Database, table: Any, ids: Sequence[str]) -> list[Row[Any] | None]:
    async with db.read() as conn:
        rows = (await conn.execute(select(table).where(table.c.id.in_(set(ids))))).all()
    by_id = {row.id: row for row in rows}
    return [by_id.get(identifier) for identifier in ids]


async def roles_by_id(db: Database, ids: Sequence[str]) -> list[Row[Any] | None]:
    return await _rows_by_id(db, roles, ids)


async def permissions_by_id(db: Database, ids: Sequence[str]) -> list[Row[Any] | None]:
    return await _rows_by_id(db, permissions, ids)


async def permissions_of_roles(db: Database, role_ids: Sequence[str]) -> list[list[Row[Any]]]:
    """Dataloader batch: each role's permissions, by name."""
    statement = (
        select(permissions, role_permissions.c.role_id.label("granted_to"))
        .join(role_permissions, role_permissions.c.permission_id == permissions.c.id)
        .where(role_permissions.c.role_id.in_(set(role_ids)))
        .order_by(permissions.c.name)
    )
    async with db.read() as conn:
        rows = (await conn.execute(statement)).all()
    grouped: dict[str, list[Row[Any]]] = {identifier: [] for identifier in role_ids}
    for row in rows:
        grouped[row.granted_to].append(row)
    return [grouped[identifier] for identifier in role_ids]


async def user_access(db: Database, user_id: str) -> UserAccess | None:
    """None when the user does not exist."""
    async with db.read() as conn:
        exists = (await conn.execute(select(users.c.id).where(users.c.id == user_id))).first()
        if exists is None:
            return None
        held = (
            await conn.execute(
                select(roles)
                .join(user_roles, user_roles.c.role_id == roles.c.id)
                .where(user_roles.c.user_id == user_id)
                .order_by(roles.c.name)
            )
        ).all()
        granted = (
            await conn.execute(
                select(permissions.c.name)
                .distinct()
                .join(role_permissions, role_permissions.c.permission_id == permissions.c.id)
                .join(user_roles, user_roles.c.role_id == role_permissions.c.role_id)
                .where(user_roles.c.user_id == user_id)
                .order_by(permissions.c.name)
            )
        ).scalars().all()
    return UserAccess(user_id=user_id, roles=list(held), permissions=list(granted))


def _user_filter(statement: Any, search: str | None) -> Any:
    if not search:
        return statement
    pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return statement.where(
        or_(
            func.lower(users.c.email).like(pattern.lower(), escape="\\"),
            func.lower(users.c.first_name).like(pattern.lower(), escape="\\"),
            func.lower(users.c.last_name).like(pattern.lower(), escape="\\"),
        )
    )


def normalise_search(search: str | None) -> str | None:
    if search is None:
        return None
    keyword = search.strip()
    if len(keyword) > MAX_SEARCH_LENGTH:
        raise DomainError("BAD_USER_INPUT", f"'search' must be at most {MAX_SEARCH_LENGTH} characters", ["search"])
    return keyword or None


async def list_users(db: Database, search: str | None, window: Window) -> Sequence[Row[Any]]:
    """Accounts, newest first; `search` is a case-insensitive substring of email or name."""
    statement = _user_filter(select(users), search).order_by(users.c.created_at.desc(), users.c.id.desc())
    async with db.read() as conn:
        return (await conn.execute(statement.offset(window.offset).limit(window.limit))).all()


async def count_users(db: Database, search: str | None) -> int:
    statement = _user_filter(select(func.count()).select_from(users), search)
    async with db.read() as conn:
        return int((await conn.execute(statement)).scalar_one())


async def user_by_id(db: Database, user_id: str) -> Row[Any] | None:
    async with db.read() as conn:
        return (await conn.execute(select(users).where(users.c.id == user_id))).first()


# --- the checks every write makes ------------------------------------------------------------------


async def _caller_permissions(session: AsyncSession, user_id: str) -> frozenset[str]:
    """What the caller holds now, read inside the write transaction (not the request's snapshot)."""
    rows = await session.execute(
        select(permissions.c.name)
        .join(role_permissions, role_permissions.c.permission_id == permissions.c.id)
        .join(user_roles, user_roles.c.role_id == role_permissions.c.role_id)
        .join(users, users.c.id == user_roles.c.user_id)
        .where(user_roles.c.user_id == user_id, users.c.active.is_(True))
    )
    return frozenset(rows.scalars().all())


async def _role_permission_names(session: AsyncSession, role_id: str) -> frozenset[str]:
    rows = await session.execute(
        select(permissions.c.name)
        .join(role_permissions, role_permissions.c.permission_id == permissions.c.id)
        .where(role_permissions.c.role_id == role_id)
    )
    return frozenset(rows.scalars().all())


async def _user_permission_names(session: AsyncSession, user_id: str) -> frozenset[str]:
    rows = await session.execute(
        select(permissions.c.name)
        .join(role_permissions, role_permissions.c.permission_id == permissions.c.id)
        .join(user_roles, user_roles.c.role_id == role_permissions.c.role_id)
        .where(user_roles.c.user_id == user_id)
    )
    return frozenset(rows.scalars().all())


def _within_scope(held: frozenset[str], needed: Iterable[str], action: str) -> None:
    missing = sorted(set(needed) - held)
    if missing:
        raise OutOfScope(f"{action} needs {', '.join(missing)}, which you do not hold")


async def _role_in_scope(session: AsyncSession, held: frozenset[str], role: Role, action: str) -> None:
    _within_scope(held, await _role_permission_names(session, role.id), f"{action} role '{role.name}'")


async def _may_manage_roles(session: AsyncSession, caller_id: str) -> frozenset[str]:
    """The caller's permissions, provided they (still) include manage_roles.

    The schema's guard checked it at the start of the request; this re-reads it inside the
    write transaction, so a caller whose permission was just revoked cannot slip a change in."""
    held = await _caller_permissions(session, caller_id)
    _within_scope(held, [MANAGE_ROLES], "changing roles and permissions")
    return held


async def _may_manage_users(session: AsyncSession, caller_id: str) -> frozenset[str]:
    held = await _caller_permissions(session, caller_id)
    _within_scope(held, [MANAGE_USERS], "changing users' roles and accounts")
    return held


def _not_reserved(name: str, built_in: frozenset[str], what: str, field: Sequence[str]) -> None:
    """Built-in names stay reserved even if their row were gone: code refers to them by name."""
    if name in built_in:
        raise DomainError(
            "ALREADY_EXISTS", f"A {what} named '{name}' already exists: built-in names are reserved", field
        )


async def _below_cap(session: AsyncSession, table: Any, cap: int, what: str, field: Sequence[str]) -> None:
    count = (await session.execute(select(func.count()).select_from(table))).scalar_one()
    if count >= cap:
        raise Invalid(f"There are already {count} {what}s (at most {cap}): delete unused ones first", field)


async def _get_role(session: AsyncSession, role_id: str, field: Sequence[str]) -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise NotFound("Role not found", field)
    return role


async def _get_permission(session: AsyncSession, permission_id: str, field: Sequence[str]) -> Permission:
    permission = await session.get(Permission, permission_id)
    if permission is None:
        raise NotFound("Permission not found", field)
    return permission


async def _get_user(session: AsyncSession, user_id: str, field: Sequence[str]) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User not found", field)
    return user


async def _lock_admins(session: AsyncSession) -> None:
    """Serialise every change that can take admins away (PostgreSQL: a row lock on the admin role;
    SQLite's write transactions are serial already), so two admins removing each other cannot
    both see the other one remain."""
    await session.execute(select(roles.c.id).where(roles.c.name == ADMIN_ROLE).with_for_update(key_share=True))


async def _ensure_an_admin_remains(session: AsyncSession) -> None:
    remaining = (
        await session.execute(
            select(func.count())
            .select_from(user_roles)
            .join(roles, roles.c.id == user_roles.c.role_id)
            .join(users, users.c.id == user_roles.c.user_id)
            .where(roles.c.name == ADMIN_ROLE, users.c.active.is_(True))
        )
    ).scalar_one()
    if remaining == 0:
        raise OutOfScope("at least one active admin must remain")


async def _committed(
    db: Database, work: Any, conflict: str = "", field: Sequence[str] = (), vanished: str = ""
) -> Any:
    """Run `work(session)` in one transaction. A unique violation is ALREADY_EXISTS (`conflict`);
    a foreign-key violation means a row we read was deleted by a concurrent request before we
    wrote a reference to it: NOT_FOUND (`vanished`). Anything else is a bug and stays an error."""
    try:
        async with db.transaction() as session:
            return await work(session)
    except IntegrityError as error:
        kind = violated_constraint(error)
        if kind == "unique" and conflict:
            raise DomainError("ALREADY_EXISTS", conflict, field) from None
        if kind == "foreign_key" and vanished:
            raise NotFound(vanished) from None
        raise


def _touch(obj: Any) -> None:
    obj.updated_at = utcnow()


# --- roles ---------------------------------------------------------------------------------------------


async def create_role(db: Database, caller_id: str, name: Any, description: Any) -> Role:
    name = check_name(name, ["input", "name"])
    description = check_description(description, ["input", "description"])
    _not_reserved(name, BUILT_IN_ROLES, "role", ["input", "name"])

    async def work(session: AsyncSession) -> Role:
        await _may_manage_roles(session, caller_id)
        await _below_cap(session, roles, MAX_ROLES, "role", ["input", "name"])
        role = Role(name=name, description=description)
        session.add(role)
        await session.flush()
        return role

    return await _committed(db, work, f"A role named '{name}' already exists", ["input", "name"])


async def update_role(db: Database, caller_id: str, role_id: str, changes: Mapping[str, Any]) -> Role:
    _require_changes(changes, ("name", "description"), ["input"])
    name = check_name(changes["name"], ["input", "name"]) if "name" in changes else None
    description = (
        check_description(changes["description"], ["input", "description"]) if "description" in changes else None
    )

    async def work(session: AsyncSession) -> Role:
        role = await _get_role(session, role_id, ["id"])
        held = await _may_manage_roles(session, caller_id)
        await _role_in_scope(session, held, role, "editing")
        if name is not None and name != role.name:
            if role.name in BUILT_IN_ROLES:
                raise OutOfScope(f"the built-in role '{role.name}' cannot be renamed")
            _not_reserved(name, BUILT_IN_ROLES, "role", ["input", "name"])
            role.name = name
        if description is not None:
            role.description = description
        _touch(role)
        await session.flush()
        return role

    return await _committed(db, work, f"A role named '{name}' already exists", ["input", "name"])


async def delete_role(db: Database, caller_id: str, role_id: str) -> str:
    """Deletes the role with its grants and assignments (foreign keys cascade), in one transaction."""

    async def work(session: AsyncSession) -> str:
        role = await _get_role(session, role_id, ["id"])
        held = await _may_manage_roles(session, caller_id)
        await _role_in_scope(session, held, role, "deleting")
        if role.name in BUILT_IN_ROLES:
            raise OutOfScope(f"the built-in role '{role.name}' cannot be deleted")
        await session.execute(delete(roles).where(roles.c.id == role.id))
        return role.id

    return await _committed(db, work)


async def grant_permission(db: Database, caller_id: str, role_id: str, permission_id: str) -> Role:
    """Idempotent: granting a permission the role already holds succeeds without change."""

    async def work(session: AsyncSession) -> Role:
        role = await _get_role(session, role_id, ["roleId"])
        permission = await _get_permission(session, permission_id, ["permissionId"])
        held = await _may_manage_roles(session, caller_id)
        if role.name == USER_ROLE:
            raise OutOfScope(
                f"the built-in role '{USER_ROLE}' is held by every account, so it holds no permissions"
            )
        _within_scope(held, [permission.name], f"granting '{permission.name}'")
        await _role_in_scope(session, held, role, "changing")
        await session.execute(
            insert_ignoring_conflict(db, role_permissions, "role_id", "permission_id").values(
                role_id=role.id, permission_id=permission.id
            )
        )
        return role

    return await _committed(db, work, vanished="The role or the permission was deleted meanwhile")


async def revoke_permission(db: Database, caller_id: str, role_id: str, permission_id: str) -> Role:
    async def work(session: AsyncSession) -> Role:
        role = await _get_role(session, role_id, ["roleId"])
        permission = await _get_permission(session, permission_id, ["permissionId"])
        held = await _may_manage_roles(session, caller_id)
        await _role_in_scope(session, held, role, "changing")
        if role.name == ADMIN_ROLE:
            raise OutOfScope("the admin role holds every permission")
        result = await session.execute(
            delete(role_permissions).where(
                role_permissions.c.role_id == role.id, role_permissions.c.permission_id == permission.id
            )
        )
        if result.rowcount == 0:
            raise NotFound(f"Role '{role.name}' does not hold '{permission.name}'", ["permissionId"])
        return role

    return await _committed(db, work)


# --- permissions --------------------------------------------------------------------------------------


def _permission_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key in ("name", "resource", "action"):
        if key in changes:
            checked[key] = check_name(changes[key], ["input", key], key)
    if "description" in changes:
        checked["description"] = check_description(changes["description"], ["input", "description"])
    return checked


async def create_permission(db: Database, caller_id: str, fields: Mapping[str, Any]) -> Permission:
    """A new permission is granted to the admin role at once: admin holds everything."""
    checked = _permission_fields({"description": "", **fields})
    for key in ("name", "resource", "action"):
        if key not in checked:
            raise Invalid(f"{key} is required", ["input", key])
    _not_reserved(checked["name"], BUILT_IN_PERMISSIONS, "permission", ["input", "name"])

    async def work(session: AsyncSession) -> Permission:
        await _may_manage_roles(session, caller_id)
        await _below_cap(session, permissions, MAX_PERMISSIONS, "permission", ["input", "name"])
        permission = Permission(**checked)
        session.add(permission)
        await session.flush()
        admin_id = (await session.execute(select(roles.c.id).where(roles.c.name == ADMIN_ROLE))).scalar()
        if admin_id is not None:
            session.add(RolePermission(role_id=admin_id, permission_id=permission.id))
            await session.flush()
        return permission

    return await _committed(
        db, work, f"A permission named '{checked['name']}' already exists", ["input", "name"]
    )


async def update_permission(
    db: Database, caller_id: str, permission_id: str, changes: Mapping[str, Any]
) -> Permission:
    """Built-in permissions stay exactly as shipped (a change that sets the current values is a no-op):
    the code enforces them by name, and their text says what that code does."""
    _require_changes(changes, ("name", "resource", "action", "description"), ["input"])
    checked = _permission_fields(changes)

    async def work(session: AsyncSession) -> Permission:
        permission = await _get_permission(session, permission_id, ["id"])
        held = await _may_manage_roles(session, caller_id)
        _within_scope(held, [permission.name], f"editing '{permission.name}'")
        changed = {key: value for key, value in checked.items() if getattr(permission, key) != value}
        if changed and permission.name in BUILT_IN_PERMISSIONS:
            raise OutOfScope(
                f"the built-in permission '{permission.name}' cannot be changed ({', '.join(sorted(changed))}): "
                "the code relies on what it means"
            )
        if "name" in changed:
            _not_reserved(changed["name"], BUILT_IN_PERMISSIONS, "permission", ["input", "name"])
        for key, value in changed.items():
            setattr(permission, key, value)
        _touch(permission)
        await session.flush()
        return permission

    return await _committed(
        db, work, f"A permission named '{checked.get('name')}' already exists", ["input", "name"]
    )


async def delete_permission(db: Database, caller_id: str, permission_id: str) -> str:
    """Deletes the permission and its grants (foreign keys cascade), in one transaction."""

    async def work(session: AsyncSession) -> str:
        permission = await _get_permission(session, permission_id, ["id"])
        held = await _may_manage_roles(session, caller_id)
        _within_scope(held, [permission.name], f"deleting '{permission.name}'")
        if permission.name in BUILT_IN_PERMISSIONS:
            raise OutOfScope(f"the built-in permission '{permission.name}' cannot be deleted")
        await session.execute(delete(permissions).where(permissions.c.id == permission.id))
        return permission.id

    return await _committed(db, work)


# --- user roles ------------------------------------------------------------------------------------------


async def assign_role(
    db: Database, caller_id: str, user_id: str, role_id: str | None, role_name: str | None
) -> str:
    """Give a user a role, by id or by name. Idempotent. Returns the user id."""
    role_id = role_id or None
    role_name = role_name or None
    if role_id is None and role_name is None:
        raise Invalid("either role_id or role_name is required", ["roleId"])
    if role_id is not None and role_name is not None:
        raise Invalid("give either role_id or role_name, not both", ["roleName"])

    async def work(session: AsyncSession) -> str:
        user = await _get_user(session, user_id, ["userId"])
        if role_id is not None:
            role = await _get_role(session, role_id, ["roleId"])
        else:
            role = (await session.execute(select(Role).where(Role.name == role_name))).scalar_one_or_none()
            if role is None:
                raise NotFound("Role not found", ["roleName"])
        held = await _may_manage_users(session, caller_id)
        await _role_in_scope(session, held, role, "assigning")
        await session.execute(
            insert_ignoring_conflict(db, user_roles, "user_id", "role_id").values(
                user_id=user.id, role_id=role.id, created_at=utcnow()
            )
        )
        return user.id

    return await _committed(db, work, vanished="The user or the role was deleted meanwhile")


async def remove_role(db: Database, caller_id: str, user_id: str, role_id: str) -> str:
    """Take a role from a user. The last active admin keeps theirs."""

    async def work(session: AsyncSession) -> str:
        await _lock_admins(session)
        user = await _get_user(session, user_id, ["userId"])
        role = await _get_role(session, role_id, ["roleId"])
        held = await _may_manage_users(session, caller_id)
        await _role_in_scope(session, held, role, "removing")
        result = await session.execute(
            delete(user_roles).where(user_roles.c.user_id == user.id, user_roles.c.role_id == role.id)
        )
        if result.rowcount == 0:
            raise NotFound(f"The user does not have the role '{role.name}'", ["roleId"])
        if role.name == ADMIN_ROLE:
            await _ensure_an_admin_remains(session)
        return user.id

    return await _committed(db, work)


async def set_user_active(db: Database, caller_id: str, user_id: str, active: bool) -> Row[Any]:
    """(De)activate an account. Deactivation also revokes its refresh tokens; nobody deactivates
    a user holding permissions they lack, nor the last active admin."""

    async def work(session: AsyncSession) -> Row[Any]:
        await _lock_admins(session)
        user = await _get_user(session, user_id, ["userId"])
        held = await _may_manage_users(session, caller_id)
        _within_scope(held, await _user_permission_names(session, user.id), "changing this account")
        now = utcnow()
        if user.active != active:
            user.active = active
            user.updated_at = now
            await session.flush()
        if not active:
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            is_admin = (
                await session.execute(
                    select(user_roles.c.user_id)
                    .join(roles, roles.c.id == user_roles.c.role_id)
                    .where(user_roles.c.user_id == user.id, roles.c.name == ADMIN_ROLE)
                )
            ).first()
            if is_admin is not None:
                await _ensure_an_admin_remains(session)
        return (await session.execute(select(users).where(users.c.id == user.id))).one()

    return await _committed(db, work)


def role_names(access: UserAccess) -> list[str]:
    return [row.name for row in access.roles]

