"""Test data written straight to the test database (the server under test reads it over HTTP).

Every name gets a unique suffix, so tests never depend on each other's rows.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import json
import threading
import time
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import jwt
from sqlalchemy import insert, select, update

from db.engine import Database
from db.ids import new_id
from db.models import Brand, Category, Product, ProductVariant, Role, User, UserRole
from db.models import Permission, RolePermission
from db.models import Promotion, ShippingMethod, TaxRate
from resolvers.passwords import hash_password
from resolvers.tokens import issue_access_token
from shopql.settings import Settings
from tests.support.server import TEST_JWT_SECRET

T = TypeVar("T")
_sequence = itertools.count(1)


def unique(prefix: str = "t") -> str:
    return f"{prefix}{next(_sequence)}x{uuid.uuid4().hex[:8]}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def access_token_claims(user_id: str, **changes: Any) -> dict[str, Any]:
    """The claims of a valid access token for `user_id`; a change of None leaves a claim out."""
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 600, "jti": unique("jti"), "iss": "shopql",
              "aud": "shopql-api", "gen": 0, **changes}
    return {name: value for name, value in claims.items() if value is not None}


def forged_access_token(user_id: str, secret: str = TEST_JWT_SECRET, algorithm: str = "HS256",
                        **changes: Any) -> str:
    """A hand-made access token: valid unless `secret`, `algorithm` or `changes` say otherwise."""
    return jwt.encode(access_token_claims(user_id, **changes), secret, algorithm=algorithm)


def unsigned_access_token(user_id: str, **changes: Any) -> str:
    """The claims of a valid token under `alg: none`, without a signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(access_token_claims(user_id, **changes))}."


class Factory:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.settings = Settings(environment="test", database_url=database_url, jwt_secret=TEST_JWT_SECRET)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.db = self.run(self._connect())
        self._password_hashes: dict[str, str] = {}

    async def _connect(self) -> Database:
        return Database(self.database_url, pool_size=2, max_overflow=2)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def close(self) -> None:
        self.run(self.db.dispose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _insert(self, model: Any, values: dict[str, Any]) -> dict[str, Any]:
        async def work() -> None:
            async with self.db.transaction() as session:
                await session.execute(insert(model).values(**values))

        self.run(work())
        return values

    def execute(self, statement: Any) -> Any:
        async def work() -> Any:
            async with self.db.transaction() as session:
                result = await session.execute(statement)
                return result.all() if getattr(statement, "is_select", False) else result.rowcount

        return self.run(work())

    # --- catalog ---------------------------------------------------------------------------------

    def category(self, **values: Any) -> dict[str, Any]:
        name = values.pop("name", None) or unique("Category ")
        now = utcnow()
        return self._insert(Category, {
            "id": new_id("cat"), "name": name, "slug": unique("cat-"), "description": "",
            "parent_id": None, "image_url": "", "active": True, "created_at": now, "updated_at": now, **values,
        })

    def brand(self, **values: Any) -> dict[str, Any]:
        now = utcnow()
        return self._insert(Brand, {
            "id": new_id("brand"), "name": unique("Brand "), "slug": unique("brand-"), "description": "",
            "logo_url": "", "active": True, "created_at": now, "updated_at": now, **values,
        })

    def product(self, **values: Any) -> dict[str, Any]:
        now = utcnow()
        return self._insert(Product, {
            "id": new_id("prod"), "sku": unique("SKU-"), "name": unique("Product "), "description": "",
            "currency": "USD", "base_price_amount": 1000, "sale_price_amount": None, "sale_starts_at": None,
            "sale_ends_at": None, "status": "ACTIVE", "brand_id": None, "category_id": None, "images": [],
            "attributes": {}, "stock": 10, "created_at": now, "updated_at": now, **values,
        })

    def variant(self, product_id: str, **values: Any) -> dict[str, Any]:
        now = utcnow()
        return self._insert(ProductVariant, {
            "id": new_id("var"), "product_id": product_id, "sku": unique("VSKU-"), "name": unique("Variant "),
            "price_amount": None, "stock": 5, "attributes": {}, "created_at": now, "updated_at": now, **values,
        })

    def products_bulk(self, rows: list[dict[str, Any]]) -> None:
        """Many products in one statement (each row's values override the defaults)."""
        now = utcnow()
        values = [{
            "id": new_id("prod"), "sku": unique("SKU-"), "name": unique("Product "), "description": "",
            "currency": "USD", "base_price_amount": 1000, "sale_price_amount": None, "sale_starts_at": None,
            "sale_ends_at": None, "status": "ACTIVE", "brand_id": None, "category_id": None, "images": [],
            "attributes": {}, "stock": 10, "created_at": now, "updated_at": now, **row,
        } for row in rows]

        async def work() -> None:
            async with self.db.transaction() as session:
                await session.execute(insert(Product), values)

        self.run(work())

    def product_stock(self, product_id: str) -> int:
        rows = self.execute(select(Product.stock).where(Product.id == product_id))
        return rows[0][0]

    def set_product(self, product_id: str, **values: Any) -> None:
        self.execute(update(Product).where(Product.id == product_id).values(**values))

    # --- accounts ----------------------------------------------------------------------------------

    def user(self, *, email: str | None = None, password: str = "correct horse battery",
             roles: tuple[str, ...] = ("user",), active: bool = True, **values: Any) -> dict[str, Any]:
        if password not in self._password_hashes:
            self._password_hashes[password] = hash_password(password)
        now = utcnow()
        user = self._insert(User, {
            "id": new_id("usr"), "email": email or f"{unique('user')}@example.com",
            "password_hash": self._password_hashes[password], "first_name": "Test", "last_name": "User",
            "active": active, "email_verified": False, "created_at": now, "updated_at": now, **values,
        })
        for role in roles:
            self.grant_role(user["id"], role)
        user["password"] = password
        user["token"] = self.access_token(user["id"])
        return user

    def grant_role(self, user_id: str, role_name: str) -> None:
        role_id = self.execute(select(Role.id).where(Role.name == role_name))[0][0]
        self._insert(UserRole, {"user_id": user_id, "role_id": role_id, "created_at": utcnow()})

    def access_token(self, user_id: str, **overrides: Any) -> str:
        return issue_access_token(user_id, self.settings, **overrides).token

    # --- roles and permissions -----------------------------------------------------------------------

    def role_id(self, name: str) -> str:
        return self.execute(select(Role.id).where(Role.name == name))[0][0]

    def permission_id(self, name: str) -> str:
        return self.execute(select(Permission.id).where(Permission.name == name))[0][0]

    def role(self, *, name: str | None = None, description: str = "", permissions: tuple[str, ...] = ()) -> dict[str, Any]:
        """A custom role holding the named permissions."""
        now = utcnow()
        role = self._insert(Role, {
            "id": new_id("role"), "name": name or unique("role_"), "description": description,
            "created_at": now, "updated_at": now,
        })
        for permission in permissions:
            self.grant_permission(role["name"], permission)
        return role

    def permission(self, *, name: str | None = None, resource: str = "tests", action: str = "manage",
                   roles: tuple[str, ...] = ()) -> dict[str, Any]:
        """A custom permission, granted to the admin role (as the API does) and to `roles`."""
        now = utcnow()
        permission = self._insert(Permission, {
            "id": new_id("perm"), "name": name or unique("perm_"), "resource": resource, "action": action,
            "description": "", "created_at": now, "updated_at": now,
        })
        for role in ("admin", *roles):
            self.grant_permission(role, permission["name"])
        return permission

    def bulk_roles_and_permissions(self, *, roles: int = 0, permissions: int = 0) -> None:
        """Many custom roles and permissions (granted to nobody) in two statements."""
        now = utcnow()

        def rows(prefix: str, count: int, **extra: Any) -> list[dict[str, Any]]:
            return [{"id": new_id(prefix), "name": unique(f"bulk_{prefix}_"), "description": "", "created_at": now,
                     "updated_at": now, **extra} for _ in range(count)]

        async def work() -> None:
            async with self.db.transaction() as session:
                if roles:
                    await session.execute(insert(Role), rows("role", roles))
                if permissions:
                    await session.execute(insert(Permission), rows("perm", permissions, resource="bulk", action="x"))

        self.run(work())

    def grant_permission(self, role_name: str, permission_name: str) -> None:
        permission_id = self.execute(select(Permission.id).where(Permission.name == permission_name))[0][0]
        self._insert(RolePermission, {"role_id": self.role_id(role_name), "permission_id": permission_id})

    def role_permission_names(self, role_id: str) -> set[str]:
        rows = self.execute(
            select(Permission.name).join(RolePermission, RolePermission.permission_id == Permission.id)
            .where(RolePermission.role_id == role_id)
        )
        return {row[0] for row in rows}

    def user_role_names(self, user_id: str) -> set[str]:
        rows = self.execute(
            select(Role.name).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
        )
        return {row[0] for row in rows}

    # --- checkout set-up ---------------------------------------------------------------------------

    def shipping_method(self, **values: Any) -> dict[str, Any]:
        now = utcnow()
        return self._insert(ShippingMethod, {
            "id": new_id("ship"), "name": unique("Shipping "), "currency": "USD", "price_amount": 599,
            "free_over_amount": None, "active": True, "created_at": now, "updated_at": now, **values,
        })

    def tax_rate(self, country: str, state: str, rate: str) -> dict[str, Any]:
        """Sets the rate of (country, state), replacing any earlier one."""
        from decimal import Decimal

        from sqlalchemy import delete

        self.execute(delete(TaxRate).where(TaxRate.country == country, TaxRate.state == state))
        now = utcnow()
        return self._insert(TaxRate, {
            "id": new_id("tax"), "country": country, "state": state, "rate": Decimal(rate),
            "created_at": now, "updated_at": now,
        })

    def promotion(self, **values: Any) -> dict[str, Any]:
        now = utcnow()
        return self._insert(Promotion, {
            "id": new_id("promo"), "code": unique("PROMO").upper(), "description": "", "kind": "PERCENTAGE",
            "value": 10, "currency": "USD", "min_subtotal_amount": 0, "max_discount_amount": None,
            "starts_at": None, "ends_at": None, "usage_limit": None, "usage_count": 0, "active": True,
            "created_at": now, "updated_at": now, **values,
        })

    def promotion_usage(self, promotion_id: str) -> int:
        return self.execute(select(Promotion.usage_count).where(Promotion.id == promotion_id))[0][0]

    def variant_stock(self, variant_id: str) -> int:
        return self.execute(select(ProductVariant.stock).where(ProductVariant.id == variant_id))[0][0]
