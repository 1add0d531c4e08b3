"""The one schema: root types merged from each area's query and mutation classes."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
from typing import Annotated

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import Info

from resolvers.errors import DomainError
from schema.auth import AuthMutation, AuthQuery
from schema.cart import CartMutation, CartQuery
from schema.catalog import CatalogQuery
from schema.catalog_admin import CatalogAdminMutation, CatalogAdminQuery
from schema.checkout import CheckoutQuery
from schema.node import fetch_node
from schema.orders import OrderMutation, OrderQuery
from schema.rbac import RbacMutation, RbacQuery
from schema.scalars import DateTime, Decimal
from schema.types import IdArg, Node

MAX_NODES = 100


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; null when unknown or not visible.")
    async def node(self, info: Info, id: IdArg) -> Node | None:
        return await fetch_node(info, id)

    @strawberry.field(description=f"Objects by global ID, in the order asked (at most {MAX_NODES}); "
                      "null for each unknown or invisible one.")
    async def nodes(
        self,
        info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global IDs.")],
    ) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise DomainError("BAD_USER_INPUT", f"'ids' may hold at most {MAX_NODES} IDs", ["ids"])
        return list(await asyncio.gather(*(fetch_node(info, identifier) for identifier in ids)))


QUERIES: tuple[type, ...] = (NodeQuery, AuthQuery, CatalogQuery, RbacQuery, CatalogAdminQuery, CartQuery, OrderQuery,
                            CheckoutQuery)
MUTATIONS: tuple[type, ...] = (AuthMutation, RbacMutation, CatalogAdminMutation, CartMutation, OrderMutation)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS) if MUTATIONS else None

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    scalar_overrides={dt.datetime: DateTime, decimal.Decimal: Decimal},
    config=StrawberryConfig(auto_camel_case=True),
)
