"""Per-request dataloaders: related rows are fetched in one statement per batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from db.engine import Database
from resolvers import catalog
from resolvers.auth import accounts
from resolvers import orders as order_reads
from resolvers import rbac

BatchLoad = Callable[[Database, Sequence[str]], Awaitable[list[Any]]]


class Loaders:
    """One instance per request (per operation on websockets); each loader created on first use."""

    def __init__(self, db: Database, now: dt.datetime) -> None:
        self.db = db
        self.now = now

    def _loader(self, load: BatchLoad) -> DataLoader[str, Any]:
        db = self.db

        async def batch(keys: list[str]) -> list[Any]:
            return await load(db, keys)

        return DataLoader(load_fn=batch)

    @cached_property
    def product(self) -> DataLoader[str, Any]:
        return self._loader(catalog.products_by_id)

    @cached_property
    def category(self) -> DataLoader[str, Any]:
        return self._loader(catalog.categories_by_id)

    @cached_property
    def brand(self) -> DataLoader[str, Any]:
        return self._loader(catalog.brands_by_id)

    @cached_property
    def variant(self) -> DataLoader[str, Any]:
        return self._loader(catalog.variants_by_id)

    @cached_property
    def variants_by_product(self) -> DataLoader[str, Any]:
        return self._loader(catalog.variants_by_product)

    @cached_property
    def child_categories(self) -> DataLoader[str, Any]:
        return self._loader(catalog.child_categories)

    @cached_property
    def permissions_of_role(self) -> DataLoader[str, Any]:
        return self._loader(rbac.permissions_of_roles)

    @cached_property
    def order_items(self) -> DataLoader[str, Any]:
        return self._loader(order_reads.items_by_order)

    @cached_property
    def user(self) -> DataLoader[str, Any]:
        return self._loader(accounts.users_by_id)
