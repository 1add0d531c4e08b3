"""Catalog administration mutations, each guarded by its permission (db/defaults.py):
manage_categories, manage_brands, manage_products (products and variants),
manage_promotions, manage_shipping, manage_taxes — and the admin lists that have no public
counterpart (`promotions`, `taxRates`), guarded like their mutations. Input rules:
resolvers/catalog_admin.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import catalog_admin as admin
from schema.catalog import Brand, Category, Product, ProductStatus, ProductVariant
from schema.checkout import Promotion, PromotionKind, ShippingMethod, TaxRate
from schema.errors import UserError
from schema.permissions import has_permission
from schema.rbac import attempt, changes_of
from schema.scalars import JSON, Long
from schema.types import After, Before, Connection, First, Last, MoneyInput, paginate

UNSET: Any = strawberry.UNSET
IdToDelete = Annotated[strawberry.ID, strawberry.argument(description="ID of the object to delete.")]
IdToUpdate = Annotated[strawberry.ID, strawberry.argument(description="ID of the object to change.")]


def fields_of(value: object) -> dict[str, Any]:
    """The input fields that were given, enum members as their values."""
    return {key: item.value if isinstance(item, Enum) else item for key, item in changes_of(value).items()}


def optional(description: str) -> Any:
    return strawberry.field(default=UNSET, description=f"{description} Omit to keep the current value.")


# --- categories ---------------------------------------------------------------------------------------


@strawberry.input(description="A new category.")
class CategoryCreateInput:
    name: str = strawberry.field(description="Display name (1-200 characters).")
    slug: str = strawberry.field(description="Unique URL name: lower-case letters and digits joined by "
                                 "single hyphens, e.g. `running-shoes`.")
    description: str = strawberry.field(default="", description="Longer description.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Parent category; null at the root.")
    image_url: str = strawberry.field(default="", description="http(s) image URL; empty for none.")
    active: bool = strawberry.field(default=True, description="Inactive categories are hidden from the public.")


@strawberry.input(description="Changes to a category; omitted fields stay as they are.")
class CategoryUpdateInput:
    name: str | None = optional("Display name.")
    slug: str | None = optional("Unique URL name.")
    description: str | None = optional("Longer description.")
    parent_id: strawberry.ID | None = optional("Parent category (null: move to the root); not itself or a "
                                               "descendant.")
    image_url: str | None = optional("http(s) image URL.")
    active: bool | None = optional("Whether the public sees it.")


@strawberry.type(description="Result of a change to a category.")
class CategoryPayload:
    category: Category | None = strawberry.field(description="The category as it now is; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a category (sub-categories move to the root).")
class CategoryDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted category; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


# --- brands ----------------------------------------------------------------------------------------------


@strawberry.input(description="A new brand.")
class BrandCreateInput:
    name: str = strawberry.field(description="Display name (1-200 characters).")
    slug: str = strawberry.field(description="Unique URL name, e.g. `tech-corp`.")
    description: str = strawberry.field(default="", description="Longer description.")
    logo_url: str = strawberry.field(default="", description="http(s) logo URL; empty for none.")
    active: bool = strawberry.field(default=True, description="Inactive brands are hidden from the public.")


@strawberry.input(description="Changes to a brand; omitted fields stay as they are.")
class BrandUpdateInput:
    name: str | None = optional("Display name.")
    slug: str | None = optional("Unique URL name.")
    description: str | None = optional("Longer description.")
    logo_url: str | None = optional("http(s) logo URL.")
    active: bool | None = optional("Whether the public sees it.")


@strawberry.type(description="Result of a change to a brand.")
class BrandPayload:
    brand: Brand | None = strawberry.field(description="The brand as it now is; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a brand (its products stay, without a brand).")
class BrandDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted brand; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


# --- products and variants ---------------------------------------------------------------------------------


@strawberry.input(description="A new product.")
class ProductCreateInput:
    sku: str = strawberry.field(description="Unique SKU: letters, digits, `.`, `_`, `-` (at most 64).")
    name: str = strawberry.field(description="Display name (1-300 characters).")
    base_price: MoneyInput = strawberry.field(description="Regular price; its currency is the product's.")
    description: str = strawberry.field(default="", description="Longer description.")
    sale_price: MoneyInput | None = strawberry.field(
        default=None, description="Sale price in the same currency; null for no sale."
    )
    sale_starts_at: dt.datetime | None = strawberry.field(default=None, description="Sale start (null: open).")
    sale_ends_at: dt.datetime | None = strawberry.field(
        default=None, description="Sale end, after the start (null: open)."
    )
    status: ProductStatus = strawberry.field(default=ProductStatus.DRAFT, description="Lifecycle status.")
    brand_id: strawberry.ID | None = strawberry.field(default=None, description="Brand, if any.")
    category_id: strawberry.ID | None = strawberry.field(default=None, description="Category, if any.")
    images: list[str] = strawberry.field(default_factory=list, description="http(s) image URLs (at most 50).")
    attributes: JSON = strawberry.field(default_factory=dict, description="Free-form JSON object.")
    stock: int = strawberry.field(default=0, description="Units in stock (0 or more).")


@strawberry.input(description="Changes to a product; omitted fields stay as they are.")
class ProductUpdateInput:
    sku: str | None = optional("Unique SKU.")
    name: str | None = optional("Display name.")
    base_price: MoneyInput | None = optional("Regular price.")
    description: str | None = optional("Longer description.")
    sale_price: MoneyInput | None = optional("Sale price (null: no sale).")
    sale_starts_at: dt.datetime | None = optional("Sale start (null: open).")
    sale_ends_at: dt.datetime | None = optional("Sale end (null: open).")
    status: ProductStatus | None = optional("Lifecycle status.")
    brand_id: strawberry.ID | None = optional("Brand (null: none).")
    category_id: strawberry.ID | None = optional("Category (null: none).")
    images: list[str] | None = optional("Image URLs.")
    attributes: JSON | None = optional("Free-form JSON object.")
    stock: int | None = optional("Units in stock.")


@strawberry.type(description="Result of a change to a product.")
class ProductPayload:
    product: Product | None = strawberry.field(description="The product as it now is; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a product (with its variants).")
class ProductDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted product; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


@strawberry.input(description="A new variant of a product.")
class ProductVariantCreateInput:
    product_id: strawberry.ID = strawberry.field(description="The product it belongs to.")
    sku: str = strawberry.field(description="Unique SKU among variants.")
    name: str = strawberry.field(description="Display name, e.g. `Large / Blue`.")
    price: MoneyInput | None = strawberry.field(
        default=None, description="Its own price in the product's currency; null: the product's price."
    )
    stock: int = strawberry.field(default=0, description="Units in stock (0 or more).")
    attributes: JSON = strawberry.field(default_factory=dict, description="Free-form JSON object.")


@strawberry.input(description="Changes to a variant; omitted fields stay as they are.")
class ProductVariantUpdateInput:
    sku: str | None = optional("Unique SKU.")
    name: str | None = optional("Display name.")
    price: MoneyInput | None = optional("Its own price (null: the product's).")
    stock: int | None = optional("Units in stock.")
    attributes: JSON | None = optional("Free-form JSON object.")


@strawberry.type(description="Result of a change to a variant.")
class ProductVariantPayload:
    product_variant: ProductVariant | None = strawberry.field(
        description="The variant as it now is; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a variant.")
class ProductVariantDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted variant; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


# --- promotions, shipping methods, tax rates -------------------------------------------------------------------


@strawberry.input(description="A new promotion code.")
class PromotionCreateInput:
    code: str = strawberry.field(description="The code; stored upper-case (letters, digits, `_`, `-`).")
    kind: PromotionKind = strawberry.field(description="How `value` is read.")
    value: Long = strawberry.field(description="PERCENTAGE: 1-100; FIXED_AMOUNT: minor units, more than 0.")
    description: str = strawberry.field(default="", description="What it gives (at most 500 characters).")
    currency: str = strawberry.field(default="USD", description="ISO-4217 currency of the amounts.")
    min_subtotal: Long = strawberry.field(default=0, description="Smallest subtotal it applies to, minor units.")
    max_discount: Long | None = strawberry.field(default=None, description="Cap on the discount; null: none.")
    starts_at: dt.datetime | None = strawberry.field(default=None, description="Start of validity (null: now).")
    ends_at: dt.datetime | None = strawberry.field(default=None, description="End of validity, after the start.")
    usage_limit: int | None = strawberry.field(default=None, description="Orders that may use it; null: no limit.")
    active: bool = strawberry.field(default=True, description="Inactive codes are refused at checkout.")


@strawberry.input(description="Changes to a promotion; omitted fields stay as they are.")
class PromotionUpdateInput:
    code: str | None = optional("The code.")
    kind: PromotionKind | None = optional("How `value` is read.")
    value: Long | None = optional("Percent or minor units.")
    description: str | None = optional("What it gives.")
    currency: str | None = optional("ISO-4217 currency.")
    min_subtotal: Long | None = optional("Smallest subtotal, minor units.")
    max_discount: Long | None = optional("Cap on the discount (null: none).")
    starts_at: dt.datetime | None = optional("Start of validity (null: open).")
    ends_at: dt.datetime | None = optional("End of validity (null: open).")
    usage_limit: int | None = optional("Orders that may use it (null: no limit); not below the uses so far.")
    active: bool | None = optional("Whether it can be used.")


@strawberry.type(description="Result of a change to a promotion.")
class PromotionPayload:
    promotion: Promotion | None = strawberry.field(description="The promotion as it now is; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a promotion.")
class PromotionDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted promotion; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


@strawberry.input(description="A new shipping method.")
class ShippingMethodCreateInput:
    name: str = strawberry.field(description="Display name (1-200 characters).")
    price: MoneyInput = strawberry.field(description="Price of shipping an order.")
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Chosen ID such as `ship_standard` (`ship_` + 1-35 of a-z, 0-9, `_`); "
        "generated when null."
    )
    free_over: MoneyInput | None = strawberry.field(
        default=None, description="Free at or above this subtotal, same currency; null: never free."
    )
    active: bool = strawberry.field(default=True, description="Inactive methods cannot be chosen.")


@strawberry.input(description="Changes to a shipping method; omitted fields stay as they are.")
class ShippingMethodUpdateInput:
    name: str | None = optional("Display name.")
    price: MoneyInput | None = optional("Price of shipping.")
    free_over: MoneyInput | None = optional("Free-shipping threshold (null: never free).")
    active: bool | None = optional("Whether it can be chosen.")


@strawberry.type(description="Result of a change to a shipping method.")
class ShippingMethodPayload:
    shipping_method: ShippingMethod | None = strawberry.field(
        description="The shipping method as it now is; null when refused."
    )
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a shipping method.")
class ShippingMethodDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted method; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


@strawberry.input(description="A new tax rate for a country, or one state/region of it.")
class TaxRateCreateInput:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code (any case).")
    rate: Decimal = strawberry.field(description="Decimal fraction 0 <= rate < 1, at most 6 places, as a "
                                     "string (`\"0.0875\"`) or a number.")
    state: str = strawberry.field(default="", description="State/region code (upper-cased); empty: country-wide.")


@strawberry.input(description="Changes to a tax rate; omitted fields stay as they are.")
class TaxRateUpdateInput:
    country: str | None = optional("ISO 3166-1 alpha-2 country code.")
    rate: Decimal | None = optional("Decimal fraction 0 <= rate < 1.")
    state: str | None = optional("State/region code; empty: country-wide.")


@strawberry.type(description="Result of a change to a tax rate.")
class TaxRatePayload:
    tax_rate: TaxRate | None = strawberry.field(description="The tax rate as it now is; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the change was refused; empty on success.")


@strawberry.type(description="Result of deleting a tax rate.")
class TaxRateDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted tax rate; null when refused.")
    errors: list[UserError] = strawberry.field(description="Why the deletion was refused; empty on success.")


# --- the mutations ------------------------------------------------------------------------------------------------


@strawberry.type
class CatalogAdminQuery:
    @strawberry.field(
        description="Every promotion — inactive, expired and used-up ones too — newest first.",
        extensions=has_permission("manage_promotions"),
    )
    async def promotions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of the code, any case (at most 64 characters).")
        ] = None,
        active: Annotated[
            bool | None, strawberry.argument(description="Only active (true) or inactive (false) ones.")
        ] = None,
    ) -> Connection[Promotion]:
        db = info.context.db
        keyword = admin.promotion_search(search)
        return await paginate(
            first=first,
            after=after,
            last=last,
            before=before,
            fetch=lambda window: admin.list_promotions(db, window, keyword, active),
            count=lambda: admin.count_promotions(db, keyword, active),
            to_node=Promotion.from_row,
        )

    @strawberry.field(
        description="Every tax rate, by country then state (the country-wide rate, state `\"\"`, first).",
        extensions=has_permission("manage_taxes"),
    )
    async def tax_rates(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        country: Annotated[
            str | None, strawberry.argument(description="Only this country's rates (ISO 3166-1 alpha-2, any case).")
        ] = None,
    ) -> Connection[TaxRate]:
        db = info.context.db
        code = admin.tax_country_filter(country)
        return await paginate(
            first=first,
            after=after,
            last=last,
            before=before,
            fetch=lambda window: admin.list_tax_rates(db, window, code),
            count=lambda: admin.count_tax_rates(db, code),
            to_node=TaxRate.from_row,
        )


def _variant(result: tuple[Any, Any], info: Info) -> ProductVariant:
    variant, product = result
    return ProductVariant.from_row(variant, Product.from_row(product, info.context.now))


@strawberry.type
class CatalogAdminMutation:
    # categories
    @strawberry.mutation(description="Create a category.", extensions=has_permission("manage_categories"))
    async def category_create(self, info: Info, input: CategoryCreateInput) -> CategoryPayload:
        async def work() -> CategoryPayload:
            row = await admin.create_category(info.context.db, fields_of(input))
            return CategoryPayload(category=Category.from_row(row), errors=[])

        return await attempt(work, lambda errors: CategoryPayload(category=None, errors=errors))

    @strawberry.mutation(description="Change a category.", extensions=has_permission("manage_categories"))
    async def category_update(self, info: Info, id: IdToUpdate, input: CategoryUpdateInput) -> CategoryPayload:
        async def work() -> CategoryPayload:
            row = await admin.update_category(info.context.db, id, fields_of(input))
            return CategoryPayload(category=Category.from_row(row), errors=[])

        return await attempt(work, lambda errors: CategoryPayload(category=None, errors=errors))

    @strawberry.mutation(description="Delete a category; its sub-categories move to the root and its products "
                         "keep existing without a category.", extensions=has_permission("manage_categories"))
    async def category_delete(self, info: Info, id: IdToDelete) -> CategoryDeletePayload:
        async def work() -> CategoryDeletePayload:
            return CategoryDeletePayload(deleted_id=await admin.delete_category(info.context.db, id), errors=[])

        return await attempt(work, lambda errors: CategoryDeletePayload(deleted_id=None, errors=errors))

    # brands
    @strawberry.mutation(description="Create a brand.", extensions=has_permission("manage_brands"))
    async def brand_create(self, info: Info, input: BrandCreateInput) -> BrandPayload:
        async def work() -> BrandPayload:
            row = await admin.create_brand(info.context.db, fields_of(input))
            return BrandPayload(brand=Brand.from_row(row), errors=[])

        return await attempt(work, lambda errors: BrandPayload(brand=None, errors=errors))

    @strawberry.mutation(description="Change a brand.", extensions=has_permission("manage_brands"))
    async def brand_update(self, info: Info, id: IdToUpdate, input: BrandUpdateInput) -> BrandPayload:
        async def work() -> BrandPayload:
            row = await admin.update_brand(info.context.db, id, fields_of(input))
            return BrandPayload(brand=Brand.from_row(row), errors=[])

        return await attempt(work, lambda errors: BrandPayload(brand=None, errors=errors))

    @strawberry.mutation(description="Delete a brand; its products keep existing without one.",
                         extensions=has_permission("manage_brands"))
    async def brand_delete(self, info: Info, id: IdToDelete) -> BrandDeletePayload:
        async def work() -> BrandDeletePayload:
            return BrandDeletePayload(deleted_id=await admin.delete_brand(info.context.db, id), errors=[])

        return await attempt(work, lambda errors: BrandDeletePayload(deleted_id=None, errors=errors))

    # products
    @strawberry.mutation(description="Create a product (DRAFT unless a status is given).",
                         extensions=has_permission("manage_products"))
    async def product_create(self, info: Info, input: ProductCreateInput) -> ProductPayload:
        async def work() -> ProductPayload:
            row = await admin.create_product(info.context.db, fields_of(input))
            return ProductPayload(product=Product.from_row(row, info.context.now), errors=[])

        return await attempt(work, lambda errors: ProductPayload(product=None, errors=errors))

    @strawberry.mutation(description="Change a product.", extensions=has_permission("manage_products"))
    async def product_update(self, info: Info, id: IdToUpdate, input: ProductUpdateInput) -> ProductPayload:
        async def work() -> ProductPayload:
            row = await admin.update_product(info.context.db, id, fields_of(input))
            return ProductPayload(product=Product.from_row(row, info.context.now), errors=[])

        return await attempt(work, lambda errors: ProductPayload(product=None, errors=errors))

    @strawberry.mutation(description="Delete a product with its variants; refused once it has been ordered "
                         "(archive it instead).", extensions=has_permission("manage_products"))
    async def product_delete(self, info: Info, id: IdToDelete) -> ProductDeletePayload:
        async def work() -> ProductDeletePayload:
            return ProductDeletePayload(deleted_id=await admin.delete_product(info.context.db, id), errors=[])

        return await attempt(work, lambda errors: ProductDeletePayload(deleted_id=None, errors=errors))

    # variants
    @strawberry.mutation(description="Create a variant of a product.", extensions=has_permission("manage_products"))
    async def product_variant_create(self, info: Info, input: ProductVariantCreateInput) -> ProductVariantPayload:
        async def work() -> ProductVariantPayload:
            result = await admin.create_variant(info.context.db, fields_of(input))
            return ProductVariantPayload(product_variant=_variant(result, info), errors=[])

        return await attempt(work, lambda errors: ProductVariantPayload(product_variant=None, errors=errors))

    @strawberry.mutation(description="Change a variant.", extensions=has_permission("manage_products"))
    async def product_variant_update(
        self, info: Info, id: IdToUpdate, input: ProductVariantUpdateInput
    ) -> ProductVariantPayload:
        async def work() -> ProductVariantPayload:
            result = await admin.update_variant(info.context.db, id, fields_of(input))
            return ProductVariantPayload(product_variant=_variant(result, info), errors=[])

        return await attempt(work, lambda errors: ProductVariantPayload(product_variant=None, errors=errors))

    @strawberry.mutation(description="Delete a variant.", extensions=has_permission("manage_products"))
    async def product_variant_delete(self, info: Info, id: IdToDelete) -> ProductVariantDeletePayload:
        async def work() -> ProductVariantDeletePayload:
            return ProductVariantDeletePayload(deleted_id=await admin.delete_variant(info.context.db, id), errors=[])

        return await attempt(work, lambda errors: ProductVariantDeletePayload(deleted_id=None, errors=errors))

    # promotions
    @strawberry.mutation(description="Create a promotion code.", extensions=has_permission("manage_promotions"))
    async def promotion_create(self, info: Info, input: PromotionCreateInput) -> PromotionPayload:
        async def work() -> PromotionPayload:
            row = await admin.create_promotion(info.context.db, fields_of(input))
            return PromotionPayload(promotion=Promotion.from_row(row), errors=[])

        return await attempt(work, lambda errors: PromotionPayload(promotion=None, errors=errors))

    @strawberry.mutation(description="Change a promotion.", extensions=has_permission("manage_promotions"))
    async def promotion_update(self, info: Info, id: IdToUpdate, input: PromotionUpdateInput) -> PromotionPayload:
        async def work() -> PromotionPayload:
            row = await admin.update_promotion(info.context.db, id, fields_of(input))
            return PromotionPayload(promotion=Promotion.from_row(row), errors=[])

        return await attempt(work, lambda errors: PromotionPayload(promotion=None, errors=errors))

    @strawberry.mutation(description="Delete a promotion; refused once redeemed (deactivate it instead).",
                         extensions=has_permission("manage_promotions"))
    async def promotion_delete(self, info: Info, id: IdToDelete) -> PromotionDeletePayload:
        async def work() -> PromotionDeletePayload:
            return PromotionDeletePayload(deleted_id=await admin.delete_promotion(info.context.db, id), errors=[])

        return await attempt(work, lambda errors: PromotionDeletePayload(deleted_id=None, errors=errors))

    # shipping methods
    @strawberry.mutation(description="Create a shipping method.", extensions=has_permission("manage_shipping"))
    async def shipping_method_create(self, info: Info, input: ShippingMethodCreateInput) -> ShippingMethodPayload:
        async def work() -> ShippingMethodPayload:
            row = await admin.create_shipping_method(info.context.db, fields_of(input))
            return ShippingMethodPayload(shipping_method=ShippingMethod.from_row(row), errors=[])

        return await attempt(work, lambda errors: ShippingMethodPayload(shipping_method=None, errors=errors))

    @strawberry.mutation(description="Change a shipping method.", extensions=has_permission("manage_shipping"))
    async def shipping_method_update(
        self, info: Info, id: IdToUpdate, input: ShippingMethodUpdateInput
    ) -> ShippingMethodPayload:
        async def work() -> ShippingMethodPayload:
            row = await admin.update_shipping_method(info.context.db, id, fields_of(input))
            return ShippingMethodPayload(shipping_method=ShippingMethod.from_row(row), errors=[])

        return await attempt(work, lambda errors: ShippingMethodPayload(shipping_method=None, errors=errors))

    @strawberry.mutation(description="Delete a shipping method.", extensions=has_permission("manage_shipping"))
    async def shipping_method_delete(self, info: Info, id: IdToDelete) -> ShippingMethodDeletePayload:
        async def work() -> ShippingMethodDeletePayload:
            deleted = await admin.delete_shipping_method(info.context.db, id)
            return ShippingMethodDeletePayload(deleted_id=deleted, errors=[])

        return await attempt(work, lambda errors: ShippingMethodDeletePayload(deleted_id=None, errors=errors))

    # tax rates
    @strawberry.mutation(description="Create a tax rate.", extensions=has_permission("manage_taxes"))
    async def tax_rate_create(self, info: Info, input: TaxRateCreateInput) -> TaxRatePayload:
        async def work() -> TaxRatePayload:
            row = await admin.create_tax_rate(info.context.db, fields_of(input))
            return TaxRatePayload(tax_rate=TaxRate.from_row(row), errors=[])

        return await attempt(work, lambda errors: TaxRatePayload(tax_rate=None, errors=errors))

    @strawberry.mutation(description="Change a tax rate.", extensions=has_permission("manage_taxes"))
    async def tax_rate_update(self, info: Info, id: IdToUpdate, input: TaxRateUpdateInput) -> TaxRatePayload:
        async def work() -> TaxRatePayload:
            row = await admin.update_tax_rate(info.context.db, id, fields_of(input))
            return TaxRatePayload(tax_rate=TaxRate.from_row(row), errors=[])

        return await attempt(work, lambda errors: TaxRatePayload(tax_rate=None, errors=errors))

    @strawberry.mutation(description="Delete a tax rate.", extensions=has_permission("manage_taxes"))
    async def tax_rate_delete(self, info: Info, id: IdToDelete) -> TaxRateDeletePayload:
        async def work() -> TaxRateDeletePayload:
            return TaxRateDeletePayload(deleted_id=await admin.delete_tax_rate(info.context.db, id), errors=[])

        return await attempt(work, lambda errors: TaxRateDeletePayload(deleted_id=None, errors=errors))
