"""Orders: checkout (`orderCreate`), the user's order history, staff status updates."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from db.defaults import STAFF_ROLES
from resolvers import orders
from resolvers.errors import DomainError, forbidden, required_id
from schema.catalog import Product, ProductVariant
from schema.errors import UserError, user_error
from schema.node import register_node
from schema.permissions import authenticated, has_permission, has_role
from schema.types import After, Before, Connection, First, IdArg, Last, Money, Node, paginate

FORBIDDEN_ORDER = "You don't have permission to view this order"


@strawberry.enum(description="Where an order is in its workflow. Staff move it: PENDING → PAID | "
                 "CANCELED; PAID → PROCESSING | CANCELED | REFUNDED; PROCESSING → SHIPPED | CANCELED; "
                 "SHIPPED → DELIVERED; DELIVERED → REFUNDED.")
class OrderStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Placed, not paid yet.")
    PAID = strawberry.enum_value("PAID", description="Payment received.")
    PROCESSING = strawberry.enum_value("PROCESSING", description="Being prepared.")
    SHIPPED = strawberry.enum_value("SHIPPED", description="Handed to the carrier.")
    DELIVERED = strawberry.enum_value("DELIVERED", description="Received by the customer.")
    CANCELED = strawberry.enum_value("CANCELED", description="Canceled; its units went back to stock.")
    REFUNDED = strawberry.enum_value("REFUNDED", description="Paid back.")


@strawberry.type(description="A postal address of an order. Optional parts are empty strings when not given.")
class Address:
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    company: str = strawberry.field(description="Company.")
    address1: str = strawberry.field(description="Street address.")
    address2: str = strawberry.field(description="Apartment, suite, floor...")
    city: str = strawberry.field(description="City.")
    state: str = strawberry.field(description="State, province or region (e.g. `NY`).")
    postal_code: str = strawberry.field(description="Postal or ZIP code.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code, e.g. `US`.")
    phone_number: str = strawberry.field(description="Phone number.")

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Address | None:
        if value is None:
            return None
        return cls(**{name: str(value.get(name, "")) for name in (
            "first_name", "last_name", "company", "address1", "address2", "city", "state",
            "postal_code", "country", "phone_number",
        )})


@strawberry.input(description="A postal address. Texts are trimmed; each has a maximum length.")
class AddressInput:
    first_name: str = strawberry.field(description="First name (required, at most 100 characters).")
    last_name: str = strawberry.field(description="Last name (required, at most 100 characters).")
    address1: str = strawberry.field(description="Street address (required, at most 200 characters).")
    city: str = strawberry.field(description="City (required, at most 100 characters).")
    postal_code: str = strawberry.field(description="Postal code (required; letters, digits, spaces, hyphens; "
                                        "at most 20 characters).")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code (required), e.g. `US`.")
    company: str | None = strawberry.field(default=None, description="Company (at most 200 characters).")
    address2: str | None = strawberry.field(default=None, description="Second address line (at most 200 characters).")
    state: str | None = strawberry.field(default=None, description="State or region code, e.g. `NY` "
                                         "(selects the state's tax rate; at most 64 characters).")
    phone_number: str | None = strawberry.field(default=None, description="Phone number (digits, spaces, + ( ) . - x; "
                                                "at most 32 characters).")

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_name": self.first_name, "last_name": self.last_name, "company": self.company,
            "address1": self.address1, "address2": self.address2, "city": self.city, "state": self.state,
            "postal_code": self.postal_code, "country": self.country, "phone_number": self.phone_number,
        }


@strawberry.type(description="A line of an order, priced when the order was placed.")
class OrderItem:
    id: strawberry.ID = strawberry.field(description="ID of the line (`oitem_…`).")
    product_id: strawberry.ID = strawberry.field(description="The product bought.")
    variant_id: strawberry.ID | None = strawberry.field(description="The variant bought; null for the product itself.")
    sku: str = strawberry.field(description="SKU at the time of the order.")
    name: str = strawberry.field(description="Name at the time of the order.")
    unit_price: Money = strawberry.field(description="Unit price paid (before discounts).")
    quantity: int = strawberry.field(description="Units.")
    discount_amount: Money = strawberry.field(description="This line's share of the order's discount.")
    tax_amount: Money = strawberry.field(description="Tax on the discounted line, rounded half-up.")
    total: Money = strawberry.field(description="unit price × quantity − discount + tax.")

    @classmethod
    def from_row(cls, row: Any) -> OrderItem:
        currency = row.currency
        return cls(
            id=row.id,
            product_id=row.product_id,
            variant_id=row.variant_id,
            sku=row.sku,
            name=row.name,
            unit_price=Money(amount=row.unit_price_amount, currency=currency),
            quantity=row.quantity,
            discount_amount=Money(amount=row.discount_amount, currency=currency),
            tax_amount=Money(amount=row.tax_amount, currency=currency),
            total=Money(amount=row.total_amount, currency=currency),
        )

    @strawberry.field(description="The product as it is now (whatever its status).")
    async def product(self, info: Info) -> Product | None:
        row = await info.context.loaders.product.load(self.product_id)
        return Product.from_row(row, info.context.now) if row is not None else None

    @strawberry.field(description="The variant as it is now; null for the product itself or when deleted.")
    async def variant(self, info: Info) -> ProductVariant | None:
        if self.variant_id is None:
            return None
        row = await info.context.loaders.variant.load(self.variant_id)
        product = await self.product(info)
        return ProductVariant.from_row(row, product) if row is not None and product is not None else None


@strawberry.type(description="An order placed from a cart. Invariant: Σ items' total + shippingTotal = total.")
class Order(Node):
    order_number: str = strawberry.field(description="Human-friendly unique number, `ORD-` + 8 characters.")
    user_id: strawberry.ID = strawberry.field(description="Who placed it.")
    status: OrderStatus = strawberry.field(description="Where it is in the workflow.")
    shipping_address: Address = strawberry.field(description="Where it ships (and whose tax rate applies).")
    billing_address: Address | None = strawberry.field(description="Billing address; null when not given.")
    subtotal: Money = strawberry.field(description="Σ unit price × quantity.")
    discount_total: Money = strawberry.field(description="Σ promotion discounts (never more than the subtotal).")
    tax_total: Money = strawberry.field(description="Σ line taxes.")
    shipping_total: Money = strawberry.field(description="Shipping price (0 over the method's free-over threshold).")
    total: Money = strawberry.field(description="subtotal − discountTotal + taxTotal + shippingTotal.")
    payment_method_id: str = strawberry.field(description="Payment method reference given at checkout; may be empty.")
    shipping_method_id: strawberry.ID | None = strawberry.field(description="Shipping method chosen; null when none.")
    promotion_codes: list[str] = strawberry.field(description="Promotion codes applied, in the order given.")
    notes: str = strawberry.field(description="Customer's notes.")
    created_at: dt.datetime = strawberry.field(description="When it was placed.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Order:
        currency = row.currency
        return cls(
            id=row.id,
            order_number=row.order_number,
            user_id=row.user_id,
            status=OrderStatus(row.status),
            shipping_address=Address.from_json(row.shipping_address),
            billing_address=Address.from_json(row.billing_address),
            subtotal=Money(amount=row.subtotal_amount, currency=currency),
            discount_total=Money(amount=row.discount_total_amount, currency=currency),
            tax_total=Money(amount=row.tax_total_amount, currency=currency),
            shipping_total=Money(amount=row.shipping_total_amount, currency=currency),
            total=Money(amount=row.total_amount, currency=currency),
            payment_method_id=row.payment_method_id,
            shipping_method_id=row.shipping_method_id,
            promotion_codes=list(row.promotion_codes or []),
            notes=row.notes,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The lines, in cart order.")
    async def items(self, info: Info) -> list[OrderItem]:
        rows = await info.context.loaders.order_items.load(self.id)
        return [OrderItem.from_row(row) for row in rows]


@strawberry.type(description="Result of an order mutation: the order, or why nothing changed.")
class OrderPayload:
    order: Order | None = strawberry.field(description="The order; null when `errors` is not empty.")
    errors: list[UserError] = strawberry.field(description="Why the request was refused; empty on success.")


@strawberry.input(description="Checkout of the signed-in user's cart.")
class OrderCreateInput:
    shipping_address: AddressInput = strawberry.field(description="Where to ship; its country/state select the tax rate.")
    billing_address: AddressInput | None = strawberry.field(default=None, description="Billing address, optional.")
    payment_method_id: str | None = strawberry.field(default=None, description="Payment method reference "
                                                     "(at most 128 characters), stored with the order.")
    promotion_codes: list[str] | None = strawberry.field(
        default=None, description="Promotion codes (case-insensitive, at most 10, each applied once, stacked in "
        "order). An unknown or unusable code refuses the order (PROMOTION_INVALID)."
    )
    shipping_method_id: strawberry.ID | None = strawberry.field(
        default=None, description="One of `shippingMethods`; unknown, inactive or blank → INVALID. "
        "Null or absent: no shipping charged."
    )
    notes: str | None = strawberry.field(default=None, description="Notes for the order (at most 2000 characters).")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Client-chosen key (1-255 printable ASCII characters): repeating a request with "
        "the same key returns the order it created instead of a second one; the same key with a different "
        "request → IDEMPOTENCY_CONFLICT. REST takes it from the `Idempotency-Key` header."
    )


async def can_view_order(info: Info, row: Any) -> bool:
    """ROUTES.md's rule, exactly: the owner, or a user with the admin, manager or
    customer_experience role (docs/orders.md)."""
    viewer = await info.context.require_viewer()
    return row.user_id == viewer.user_id or viewer.has_role(*STAFF_ROLES)


def order_staff_gate() -> list[Any]:
    """Who moves orders: a staff role (the payload shows the order, which only its owner and
    staff may see) holding manage_orders (admin and manager by default; not customer_experience)."""
    return [*has_role(*STAFF_ROLES), *has_permission("manage_orders")]


async def fetch_order(info: Info, order_id: str) -> Order | None:
    """For node(id:): null when unknown or not visible to the caller."""
    if await info.context.viewer() is None:
        return None
    row = await orders.order_by_id(info.context.db, order_id)
    return Order.from_row(row) if row is not None and await can_view_order(info, row) else None


register_node("ord", fetch_order)


@strawberry.type
class OrderQuery:
    @strawberry.field(description="The signed-in user's orders, newest first.", extensions=authenticated())
    async def orders(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Order]:
        viewer = await info.context.require_viewer()
        db = info.context.db
        return await paginate(
            first=first,
            after=after,
            last=last,
            before=before,
            fetch=lambda window: orders.list_orders(db, viewer.user_id, window),
            count=lambda: orders.count_orders(db, viewer.user_id),
            to_node=Order.from_row,
        )

    @strawberry.field(description="An order by ID, for its owner or staff (admin, manager, "
                      "customer_experience); FORBIDDEN for anyone else; null when unknown; "
                      "INVALID for a blank ID.",
                      extensions=authenticated())
    async def order(self, info: Info, id: IdArg) -> Order | None:
        required_id(id, "Order")
        row = await orders.order_by_id(info.context.db, id)
        if row is None:
            return None
        if not await can_view_order(info, row):
            raise forbidden(FORBIDDEN_ORDER)
        return Order.from_row(row)


@strawberry.type
class OrderMutation:
    @strawberry.mutation(description="Place an order from the cart, in one transaction: re-price it, apply "
                         "promotions, tax and shipping, take the stock (OUT_OF_STOCK if short), empty the "
                         "cart. CART_EMPTY for an empty cart.", extensions=authenticated())
    async def order_create(
        self, info: Info, input: Annotated[OrderCreateInput, strawberry.argument(description="Checkout details.")]
    ) -> OrderPayload:
        viewer = await info.context.require_viewer()
        try:
            request = orders.order_request(
                shipping_address=input.shipping_address.as_dict(),
                billing_address=input.billing_address.as_dict() if input.billing_address is not None else None,
                payment_method_id=input.payment_method_id,
                promotion_codes=input.promotion_codes,
                shipping_method_id=input.shipping_method_id,
                notes=input.notes,
                idempotency_key=input.idempotency_key,
            )
            placed = await orders.create_order(info.context.db, viewer.user_id, request, info.context.now)
        except DomainError as error:
            return OrderPayload(order=None, errors=[user_error(error)])
        if placed.items is not None:
            info.context.loaders.order_items.prime(placed.order.id, placed.items)
        if placed.replayed:
            info.context.response_headers["Idempotent-Replayed"] = "true"
        return OrderPayload(order=Order.from_row(placed.order), errors=[])

    @strawberry.mutation(description="Move an order to another status: staff (admin, manager, "
                         "customer_experience) holding manage_orders. Moves outside the workflow "
                         "→ INVALID_TRANSITION; canceling puts the units back in stock (once).",
                         extensions=order_staff_gate())
    async def order_status_update(
        self,
        info: Info,
        id: IdArg,
        status: Annotated[OrderStatus, strawberry.argument(description="The new status.")],
    ) -> OrderPayload:
        try:
            row = await orders.update_status(info.context.db, id, status.value, info.context.now)
        except DomainError as error:
            return OrderPayload(order=None, errors=[user_error(error)])
        return OrderPayload(order=Order.from_row(row), errors=[])
