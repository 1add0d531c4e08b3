"""The REST contract of ROUTES.md as tables: one row per route, each naming its document.

Read top to bottom they are the API: method, path, GraphQL document, how the request becomes
variables, how the result becomes the documented JSON. Decisions: docs/rest-compat.md.
The order here is the order of the OpenAPI document.
"""

from __future__ import annotations

from rest_compat.route import Route
from rest_compat.routes.admin import ADMIN
from rest_compat.routes.auth import AUTH
from rest_compat.routes.cart import CART
from rest_compat.routes.catalog import CATALOG
from rest_compat.routes.orders import ORDERS

ROUTES: list[Route] = [*AUTH, *CATALOG, *CART, *ORDERS, *ADMIN]
