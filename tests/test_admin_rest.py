"""REST /api/v1/admin: the documented role gate on every route, the documented shapes and
statuses, 400/404/409 cases, and every escalation attempt refused with 403."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import Factory, unique
from tests.support.api import Api
from tests.support.server import ServerProcess

ADMIN = "/api/v1/admin"
STAFF = ("admin", "manager", "customer_experience")
CALLERS = (*STAFF, "user", "anonymous")
FORBIDDEN = {"error": {"code": "forbidden", "message": "Insufficient permissions"}}


# --- the route x role matrix ------------------------------------------------------------------------
# Each case builds a request that a staff caller holding `held` (a custom permission) may make
# within their own scope, the status it answers with when allowed, and the body it answers with.
# Who is allowed: the documented /admin role gate (admin, manager, customer_experience; `user`
# → 403, no token → 401), then the permission the route needs — read_roles to read, manage_roles
# to change roles and permissions, manage_users to assign and remove roles. Every staff role holds
# all three by default (db/defaults.py), so every staff role may use every route within its scope;
# test_staff_without_the_routes_permission_is_refused shows the permission is still enforced.


class Prefixed:
    """Equal to any string with this prefix (an id the server made up)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(self.prefix)

    def __repr__(self) -> str:
        return f"Prefixed({self.prefix!r})"


def rest_permission(permission: dict[str, Any], **changes: Any) -> dict[str, Any]:
    shown = {key: permission[key] for key in ("id", "name", "resource", "action", "description")}
    return {**shown, **changes}


def rest_role(role: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**{key: role[key] for key in ("id", "name", "description")}, **changes}


def _roles_listing(body: dict[str, Any]) -> None:
    assert set(body) == {"data"} and set(body["data"]) == {"roles"}
    roles = body["data"]["roles"]
    assert all(set(role) == {"id", "name", "description"} for role in roles)
    names = [role["name"] for role in roles]
    assert names == sorted(names)
    assert {"admin", "manager", "customer_experience", "user"} <= set(names)


def _permissions_listing(including: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def check(body: dict[str, Any]) -> None:
        assert set(body) == {"data"} and set(body["data"]) == {"permissions"}
        listed = body["data"]["permissions"]
        assert all(set(p) == {"id", "name", "resource", "action", "description"} for p in listed)
        assert rest_permission(including) in listed
        assert {"manage_products", "manage_roles", "read_roles"} <= {p["name"] for p in listed}

    return check


@dataclass
class Case:
    method: str
    path: str
    body: dict[str, Any] | None
    status: int
    # The whole JSON body (== with Prefixed placeholders), a check of it, or None for 204.
    expected: dict[str, Any] | Callable[[dict[str, Any]], None] | None


def _list_roles(f: Factory, held: dict[str, Any]) -> Case:
    return Case("GET", f"{ADMIN}/roles", None, 200, _roles_listing)


def _create_role(f: Factory, held: dict[str, Any]) -> Case:
    name = unique("role_")
    return Case("POST", f"{ADMIN}/roles", {"name": name, "description": "made by the matrix"}, 201,
                {"data": {"role": {"id": Prefixed("role_"), "name": name, "description": "made by the matrix"}}})


def _get_role(f: Factory, held: dict[str, Any]) -> Case:
    role = f.role(description="looked at")
    return Case("GET", f"{ADMIN}/roles/{role['id']}", None, 200, {"data": {"role": rest_role(role)}})


def _update_role(f: Factory, held: dict[str, Any]) -> Case:
    role, name = f.role(), unique("role_")
    return Case("PUT", f"{ADMIN}/roles/{role['id']}", {"name": name, "description": "renamed"}, 200,
                {"data": {"role": rest_role(role, name=name, description="renamed")}})


def _delete_role(f: Factory, held: dict[str, Any]) -> Case:
    return Case("DELETE", f"{ADMIN}/roles/{f.role()['id']}", None, 204, None)


def _role_permissions(f: Factory, held: dict[str, Any]) -> Case:
    role = f.role(permissions=(held["name"],))
    return Case("GET", f"{ADMIN}/roles/{role['id']}/permissions", None, 200,
                {"data": {"permissions": [rest_permission(held)]}})


def _grant(f: Factory, held: dict[str, Any]) -> Case:
    return Case("POST", f"{ADMIN}/roles/{f.role()['id']}/permissions", {"permission_id": held["id"]}, 200,
                {"data": {"message": "Permission granted successfully"}})


def _revoke(f: Factory, held: dict[str, Any]) -> Case:
    role = f.role(permissions=(held["name"],))
    return Case("DELETE", f"{ADMIN}/roles/{role['id']}/permissions/{held['id']}", None, 204, None)


def _list_permissions(f: Factory, held: dict[str, Any]) -> Case:
    return Case("GET", f"{ADMIN}/permissions", None, 200, _permissions_listing(held))


def _create_permission(f: Factory, held: dict[str, Any]) -> Case:
    body = {"name": unique("perm_"), "resource": "inventory", "action": "manage", "description": "matrix"}
    return Case("POST", f"{ADMIN}/permissions", body, 201,
                {"data": {"permission": {"id": Prefixed("perm_"), **body}}})


def _get_permission(f: Factory, held: dict[str, Any]) -> Case:
    return Case("GET", f"{ADMIN}/permissions/{held['id']}", None, 200,
                {"data": {"permission": rest_permission(held)}})


def _update_permission(f: Factory, held: dict[str, Any]) -> Case:
    body = {"name": held["name"], "resource": "tests", "action": "manage", "description": "updated"}
    return Case("PUT", f"{ADMIN}/permissions/{held['id']}", body, 200,
                {"data": {"permission": rest_permission(held, description="updated")}})


def _delete_permission(f: Factory, held: dict[str, Any]) -> Case:
    return Case("DELETE", f"{ADMIN}/permissions/{held['id']}", None, 204, None)


def _user_roles(f: Factory, held: dict[str, Any]) -> Case:
    return Case("GET", f"{ADMIN}/users/{f.user()['id']}/roles", None, 200, {"data": {"roles": ["user"]}})


def _assign_role(f: Factory, held: dict[str, Any]) -> Case:
    # A role holding what the caller holds: within scope for every staff role.
    role = f.role(permissions=(held["name"],))
    return Case("POST", f"{ADMIN}/users/{f.user()['id']}/roles", {"role_name": role["name"]}, 200,
                {"data": {"message": "Role assigned successfully"}})


def _remove_role(f: Factory, held: dict[str, Any]) -> Case:
    role = f.role(permissions=(held["name"],))
    return Case("DELETE", f"{ADMIN}/users/{f.user(roles=('user', role['name']))['id']}/roles/{role['id']}",
                None, 204, None)


READS, ROLE_WRITES, USER_WRITES = "read_roles", "manage_roles", "manage_users"
# route -> (case, the permission it needs inside the gate)
ROUTES: dict[str, tuple[Callable[[Factory, dict[str, Any]], Case], str]] = {
    "GET /roles": (_list_roles, READS),
    "POST /roles": (_create_role, ROLE_WRITES),
    "GET /roles/:id": (_get_role, READS),
    "PUT /roles/:id": (_update_role, ROLE_WRITES),
    "DELETE /roles/:id": (_delete_role, ROLE_WRITES),
    "GET /roles/:id/permissions": (_role_permissions, READS),
    "POST /roles/:id/permissions": (_grant, ROLE_WRITES),
    "DELETE /roles/:id/permissions/:permId": (_revoke, ROLE_WRITES),
    "GET /permissions": (_list_permissions, READS),
    "POST /permissions": (_create_permission, ROLE_WRITES),
    "GET /permissions/:id": (_get_permission, READS),
    "PUT /permissions/:id": (_update_permission, ROLE_WRITES),
    "DELETE /permissions/:id": (_delete_permission, ROLE_WRITES),
    "GET /users/:id/roles": (_user_roles, READS),
    "POST /users/:id/roles": (_assign_role, USER_WRITES),
    "DELETE /users/:id/roles/:roleId": (_remove_role, USER_WRITES),
}


def _token_for(factory: Factory, caller: str, holder: dict[str, Any]) -> str | None:
    if caller == "anonymous":
        return None
    return factory.user(roles=(caller, holder["name"]))["token"]


def _assert_gate_refusal(response, caller: str) -> None:
    if caller == "anonymous":
        assert response.status_code == 401, response.text
        assert response.json() == {"error": {"code": "unauthorized", "message": "Authentication required"}}
    else:
        assert response.status_code == 403, response.text
        assert response.json() == FORBIDDEN


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_admin_route_answers_each_caller_as_documented(api, factory, route, caller):
    held = factory.permission()
    holder = factory.role(permissions=(held["name"],))
    token = _token_for(factory, caller, holder)
    build, _ = ROUTES[route]
    case = build(factory, held)

    response = api.request(case.method, case.path, token=token, json=case.body)

    if caller not in STAFF:
        _assert_gate_refusal(response, caller)
    elif case.expected is None:
        assert response.status_code == case.status == 204, response.text
        assert response.content == b""
    else:
        assert response.status_code == case.status, response.text
        if callable(case.expected):
            case.expected(response.json())
        else:
            assert response.json() == case.expected


# Routes that read a body, and bodies that are wrong in every way the REST layer knows.
BODY_ROUTES: dict[str, Callable[[Factory], tuple[str, str]]] = {
    "POST /roles": lambda f: ("POST", f"{ADMIN}/roles"),
    "PUT /roles/:id": lambda f: ("PUT", f"{ADMIN}/roles/{f.role()['id']}"),
    "POST /roles/:id/permissions": lambda f: ("POST", f"{ADMIN}/roles/{f.role()['id']}/permissions"),
    "POST /permissions": lambda f: ("POST", f"{ADMIN}/permissions"),
    "PUT /permissions/:id": lambda f: ("PUT", f"{ADMIN}/permissions/{f.permission()['id']}"),
    "POST /users/:id/roles": lambda f: ("POST", f"{ADMIN}/users/{f.user()['id']}/roles"),
}
BAD_BODIES = [b"", b"not json", b"[1, 2]", b'{"name": 5, "permission_id": [], "role_id": {}}',
              b'{"name": "admin\\n", "role_name": ["admin"], "permission_id": null}']


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("raw", BAD_BODIES, ids=range(len(BAD_BODIES)))
@pytest.mark.parametrize("route", list(BODY_ROUTES))
def test_callers_the_gate_refuses_learn_nothing_from_bad_bodies(api, factory, route, raw, caller):
    """The schema's guards run before the body is read: 401/403 for whoever may not call the route,
    whatever they send; only those who may (every staff role) get the 400. (Staff without the
    route's permission: test_staff_without_the_routes_permission_is_refused.)"""
    method, path = BODY_ROUTES[route](factory)
    token = None if caller == "anonymous" else factory.user(roles=(caller,))["token"]
    response = api.request(method, path, token=token, content=raw, headers={"Content-Type": "application/json"})
    if caller in STAFF:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "bad_request"
    else:
        _assert_gate_refusal(response, caller)


def test_refused_writes_change_nothing(api, factory):
    user = factory.user()
    role = factory.role()
    name = unique("role_")
    assert api.post(f"{ADMIN}/roles", token=user["token"], json={"name": name}).status_code == 403
    assert api.delete(f"{ADMIN}/roles/{role['id']}").status_code == 401
    admin = factory.user(roles=("admin",))
    names = [r["name"] for r in api.get(f"{ADMIN}/roles", token=admin["token"]).json()["data"]["roles"]]
    assert name not in names
    assert role["name"] in names


def test_a_bad_token_is_401(api):
    response = api.get(f"{ADMIN}/roles", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


# --- documented shapes ------------------------------------------------------------------------------------


@pytest.fixture
def admin(factory):
    return factory.user(roles=("admin",))


def test_roles_list_has_the_documented_shape(api, admin):
    response = api.get(f"{ADMIN}/roles", token=admin["token"])
    assert response.status_code == 200
    roles = response.json()["data"]["roles"]
    assert all(set(role) == {"id", "name", "description"} for role in roles)
    by_name = {role["name"]: role for role in roles}
    assert by_name["admin"]["description"] == "Full system access"
    assert by_name["manager"]["description"] == "Administrative access for business operations"
    assert by_name["customer_experience"]["description"] == "Customer support access"
    assert by_name["user"]["description"] == "Standard authenticated user"
    assert by_name["admin"]["id"].startswith("role_")


def test_role_create_get_update_delete_round_trip(api, admin, factory):
    token = admin["token"]
    name = unique("inventory_manager_")
    created = api.post(f"{ADMIN}/roles", token=token, json={"name": name, "description": "Manages inventory levels"})
    assert created.status_code == 201
    role = created.json()["data"]["role"]
    assert role == {"id": role["id"], "name": name, "description": "Manages inventory levels"}

    fetched = api.get(f"{ADMIN}/roles/{role['id']}", token=token)
    assert fetched.status_code == 200
    assert fetched.json() == {"data": {"role": role}}

    renamed = unique("inventory_admin_")
    updated = api.put(f"{ADMIN}/roles/{role['id']}", token=token,
                      json={"name": renamed, "description": "Full inventory access"})
    assert updated.status_code == 200
    assert updated.json() == {"data": {"role": {"id": role["id"], "name": renamed,
                                                "description": "Full inventory access"}}}

    only_description = api.put(f"{ADMIN}/roles/{role['id']}", token=token, json={"description": "Just this"})
    assert only_description.json()["data"]["role"] == {"id": role["id"], "name": renamed, "description": "Just this"}

    deleted = api.delete(f"{ADMIN}/roles/{role['id']}", token=token)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get(f"{ADMIN}/roles/{role['id']}", token=token).status_code == 404
    assert api.delete(f"{ADMIN}/roles/{role['id']}", token=token).status_code == 404


def test_permission_create_get_update_delete_round_trip(api, admin):
    token = admin["token"]
    name = unique("manage_inventory_")
    body = {"name": name, "resource": "inventory", "action": "manage",
            "description": "Full access to inventory management"}
    created = api.post(f"{ADMIN}/permissions", token=token, json=body)
    assert created.status_code == 201
    permission = created.json()["data"]["permission"]
    assert permission == {"id": permission["id"], **body}
    assert permission["id"].startswith("perm_")

    fetched = api.get(f"{ADMIN}/permissions/{permission['id']}", token=token)
    assert fetched.json() == {"data": {"permission": permission}}
    listed = api.get(f"{ADMIN}/permissions", token=token).json()["data"]["permissions"]
    assert permission in listed
    assert all(set(p) == {"id", "name", "resource", "action", "description"} for p in listed)

    updated = api.put(f"{ADMIN}/permissions/{permission['id']}", token=token,
                      json={**body, "description": "Updated description"})
    assert updated.status_code == 200
    assert updated.json() == {"data": {"permission": {**permission, "description": "Updated description"}}}

    assert api.delete(f"{ADMIN}/permissions/{permission['id']}", token=token).status_code == 204
    assert api.get(f"{ADMIN}/permissions/{permission['id']}", token=token).status_code == 404


def test_default_permissions_use_the_documented_style(api, admin):
    listed = api.get(f"{ADMIN}/permissions", token=admin["token"]).json()["data"]["permissions"]
    by_name = {p["name"]: p for p in listed}
    assert by_name["manage_products"]["resource"] == "products"
    assert by_name["manage_products"]["action"] == "manage"
    for name in ("manage_categories", "read_orders", "manage_orders", "read_customers", "manage_roles",
                 "manage_users"):
        assert name in by_name


def test_default_grants_give_the_documented_access(api, admin, factory):
    def names(role: str) -> set[str]:
        response = api.get(f"{ADMIN}/roles/{factory.role_id(role)}/permissions", token=admin["token"])
        assert response.status_code == 200
        return {p["name"] for p in response.json()["data"]["permissions"]}

    admin_names = names("admin")
    assert {"manage_products", "manage_orders", "manage_roles", "manage_users", "read_customers"} <= admin_names
    # Manager: the catalog, orders, and role/user administration within its scope — not all of admin's.
    assert {"manage_products", "manage_categories", "read_orders", "manage_orders", "read_roles", "manage_roles",
            "manage_users"} <= names("manager")
    assert "manage_customers" not in names("manager")
    # Customer experience reads orders and customers, and administers roles and users within its own
    # permissions (the no-escalation rules keep it there): less than manager, so manager may assign it.
    assert names("customer_experience") == {"read_orders", "read_customers", "read_roles", "manage_roles",
                                            "manage_users"}
    assert names("customer_experience") < names("manager")
    assert names("user") == set()


def test_grant_and_revoke_show_in_role_permissions(api, admin, factory):
    token = admin["token"]
    role = factory.role()
    listed = api.get(f"{ADMIN}/permissions", token=token).json()["data"]["permissions"]
    read_orders = next(p for p in listed if p["name"] == "read_orders")
    permission_id = read_orders["id"]

    granted = api.post(f"{ADMIN}/roles/{role['id']}/permissions", token=token, json={"permission_id": permission_id})
    assert granted.status_code == 200
    assert granted.json() == {"data": {"message": "Permission granted successfully"}}
    again = api.post(f"{ADMIN}/roles/{role['id']}/permissions", token=token, json={"permission_id": permission_id})
    assert again.status_code == 200  # idempotent

    shown = api.get(f"{ADMIN}/roles/{role['id']}/permissions", token=token)
    assert shown.json() == {"data": {"permissions": [read_orders]}}

    revoked = api.delete(f"{ADMIN}/roles/{role['id']}/permissions/{permission_id}", token=token)
    assert revoked.status_code == 204
    assert api.get(f"{ADMIN}/roles/{role['id']}/permissions", token=token).json() == {"data": {"permissions": []}}
    # Revoking what the role no longer holds: 404.
    assert api.delete(f"{ADMIN}/roles/{role['id']}/permissions/{permission_id}", token=token).status_code == 404


def test_user_roles_are_role_names(api, admin, factory):
    target = factory.user(roles=("admin", "user"))
    response = api.get(f"{ADMIN}/users/{target['id']}/roles", token=admin["token"])
    assert response.status_code == 200
    assert response.json() == {"data": {"roles": ["admin", "user"]}}


def test_assign_by_id_and_by_name_then_remove(api, admin, factory):
    token = admin["token"]
    target = factory.user(roles=())
    custom = factory.role()
    by_name = api.post(f"{ADMIN}/users/{target['id']}/roles", token=token, json={"role_name": "user"})
    assert by_name.status_code == 200
    assert by_name.json() == {"data": {"message": "Role assigned successfully"}}
    by_id = api.post(f"{ADMIN}/users/{target['id']}/roles", token=token, json={"role_id": custom["id"]})
    assert by_id.status_code == 200
    again = api.post(f"{ADMIN}/users/{target['id']}/roles", token=token, json={"role_id": custom["id"]})
    assert again.status_code == 200  # idempotent
    assert factory.user_role_names(target["id"]) == {"user", custom["name"]}

    removed = api.delete(f"{ADMIN}/users/{target['id']}/roles/{custom['id']}", token=token)
    assert removed.status_code == 204
    assert factory.user_role_names(target["id"]) == {"user"}
    assert api.delete(f"{ADMIN}/users/{target['id']}/roles/{custom['id']}", token=token).status_code == 404


def test_deleting_a_role_removes_its_grants_and_assignments(api, admin, factory):
    role = factory.role(permissions=("read_orders", "read_customers"))
    holder = factory.user(roles=("user", role["name"]))
    assert factory.role_permission_names(role["id"]) == {"read_orders", "read_customers"}

    assert api.delete(f"{ADMIN}/roles/{role['id']}", token=admin["token"]).status_code == 204

    assert factory.role_permission_names(role["id"]) == set()
    assert factory.user_role_names(holder["id"]) == {"user"}
    assert api.get(f"{ADMIN}/users/{holder['id']}/roles", token=admin["token"]).json() == {"data": {"roles": ["user"]}}


def test_deleting_a_permission_removes_its_grants(api, admin, factory):
    permission = factory.permission()
    role = factory.role(permissions=(permission["name"],))
    assert api.delete(f"{ADMIN}/permissions/{permission['id']}", token=admin["token"]).status_code == 204
    assert factory.role_permission_names(role["id"]) == set()
    assert permission["name"] not in factory.role_permission_names(factory.role_id("admin"))


def test_a_new_permission_is_granted_to_the_admin_role(api, admin, factory):
    name = unique("perm_")
    body = {"name": name, "resource": "inventory", "action": "read"}
    created = api.post(f"{ADMIN}/permissions", token=admin["token"], json=body)
    assert created.status_code == 201
    assert created.json()["data"]["permission"]["description"] == ""
    assert name in factory.role_permission_names(factory.role_id("admin"))


# --- 404 ---------------------------------------------------------------------------------------------------

UNKNOWN_ROLE = "role_00000000000000000000000000"
UNKNOWN_PERMISSION = "perm_00000000000000000000000000"
UNKNOWN_USER = "usr_00000000000000000000000000"


def _not_found_requests(f: Factory) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    role = f.role()
    user = f.user()
    held = f.permission()
    return [
        ("GET", f"/roles/{UNKNOWN_ROLE}", None, "Role not found"),
        ("PUT", f"/roles/{UNKNOWN_ROLE}", {"name": unique("role_")}, "Role not found"),
        ("DELETE", f"/roles/{UNKNOWN_ROLE}", None, "Role not found"),
        ("GET", f"/roles/{UNKNOWN_ROLE}/permissions", None, "Role not found"),
        ("POST", f"/roles/{UNKNOWN_ROLE}/permissions", {"permission_id": held["id"]}, "Role not found"),
        ("POST", f"/roles/{role['id']}/permissions", {"permission_id": UNKNOWN_PERMISSION}, "Permission not found"),
        ("DELETE", f"/roles/{UNKNOWN_ROLE}/permissions/{held['id']}", None, "Role not found"),
        ("DELETE", f"/roles/{role['id']}/permissions/{UNKNOWN_PERMISSION}", None, "Permission not found"),
        ("GET", f"/permissions/{UNKNOWN_PERMISSION}", None, "Permission not found"),
        ("PUT", f"/permissions/{UNKNOWN_PERMISSION}", {"description": "x"}, "Permission not found"),
        ("DELETE", f"/permissions/{UNKNOWN_PERMISSION}", None, "Permission not found"),
        ("GET", f"/users/{UNKNOWN_USER}/roles", None, "User not found"),
        ("POST", f"/users/{UNKNOWN_USER}/roles", {"role_name": "user"}, "User not found"),
        ("POST", f"/users/{user['id']}/roles", {"role_name": unique("no_such_role_")}, "Role not found"),
        ("POST", f"/users/{user['id']}/roles", {"role_id": UNKNOWN_ROLE}, "Role not found"),
        ("DELETE", f"/users/{UNKNOWN_USER}/roles/{role['id']}", None, "User not found"),
        ("DELETE", f"/users/{user['id']}/roles/{UNKNOWN_ROLE}", None, "Role not found"),
        ("GET", f"/roles/{'x' * 5000}", None, "Role not found"),
        ("DELETE", "/roles/%27%20OR%201%3D1--", None, "Role not found"),
    ]


def test_unknown_ids_are_404_on_every_route_that_takes_one(api, admin, factory):
    for method, path, body, message in _not_found_requests(factory):
        response = api.request(method, ADMIN + path, token=admin["token"], json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"error": {"code": "not_found", "message": message}}, (method, path)


# --- 409 ---------------------------------------------------------------------------------------------------


def test_duplicate_names_are_409(api, admin, factory):
    token = admin["token"]
    role = factory.role()
    other = factory.role()
    permission = factory.permission()
    other_permission = factory.permission()
    cases = [
        ("POST", "/roles", {"name": role["name"]}),
        ("POST", "/roles", {"name": "admin"}),
        ("PUT", f"/roles/{other['id']}", {"name": role["name"]}),
        ("POST", "/permissions", {"name": permission["name"], "resource": "x", "action": "y"}),
        ("POST", "/permissions", {"name": "manage_products", "resource": "products", "action": "manage"}),
        ("PUT", f"/permissions/{other_permission['id']}", {"name": permission["name"]}),
        # Built-in names are reserved: a custom role or permission can never take one.
        ("PUT", f"/roles/{other['id']}", {"name": "manager"}),
        ("PUT", f"/permissions/{other_permission['id']}", {"name": "read_orders"}),
    ]
    for method, path, body in cases:
        response = api.request(method, ADMIN + path, token=token, json=body)
        assert response.status_code == 409, (method, path, response.text)
        assert response.json()["error"]["code"] == "conflict"
        assert "already exists" in response.json()["error"]["message"]
    assert api.get(f"{ADMIN}/roles/{other['id']}", token=token).json()["data"]["role"]["name"] == other["name"]


# --- 400 ---------------------------------------------------------------------------------------------------

BAD_ROLE_BODIES = [
    {},
    {"name": ""},
    {"name": None},
    {"name": 123},
    {"name": ["admin"]},
    {"name": "Inventory Manager"},
    {"name": "1st_role"},
    {"name": "has-dash"},
    {"name": "UPPER"},
    {"name": "a" * 65},
    {"name": "a" * 100_000},
    {"name": "valid_name", "description": "d" * 501},
    {"name": "valid_name", "description": 5},
    # Look-alikes of real names: a regex `$` lets a trailing newline through; names are ASCII and
    # never trimmed.
    {"name": "admin\n"},
    {"name": "admin\r\n"},
    {"name": "admin\r"},
    {"name": "\nadmin"},
    {"name": " admin"},
    {"name": "admin "},
    {"name": "ad min"},
    {"name": "admin\t"},
    {"name": "\u0430dmin"},  # Cyrillic a
    {"name": "\uff41dmin"},  # fullwidth a
    {"name": "admin\u200b"},  # zero-width space
    {"name": "admın"},  # dotless i
    {"name": "\u212aelvin"},  # Kelvin sign, lower-cases to k
]


@pytest.mark.parametrize("body", BAD_ROLE_BODIES, ids=range(len(BAD_ROLE_BODIES)))
def test_invalid_role_bodies_are_400(api, admin, body):
    response = api.post(f"{ADMIN}/roles", token=admin["token"], json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


def test_role_names_at_the_limits_are_accepted(api, admin):
    name = (unique("r") + "_" + "a" * 64)[:64]
    assert len(name) == 64
    response = api.post(f"{ADMIN}/roles", token=admin["token"], json={"name": name, "description": "d" * 500})
    assert response.status_code == 201, response.text


def test_invalid_bodies_elsewhere_are_400(api, admin, factory):
    token = admin["token"]
    role = factory.role()
    user = factory.user()
    permission = factory.permission()
    cases: list[tuple[str, str, Any]] = [
        ("PUT", f"/roles/{role['id']}", {"name": "admin\n"}),
        ("PUT", f"/roles/{role['id']}", {"name": "manager\r\n"}),
        ("POST", "/permissions", {"name": "manage_products\n", "resource": "products", "action": "manage"}),
        ("POST", "/permissions", {"name": unique("perm_"), "resource": "r\n", "action": "manage"}),
        ("POST", "/permissions", {"name": unique("perm_"), "resource": "r", "action": "r\n"}),
        ("POST", "/permissions", {"name": unique("perm_"), "resource": " r", "action": "\u0430"}),
        ("PUT", f"/permissions/{permission['id']}", {"name": "read_orders\n"}),
        ("PUT", f"/permissions/{permission['id']}", {"resource": "tests\n"}),
        ("PUT", f"/permissions/{permission['id']}", {"action": "manage\n"}),
        ("PUT", f"/roles/{role['id']}", {}),
        ("PUT", f"/roles/{role['id']}", {"name": "Bad Name"}),
        ("PUT", f"/roles/{role['id']}", {"name": None}),
        ("POST", f"/roles/{role['id']}/permissions", {}),
        ("POST", f"/roles/{role['id']}/permissions", {"permission_id": ["x"]}),
        ("POST", "/permissions", {"name": unique("perm_"), "resource": "inventory"}),
        ("POST", "/permissions", {"name": unique("perm_"), "resource": "Inventory", "action": "manage"}),
        ("POST", "/permissions", {"name": unique("perm_"), "resource": "inventory", "action": ""}),
        ("PUT", f"/permissions/{permission['id']}", {}),
        ("PUT", f"/permissions/{permission['id']}", {"action": "x" * 65}),
        ("POST", f"/users/{user['id']}/roles", {}),
        ("POST", f"/users/{user['id']}/roles", {"role_id": "", "role_name": ""}),
        ("POST", f"/users/{user['id']}/roles", {"role_id": factory.role_id("user"), "role_name": "user"}),
        ("POST", f"/users/{user['id']}/roles", {"role_name": 7.5}),
    ]
    for method, path, body in cases:
        response = api.request(method, ADMIN + path, token=token, json=body)
        assert response.status_code == 400, (method, path, body, response.text)
        assert response.json()["error"]["code"] == "bad_request"


def test_assign_without_a_role_says_which_fields_are_required(api, admin, factory):
    user = factory.user()
    response = api.post(f"{ADMIN}/users/{user['id']}/roles", token=admin["token"], json={})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "either role_id or role_name is required"


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"name"', b"null"])
def test_bodies_that_are_not_json_objects_are_400(api, admin, raw):
    response = api.post(f"{ADMIN}/roles", token=admin["token"], content=raw,
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


# --- escalation ----------------------------------------------------------------------------------------------
# customer_experience holds read_roles, manage_roles and manage_users like manager: the gate lets it
# through on every route, and the no-escalation rules (not the gate) keep it within what it holds.


@pytest.fixture
def cx(factory):
    return factory.user(roles=("customer_experience",))


@pytest.fixture
def manager(factory):
    return factory.user(roles=("manager",))


def _permission_id(api, token: str, name: str) -> str:
    listed = api.get(f"{ADMIN}/permissions", token=token).json()["data"]["permissions"]
    return next(p["id"] for p in listed if p["name"] == name)


def _assert_refused(response, *mentioning: str) -> None:
    """403 forbidden "Insufficient permissions: <reason>" — an escalation refusal, not the gate's
    bare "Insufficient permissions" (which would mean the caller never got past the guards)."""
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert error["message"].startswith("Insufficient permissions: "), error["message"]
    for word in mentioning:
        assert word in error["message"], error["message"]


CX_HOLDS = ("read_orders", "read_customers", "read_roles", "manage_roles", "manage_users")


def test_customer_experience_administers_roles_within_its_scope(api, factory, cx):
    token = cx["token"]
    created = api.post(f"{ADMIN}/roles", token=token, json={"name": unique("support_lead_"), "description": "Leads"})
    assert created.status_code == 201, created.text
    role = created.json()["data"]["role"]
    renamed = unique("support_lead_")
    updated = api.put(f"{ADMIN}/roles/{role['id']}", token=token, json={"name": renamed, "description": "Lead"})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"data": {"role": {"id": role["id"], "name": renamed, "description": "Lead"}}}
    for name in CX_HOLDS:
        granted = api.post(f"{ADMIN}/roles/{role['id']}/permissions", token=token,
                           json={"permission_id": _permission_id(api, token, name)})
        assert granted.status_code == 200, (name, granted.text)
    assert factory.role_permission_names(role["id"]) == set(CX_HOLDS)
    # A role holding everything it holds is still one it may describe, revoke from and assign.
    described = api.put(f"{ADMIN}/roles/{role['id']}", token=token, json={"description": "Support leads"})
    assert described.status_code == 200, described.text
    revoked = api.delete(f"{ADMIN}/roles/{role['id']}/permissions/{_permission_id(api, token, 'read_customers')}",
                         token=token)
    assert revoked.status_code == 204, revoked.text
    assert factory.role_permission_names(role["id"]) == set(CX_HOLDS) - {"read_customers"}

    target = factory.user()
    for body in ({"role_id": role["id"]}, {"role_name": "customer_experience"}):
        assigned = api.post(f"{ADMIN}/users/{target['id']}/roles", token=token, json=body)
        assert assigned.status_code == 200, (body, assigned.text)
    assert factory.user_role_names(target["id"]) == {"user", renamed, "customer_experience"}
    assert api.get(f"{ADMIN}/users/{target['id']}/roles", token=token).json() == {
        "data": {"roles": sorted(["user", renamed, "customer_experience"])}}
    for role_id in (role["id"], factory.role_id("customer_experience")):
        assert api.delete(f"{ADMIN}/users/{target['id']}/roles/{role_id}", token=token).status_code == 204
    assert factory.user_role_names(target["id"]) == {"user"}
    assert api.delete(f"{ADMIN}/roles/{role['id']}", token=token).status_code == 204
    assert api.get(f"{ADMIN}/roles/{role['id']}", token=token).status_code == 404


def test_customer_experience_manages_permissions_it_holds(api, factory):
    custom = factory.permission()
    holder = factory.role(permissions=(custom["name"],))
    support = factory.user(roles=("customer_experience", holder["name"]))
    token = support["token"]
    updated = api.put(f"{ADMIN}/permissions/{custom['id']}", token=token, json={"description": "Counts stock"})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"data": {"permission": rest_permission(custom, description="Counts stock")}}
    created = api.post(f"{ADMIN}/permissions", token=token,
                       json={"name": unique("perm_"), "resource": "tickets", "action": "read"})
    assert created.status_code == 201, created.text
    assert api.delete(f"{ADMIN}/permissions/{custom['id']}", token=token).status_code == 204
    assert api.get(f"{ADMIN}/permissions/{custom['id']}", token=token).status_code == 404


@pytest.mark.parametrize("how", [{"role_name": "admin"}, "role_id", {"role_name": "manager"}])
def test_customer_experience_cannot_make_itself_more_than_it_holds(api, factory, cx, how):
    body = how if isinstance(how, dict) else {"role_id": factory.role_id("admin")}
    _assert_refused(api.post(f"{ADMIN}/users/{cx['id']}/roles", token=cx["token"], json=body),
                    "assigning", "manage_products")
    assert factory.user_role_names(cx["id"]) == {"customer_experience"}


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_customer_experience_cannot_assign_a_bigger_role_to_anyone(api, factory, cx, role):
    target = factory.user()
    _assert_refused(api.post(f"{ADMIN}/users/{target['id']}/roles", token=cx["token"], json={"role_name": role}),
                    "manage_products")
    bigger = factory.role(permissions=("read_orders", "manage_orders"))
    _assert_refused(api.post(f"{ADMIN}/users/{target['id']}/roles", token=cx["token"],
                             json={"role_id": bigger["id"]}), "manage_orders")
    assert factory.user_role_names(target["id"]) == {"user"}


@pytest.mark.parametrize("permission", ["manage_products", "manage_customers", "manage_orders", "custom"])
def test_customer_experience_cannot_grant_what_it_lacks(api, factory, cx, permission):
    token = cx["token"]
    permission_id = factory.permission()["id"] if permission == "custom" else _permission_id(api, token, permission)
    for role_id in (factory.role_id("customer_experience"), factory.role()["id"]):
        before = factory.role_permission_names(role_id)
        response = api.post(f"{ADMIN}/roles/{role_id}/permissions", token=token, json={"permission_id": permission_id})
        _assert_refused(response, "granting")
        assert factory.role_permission_names(role_id) == before


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_customer_experience_cannot_edit_or_delete_bigger_roles(api, factory, cx, admin, role):
    role_id = factory.role_id(role)
    before = api.get(f"{ADMIN}/roles/{role_id}", token=admin["token"]).json()
    _assert_refused(api.put(f"{ADMIN}/roles/{role_id}", token=cx["token"], json={"description": "pwned"}),
                    "editing", "manage_products")
    _assert_refused(api.delete(f"{ADMIN}/roles/{role_id}", token=cx["token"]), "deleting", "manage_products")
    assert api.get(f"{ADMIN}/roles/{role_id}", token=admin["token"]).json() == before


def test_customer_experience_cannot_revoke_from_or_grant_to_roles_bigger_than_itself(api, factory, cx):
    manager_role = factory.role_id("manager")
    read_orders = _permission_id(api, cx["token"], "read_orders")
    _assert_refused(api.delete(f"{ADMIN}/roles/{manager_role}/permissions/{read_orders}", token=cx["token"]),
                    "manage_products")
    assert "read_orders" in factory.role_permission_names(manager_role)
    bigger = factory.role(permissions=("manage_products",))
    _assert_refused(api.post(f"{ADMIN}/roles/{bigger['id']}/permissions", token=cx["token"],
                             json={"permission_id": read_orders}), "manage_products")
    assert factory.role_permission_names(bigger["id"]) == {"manage_products"}


def test_customer_experience_cannot_change_permissions_it_lacks_nor_built_in_ones(api, factory, cx):
    custom = factory.permission()  # held by admin only
    _assert_refused(api.delete(f"{ADMIN}/permissions/{custom['id']}", token=cx["token"]), custom["name"])
    _assert_refused(api.put(f"{ADMIN}/permissions/{custom['id']}", token=cx["token"],
                            json={"description": "mine now"}), custom["name"])
    assert api.get(f"{ADMIN}/permissions/{custom['id']}", token=cx["token"]).json() == {
        "data": {"permission": rest_permission(custom)}}
    # Built-in permissions stay as shipped, even those it holds.
    read_orders = _permission_id(api, cx["token"], "read_orders")
    _assert_refused(api.put(f"{ADMIN}/permissions/{read_orders}", token=cx["token"],
                            json={"description": "Anything"}), "built-in")
    _assert_refused(api.delete(f"{ADMIN}/permissions/{read_orders}", token=cx["token"]), "built-in")


def test_customer_experience_cannot_take_bigger_roles_away(api, factory, cx):
    other_admin = factory.user(roles=("admin",))
    _assert_refused(api.delete(f"{ADMIN}/users/{other_admin['id']}/roles/{factory.role_id('admin')}",
                               token=cx["token"]), "removing")
    assert "admin" in factory.user_role_names(other_admin["id"])
    other_manager = factory.user(roles=("manager",))
    _assert_refused(api.delete(f"{ADMIN}/users/{other_manager['id']}/roles/{factory.role_id('manager')}",
                               token=cx["token"]), "removing", "manage_products")
    assert factory.user_role_names(other_manager["id"]) == {"manager"}


def test_customer_experience_cannot_rename_or_delete_its_own_built_in_role(api, factory, cx):
    cx_role = factory.role_id("customer_experience")
    _assert_refused(api.put(f"{ADMIN}/roles/{cx_role}", token=cx["token"], json={"name": unique("r_")}), "built-in")
    _assert_refused(api.delete(f"{ADMIN}/roles/{cx_role}", token=cx["token"]), "built-in")
    assert factory.role_id("customer_experience") == cx_role


def test_manager_cannot_make_itself_admin_or_grow_its_role(api, factory, manager):
    token = manager["token"]
    _assert_refused(api.post(f"{ADMIN}/users/{manager['id']}/roles", token=token, json={"role_name": "admin"}),
                    "manage_customers")
    manager_role = factory.role_id("manager")
    before = factory.role_permission_names(manager_role)
    _assert_refused(api.post(f"{ADMIN}/roles/{manager_role}/permissions", token=token,
                             json={"permission_id": _permission_id(api, token, "manage_customers")}),
                    "manage_customers")
    assert factory.role_permission_names(manager_role) == before
    assert factory.user_role_names(manager["id"]) == {"manager"}


def test_manager_cannot_edit_the_admin_role_nor_permissions_it_lacks(api, factory, manager):
    token = manager["token"]
    admin_role = factory.role_id("admin")
    _assert_refused(api.put(f"{ADMIN}/roles/{admin_role}", token=token, json={"name": "admin"}), "manage_customers")
    _assert_refused(api.delete(f"{ADMIN}/roles/{admin_role}", token=token))
    custom = factory.permission()
    _assert_refused(api.delete(f"{ADMIN}/permissions/{custom['id']}", token=token), custom["name"])
    _assert_refused(api.put(f"{ADMIN}/permissions/{custom['id']}", token=token, json={"description": "x"}))
    manage_customers = _permission_id(api, token, "manage_customers")
    _assert_refused(api.delete(f"{ADMIN}/roles/{admin_role}/permissions/{manage_customers}", token=token))


def test_manager_may_assign_roles_within_its_own(api, factory, manager):
    target = factory.user()
    for role in ("customer_experience", "manager"):
        response = api.post(f"{ADMIN}/users/{target['id']}/roles", token=manager["token"], json={"role_name": role})
        assert response.status_code == 200, response.text
    _assert_refused(api.post(f"{ADMIN}/users/{target['id']}/roles", token=manager["token"],
                             json={"role_name": "admin"}))
    assert factory.user_role_names(target["id"]) == {"user", "customer_experience", "manager"}


@pytest.mark.parametrize("creator", ["manager", "customer_experience"])
def test_a_permission_you_create_is_out_of_your_reach_until_granted_to_you(api, factory, creator):
    # A new permission is held only by admin: its creator cannot grant, edit or delete it.
    staff = factory.user(roles=(creator,))
    created = api.post(f"{ADMIN}/permissions", token=staff["token"],
                       json={"name": unique("perm_"), "resource": "x", "action": "y"})
    assert created.status_code == 201
    permission_id = created.json()["data"]["permission"]["id"]
    role = factory.role()
    _assert_refused(api.post(f"{ADMIN}/roles/{role['id']}/permissions", token=staff["token"],
                             json={"permission_id": permission_id}))
    _assert_refused(api.put(f"{ADMIN}/permissions/{permission_id}", token=staff["token"], json={"description": "x"}))
    _assert_refused(api.delete(f"{ADMIN}/permissions/{permission_id}", token=staff["token"]))


# --- the permission behind the gate is still enforced --------------------------------------------------------


@pytest.fixture
def own_server(fresh_database_url):
    """A server and factory on a database of the test's own: its built-in roles can be changed."""
    factory = Factory(fresh_database_url)
    with ServerProcess(fresh_database_url) as server:
        client = Api(server.base_url)
        try:
            yield client, factory
        finally:
            client.close()
            factory.close()


def _assert_answer(response, case: Case, route: str) -> None:
    assert response.status_code == case.status, (route, response.text)
    if case.expected is None:
        assert response.content == b"", route
    elif callable(case.expected):
        case.expected(response.json())
    else:
        assert response.json() == case.expected, route


def test_staff_without_the_routes_permission_is_refused(own_server):
    """An admin revokes manage_roles, then manage_users, from customer_experience: its holders keep
    the staff role (the gate lets them in) but get the gate's 403 on the routes needing what was
    revoked — whatever the body — and keep every other route."""
    api, factory = own_server
    admin = factory.user(roles=("admin",))
    cx_role = factory.role_id("customer_experience")
    held = factory.permission()
    support = factory.user(roles=("customer_experience", factory.role(permissions=(held["name"],))["name"]))
    support_roles = factory.user_role_names(support["id"])
    revoked: set[str] = set()
    for permission in (ROLE_WRITES, USER_WRITES):
        response = api.delete(f"{ADMIN}/roles/{cx_role}/permissions/{factory.permission_id(permission)}",
                              token=admin["token"])
        assert response.status_code == 204, response.text
        revoked.add(permission)
        for route, (build, needed) in ROUTES.items():
            case = build(factory, held)
            response = api.request(case.method, case.path, token=support["token"], json=case.body)
            if needed in revoked:
                assert response.status_code == 403, (permission, route, response.text)
                assert response.json() == FORBIDDEN, (permission, route)
            else:
                _assert_answer(response, case, route)
    for route, target in BODY_ROUTES.items():
        method, path = target(factory)
        response = api.request(method, path, token=support["token"], content=b"not json",
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 403, (route, response.text)
        assert response.json() == FORBIDDEN
    # Nothing it tried was written.
    assert factory.role_permission_names(cx_role) == {"read_orders", "read_customers", "read_roles"}
    assert factory.user_role_names(support["id"]) == support_roles
    assert api.get(f"{ADMIN}/permissions/{held['id']}", token=admin["token"]).json() == {
        "data": {"permission": rest_permission(held)}}


# The `user` role: every account holds it, so granting to it grants to the public.


@pytest.mark.parametrize("granter", STAFF)
@pytest.mark.parametrize("permission", ["manage_products", "read_orders", "custom"])
def test_nobody_grants_anything_to_the_role_every_account_holds(api, factory, granter, permission):
    staff = factory.user(roles=(granter,))
    permission_id = factory.permission()["id"] if permission == "custom" else factory.permission_id(permission)
    user_role = factory.role_id("user")
    response = api.post(f"{ADMIN}/roles/{user_role}/permissions", token=staff["token"],
                        json={"permission_id": permission_id})
    _assert_refused(response, "'user'", "every account")
    assert factory.role_permission_names(user_role) == set()


def test_a_fresh_account_cannot_manage_products_whatever_staff_tried(api, factory, manager):
    api.post(f"{ADMIN}/roles/{factory.role_id('user')}/permissions", token=manager["token"],
             json={"permission_id": factory.permission_id("manage_products")})
    registered = api.post("/api/v1/auth/register", json={
        "email": f"{unique('fresh')}@example.com", "password": "correct horse battery staple",
        "first_name": "Fresh", "last_name": "Account"})
    assert registered.status_code == 201, registered.text
    token = registered.json()["data"]["access_token"]
    body = api.graphql(
        "mutation($input: ProductCreateInput!) { productCreate(input: $input) { product { id } } }",
        {"input": {"sku": unique("SKU-"), "name": "Free", "basePrice": {"amount": 1}}}, token=token)
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    assert api.get("/api/v1/auth/profile", token=token).json()["data"]["roles"] == ["user"]


# Built-in roles and permissions.


def test_admin_role_keeps_every_permission_and_its_name(api, factory, admin):
    token = admin["token"]
    admin_role = factory.role_id("admin")
    manage_roles = _permission_id(api, token, "manage_roles")
    _assert_refused(api.delete(f"{ADMIN}/roles/{admin_role}/permissions/{manage_roles}", token=token))
    _assert_refused(api.delete(f"{ADMIN}/roles/{admin_role}", token=token))
    _assert_refused(api.put(f"{ADMIN}/roles/{admin_role}", token=token, json={"name": unique("boss_")}))
    assert "manage_roles" in factory.role_permission_names(admin_role)
    described = api.put(f"{ADMIN}/roles/{admin_role}", token=token, json={"description": "Full system access"})
    assert described.status_code == 200


@pytest.mark.parametrize("role", ["user", "manager", "customer_experience"])
def test_built_in_roles_cannot_be_deleted_or_renamed(api, factory, admin, role):
    role_id = factory.role_id(role)
    _assert_refused(api.delete(f"{ADMIN}/roles/{role_id}", token=admin["token"]))
    _assert_refused(api.put(f"{ADMIN}/roles/{role_id}", token=admin["token"], json={"name": unique("r_")}))
    assert factory.role_id(role) == role_id


@pytest.mark.parametrize("change", [
    {"name": "manage_everything"},
    {"resource": "orders"},
    {"action": "read"},
    {"description": "Harmless: view your own products"},
    {"name": "manage_products", "resource": "products", "action": "manage", "description": "Changed"},
])
def test_built_in_permissions_cannot_be_changed_even_by_admin(api, admin, change):
    token = admin["token"]
    manage_products = _permission_id(api, token, "manage_products")
    before = api.get(f"{ADMIN}/permissions/{manage_products}", token=token).json()
    _assert_refused(api.put(f"{ADMIN}/permissions/{manage_products}", token=token, json=change), "built-in")
    assert api.get(f"{ADMIN}/permissions/{manage_products}", token=token).json() == before
    assert before["data"]["permission"] == {
        "id": manage_products, "name": "manage_products", "resource": "products", "action": "manage",
        "description": "Full access to products and their variants"}


def test_restating_a_built_in_permission_changes_nothing_and_succeeds(api, admin):
    token = admin["token"]
    manage_products = _permission_id(api, token, "manage_products")
    current = api.get(f"{ADMIN}/permissions/{manage_products}", token=token).json()["data"]["permission"]
    body = {key: current[key] for key in ("name", "resource", "action", "description")}
    response = api.put(f"{ADMIN}/permissions/{manage_products}", token=token, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"permission": current}}


def test_built_in_permissions_cannot_be_deleted(api, admin):
    token = admin["token"]
    manage_products = _permission_id(api, token, "manage_products")
    _assert_refused(api.delete(f"{ADMIN}/permissions/{manage_products}", token=token), "built-in")
    assert api.get(f"{ADMIN}/permissions/{manage_products}", token=token).status_code == 200


def test_custom_permissions_can_change_everything(api, admin, factory):
    custom = factory.permission()
    body = {"name": unique("perm_"), "resource": "stock", "action": "count", "description": "Counts stock"}
    response = api.put(f"{ADMIN}/permissions/{custom['id']}", token=admin["token"], json=body)
    assert response.json() == {"data": {"permission": {"id": custom["id"], **body}}}


def test_a_caller_whose_role_was_taken_away_is_refused_at_once(api, factory):
    staff = factory.user(roles=("manager",))
    admin = factory.user(roles=("admin",))
    assert api.delete(f"{ADMIN}/users/{staff['id']}/roles/{factory.role_id('manager')}",
                      token=admin["token"]).status_code == 204
    response = api.get(f"{ADMIN}/roles", token=staff["token"])
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
