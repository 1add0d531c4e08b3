"""Data migrations of roles and the catalog: 0003's downgrade removes only the default rows, and
0005 amends the defaults, keeps what admins changed, and refuses rows that break its new rules."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from db.engine import Database
from db.migrate import downgrade, migrate
from db.models import Permission, Role, RolePermission
from tests.factories import Factory, unique


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    async def main() -> None:
        db = Database(url, pool_size=1, max_overflow=0)
        try:
            await (downgrade if down else migrate)(db.write_engine, revision)
        finally:
            await db.dispose()

    asyncio.run(main())


@pytest.fixture
def factory_at(fresh_database_url):
    """A factory on a fresh database (migrated to head); the test moves it between revisions."""
    factory = Factory(fresh_database_url)
    try:
        yield factory
    finally:
        factory.close()


def _names(factory: Factory, model) -> set[str]:
    return {row[0] for row in factory.execute(select(model.name))}


def test_undoing_the_default_roles_keeps_custom_roles_permissions_and_their_grants(factory_at):
    factory = factory_at
    role = factory.role(name=unique("custom_role_"))
    permission = factory.permission(name=unique("custom_perm_"), roles=(role["name"],))
    _migrate(factory.database_url, "0002", down=True)

    assert _names(factory, Role) == {role["name"]}
    assert _names(factory, Permission) == {permission["name"]}
    assert factory.role_permission_names(role["id"]) == {permission["name"]}

    _migrate(factory.database_url, "head")
    assert {"admin", "manager", "customer_experience", "user", role["name"]} == _names(factory, Role)
    assert factory.role_permission_names(role["id"]) == {permission["name"]}


ADMINISTRATION = {"manage_roles", "manage_users"}


def test_0005_gives_staff_role_administration_and_empties_the_user_role(factory_at):
    factory = factory_at
    _migrate(factory.database_url, "0004", down=True)
    admin, manager, cx, user = (factory.role_id(name) for name in ("admin", "manager", "customer_experience", "user"))
    assert not factory.role_permission_names(manager) & ADMINISTRATION
    assert factory.role_permission_names(cx) == {"read_orders", "read_customers", "read_roles"}
    custom = factory.role(permissions=tuple(ADMINISTRATION))  # an admin's grants, not 0005's
    factory.grant_permission("user", "manage_products")  # what the escalation bug allowed
    edited = "Our own words for read_roles"
    factory.execute(Permission.__table__.update().where(Permission.name == "read_roles").values(description=edited))
    before = {role: factory.role_permission_names(role) for role in (admin, manager, cx, custom["id"])}

    _migrate(factory.database_url, "head")
    assert factory.role_permission_names(manager) == before[manager] | ADMINISTRATION
    assert factory.role_permission_names(cx) == before[cx] | ADMINISTRATION
    assert factory.role_permission_names(admin) == before[admin]
    assert factory.role_permission_names(custom["id"]) == ADMINISTRATION
    assert factory.role_permission_names(user) == set()
    descriptions = dict(factory.execute(select(Permission.name, Permission.description)))
    assert descriptions["read_roles"] == edited  # an admin's change is theirs to keep
    assert descriptions["manage_customers"] == "Reserved for editing customer accounts; no operation uses it yet"

    # The downgrade takes back exactly what 0005 granted: the other grants stay.
    _migrate(factory.database_url, "0004", down=True)
    assert {role: factory.role_permission_names(role) for role in before} == before
    descriptions = dict(factory.execute(select(Permission.name, Permission.description)))
    assert descriptions["manage_customers"] == "Edit customer accounts"
    assert descriptions["read_roles"] == edited


def test_0005_grants_only_what_is_missing(factory_at):
    """A grant already there (made by an admin before 0005) is not written twice."""
    factory = factory_at
    _migrate(factory.database_url, "0004", down=True)
    factory.grant_permission("customer_experience", "manage_users")
    _migrate(factory.database_url, "head")
    rows = factory.execute(
        select(RolePermission.permission_id).where(RolePermission.role_id == factory.role_id("customer_experience"))
    )
    assert len(rows) == len({row[0] for row in rows}) == 5
    assert factory.role_permission_names(factory.role_id("customer_experience")) == {
        "read_orders", "read_customers", "read_roles", "manage_roles", "manage_users"}


def test_0005_refuses_to_run_over_skus_and_sale_prices_that_break_its_rules(factory_at):
    factory = factory_at
    _migrate(factory.database_url, "0004", down=True)
    sku = unique("Dup-")
    factory.product(sku=sku.upper())
    duplicate = factory.product(sku=sku.lower())
    above = factory.product(base_price_amount=1000, sale_price_amount=1000)

    with pytest.raises(RuntimeError) as refused:
        _migrate(factory.database_url, "head")
    message = str(refused.value)
    assert sku.lower() in message and above["sku"] in message

    factory.set_product(duplicate["id"], sku=unique("Renamed-"))
    factory.set_product(above["id"], sale_price_amount=900)
    _migrate(factory.database_url, "head")
    for role in ("manager", "customer_experience"):
        assert ADMINISTRATION <= factory.role_permission_names(factory.role_id(role))
