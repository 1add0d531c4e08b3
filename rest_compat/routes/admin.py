"""Admin routes (ROUTES.md "Admin Routes"): roles, permissions and user roles.

All of them sit behind the schema's role gate (admin, manager, customer_experience: 401
without a token, 403 for other roles) and the permission the schema field names — read_roles
for reads, manage_roles for role and permission changes, manage_users for assignments (403
"Insufficient permissions" without it, before the body is read). Escalation refusals come
back as 403 too. The guards are the schema's: nothing here decides who may call what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_compat.route import (
    Body,
    Payload,
    RestError,
    RestRequest,
    RestResult,
    Route,
    Single,
    Whole,
    path,
)


@dataclass(frozen=True)
class Wrapped:
    """`{data: {<field>: value}}`, or 404 with `not_found` when the field is null."""

    field: str
    not_found: str

    def __call__(self, data: dict[str, Any], _: RestRequest) -> RestResult:
        if data.get(self.field) is None:
            raise RestError(404, self.not_found)
        return RestResult(200, {"data": {self.field: data[self.field]}})

    def success_schema(self, result: dict[str, Any]) -> dict[str, Any] | None:
        value = dict(result["properties"][self.field])
        if isinstance(value.get("type"), list):
            value["type"] = next(t for t in value["type"] if t != "null")
        inner = {"type": "object", "required": [self.field], "properties": {self.field: value}}
        return {"type": "object", "required": ["data"], "properties": {"data": inner}}


ROLE_BODY = Body({"name": "name", "description": "description"}, into="input")
PERMISSION_BODY = Body(
    {"name": "name", "resource": "resource", "action": "action", "description": "description"}, into="input"
)
GATE_ERRORS = (401, 403)


def admin(method: str, route_path: str, document: str, summary: str, **options: Any) -> Route:
    errors = tuple(sorted({*GATE_ERRORS, *options.pop("errors", ())}))
    return Route(method, f"/api/v1/admin{route_path}", f"admin/{document}", summary,
                 errors=errors, tag="admin", **options)


ADMIN = [
    # --- roles ---------------------------------------------------------------------------------
    admin("GET", "/roles", "roles", "List all roles, by name (read_roles).", respond=Whole()),
    admin(
        "POST", "/roles", "role_create", "Create a role (without permissions; manage_roles).",
        body=ROLE_BODY, respond=Payload("result", status=201), errors=(400, 409),
    ),
    admin(
        "GET", "/roles/{id}", "role", "One role by ID.",
        variables=path("id"), respond=Wrapped("role", "Role not found"), errors=(404,),
    ),
    admin(
        "PUT", "/roles/{id}", "role_update",
        "Rename a role or change its description (manage_roles; only roles holding nothing beyond your "
        "permissions).",
        variables=path("id"), body=ROLE_BODY, respond=Payload("result"), errors=(400, 404, 409),
    ),
    admin(
        "DELETE", "/roles/{id}", "role_delete",
        "Delete a role with its grants and assignments (manage_roles; not built-in roles).",
        variables=path("id"), respond=Payload("result", status=204), errors=(404,),
    ),
    admin(
        "GET", "/roles/{id}/permissions", "role_permissions", "Permissions granted to a role.",
        variables=path("id"), respond=Single("permissions", "Role not found"), errors=(404,),
    ),
    admin(
        "POST", "/roles/{id}/permissions", "role_permission_grant",
        "Grant a permission you hold to a role (manage_roles; idempotent; never to `user`).",
        variables=path("id"), body=Body({"permission_id": "permissionId"}),
        respond=Payload("result", message="Permission granted successfully"), errors=(400, 404),
    ),
    admin(
        "DELETE", "/roles/{id}/permissions/{permId}", "role_permission_revoke",
        "Revoke a permission from a role (manage_roles).",
        variables=path("id", "permId", rename={"permId": "permissionId"}),
        respond=Payload("result", status=204), errors=(404,),
    ),
    # --- permissions -----------------------------------------------------------------------------
    admin("GET", "/permissions", "permissions", "List all permissions, by name.", respond=Whole()),
    admin(
        "POST", "/permissions", "permission_create",
        "Create a permission (manage_roles; granted to the admin role at once).",
        body=PERMISSION_BODY, respond=Payload("result", status=201), errors=(400, 409),
    ),
    admin(
        "GET", "/permissions/{id}", "permission", "One permission by ID.",
        variables=path("id"), respond=Wrapped("permission", "Permission not found"), errors=(404,),
    ),
    admin(
        "PUT", "/permissions/{id}", "permission_update",
        "Change a permission you hold (manage_roles; not built-in ones).",
        variables=path("id"), body=PERMISSION_BODY, respond=Payload("result"), errors=(400, 404, 409),
    ),
    admin(
        "DELETE", "/permissions/{id}", "permission_delete",
        "Delete a permission you hold, with its grants (manage_roles; not built-in permissions).",
        variables=path("id"), respond=Payload("result", status=204), errors=(404,),
    ),
    # --- user roles ----------------------------------------------------------------------------------
    admin(
        "GET", "/users/{id}/roles", "user_roles", "Names of the roles assigned to a user.",
        variables=path("id"), respond=Single("roles", "User not found"), errors=(404,),
    ),
    admin(
        "POST", "/users/{id}/roles", "user_role_assign",
        "Assign a role within your permissions to a user by `role_id` or `role_name` (manage_users; idempotent).",
        variables=path("id"), body=Body({"role_id": "roleId", "role_name": "roleName"}),
        respond=Payload("result", message="Role assigned successfully"), errors=(400, 404),
    ),
    admin(
        "DELETE", "/users/{id}/roles/{roleId}", "user_role_remove", "Remove a role from a user (manage_users).",
        variables=path("id", "roleId"), respond=Payload("result", status=204), errors=(404,),
    ),
]
