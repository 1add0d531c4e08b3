"""GraphQL role administration: queries, payload errors (OUT_OF_SCOPE_PERMISSION, NOT_FOUND,
ALREADY_EXISTS, INVALID), the role gate, the last admin, and account administration."""

from __future__ import annotations

import concurrent.futures

import pytest
from sqlalchemy import delete

from db.models import UserRole

from tests.factories import Factory, unique
from tests.support.api import Api, error_codes
from tests.support.server import ServerProcess

ROLE_FIELDS = "id name description permissions { id name resource action description }"
ERRORS = "errors { field message code }"

ROLES = f"query {{ roles {{ {ROLE_FIELDS} }} }}"
ROLE = f"query($id: ID!) {{ role(id: $id) {{ {ROLE_FIELDS} }} }}"
PERMISSIONS = "query { permissions { id name resource action description } }"
USER_ROLES = "query($userId: ID!) { userRoles(userId: $userId) { id name description } }"
USER_ACCESS = "query($userId: ID!) { userAccess(userId: $userId) { userId roleNames permissions roles { name } " \
              "user { id email } } }"
ROLE_CREATE = f"mutation($input: RoleCreateInput!) {{ roleCreate(input: $input) {{ role {{ {ROLE_FIELDS} }} {ERRORS} }} }}"
ROLE_UPDATE = f"mutation($id: ID!, $input: RoleUpdateInput!) {{ roleUpdate(id: $id, input: $input) {{ role {{ id name description }} {ERRORS} }} }}"
ROLE_DELETE = f"mutation($id: ID!) {{ roleDelete(id: $id) {{ deletedId {ERRORS} }} }}"
GRANT = f"mutation($roleId: ID!, $permissionId: ID!) {{ rolePermissionGrant(roleId: $roleId, permissionId: $permissionId) {{ role {{ name permissions {{ name }} }} {ERRORS} }} }}"
REVOKE = f"mutation($roleId: ID!, $permissionId: ID!) {{ rolePermissionRevoke(roleId: $roleId, permissionId: $permissionId) {{ role {{ name permissions {{ name }} }} {ERRORS} }} }}"
PERMISSION_CREATE = f"mutation($input: PermissionCreateInput!) {{ permissionCreate(input: $input) {{ permission {{ id name resource action description }} {ERRORS} }} }}"
PERMISSION_UPDATE = f"mutation($id: ID!, $input: PermissionUpdateInput!) {{ permissionUpdate(id: $id, input: $input) {{ permission {{ id name description }} {ERRORS} }} }}"
PERMISSION_DELETE = f"mutation($id: ID!) {{ permissionDelete(id: $id) {{ deletedId {ERRORS} }} }}"
ASSIGN = f"mutation($userId: ID!, $roleId: ID, $roleName: String) {{ userRoleAssign(userId: $userId, roleId: $roleId, roleName: $roleName) {{ userAccess {{ roleNames }} {ERRORS} }} }}"
REMOVE = f"mutation($userId: ID!, $roleId: ID!) {{ userRoleRemove(userId: $userId, roleId: $roleId) {{ userAccess {{ roleNames }} {ERRORS} }} }}"
USERS = "query($search: String, $first: Int, $after: String) { users(search: $search, first: $first, after: $after) " \
        "{ totalCount nodes { id email active } pageInfo { hasNextPage endCursor } } }"
USER = "query($id: ID!) { user(id: $id) { id email active } }"
SET_ACTIVE = f"mutation($userId: ID!, $active: Boolean!) {{ userSetActive(userId: $userId, active: $active) {{ user {{ id active }} {ERRORS} }} }}"


@pytest.fixture
def admin(factory):
    return factory.user(roles=("admin",))


@pytest.fixture
def cx(factory):
    return factory.user(roles=("customer_experience",))


# --- queries ---------------------------------------------------------------------------------------------


def test_roles_come_with_their_permissions(api, admin):
    roles = {role["name"]: role for role in api.data(ROLES, token=admin["token"])["roles"]}
    assert {"admin", "manager", "customer_experience", "user"} <= set(roles)
    assert roles["user"]["permissions"] == []
    cx_permissions = {p["name"] for p in roles["customer_experience"]["permissions"]}
    assert {"read_orders", "read_customers"} <= cx_permissions
    assert all(p["resource"] and p["action"] for p in roles["admin"]["permissions"])


def test_one_role_by_id_and_null_for_unknown(api, admin, factory):
    role = factory.role(permissions=("read_orders",))
    found = api.data(ROLE, {"id": role["id"]}, token=admin["token"])["role"]
    assert found["name"] == role["name"]
    assert [p["name"] for p in found["permissions"]] == ["read_orders"]
    assert api.data(ROLE, {"id": "role_nope"}, token=admin["token"])["role"] is None


def test_user_roles_are_role_objects(api, cx, factory):
    target = factory.user(roles=("user", "manager"))
    roles = api.data(USER_ROLES, {"userId": target["id"]}, token=cx["token"])["userRoles"]
    assert [role["name"] for role in roles] == ["manager", "user"]
    assert all(role["id"].startswith("role_") for role in roles)
    unknown = api.graphql(USER_ROLES, {"userId": "usr_nope"}, token=cx["token"])
    assert error_codes(unknown) == ["NOT_FOUND"]


def test_user_access_adds_up_permissions(api, cx, factory):
    target = factory.user(roles=("customer_experience",))
    access = api.data(USER_ACCESS, {"userId": target["id"]}, token=cx["token"])["userAccess"]
    assert access["roleNames"] == ["customer_experience"]
    assert {"read_orders", "read_customers"} <= set(access["permissions"])
    assert access["user"]["email"] == target["email"]
    assert api.data(USER_ACCESS, {"userId": "usr_nope"}, token=cx["token"])["userAccess"] is None


@pytest.mark.parametrize("query", [ROLES, PERMISSIONS])
def test_the_role_gate_guards_queries(api, factory, query):
    assert error_codes(api.graphql(query)) == ["UNAUTHENTICATED"]
    user = factory.user()
    body = api.graphql(query, token=user["token"])
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


def test_the_role_gate_guards_mutations(api, factory):
    user = factory.user()
    name = unique("role_")
    body = api.graphql(ROLE_CREATE, {"input": {"name": name}}, token=user["token"])
    assert error_codes(body) == ["FORBIDDEN"]
    assert error_codes(api.graphql(ROLE_CREATE, {"input": {"name": name}})) == ["UNAUTHENTICATED"]
    admin = factory.user(roles=("admin",))
    assert name not in [role["name"] for role in api.data(ROLES, token=admin["token"])["roles"]]


def test_roles_are_nodes_for_staff_only(api, factory, cx):
    role = factory.role()
    query = "query($id: ID!) { node(id: $id) { id ... on Role { name } } }"
    assert api.data(query, {"id": role["id"]}, token=cx["token"])["node"] == {"id": role["id"], "name": role["name"]}
    assert api.data(query, {"id": role["id"]}, token=factory.user()["token"])["node"] is None
    assert api.data(query, {"id": role["id"]})["node"] is None


# --- mutations and their payload errors ------------------------------------------------------------------------


def test_role_lifecycle(api, admin):
    token = admin["token"]
    name = unique("role_")
    created = api.data(ROLE_CREATE, {"input": {"name": name, "description": "Packs boxes"}}, token=token)["roleCreate"]
    assert created["errors"] == []
    role = created["role"]
    assert (role["name"], role["description"], role["permissions"]) == (name, "Packs boxes", [])

    duplicate = api.data(ROLE_CREATE, {"input": {"name": name}}, token=token)["roleCreate"]
    assert duplicate["role"] is None
    assert duplicate["errors"] == [{"field": ["input", "name"], "code": "ALREADY_EXISTS",
                                    "message": f"A role named '{name}' already exists"}]

    invalid = api.data(ROLE_UPDATE, {"id": role["id"], "input": {"name": "Not Valid"}}, token=token)["roleUpdate"]
    assert [e["code"] for e in invalid["errors"]] == ["INVALID"]
    assert invalid["errors"][0]["field"] == ["input", "name"]

    deleted = api.data(ROLE_DELETE, {"id": role["id"]}, token=token)["roleDelete"]
    assert deleted == {"deletedId": role["id"], "errors": []}
    again = api.data(ROLE_DELETE, {"id": role["id"]}, token=token)["roleDelete"]
    assert again["deletedId"] is None
    assert again["errors"][0]["code"] == "NOT_FOUND"


def test_grant_and_revoke_return_the_role(api, admin, factory):
    token = admin["token"]
    role = factory.role()
    permission_id = factory.permission_id("read_orders")
    granted = api.data(GRANT, {"roleId": role["id"], "permissionId": permission_id}, token=token)
    assert granted["rolePermissionGrant"]["role"]["permissions"] == [{"name": "read_orders"}]
    revoked = api.data(REVOKE, {"roleId": role["id"], "permissionId": permission_id}, token=token)
    assert revoked["rolePermissionRevoke"]["role"]["permissions"] == []
    missing = api.data(GRANT, {"roleId": role["id"], "permissionId": "perm_nope"}, token=token)
    assert missing["rolePermissionGrant"]["errors"][0] == {
        "field": ["permissionId"], "code": "NOT_FOUND", "message": "Permission not found"}


def test_permission_lifecycle(api, admin, factory):
    token = admin["token"]
    name = unique("manage_inventory_")
    created = api.data(PERMISSION_CREATE, {"input": {"name": name, "resource": "inventory", "action": "manage"}},
                       token=token)["permissionCreate"]
    permission = created["permission"]
    assert permission["name"] == name and permission["description"] == ""
    assert name in factory.role_permission_names(factory.role_id("admin"))

    updated = api.data(PERMISSION_UPDATE, {"id": permission["id"], "input": {"description": "Stock levels"}},
                       token=token)["permissionUpdate"]
    assert updated["permission"] == {"id": permission["id"], "name": name, "description": "Stock levels"}
    nothing = api.data(PERMISSION_UPDATE, {"id": permission["id"], "input": {}}, token=token)["permissionUpdate"]
    assert nothing["errors"][0]["code"] == "INVALID"

    deleted = api.data(PERMISSION_DELETE, {"id": permission["id"]}, token=token)["permissionDelete"]
    assert deleted == {"deletedId": permission["id"], "errors": []}


def test_assign_and_remove_return_the_users_roles(api, admin, factory):
    token = admin["token"]
    target = factory.user(roles=())
    assigned = api.data(ASSIGN, {"userId": target["id"], "roleName": "customer_experience"}, token=token)
    assert assigned["userRoleAssign"] == {"userAccess": {"roleNames": ["customer_experience"]}, "errors": []}
    removed = api.data(REMOVE, {"userId": target["id"], "roleId": factory.role_id("customer_experience")},
                       token=token)
    assert removed["userRoleRemove"] == {"userAccess": {"roleNames": []}, "errors": []}
    neither = api.data(ASSIGN, {"userId": target["id"]}, token=token)["userRoleAssign"]
    assert neither["errors"] == [{"field": ["roleId"], "code": "INVALID",
                                  "message": "either role_id or role_name is required"}]


def test_escalation_is_out_of_scope_permission(api, factory, cx):
    token = cx["token"]
    attempts = [
        ("userRoleAssign", ASSIGN, {"userId": cx["id"], "roleName": "admin"}),
        ("userRoleAssign", ASSIGN, {"userId": cx["id"], "roleId": factory.role_id("manager")}),
        ("rolePermissionGrant", GRANT, {"roleId": factory.role_id("customer_experience"),
                                        "permissionId": factory.permission_id("manage_roles")}),
        ("roleUpdate", ROLE_UPDATE, {"id": factory.role_id("admin"), "input": {"description": "mine"}}),
        ("roleDelete", ROLE_DELETE, {"id": factory.role_id("admin")}),
        ("permissionDelete", PERMISSION_DELETE, {"id": factory.permission_id("manage_users")}),
        ("permissionUpdate", PERMISSION_UPDATE, {"id": factory.permission_id("manage_users"),
                                                 "input": {"description": "mine"}}),
        ("rolePermissionRevoke", REVOKE, {"roleId": factory.role_id("manager"),
                                          "permissionId": factory.permission_id("read_orders")}),
        ("userRoleRemove", REMOVE, {"userId": factory.user(roles=("admin",))["id"],
                                    "roleId": factory.role_id("admin")}),
    ]
    for field, mutation, variables in attempts:
        data = api.data(mutation, variables, token=token)
        errors = data[field]["errors"]
        assert [e["code"] for e in errors] == ["OUT_OF_SCOPE_PERMISSION"], (field, variables, errors)
        assert errors[0]["message"].startswith("Insufficient permissions: ")
    assert factory.user_role_names(cx["id"]) == {"customer_experience"}
    assert "manage_roles" not in factory.role_permission_names(factory.role_id("customer_experience"))


# --- the last admin ----------------------------------------------------------------------------------------------


@pytest.fixture
def own_server(fresh_database_url):
    """A server and factory on an empty database: admins can be counted."""
    factory = Factory(fresh_database_url)
    with ServerProcess(fresh_database_url) as server:
        api = Api(server.base_url)
        try:
            yield api, factory
        finally:
            api.close()
            factory.close()


def test_nobody_removes_the_last_admin(own_server):
    api, factory = own_server
    admin_role = factory.role_id("admin")
    only = factory.user(roles=("admin",))

    refused = api.delete(f"/api/v1/admin/users/{only['id']}/roles/{admin_role}", token=only["token"])
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Insufficient permissions: at least one active admin must remain"
    deactivate = api.data(SET_ACTIVE, {"userId": only["id"], "active": False}, token=only["token"])["userSetActive"]
    assert [e["code"] for e in deactivate["errors"]] == ["OUT_OF_SCOPE_PERMISSION"]
    assert api.delete(f"/api/v1/admin/roles/{admin_role}", token=only["token"]).status_code == 403

    # An inactive admin does not count as one that remains.
    factory.user(roles=("admin",), active=False)
    assert api.delete(f"/api/v1/admin/users/{only['id']}/roles/{admin_role}", token=only["token"]).status_code == 403

    second = factory.user(roles=("admin",))
    assert api.delete(f"/api/v1/admin/users/{second['id']}/roles/{admin_role}", token=only["token"]).status_code == 204
    assert factory.user_role_names(second["id"]) == set()
    assert factory.user_role_names(only["id"]) == {"admin"}


def test_two_admins_removing_each_other_at_once_leave_one(fresh_database_url):
    """Without serialisation both removals can pass on PostgreSQL (each sees the other admin
    remain): measured 3 in 30 rounds. Every round here must keep an admin."""
    factory = Factory(fresh_database_url)
    try:
        with ServerProcess(fresh_database_url, workers=2) as server:
            admin_role = factory.role_id("admin")

            def remove(actor: dict, target: dict) -> int:
                client = Api(server.base_url)
                try:
                    return client.delete(f"/api/v1/admin/users/{target['id']}/roles/{admin_role}",
                                         token=actor["token"]).status_code
                finally:
                    client.close()

            for _ in range(20):
                factory.execute(delete(UserRole).where(UserRole.role_id == admin_role))
                first, second = factory.user(roles=("admin",)), factory.user(roles=("admin",))
                with concurrent.futures.ThreadPoolExecutor(2) as pool:
                    statuses = sorted(pool.map(lambda pair: remove(*pair), [(first, second), (second, first)]))
                assert statuses == [204, 403], statuses
                remaining = [u for u in (first, second) if "admin" in factory.user_role_names(u["id"])]
                assert len(remaining) == 1
    finally:
        factory.close()


# --- accounts ------------------------------------------------------------------------------------------------------


def test_users_are_listed_and_searched_by_admins(api, admin, factory):
    marker = unique("findme")
    target = factory.user(email=f"{marker}@example.com")
    found = api.data(USERS, {"search": marker.upper()}, token=admin["token"])["users"]
    assert found["totalCount"] == 1
    assert found["nodes"] == [{"id": target["id"], "email": target["email"], "active": True}]
    assert api.data(USERS, {"search": "%"}, token=admin["token"])["users"]["totalCount"] == 0
    assert api.data(USER, {"id": target["id"]}, token=admin["token"])["user"]["email"] == target["email"]
    assert api.data(USER, {"id": "usr_nope"}, token=admin["token"])["user"] is None


@pytest.mark.parametrize("role", ["manager", "customer_experience", "user"])
def test_account_administration_needs_manage_users(api, factory, role):
    caller = factory.user(roles=(role,))
    target = factory.user()
    assert error_codes(api.graphql(USERS, token=caller["token"])) == ["FORBIDDEN"]
    assert error_codes(api.graphql(USER, {"id": target["id"]}, token=caller["token"])) == ["FORBIDDEN"]
    body = api.graphql(SET_ACTIVE, {"userId": target["id"], "active": False}, token=caller["token"])
    assert error_codes(body) == ["FORBIDDEN"]
    assert error_codes(api.graphql(USERS)) == ["UNAUTHENTICATED"]


def test_a_deactivated_account_is_locked_out_at_once(api, admin, factory):
    target = factory.user()
    assert api.get("/api/v1/catalog/brands", token=target["token"]).status_code == 200
    result = api.data(SET_ACTIVE, {"userId": target["id"], "active": False}, token=admin["token"])["userSetActive"]
    assert result == {"user": {"id": target["id"], "active": False}, "errors": []}
    assert error_codes(api.graphql("{ me { user { id } } }", token=target["token"])) == ["FORBIDDEN"]
    back = api.data(SET_ACTIVE, {"userId": target["id"], "active": True}, token=admin["token"])["userSetActive"]
    assert back["user"]["active"] is True
    assert api.data("{ me { user { id } } }", token=target["token"])["me"]["user"]["id"] == target["id"]


def test_account_administration_refuses_unknown_and_bigger_accounts(api, factory):
    manage_users = factory.role(permissions=("manage_users",))
    staff = factory.user(roles=("user", manage_users["name"]))
    unknown = api.data(SET_ACTIVE, {"userId": "usr_nope", "active": False}, token=staff["token"])["userSetActive"]
    assert unknown["errors"][0]["code"] == "NOT_FOUND"
    bigger = factory.user(roles=("manager",))
    refused = api.data(SET_ACTIVE, {"userId": bigger["id"], "active": False}, token=staff["token"])["userSetActive"]
    assert [e["code"] for e in refused["errors"]] == ["OUT_OF_SCOPE_PERMISSION"]
    peer = factory.user()
    allowed = api.data(SET_ACTIVE, {"userId": peer["id"], "active": False}, token=staff["token"])["userSetActive"]
    assert allowed["errors"] == []
