"""The public catalog: products, categories, brands, variants; visibility and keyword search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, text
from sqlalchemy.engine import Row

from db.engine import Database
from db.models import Brand, Category, Product, ProductStatus, ProductVariant
from resolvers.pagination import Window

products = Product.__table__
categories = Category.__table__
brands = Brand.__table__
variants = ProductVariant.__table__

# FTS5's trigram tokenizer indexes 3-character sequences: shorter keywords scan instead.
TRIGRAM = 3


@dataclass(frozen=True)
class ProductFilter:
    search: str | None = None
    category_id: str | None = None
    brand_id: str | None = None
    include_hidden: bool = False


def _escape_like(keyword: str) -> str:
    """Make %, _ and the escape character itself literal in a LIKE pattern."""
    return keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts5_phrase(keyword: str) -> str:
    """A quoted FTS5 phrase: with the trigram tokenizer it matches the keyword as a substring."""
    return '"' + keyword.replace('"', '""') + '"'


def _uses_fts(db: Database, where: ProductFilter) -> bool:
    """The SQLite FTS index covers ACTIVE products and keywords of 3+ characters."""
    return db.is_sqlite and not where.include_hidden and len(where.search or "") >= TRIGRAM


def _search_condition(db: Database, where: ProductFilter) -> Any:
    keyword = where.search or ""
    if _uses_fts(db, where):
        return text(
            "products.rowid IN (SELECT rowid FROM products_search WHERE products_search MATCH :phrase)"
        ).bindparams(phrase=_fts5_phrase(keyword))
    pattern = f"%{_escape_like(keyword)}%"
    if db.is_sqlite:
        # LIKE is case-insensitive for ASCII on SQLite; only 1-2 character keywords land here.
        return or_(products.c.name.like(pattern, escape="\\"), products.c.description.like(pattern, escape="\\"))
    return or_(products.c.name.ilike(pattern, escape="\\"), products.c.description.ilike(pattern, escape="\\"))


def _filtered(db: Database, statement: Select[Any], where: ProductFilter) -> Select[Any]:
    conditions = []
    if not where.include_hidden:
        conditions.append(products.c.status == ProductStatus.ACTIVE.value)
    if where.category_id is not None:
        conditions.append(products.c.category_id == where.category_id)
    if where.brand_id is not None:
        conditions.append(products.c.brand_id == where.brand_id)
    if where.search:
        conditions.append(_search_condition(db, where))
    return statement.where(and_(*conditions)) if conditions else statement


def normalise_keyword(search: str | None) -> str | None:
    if search is None:
        return None
    keyword = search.strip()
    return keyword or None


# Above this many matches, walking the newest-first index and stopping at the page's end beats
# fetching every match to sort it (SQLite's planner cannot tell from the FTS subquery).
DENSE_MATCHES = 1000


async def list_products(
    db: Database, where: ProductFilter, window: Window, matches: int | None = None
) -> Sequence[Row[Any]]:
    """A page of products, newest first. `matches`: the filter's total, when already known."""
    statement = _filtered(db, select(products), where)
    if (
        matches is not None
        and matches >= DENSE_MATCHES
        and _uses_fts(db, where)
        and where.category_id is None
        and where.brand_id is None
    ):
        statement = statement.with_hint(products, "INDEXED BY ix_products_status_created_id", "sqlite")
    statement = (
        statement.order_by(products.c.created_at.desc(), products.c.id.desc())
        .offset(window.offset)
        .limit(window.limit)
    )
    async with db.read() as conn:
        return (await conn.execute(statement)).all()


async def count_products(db: Database, where: ProductFilter) -> int:
    if _uses_fts(db, where) and where.category_id is None and where.brand_id is None:
        # The index holds exactly the public products: count there, without touching rows.
        statement = text(
            "SELECT count(*) FROM products_search WHERE products_search MATCH :phrase"
        ).bindparams(phrase=_fts5_phrase(where.search or ""))
    else:
        statement = _filtered(db, select(func.count()).select_from(products), where)
    async with db.read() as conn:
        return int((await conn.execute(statement)).scalar_one())


async def _page(db: Database, table: Any, window: Window, include_inactive: bool) -> Sequence[Row[Any]]:
    statement = select(table).order_by(table.c.created_at.desc(), table.c.id.desc())
    if not include_inactive:
        statement = statement.where(table.c.active.is_(True))
    async with db.read() as conn:
        return (await conn.execute(statement.offset(window.offset).limit(window.limit))).all()


async def _count(db: Database, table: Any, include_inactive: bool) -> int:
    statement = select(func.count()).select_from(table)
    if not include_inactive:
        statement = statement.where(table.c.active.is_(True))
    async with db.read() as conn:
        return int((await conn.execute(statement)).scalar_one())


async def list_categories(db: Database, window: Window, include_inactive: bool = False) -> Sequence[Row[Any]]:
    return await _page(db, categories, window, include_inactive)


async def count_categories(db: Database, include_inactive: bool = False) -> int:
    return await _count(db, categories, include_inactive)


async def list_brands(db: Database, window: Window, include_inactive: bool = False) -> Sequence[Row[Any]]:
    return await _page(db, brands, window, include_inactive)


async def count_brands(db: Database, include_inactive: bool = False) -> int:
    return await _count(db, brands, include_inactive)


# --- bulk loads for dataloaders: one statement per batch, results in key order -----------------


async def _rows_by_id(db: Database, table: Any, ids: Sequence[str]) -> list[Row[Any] | None]:
    async with db.read() as conn:
        rows = (await conn.execute(select(table).where(table.c.id.in_(set(ids))))).all()
    by_id = {row.id: row for row in rows}
    return [by_id.get(identifier) for identifier in ids]


async def products_by_id(db: Database, ids: Sequence[str]) -> list[Row[Any] | None]:
    return await _rows_by_id(db, products, ids)


async def categories_by_id(db: Database, ids: Sequence[str]) -> list[Row[Any] | None]:
    return await _rows_by_id(db, categories, ids)


async def brands_by_id(db: Database, ids: Sequence[str]) -> list[Row[Any] | None]:
    return await _rows_by_id(db, brands, ids)


async def variants_by_id(db: Database, ids: Sequence[str]) -> list[Row[Any] | None]:
    return await _rows_by_id(db, variants, ids)


async def variants_by_product(db: Database, product_ids: Sequence[str]) -> list[list[Row[Any]]]:
    statement = (
        select(variants)
        .where(variants.c.product_id.in_(set(product_ids)))
        .order_by(variants.c.product_id, variants.c.created_at, variants.c.id)
    )
    async with db.read() as conn:
        rows = (await conn.execute(statement)).all()
    grouped: dict[str, list[Row[Any]]] = {identifier: [] for identifier in product_ids}
    for row in rows:
        grouped[row.product_id].append(row)
    return [grouped[identifier] for identifier in product_ids]


async def child_categories(db: Database, parent_ids: Sequence[str]) -> list[list[Row[Any]]]:
    statement = (
        select(categories)
        .where(categories.c.parent_id.in_(set(parent_ids)), categories.c.active.is_(True))
        .order_by(categories.c.name, categories.c.id)
    )
    async with db.read() as conn:
        rows = (await conn.execute(statement)).all()
    grouped: dict[str, list[Row[Any]]] = {identifier: [] for identifier in parent_ids}
    for row in rows:
        grouped[row.parent_id].append(row)
    return [grouped[identifier] for identifier in parent_ids]


def sale_is_open(row: Any, now: dt.datetime) -> bool:
    """A sale price applies when set and `now` is inside its (optionally open-ended) window."""
    if row.sale_price_amount is None:
        return False
    if row.sale_starts_at is not None and now < row.sale_starts_at:
        return False
    return row.sale_ends_at is None or now < row.sale_ends_at


