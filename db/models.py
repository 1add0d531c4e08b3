"""The database schema as SQLAlchemy 2 typed models: the whole domain, every constraint named.

Money is integer minor units (`*_amount`, BigInteger) beside an ISO-4217 `currency`.
Timestamps are timezone-aware UTC on both databases (see `UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as UTC; always returns aware UTC (SQLite returns naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


def _id_column(prefix: str) -> Mapped[str]:
    return mapped_column(String(40), primary_key=True, default=lambda: new_id(prefix))


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProductStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"


class OrderStatus(enum.StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    PROCESSING = "PROCESSING"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELED = "CANCELED"
    REFUNDED = "REFUNDED"


class PromotionKind(enum.StrEnum):
    PERCENTAGE = "PERCENTAGE"
    FIXED_AMOUNT = "FIXED_AMOUNT"


# --- accounts and access control -------------------------------------------------------------


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored normalised (trimmed, lower-case); this index makes the database,
        # not only the code, refuse two spellings of one address (docs/auth.md).
        Index("uq_users_email_lower", func.lower(literal_column("email")), unique=True),
    )

    id: Mapped[str] = _id_column("usr")
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # In every access token (claim `gen`); bumping it ends the user's access tokens at once
    # (logout, refresh-token reuse, account takeover).
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Role(Timestamped, Base):
    __tablename__ = "roles"

    id: Mapped[str] = _id_column("role")
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")


class Permission(Timestamped, Base):
    __tablename__ = "permissions"

    id: Mapped[str] = _id_column("perm")
    name: Mapped[str] = mapped_column(String(64), unique=True)
    resource: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")


class RolePermission(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    permission_id: Mapped[str] = mapped_column(
        ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RefreshToken(Base):
    """Only the SHA-256 of the opaque token is stored. Rotation links tokens in a family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = _id_column("rtk")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(40), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime]
    # The family's absolute end (first sign-in + REFRESH_TOKEN_MAX_LIFETIME): rotation never
    # moves a token's expiry past it.
    family_expires_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class OAuthIdentity(Base):
    __tablename__ = "oauth_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[str] = _id_column("oid")
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OAuthState(Base):
    """A pending sign-in: single-use, expiring, bound to a PKCE verifier and an OIDC nonce."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    code_verifier: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """Failed-login counter of one key (account, address, or account from an address).

    A window opens at the key's first counted attempt and lasts LOGIN_FAILURE_WINDOW seconds.
    Attempts are counted before the password is checked, by one conditional upsert, so
    parallel requests cannot exceed the limit (resolvers/auth/throttle.py).
    """

    __tablename__ = "login_throttles"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[dt.datetime] = mapped_column(index=True)


# --- catalog ------------------------------------------------------------------------------------


class Category(Timestamped, Base):
    __tablename__ = "categories"

    id: Mapped[str] = _id_column("cat")
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    image_url: Mapped[str] = mapped_column(String(2048), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Brand(Timestamped, Base):
    __tablename__ = "brands"

    id: Mapped[str] = _id_column("brand")
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    logo_url: Mapped[str] = mapped_column(String(2048), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Product(Timestamped, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("base_price_amount >= 0", name="base_price_non_negative"),
        CheckConstraint("sale_price_amount IS NULL OR sale_price_amount >= 0", name="sale_price_non_negative"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("status IN ('ACTIVE', 'DRAFT', 'ARCHIVED')", name="status_known"),
        CheckConstraint(
            "sale_starts_at IS NULL OR sale_ends_at IS NULL OR sale_starts_at < sale_ends_at",
            name="sale_window_ordered",
        ),
        # A "sale" at or above the regular price is a mistake. (SQLite: triggers, migration 0005.)
        CheckConstraint(
            "sale_price_amount IS NULL OR sale_price_amount < base_price_amount", name="sale_below_base"
        ),
        # SKU-1 and sku-1 are the same SKU to people (and across variants: resolvers/catalog_admin.py).
        Index("uq_products_sku_lower", func.lower(literal_column("sku")), unique=True),
        # The public listing: visible products, newest first, id as the tie-breaker.
        Index("ix_products_status_created_id", "status", "created_at", "id"),
        Index("ix_products_category_status_created", "category_id", "status", "created_at", "id"),
        Index("ix_products_brand_status_created", "brand_id", "status", "created_at", "id"),
    )

    id: Mapped[str] = _id_column("prod")
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    base_price_amount: Mapped[int] = mapped_column(BigInteger)
    sale_price_amount: Mapped[int | None] = mapped_column(BigInteger)
    sale_starts_at: Mapped[dt.datetime | None]
    sale_ends_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.DRAFT.value)
    brand_id: Mapped[str | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    category_id: Mapped[str | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"))
    images: Mapped[list[str]] = mapped_column(JSON, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stock: Mapped[int] = mapped_column(Integer, default=0)


class ProductVariant(Timestamped, Base):
    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("price_amount IS NULL OR price_amount >= 0", name="price_non_negative"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        Index("uq_product_variants_sku_lower", func.lower(literal_column("sku")), unique=True),
    )

    id: Mapped[str] = _id_column("var")
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    # NULL: the variant sells at its product's price (sale window included).
    price_amount: Mapped[int | None] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- cart and orders ----------------------------------------------------------------------------


class Cart(Timestamped, Base):
    __tablename__ = "carts"

    id: Mapped[str] = _id_column("cart")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    session_id: Mapped[str] = mapped_column(String(128), default="")


class CartItem(Timestamped, Base):
    __tablename__ = "cart_items"
    __table_args__ = (
        # line_key = product_id + ':' + (variant_id or ''): one line per product+variant, even
        # though a NULL variant_id would slip through a plain unique constraint.
        UniqueConstraint("cart_id", "line_key"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[str] = _id_column("item")
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[str | None] = mapped_column(ForeignKey("product_variants.id", ondelete="CASCADE"))
    line_key: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Order(Timestamped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_user_created_id", "user_id", "created_at", "id"),
        CheckConstraint(
            "subtotal_amount >= 0 AND discount_total_amount >= 0 AND tax_total_amount >= 0 "
            "AND shipping_total_amount >= 0 AND total_amount >= 0",
            name="amounts_non_negative",
        ),
    )

    id: Mapped[str] = _id_column("ord")
    order_number: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING.value)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    subtotal_amount: Mapped[int] = mapped_column(BigInteger)
    discount_total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payment_method_id: Mapped[str] = mapped_column(String(128), default="")
    shipping_method_id: Mapped[str | None] = mapped_column(String(40))
    promotion_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[str] = _id_column("oitem")
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    variant_id: Mapped[str | None] = mapped_column(ForeignKey("product_variants.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    currency: Mapped[str] = mapped_column(String(3))
    unit_price_amount: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Promotion(Timestamped, Base):
    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint("kind IN ('PERCENTAGE', 'FIXED_AMOUNT')", name="kind_known"),
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("kind <> 'PERCENTAGE' OR value <= 100", name="percentage_at_most_100"),
        CheckConstraint("usage_limit IS NULL OR usage_count <= usage_limit", name="usage_within_limit"),
        CheckConstraint("usage_count >= 0", name="usage_count_non_negative"),
    )

    id: Mapped[str] = _id_column("promo")
    # Stored upper-case: codes are matched case-insensitively.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    min_subtotal_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    max_discount_amount: Mapped[int | None] = mapped_column(BigInteger)
    starts_at: Mapped[dt.datetime | None]
    ends_at: Mapped[dt.datetime | None]
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PromotionRedemption(Base):
    __tablename__ = "promotion_redemptions"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    promotion_id: Mapped[str] = mapped_column(
        ForeignKey("promotions.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    discount_amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ShippingMethod(Timestamped, Base):
    __tablename__ = "shipping_methods"
    __table_args__ = (
        CheckConstraint("price_amount >= 0", name="price_non_negative"),
        CheckConstraint("free_over_amount IS NULL OR free_over_amount >= 0", name="free_over_non_negative"),
    )

    id: Mapped[str] = _id_column("ship")
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    price_amount: Mapped[int] = mapped_column(BigInteger)
    free_over_amount: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TaxRate(Timestamped, Base):
    __tablename__ = "tax_rates"
    __table_args__ = (
        # state '' is the country-wide rate.
        UniqueConstraint("country", "state"),
        CheckConstraint("rate >= 0 AND rate < 1", name="rate_fraction"),
    )

    id: Mapped[str] = _id_column("tax")
    country: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(8), default="")
    rate: Mapped[Decimal] = mapped_column(Numeric(7, 6))


class IdempotencyKey(Base):
    """Maps (user, client key) to the order it created, so a retried checkout returns it."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PersistedQuery(Base):
    """Persisted queries (Apollo's sha256 protocol), shared by every worker.

    `safelisted`: loaded by `shopql persist`, never evicted, the only documents safelist mode
    runs. Automatically registered ones are evicted least recently used first (`last_used_at`,
    updated at most once a minute per document).
    """

    __tablename__ = "persisted_queries"
    __table_args__ = (Index("ix_persisted_queries_safelisted_last_used", "safelisted", "last_used_at"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    safelisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

