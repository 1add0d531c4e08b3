"""Catalog types and queries: products, variants, categories, brands."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import catalog
from resolvers.catalog import ProductFilter, sale_is_open
from resolvers.errors import required_id
from schema.node import register_node
from schema.scalars import JSON
from schema.types import After, Before, Connection, First, IdArg, Last, Money, Node, paginate


@strawberry.enum(description="Lifecycle of a product. Only ACTIVE products are public.")
class ProductStatus(Enum):
    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"


@strawberry.type(description="A brand products are sold under.")
class Brand(Node):
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="Unique URL-friendly name.")
    description: str = strawberry.field(description="Longer description.")
    logo_url: str = strawberry.field(description="Logo image URL; empty when none.")
    active: bool = strawberry.field(description="Inactive brands are hidden from the public.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Brand:
        return cls(
            id=row.id,
            name=row.name,
            slug=row.slug,
            description=row.description,
            logo_url=row.logo_url,
            active=row.active,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="Active products of this brand, newest first.")
    async def products(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Product]:
        return await product_connection(info, ProductFilter(brand_id=self.id), first, after, last, before)


@strawberry.type(description="A node of the category tree.")
class Category(Node):
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="Unique URL-friendly name.")
    description: str = strawberry.field(description="Longer description.")
    parent_id: strawberry.ID | None = strawberry.field(description="Parent category ID; null at the root.")
    image_url: str = strawberry.field(description="Image URL; empty when none.")
    active: bool = strawberry.field(description="Inactive categories are hidden from the public.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Category:
        return cls(
            id=row.id,
            name=row.name,
            slug=row.slug,
            description=row.description,
            parent_id=row.parent_id,
            image_url=row.image_url,
            active=row.active,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The parent category, null at the root (or when hidden).")
    async def parent(self, info: Info) -> Category | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.category.load(self.parent_id)
        return Category.from_row(row) if row is not None and row.active else None

    @strawberry.field(description="Active sub-categories, by name.")
    async def children(self, info: Info) -> list[Category]:
        rows = await info.context.loaders.child_categories.load(self.id)
        return [Category.from_row(row) for row in rows]

    @strawberry.field(description="Active products of this category, newest first.")
    async def products(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Product]:
        return await product_connection(info, ProductFilter(category_id=self.id), first, after, last, before)


@strawberry.type(description="A purchasable variation of a product (size, colour...), with its own SKU and stock.")
class ProductVariant(Node):
    product_id: strawberry.ID = strawberry.field(description="The product it belongs to.")
    sku: str = strawberry.field(description="Unique stock-keeping unit.")
    name: str = strawberry.field(description="Display name, e.g. `Large / Blue`.")
    price: Money = strawberry.field(description="Current unit price: the variant's own price, "
                                    "else its product's effective price.")
    stock: int = strawberry.field(description="Units in stock.")
    in_stock: bool = strawberry.field(description="At least one unit in stock.")
    attributes: JSON = strawberry.field(description="Free-form attributes, e.g. `{\"size\": \"L\"}`.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any, product: Product) -> ProductVariant:
        price = (
            Money(amount=row.price_amount, currency=product.base_price.currency)
            if row.price_amount is not None
            else product.effective_price
        )
        return cls(
            id=row.id,
            product_id=row.product_id,
            sku=row.sku,
            name=row.name,
            price=price,
            stock=row.stock,
            in_stock=row.stock > 0,
            attributes=row.attributes,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A product of the catalog.")
class Product(Node):
    sku: str = strawberry.field(description="Unique stock-keeping unit.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Longer description.")
    base_price: Money = strawberry.field(description="Regular price.")
    sale_price: Money | None = strawberry.field(
        description="Sale price, only while its sale window is open; null otherwise."
    )
    effective_price: Money = strawberry.field(description="What a unit costs now: the sale price "
                                              "while the sale is open, else the base price.")
    sale_starts_at: dt.datetime | None = strawberry.field(description="Start of the sale window (open-ended when null).")
    sale_ends_at: dt.datetime | None = strawberry.field(description="End of the sale window (open-ended when null).")
    status: ProductStatus = strawberry.field(description="Lifecycle status.")
    brand_id: strawberry.ID | None = strawberry.field(description="ID of the brand, if any.")
    category_id: strawberry.ID | None = strawberry.field(description="ID of the category, if any.")
    images: list[str] = strawberry.field(description="Image URLs, first is the main image.")
    attributes: JSON = strawberry.field(description="Free-form attributes, e.g. `{\"color\": \"silver\"}`.")
    stock: int = strawberry.field(description="Units in stock (of the product itself, variants aside).")
    in_stock: bool = strawberry.field(description="At least one unit in stock.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any, now: dt.datetime) -> Product:
        base_price = Money(amount=row.base_price_amount, currency=row.currency)
        sale_price = (
            Money(amount=row.sale_price_amount, currency=row.currency) if sale_is_open(row, now) else None
        )
        return cls(
            id=row.id,
            sku=row.sku,
            name=row.name,
            description=row.description,
            base_price=base_price,
            sale_price=sale_price,
            effective_price=sale_price or base_price,
            sale_starts_at=row.sale_starts_at,
            sale_ends_at=row.sale_ends_at,
            status=ProductStatus(row.status),
            brand_id=row.brand_id,
            category_id=row.category_id,
            images=row.images,
            attributes=row.attributes,
            stock=row.stock,
            in_stock=row.stock > 0,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The brand, null when none (or when hidden).")
    async def brand(self, info: Info) -> Brand | None:
        if self.brand_id is None:
            return None
        row = await info.context.loaders.brand.load(self.brand_id)
        return Brand.from_row(row) if row is not None else None

    @strawberry.field(description="The category, null when none.")
    async def category(self, info: Info) -> Category | None:
        if self.category_id is None:
            return None
        row = await info.context.loaders.category.load(self.category_id)
        return Category.from_row(row) if row is not None else None

    @strawberry.field(description="Variants of this product, oldest first.")
    async def variants(self, info: Info) -> list[ProductVariant]:
        rows = await info.context.loaders.variants_by_product.load(self.id)
        return [ProductVariant.from_row(row, self) for row in rows]


async def can_see_hidden_products(info: Info) -> bool:
    """Staff with manage_products see drafts and archived products; the public does not."""
    viewer = await info.context.viewer()
    return viewer is not None and viewer.has_permissions("manage_products")


async def product_connection(
    info: Info,
    where: ProductFilter,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Product]:
    db, now = info.context.db, info.context.now
    # A keyword search counts first: the total picks the faster plan for the page (and is
    # what totalCount returns, so it is not computed twice).
    total = await catalog.count_products(db, where) if where.search else None

    async def count() -> int:
        return total if total is not None else await catalog.count_products(db, where)

    return await paginate(
        first=first,
        after=after,
        last=last,
        before=before,
        fetch=lambda window: catalog.list_products(db, where, window, matches=total),
        count=count,
        to_node=lambda row: Product.from_row(row, now),
    )


async def fetch_product(info: Info, product_id: str) -> Product | None:
    row = await info.context.loaders.product.load(product_id)
    if row is None:
        return None
    if row.status != ProductStatus.ACTIVE.value and not await can_see_hidden_products(info):
        return None
    return Product.from_row(row, info.context.now)


async def fetch_variant(info: Info, variant_id: str) -> ProductVariant | None:
    row = await info.context.loaders.variant.load(variant_id)
    if row is None:
        return None
    product = await fetch_product(info, row.product_id)
    return ProductVariant.from_row(row, product) if product is not None else None


async def fetch_category(info: Info, category_id: str) -> Category | None:
    row = await info.context.loaders.category.load(category_id)
    return Category.from_row(row) if row is not None and row.active else None


async def fetch_brand(info: Info, brand_id: str) -> Brand | None:
    row = await info.context.loaders.brand.load(brand_id)
    return Brand.from_row(row) if row is not None and row.active else None


register_node("prod", fetch_product)
register_node("var", fetch_variant)
register_node("cat", fetch_category)
register_node("brand", fetch_brand)


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="A product by ID; null when unknown or not public; INVALID for a blank ID.")
    async def product(self, info: Info, id: IdArg) -> Product | None:
        return await fetch_product(info, required_id(id, "Product"))

    @strawberry.field(description="Public products, newest first. `search` matches name or "
                      "description as a case-insensitive substring (wildcards are literal).")
    async def products(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        search: Annotated[str | None, strawberry.argument(description="Keyword to look for.")] = None,
        category_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only products of this category.")
        ] = None,
        brand_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only products of this brand.")
        ] = None,
    ) -> Connection[Product]:
        where = ProductFilter(
            search=catalog.normalise_keyword(search), category_id=category_id, brand_id=brand_id
        )
        return await product_connection(info, where, first, after, last, before)

    @strawberry.field(description="A category by ID; null when unknown or inactive; INVALID for a blank ID.")
    async def category(self, info: Info, id: IdArg) -> Category | None:
        return await fetch_category(info, required_id(id, "Category"))

    @strawberry.field(description="Active categories, newest first.")
    async def categories(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Category]:
        db = info.context.db
        return await paginate(
            first=first,
            after=after,
            last=last,
            before=before,
            fetch=lambda window: catalog.list_categories(db, window),
            count=lambda: catalog.count_categories(db),
            to_node=Category.from_row,
        )

    @strawberry.field(description="A brand by ID; null when unknown or inactive.")
    async def brand(self, info: Info, id: IdArg) -> Brand | None:
        return await fetch_brand(info, id)

    @strawberry.field(description="Active brands, newest first.")
    async def brands(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Brand]:
        db = info.context.db
        return await paginate(
            first=first,
            after=after,
            last=last,
            before=before,
            fetch=lambda window: catalog.list_brands(db, window),
            count=lambda: catalog.count_brands(db),
            to_node=Brand.from_row,
        )
