"""Built-in roles and permissions: what the migrations create (0003, amended by 0005).

Code refers to these by name (schema guards, sign-up, resolvers/rbac.py), so their names are
reserved and built-in permissions cannot be changed through the API. The migrations hold
their own frozen copies of this data; tests/test_admin_graphql.py checks that a freshly
migrated database matches this module. Later changes made by admins are theirs to keep: start-up never
re-imposes this table.

`admin` holds every permission; `manager` the catalog, orders, and role and user
administration; `customer_experience` reads orders, customers and roles, and administers roles
and users too; `user` — held by every account — nothing, ever.

Every documented /admin route is open to the three staff roles (ROUTES.md), so each of them
holds read_roles, manage_roles and manage_users: what stops a staff member is not the gate but
the no-escalation rules of resolvers/rbac.py — nobody grants, assigns, edits or removes more
than they hold. customer_experience therefore administers roles and users within its own
permissions (orders and customers, read; roles and users), and cannot grant manage_products,
assign or edit admin or manager, or make itself admin.
"""

from __future__ import annotations

ROLES: dict[str, str] = {
    "admin": "Full system access",
    "manager": "Administrative access for business operations",
    "customer_experience": "Customer support access",
    "user": "Standard authenticated user",
}

# name, resource, action, description: the description says what the code enforces.
PERMISSIONS: list[tuple[str, str, str, str]] = [
    ("manage_products", "products", "manage", "Full access to products and their variants"),
    ("manage_categories", "categories", "manage", "Full access to categories"),
    ("manage_brands", "brands", "manage", "Full access to brands"),
    ("manage_promotions", "promotions", "manage", "Full access to promotions"),
    ("manage_shipping", "shipping", "manage", "Full access to shipping methods"),
    ("manage_taxes", "taxes", "manage", "Full access to tax rates"),
    ("read_orders", "orders", "read", "View every customer's orders"),
    ("manage_orders", "orders", "manage", "Move orders through their status workflow"),
    ("read_customers", "customers", "read", "View customer accounts"),
    ("manage_customers", "customers", "manage", "Reserved for editing customer accounts; no operation uses it yet"),
    ("read_roles", "roles", "read", "View roles, permissions and the roles of users"),
    ("manage_roles", "roles", "manage",
     "Create, edit and delete roles and permissions, and grant or revoke permissions, within your own"),
    ("manage_users", "users", "manage",
     "Assign and remove roles within your own, list accounts, activate or deactivate them"),
]

CATALOG = [
    "manage_products",
    "manage_categories",
    "manage_brands",
    "manage_promotions",
    "manage_shipping",
    "manage_taxes",
]

GRANTS: dict[str, list[str]] = {
    "admin": [name for name, *_ in PERMISSIONS],
    # read_roles / manage_roles / manage_users: every /admin route is documented as open to the
    # three staff roles; the no-escalation rules keep each of them within what it holds.
    "manager": [*CATALOG, "read_orders", "manage_orders", "read_customers", "read_roles", "manage_roles",
                "manage_users"],
    "customer_experience": ["read_orders", "read_customers", "read_roles", "manage_roles", "manage_users"],
    "user": [],
}

STAFF_ROLES = ("admin", "manager", "customer_experience")
