"""The floor: a raw Starlette + SQLAlchemy endpoint running the catalog listing's SQL and
writing the same JSON as GET /api/v1/catalog/products — no GraphQL, no route table.

Run: DATABASE_URL=... uvicorn --factory bench.floor:create_floor_app
"""

from __future__ import annotations

import gc
import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.engine import Database
from resolvers.catalog import ProductFilter, count_products, list_products, sale_is_open
from resolvers.pagination import Window
from schema.scalars import serialize_datetime


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def _product_json(row: Any, now: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "sku": row.sku,
        "name": row.name,
        "description": row.description,
        "base_price": _money(row.base_price_amount, row.currency),
        "SalePrice": _money(row.sale_price_amount, row.currency) if sale_is_open(row, now) else None,
        "status": row.status.lower(),
        "brand_id": row.brand_id,
        "category_id": row.category_id,
        "images": row.images,
        "attributes": row.attributes,
        "stock": row.stock,
        "created_at": serialize_datetime(row.created_at),
        "updated_at": serialize_datetime(row.updated_at),
    }


def create_floor_app() -> Starlette:
    db = Database(os.environ["DATABASE_URL"])

    async def products(request: Request) -> Response:
        import datetime as dt

        page_size = min(int(request.query_params.get("page_size", "20")), 100)
        page = int(request.query_params.get("page", "1"))
        now = dt.datetime.now(dt.UTC)
        where = ProductFilter()
        rows = await list_products(db, where, Window((page - 1) * page_size, page_size + 1))
        total = await count_products(db, where)
        total_pages = math.ceil(total / page_size) if total else 0
        body = {
            "data": [_product_json(row, now) for row in rows[:page_size]],
            "meta": {
                "page": page, "page_size": page_size, "total_items": total, "total_pages": total_pages,
                "has_next": page < total_pages, "has_prev": page > 1,
            },
        }
        return Response(orjson.dumps(body), media_type="application/json")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        gc.collect()
        gc.freeze()
        yield
        await db.dispose()

    return Starlette(routes=[Route("/products", products)], lifespan=lifespan)
