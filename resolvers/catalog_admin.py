"""Catalog administration: create, update and delete categories, brands, products, variants,
promotions, shipping methods and tax rates — with their input rules (docs/rbac.md).

Each write is one transaction. Functions take the fields that were given (`fields`: input
name -> value, explicit nulls included) so updates change only what the caller sent.
Unique slugs, codes and (country, state) are left to the unique constraints: a violation
becomes ALREADY_EXISTS. SKUs are unique case-insensitively across products and variants:
each table has a unique index on lower(sku), and across the two tables `_claim_sku` checks
under a lock on the SKU. Money is (amount in minor units, ISO-4217 currency); a sale price is
below the base price (a database constraint too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sqlalchemy import delete, exists, func, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.conflicts import violated_constraint
from db.engine import Database
from db.models import (
    Brand,
    Category,
    OrderItem,
    Product,
    ProductStatus,
    ProductVariant,
    Promotion,
    PromotionKind,
    PromotionRedemption,
    ShippingMethod,
    TaxRate,
    utcnow,
)
from resolvers.addresses import COUNTRIES
from resolvers.errors import DomainError, Invalid, NotFound
from resolvers.json_values import json_object
from resolvers.pagination import Window

T = TypeVar("T")
Fields = Mapping[str, Any]

# ISO 4217 active currency codes.
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU
    UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()
)

# Matched with `fullmatch`: `$` also matches before a trailing newline, which let "ship_x\n"
# through (and overflow its column on PostgreSQL). Character classes are ASCII only.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
PROMOTION_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]*")
SHIPPING_ID = re.compile(r"ship_[a-z0-9_]{1,35}")
STATE = re.compile(r"[A-Z0-9]{1,8}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
URL = re.compile(r"https?://[^\s]+")

MAX_STOCK = 2**31 - 1
MAX_AMOUNT = 2**53 - 1  # what every JSON client can represent exactly
MAX_IMAGES = 50
MAX_ATTRIBUTES_BYTES = 10_000
MAX_ATTRIBUTES_DEPTH = 16
MAX_DESCRIPTION = 10_000
MAX_CATEGORY_DEPTH = 100
RATE_PLACES = 6


# --- field rules -------------------------------------------------------------------------------------


def _path(*names: str) -> list[str]:
    return ["input", *names]


def text(value: Any, name: str, max_length: int, *, required: bool = True) -> str:
    """Trimmed one-line text: non-empty when required, no control characters."""
    if value is None:
        if required:
            raise Invalid(f"{name} is required", _path(name))
        return ""
    value = str(value).strip()
    if required and not value:
        raise Invalid(f"{name} must not be empty", _path(name))
    if len(value) > max_length:
        raise Invalid(f"{name} must be at most {max_length} characters", _path(name))
    if CONTROL.search(value):
        raise Invalid(f"{name} must not contain control characters", _path(name))
    return value


def long_text(value: Any, name: str = "description", max_length: int = MAX_DESCRIPTION) -> str:
    value = "" if value is None else str(value)
    if len(value) > max_length:
        raise Invalid(f"{name} must be at most {max_length} characters", _path(name))
    if "\x00" in value:
        raise Invalid(f"{name} must not contain NUL characters", _path(name))
    return value


def slug(value: Any, name: str = "slug") -> str:
    value = text(value, name, 200)
    if not SLUG.fullmatch(value):
        raise Invalid(f"{name} must be lower-case letters and digits separated by single hyphens, "
                      "e.g. 'running-shoes'", _path(name))
    return value


def sku(value: Any, name: str = "sku") -> str:
    value = text(value, name, 64)
    if not SKU.fullmatch(value):
        raise Invalid(f"{name} must start with a letter or digit and hold only letters, digits, '.', '_' "
                      "and '-'", _path(name))
    return value


def url(value: Any, name: str) -> str:
    value = text(value, name, 2048, required=False)
    if value and not URL.fullmatch(value):
        raise Invalid(f"{name} must be an http(s) URL", _path(name))
    return value


def currency(value: Any, *path: str) -> str:
    code = str(value or "").strip().upper()
    if code not in CURRENCIES:
        raise Invalid(f"currency must be an ISO-4217 code such as 'USD', got {value!r}", _path(*path))
    return code


def amount(value: Any, *path: str, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("amount must be an integer number of minor units", _path(*path))
    if value < (1 if positive else 0):
        raise Invalid(f"amount must be {'positive' if positive else 'zero or more'}", _path(*path))
    if value > MAX_AMOUNT:
        raise Invalid(f"amount must be at most {MAX_AMOUNT}", _path(*path))
    return value


def money(value: Any, name: str) -> tuple[int, str]:
    """A MoneyInput-like object -> (amount, currency)."""
    return amount(value.amount, name, "amount"), currency(value.currency, name, "currency")


def stock(value: Any, name: str = "stock") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STOCK:
        raise Invalid(f"{name} must be an integer from 0 to {MAX_STOCK}", _path(name))
    return value


def attributes(value: Any, name: str = "attributes") -> dict[str, Any]:
    return json_object(value, label=name, field=_path(name), max_bytes=MAX_ATTRIBUTES_BYTES,
                       max_depth=MAX_ATTRIBUTES_DEPTH)


def images(value: Any) -> list[str]:
    if value is None:
        return []
    if len(value) > MAX_IMAGES:
        raise Invalid(f"images may hold at most {MAX_IMAGES} URLs", _path("images"))
    return [url(item, "images") for item in value]


def window(starts: dt.datetime | None, ends: dt.datetime | None, start_name: str, end_name: str) -> None:
    if starts is not None and ends is not None and not starts < ends:
        raise Invalid(f"{start_name} must be before {end_name}", _path(end_name))


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{name} must be true or false", _path(name))
    return value


def rate(value: Any) -> Decimal:
    """A decimal fraction 0 <= rate < 1 with at most 6 decimal places (the column's scale)."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid("rate must be a decimal number such as 0.0875", _path("rate")) from None
    if not number.is_finite() or not Decimal(0) <= number < Decimal(1):
        raise Invalid("rate must be a fraction from 0 (inclusive) to 1 (exclusive), e.g. 0.0875 for 8.75 %",
                      _path("rate"))
    if number != number.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise Invalid(f"rate may have at most {RATE_PLACES} decimal places", _path("rate"))
    return number.quantize(Decimal(1).scaleb(-RATE_PLACES))


# --- transactions, lookups, constraint violations ------------------------------------------------------


async def _write(db: Database, work: Callable[[AsyncSession], Awaitable[T]], conflict: str,
                 field: Sequence[str], in_use: str = "") -> T:
    """One transaction; a unique violation is ALREADY_EXISTS. The other integrity errors come from
    races the checks in `work` could not see (a row still referenced, one that vanished, a price
    changed by a concurrent request): INVALID, nothing written."""
    try:
        async with db.transaction() as session:
            return await work(session)
    except IntegrityError as error:
        kind = violated_constraint(error)
        if kind == "unique":
            raise DomainError("ALREADY_EXISTS", conflict, field) from None
        if kind == "check":
            raise Invalid("A concurrent change made this one break a rule (e.g. the sale price must stay "
                          "below the base price); reload and try again") from None
        raise Invalid(in_use or "A referenced object changed meanwhile; try again") from None


async def _get(session: AsyncSession, model: Any, identifier: Any, label: str, field: Sequence[str]) -> Any:
    row = await session.get(model, identifier) if identifier else None
    if row is None:
        raise NotFound(f"{label} not found", field)
    return row


def _touch(row: Any) -> None:
    row.updated_at = utcnow()


async def _delete(db: Database, model: Any, identifier: str, label: str,
                  still_used: Callable[[AsyncSession, Any], Awaitable[str | None]] | None = None) -> str:
    async def work(session: AsyncSession) -> str:
        row = await _get(session, model, identifier, label, ["id"])
        if still_used is not None:
            reason = await still_used(session, row)
            if reason:
                raise Invalid(reason, ["id"])
        await session.execute(delete(model).where(model.id == row.id))
        return row.id

    return await _write(db, work, f"{label} could not be deleted", ["id"], f"{label} is still in use")


# --- categories --------------------------------------------------------------------------------------------


async def _check_parent(session: AsyncSession, category_id: str | None, parent_id: str | None) -> str | None:
    """The parent must exist, and must not be the category itself or one of its descendants."""
    if parent_id is None:
        return None
    parent = await _get(session, Category, parent_id, "Parent category", _path("parentId"))
    ancestor: Category | None = parent
    for _ in range(MAX_CATEGORY_DEPTH):
        if ancestor is None:
            return parent.id
        if category_id is not None and ancestor.id == category_id:
            raise Invalid("A category cannot be its own ancestor", _path("parentId"))
        ancestor = await session.get(Category, ancestor.parent_id) if ancestor.parent_id else None
    raise Invalid(f"Categories may nest at most {MAX_CATEGORY_DEPTH} levels deep", _path("parentId"))


def _require(values: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if name not in values:
            raise Invalid(f"{name} is required", _path(name))


def _listing_values(fields: Fields, picture: str, picture_path: str) -> dict[str, Any]:
    """What categories and brands share: name, slug, description, active, and a picture URL."""
    values: dict[str, Any] = {}
    if "name" in fields:
        values["name"] = text(fields["name"], "name", 200)
    if "slug" in fields:
        values["slug"] = slug(fields["slug"])
    if "description" in fields:
        values["description"] = long_text(fields["description"])
    if picture in fields:
        values[picture] = url(fields[picture], picture_path)
    if "active" in fields:
        values["active"] = boolean(fields["active"], "active")
    return values


def _category_values(fields: Fields) -> dict[str, Any]:
    return _listing_values(fields, "image_url", "imageUrl")


async def create_category(db: Database, fields: Fields) -> Category:
    values = _category_values({"description": "", "image_url": "", "active": True, **fields})
    _require(values, "name", "slug")

    async def work(session: AsyncSession) -> Category:
        category = Category(**values, parent_id=await _check_parent(session, None, fields.get("parent_id")))
        session.add(category)
        await session.flush()
        return category

    return await _write(db, work, f"A category with slug '{values['slug']}' already exists", _path("slug"))


async def update_category(db: Database, category_id: str, fields: Fields) -> Category:
    values = _category_values(fields)

    async def work(session: AsyncSession) -> Category:
        category = await _get(session, Category, category_id, "Category", ["id"])
        if "parent_id" in fields:
            category.parent_id = await _check_parent(session, category.id, fields["parent_id"])
        for key, value in values.items():
            setattr(category, key, value)
        _touch(category)
        await session.flush()
        return category

    return await _write(db, work, f"A category with slug '{values.get('slug')}' already exists", _path("slug"))


async def delete_category(db: Database, category_id: str) -> str:
    """Sub-categories move to the root and products lose their category (foreign keys SET NULL)."""
    return await _delete(db, Category, category_id, "Category")


# --- brands ----------------------------------------------------------------------------------------------------


def _brand_values(fields: Fields) -> dict[str, Any]:
    return _listing_values(fields, "logo_url", "logoUrl")


async def create_brand(db: Database, fields: Fields) -> Brand:
    values = _brand_values({"description": "", "logo_url": "", "active": True, **fields})
    _require(values, "name", "slug")

    async def work(session: AsyncSession) -> Brand:
        brand = Brand(**values)
        session.add(brand)
        await session.flush()
        return brand

    return await _write(db, work, f"A brand with slug '{values['slug']}' already exists", _path("slug"))


async def update_brand(db: Database, brand_id: str, fields: Fields) -> Brand:
    values = _brand_values(fields)

    async def work(session: AsyncSession) -> Brand:
        brand = await _get(session, Brand, brand_id, "Brand", ["id"])
        for key, value in values.items():
            setattr(brand, key, value)
        _touch(brand)
        await session.flush()
        return brand

    return await _write(db, work, f"A brand with slug '{values.get('slug')}' already exists", _path("slug"))


async def delete_brand(db: Database, brand_id: str) -> str:
    """Products of the brand keep existing without one (foreign key SET NULL)."""
    return await _delete(db, Brand, brand_id, "Brand")


# --- SKUs ---------------------------------------------------------------------------------------------------


def _sku_lock_key(sku_value: str) -> int:
    """A signed 64-bit advisory-lock key for a SKU, the same in every process."""
    digest = hashlib.blake2b(f"sku:{sku_value.lower()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _claim_sku(db: Database, session: AsyncSession, sku_value: str, *, product_id: str | None = None,
                     variant_id: str | None = None) -> None:
    """SKUs are unique case-insensitively across products and variants together. Each table's
    unique index on lower(sku) settles races within it; across the two tables no index can, so
    writers of the same SKU take a transaction lock on it first (SQLite's write transactions
    are serial already) and then look in both tables."""
    if not db.is_sqlite:
        await session.execute(select(func.pg_advisory_xact_lock(_sku_lock_key(sku_value))))
    key = sku_value.lower()
    for model, label, own_id in ((Product, "product", product_id), (ProductVariant, "variant", variant_id)):
        statement = select(model.id).where(func.lower(model.sku) == key)
        if own_id is not None:
            statement = statement.where(model.id != own_id)
        if (await session.execute(statement.limit(1))).first() is not None:
            raise DomainError("ALREADY_EXISTS", f"A {label} with SKU '{sku_value}' already exists "
                              "(SKUs are unique across products and variants, whatever their case)", _path("sku"))


# --- products -----------------------------------------------------------------------------------------------


def _product_values(fields: Fields) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "sku" in fields:
        values["sku"] = sku(fields["sku"])
    if "name" in fields:
        values["name"] = text(fields["name"], "name", 300)
    if "description" in fields:
        values["description"] = long_text(fields["description"])
    if "base_price" in fields:
        if fields["base_price"] is None:
            raise Invalid("basePrice must not be null", _path("basePrice"))
        values["base_price_amount"], values["currency"] = money(fields["base_price"], "basePrice")
    if "sale_price" in fields:
        if fields["sale_price"] is None:
            values["sale_price_amount"] = None
        else:
            values["sale_price_amount"], values["sale_currency"] = money(fields["sale_price"], "salePrice")
    for key in ("sale_starts_at", "sale_ends_at"):
        if key in fields:
            values[key] = fields[key]
    if "status" in fields:
        if fields["status"] not in {status.value for status in ProductStatus}:
            raise Invalid("status must be ACTIVE, DRAFT or ARCHIVED", _path("status"))
        values["status"] = fields["status"]
    if "images" in fields:
        values["images"] = images(fields["images"])
    if "attributes" in fields:
        values["attributes"] = attributes(fields["attributes"])
    if "stock" in fields:
        values["stock"] = stock(fields["stock"])
    return values


async def _apply_product(session: AsyncSession, product: Product, fields: Fields, values: dict[str, Any]) -> None:
    sale_currency = values.pop("sale_currency", None)
    if "currency" in values and values["currency"] != product.currency and product.id is not None:
        priced_variants = (
            await session.execute(
                select(func.count())
                .select_from(ProductVariant)
                .where(ProductVariant.product_id == product.id, ProductVariant.price_amount.is_not(None))
            )
        ).scalar_one()
        if priced_variants:
            raise Invalid("The currency cannot change while variants have prices of their own",
                          _path("basePrice", "currency"))
        if product.sale_price_amount is not None and "sale_price_amount" not in values:
            raise Invalid("Changing the currency needs the sale price too (or null)", _path("salePrice"))
    for key, value in values.items():
        setattr(product, key, value)
    if sale_currency is not None and sale_currency != product.currency:
        raise Invalid("salePrice must be in the currency of basePrice", _path("salePrice", "currency"))
    if product.sale_price_amount is not None and product.sale_price_amount >= product.base_price_amount:
        # Name the field the caller sent: lowering the base price under a stored sale price is refused too.
        field = ("salePrice" if "sale_price_amount" in values else "basePrice", "amount")
        raise Invalid(f"salePrice ({product.sale_price_amount}) must be below basePrice "
                      f"({product.base_price_amount})", _path(*field))
    # Checked on the stored values as changed: a new end must also follow the stored start.
    window(product.sale_starts_at, product.sale_ends_at, "saleStartsAt", "saleEndsAt")
    for key, model, label, name in (("brand_id", Brand, "Brand", "brandId"),
                                    ("category_id", Category, "Category", "categoryId")):
        if key in fields:
            reference = fields[key]
            setattr(product, key, (await _get(session, model, reference, label, _path(name))).id
                    if reference is not None else None)


async def create_product(db: Database, fields: Fields) -> Product:
    values = _product_values(
        {"description": "", "status": ProductStatus.DRAFT.value, "images": [], "attributes": {}, "stock": 0,
         **fields}
    )
    for required, name in (("sku", "sku"), ("name", "name"), ("base_price_amount", "basePrice")):
        if required not in values:
            raise Invalid(f"{name} is required", _path(name))

    async def work(session: AsyncSession) -> Product:
        product = Product(sale_price_amount=None, sale_starts_at=None, sale_ends_at=None)
        await _apply_product(session, product, fields, values)
        await _claim_sku(db, session, values["sku"])
        session.add(product)
        await session.flush()
        return product

    return await _write(db, work, f"A product with SKU '{values['sku']}' already exists", _path("sku"))


async def update_product(db: Database, product_id: str, fields: Fields) -> Product:
    values = _product_values(fields)

    async def work(session: AsyncSession) -> Product:
        product = await _get(session, Product, product_id, "Product", ["id"])
        if "sku" in values:
            await _claim_sku(db, session, values["sku"], product_id=product.id)
        await _apply_product(session, product, fields, values)
        _touch(product)
        await session.flush()
        return product

    return await _write(db, work, f"A product with SKU '{values.get('sku')}' already exists", _path("sku"))


async def _product_in_orders(session: AsyncSession, product: Product) -> str | None:
    ordered = (await session.execute(select(exists().where(OrderItem.product_id == product.id)))).scalar()
    return "The product appears in orders: set its status to ARCHIVED instead" if ordered else None


async def delete_product(db: Database, product_id: str) -> str:
    """Also deletes its variants and cart lines; refused once the product has been ordered."""
    return await _delete(db, Product, product_id, "Product", _product_in_orders)


# --- variants -----------------------------------------------------------------------------------------------


def _variant_values(fields: Fields) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "sku" in fields:
        values["sku"] = sku(fields["sku"])
    if "name" in fields:
        values["name"] = text(fields["name"], "name", 300)
    if "price" in fields:
        if fields["price"] is None:
            values["price_amount"] = None
        else:
            values["price_amount"], values["price_currency"] = money(fields["price"], "price")
    if "stock" in fields:
        values["stock"] = stock(fields["stock"])
    if "attributes" in fields:
        values["attributes"] = attributes(fields["attributes"])
    return values


def _apply_variant(variant: ProductVariant, product: Product, values: dict[str, Any]) -> None:
    price_currency = values.pop("price_currency", None)
    if price_currency is not None and price_currency != product.currency:
        raise Invalid(f"price must be in the product's currency ({product.currency})", _path("price", "currency"))
    for key, value in values.items():
        setattr(variant, key, value)


async def create_variant(db: Database, fields: Fields) -> tuple[ProductVariant, Product]:
    values = _variant_values({"stock": 0, "attributes": {}, **fields})
    _require(values, "sku", "name")

    async def work(session: AsyncSession) -> tuple[ProductVariant, Product]:
        product = await _get(session, Product, fields.get("product_id"), "Product", _path("productId"))
        variant = ProductVariant(product_id=product.id, price_amount=None)
        _apply_variant(variant, product, values)
        await _claim_sku(db, session, values["sku"])
        session.add(variant)
        await session.flush()
        return variant, product

    return await _write(db, work, f"A variant with SKU '{values['sku']}' already exists", _path("sku"))


async def update_variant(db: Database, variant_id: str, fields: Fields) -> tuple[ProductVariant, Product]:
    values = _variant_values(fields)

    async def work(session: AsyncSession) -> tuple[ProductVariant, Product]:
        variant = await _get(session, ProductVariant, variant_id, "Variant", ["id"])
        product = await _get(session, Product, variant.product_id, "Product", ["id"])
        if "sku" in values:
            await _claim_sku(db, session, values["sku"], variant_id=variant.id)
        _apply_variant(variant, product, values)
        _touch(variant)
        await session.flush()
        return variant, product

    return await _write(db, work, f"A variant with SKU '{values.get('sku')}' already exists", _path("sku"))


async def delete_variant(db: Database, variant_id: str) -> str:
    """Cart lines of the variant go with it; refused once the variant has been ordered (like
    products): an order line whose variant is gone would read as a product line, and canceling
    its order would put the units back on the product's stock."""

    async def in_orders(session: AsyncSession, variant: ProductVariant) -> str | None:
        # Lock the variant first (PostgreSQL): a checkout writing an order line for it holds a
        # key-share lock until it commits, so the check below then sees that line.
        await session.execute(select(ProductVariant.id).where(ProductVariant.id == variant.id).with_for_update())
        ordered = (await session.execute(select(exists().where(OrderItem.variant_id == variant.id)))).scalar()
        return "The variant appears in orders: set its stock to 0 instead" if ordered else None

    return await _delete(db, ProductVariant, variant_id, "Variant", in_orders)


# --- promotions -----------------------------------------------------------------------------------------------


def _promotion_values(fields: Fields) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "code" in fields:
        code = text(fields["code"], "code", 64).upper()
        if not PROMOTION_CODE.fullmatch(code):
            raise Invalid("code must hold only letters, digits, '_' and '-' (stored upper-case)", _path("code"))
        values["code"] = code
    if "description" in fields:
        values["description"] = text(fields["description"], "description", 500, required=False)
    if "kind" in fields:
        if fields["kind"] not in {kind.value for kind in PromotionKind}:
            raise Invalid("kind must be PERCENTAGE or FIXED_AMOUNT", _path("kind"))
        values["kind"] = fields["kind"]
    if "value" in fields:
        if isinstance(fields["value"], bool) or not isinstance(fields["value"], int):
            raise Invalid("value must be an integer", _path("value"))
        values["value"] = fields["value"]
    if "currency" in fields:
        values["currency"] = currency(fields["currency"], "currency")
    if "min_subtotal" in fields:
        values["min_subtotal_amount"] = amount(fields["min_subtotal"] or 0, "minSubtotal")
    if "max_discount" in fields:
        values["max_discount_amount"] = (
            None if fields["max_discount"] is None else amount(fields["max_discount"], "maxDiscount", positive=True)
        )
    for key in ("starts_at", "ends_at"):
        if key in fields:
            values[key] = fields[key]
    if "usage_limit" in fields:
        limit = fields["usage_limit"]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_STOCK):
            raise Invalid(f"usageLimit must be from 1 to {MAX_STOCK}, or null for no limit", _path("usageLimit"))
        values["usage_limit"] = limit
    if "active" in fields:
        values["active"] = boolean(fields["active"], "active")
    return values


def _check_promotion(promotion: Promotion) -> None:
    if promotion.kind == PromotionKind.PERCENTAGE.value and not 1 <= promotion.value <= 100:
        raise Invalid("A PERCENTAGE promotion's value must be from 1 to 100", _path("value"))
    if promotion.kind == PromotionKind.FIXED_AMOUNT.value and not 0 < promotion.value <= MAX_AMOUNT:
        raise Invalid("A FIXED_AMOUNT promotion's value must be a positive amount in minor units", _path("value"))
    window(promotion.starts_at, promotion.ends_at, "startsAt", "endsAt")
    if promotion.usage_limit is not None and promotion.usage_limit < (promotion.usage_count or 0):
        raise Invalid(f"usageLimit cannot be below the uses so far ({promotion.usage_count})", _path("usageLimit"))


async def create_promotion(db: Database, fields: Fields) -> Promotion:
    values = _promotion_values(
        {"description": "", "currency": "USD", "min_subtotal": 0, "max_discount": None, "starts_at": None,
         "ends_at": None, "usage_limit": None, "active": True, **fields}
    )
    _require(values, "code", "kind", "value")

    async def work(session: AsyncSession) -> Promotion:
        promotion = Promotion(**values, usage_count=0)
        _check_promotion(promotion)
        session.add(promotion)
        await session.flush()
        return promotion

    return await _write(db, work, f"A promotion with code '{values['code']}' already exists", _path("code"))


async def update_promotion(db: Database, promotion_id: str, fields: Fields) -> Promotion:
    values = _promotion_values(fields)

    async def work(session: AsyncSession) -> Promotion:
        promotion = await _get(session, Promotion, promotion_id, "Promotion", ["id"])
        for key, value in values.items():
            setattr(promotion, key, value)
        _check_promotion(promotion)
        _touch(promotion)
        await session.flush()
        return promotion

    return await _write(db, work, f"A promotion with code '{values.get('code')}' already exists", _path("code"))


async def _promotion_redeemed(session: AsyncSession, promotion: Promotion) -> str | None:
    redeemed = (
        await session.execute(select(exists().where(PromotionRedemption.promotion_id == promotion.id)))
    ).scalar()
    return "The promotion has been redeemed: deactivate it instead" if redeemed else None


async def delete_promotion(db: Database, promotion_id: str) -> str:
    return await _delete(db, Promotion, promotion_id, "Promotion", _promotion_redeemed)


def promotion_search(search: str | None) -> str | None:
    """The `search` argument of the promotions list: part of a code, matched upper-case."""
    if search is None:
        return None
    keyword = search.strip().upper()
    if len(keyword) > 64:
        raise DomainError("BAD_USER_INPUT", "'search' must be at most 64 characters", ["search"])
    return keyword or None


def _promotions_where(statement: Any, search: str | None, active: bool | None) -> Any:
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(Promotion.code.like(pattern, escape="\\"))
    if active is not None:
        statement = statement.where(Promotion.active.is_(active))
    return statement


async def list_promotions(db: Database, window: Window, search: str | None = None,
                          active: bool | None = None) -> Sequence[Row[Any]]:
    """Every promotion (inactive and expired ones too), newest first."""
    statement = _promotions_where(select(Promotion.__table__), search, active)
    statement = statement.order_by(Promotion.created_at.desc(), Promotion.id.desc())
    async with db.read() as conn:
        return (await conn.execute(statement.offset(window.offset).limit(window.limit))).all()


async def count_promotions(db: Database, search: str | None = None, active: bool | None = None) -> int:
    statement = _promotions_where(select(func.count()).select_from(Promotion), search, active)
    async with db.read() as conn:
        return int((await conn.execute(statement)).scalar_one())


# --- shipping methods -------------------------------------------------------------------------------------------


def _shipping_values(fields: Fields) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in fields:
        values["name"] = text(fields["name"], "name", 200)
    if "price" in fields:
        if fields["price"] is None:
            raise Invalid("price must not be null", _path("price"))
        values["price_amount"], values["currency"] = money(fields["price"], "price")
    if "free_over" in fields:
        if fields["free_over"] is None:
            values["free_over_amount"] = None
        else:
            values["free_over_amount"], values["free_over_currency"] = money(fields["free_over"], "freeOver")
    if "active" in fields:
        values["active"] = boolean(fields["active"], "active")
    return values


def _apply_shipping(method: ShippingMethod, values: dict[str, Any]) -> None:
    free_over_currency = values.pop("free_over_currency", None)
    for key, value in values.items():
        setattr(method, key, value)
    if free_over_currency is not None and free_over_currency != method.currency:
        raise Invalid("freeOver must be in the currency of price", _path("freeOver", "currency"))
    if "currency" in values and method.free_over_amount is not None and free_over_currency is None:
        # The threshold is stored in the method's currency: restate it when the currency changes.
        raise Invalid("Changing the currency needs freeOver too (or null)", _path("freeOver"))


async def create_shipping_method(db: Database, fields: Fields) -> ShippingMethod:
    values = _shipping_values({"free_over": None, "active": True, **fields})
    for required, name in (("name", "name"), ("price_amount", "price")):
        if required not in values:
            raise Invalid(f"{name} is required", _path(name))
    identifier = fields.get("id")
    if identifier is not None and not SHIPPING_ID.fullmatch(str(identifier)):
        raise Invalid("id must look like 'ship_standard': 'ship_' then 1-35 lower-case letters, digits or '_'",
                      _path("id"))

    async def work(session: AsyncSession) -> ShippingMethod:
        method = ShippingMethod(free_over_amount=None)
        if identifier is not None:
            method.id = identifier
        _apply_shipping(method, dict(values))
        session.add(method)
        await session.flush()
        return method

    return await _write(db, work, f"A shipping method with id '{identifier}' already exists", _path("id"))


async def update_shipping_method(db: Database, method_id: str, fields: Fields) -> ShippingMethod:
    values = _shipping_values(fields)

    async def work(session: AsyncSession) -> ShippingMethod:
        method = await _get(session, ShippingMethod, method_id, "Shipping method", ["id"])
        _apply_shipping(method, dict(values))
        _touch(method)
        await session.flush()
        return method

    return await _write(db, work, "The shipping method already exists", ["id"])


async def delete_shipping_method(db: Database, method_id: str) -> str:
    """Orders keep the id they were shipped with (a plain column, not a foreign key)."""
    return await _delete(db, ShippingMethod, method_id, "Shipping method")


# --- tax rates ------------------------------------------------------------------------------------------------------


def _tax_values(fields: Fields) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "country" in fields:
        country = str(fields["country"] or "").strip().upper()
        if country not in COUNTRIES:
            raise Invalid("country must be an ISO 3166-1 alpha-2 code such as 'US'", _path("country"))
        values["country"] = country
    if "state" in fields:
        state = str(fields["state"] or "").strip().upper()
        if state and not STATE.fullmatch(state):
            raise Invalid("state must be 1-8 letters or digits (e.g. 'NY'), or empty for the country-wide rate",
                          _path("state"))
        values["state"] = state
    if "rate" in fields:
        if fields["rate"] is None:
            raise Invalid("rate must not be null", _path("rate"))
        values["rate"] = rate(fields["rate"])
    return values


def _tax_conflict(values: Mapping[str, Any]) -> str:
    where = f"{values.get('country', '')}/{values['state']}" if values.get("state") else values.get("country", "")
    return f"A tax rate for {where or 'this place'} already exists"


async def create_tax_rate(db: Database, fields: Fields) -> TaxRate:
    values = _tax_values({"state": "", **fields})
    _require(values, "country", "rate")

    async def work(session: AsyncSession) -> TaxRate:
        tax_rate = TaxRate(**values)
        session.add(tax_rate)
        await session.flush()
        return tax_rate

    return await _write(db, work, _tax_conflict(values), _path("state"))


async def update_tax_rate(db: Database, tax_rate_id: str, fields: Fields) -> TaxRate:
    values = _tax_values(fields)

    async def work(session: AsyncSession) -> TaxRate:
        tax_rate = await _get(session, TaxRate, tax_rate_id, "Tax rate", ["id"])
        for key, value in values.items():
            setattr(tax_rate, key, value)
        _touch(tax_rate)
        await session.flush()
        return tax_rate

    return await _write(db, work, _tax_conflict(values), _path("state"))


async def delete_tax_rate(db: Database, tax_rate_id: str) -> str:
    return await _delete(db, TaxRate, tax_rate_id, "Tax rate")


def tax_country_filter(country: str | None) -> str | None:
    """The `country` argument of the tax-rate list: an ISO 3166-1 alpha-2 code, any case."""
    if country is None:
        return None
    code = country.strip().upper()
    if code not in COUNTRIES:
        raise DomainError("BAD_USER_INPUT", "'country' must be an ISO 3166-1 alpha-2 code such as 'US'",
                          ["country"])
    return code


def _tax_rates_where(statement: Any, country: str | None) -> Any:
    return statement.where(TaxRate.country == country) if country else statement


async def list_tax_rates(db: Database, window: Window, country: str | None = None) -> Sequence[Row[Any]]:
    """By country, the country-wide rate (state '') first, then by state."""
    statement = _tax_rates_where(select(TaxRate.__table__), country)
    statement = statement.order_by(TaxRate.country, TaxRate.state, TaxRate.id)
    async with db.read() as conn:
        return (await conn.execute(statement.offset(window.offset).limit(window.limit))).all()


async def count_tax_rates(db: Database, country: str | None = None) -> int:
    statement = _tax_rates_where(select(func.count()).select_from(TaxRate), country)
    async with db.read() as conn:
        return int((await conn.execute(statement)).scalar_one())
