"""Default roles and permissions, as created once by migration 0003.

`admin` holds every permission; `manager` the catalog and orders; `customer_experience`
reads orders and customers; `user` nothing administrative. Later changes made by admins are
theirs to keep: start-up never re-imposes this table.
"""

from __future__ import annotations

ROLES: dict[str, str] = {
    "admin": "Full system access",
    "manager": "Administrative access for business operations",
    "customer_experience": "Customer support access",
    "user": "Standard authenticated user",
}

# name, resource, action, description
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
    ("manage_customers", "customers", "manage", "Edit customer accounts"),
    ("read_roles", "roles", "read", "View roles and permissions"),
    ("manage_roles", "roles", "manage", "Create, edit and delete roles and permissions"),
    ("manage_users", "users", "manage", "Assign roles and activate or deactivate users"),
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
    "manager": [*CATALOG, "read_orders", "manage_orders", "read_customers", "read_roles"],
    "customer_experience": ["read_orders", "read_customers", "read_roles"],
    "user": [],
}

STAFF_ROLES = ("admin", "manager", "customer_experience")
