"""Demo data for `shopql seed-demo`: a realistic, deterministic catalog and checkout set-up."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.ids import new_id
from db.models import (
    Brand,
    Category,
    Product,
    ProductStatus,
    ProductVariant,
    Promotion,
    PromotionKind,
    ShippingMethod,
    TaxRate,
)

CATEGORY_TREE: dict[str, list[str]] = {
    "Electronics": ["Laptops", "Phones", "Audio", "Cameras"],
    "Home & Kitchen": ["Cookware", "Furniture", "Lighting"],
    "Sports & Outdoors": ["Camping", "Fitness", "Cycling"],
    "Fashion": ["Shoes", "Jackets"],
}

BRANDS = [
    ("TechCorp", "Leading technology manufacturer"),
    ("Acme", "Everything, since 1949"),
    ("Northwind", "Outdoor gear built to last"),
    ("Globex", "Global electronics"),
    ("Initech", "Office and home essentials"),
    ("Umbrella", "Health and fitness"),
    ("Hooli", "Smart devices"),
    ("Stark Industries", "Precision engineering"),
    ("Wayne Goods", "Premium lifestyle"),
    ("Soylent", "Kitchen and nutrition"),
]

NOUNS: dict[str, list[str]] = {
    "Laptops": ["Laptop", "Ultrabook", "Notebook", "Workstation"],
    "Phones": ["Smartphone", "Phone", "Flip Phone"],
    "Audio": ["Headphones", "Speaker", "Earbuds", "Soundbar"],
    "Cameras": ["Camera", "Action Cam", "Lens"],
    "Cookware": ["Frying Pan", "Stock Pot", "Chef Knife", "Dutch Oven"],
    "Furniture": ["Desk", "Office Chair", "Bookshelf"],
    "Lighting": ["Desk Lamp", "Floor Lamp", "LED Strip"],
    "Camping": ["Tent", "Sleeping Bag", "Camp Stove", "Backpack"],
    "Fitness": ["Yoga Mat", "Kettlebell", "Dumbbell Set"],
    "Cycling": ["Road Bike", "Bike Helmet", "Bike Light"],
    "Shoes": ["Running Shoes", "Hiking Boots", "Sneakers"],
    "Jackets": ["Rain Jacket", "Down Jacket", "Fleece"],
}
ADJECTIVES = ["Professional", "Compact", "Ultra", "Classic", "Smart", "Eco", "Pro", "Lite", "Max", "Travel"]
COLORS = ["silver", "black", "white", "blue", "red", "green"]
SIZES = ["S", "M", "L", "XL"]

SHIPPING_METHODS = [
    ("ship_standard", "Standard (5-7 business days)", 599, 5000),
    ("ship_express", "Express (2-3 business days)", 1499, None),
    ("ship_overnight", "Overnight", 2999, None),
    ("ship_pickup", "Store pickup", 0, None),
]

US_STATE_TAX = {
    "NY": "0.0875", "CA": "0.0725", "TX": "0.0625", "WA": "0.065", "FL": "0.06",
    "IL": "0.0625", "NJ": "0.06625", "MA": "0.0625", "PA": "0.06", "OR": "0",
}
COUNTRY_TAX = {"DE": "0.19", "FR": "0.20", "GB": "0.20", "CA": "0.05"}


async def catalog_is_empty(db: Database) -> bool:
    async with db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(Product))).scalar_one() == 0


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-").replace("--", "-")


async def seed_demo(db: Database, products: int = 120, seed: int = 42) -> dict[str, int]:
    """Insert the demo catalog in one transaction; returns how many rows of each kind."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    async with db.transaction() as session:
        leaves = await _categories(session, now)
        brands = await _brands(session, now)
        counts = await _products(session, rng, now, leaves, brands, products)
        _checkout_setup(session, now)
    return {"categories": sum(1 + len(v) for v in CATEGORY_TREE.values()), "brands": len(brands), **counts}


async def _categories(session: AsyncSession, now: dt.datetime) -> list[Category]:
    leaves = []
    for position, (root_name, children) in enumerate(CATEGORY_TREE.items()):
        root = Category(
            id=new_id("cat"), name=root_name, slug=_slug(root_name),
            description=f"{root_name} for every budget", created_at=now - dt.timedelta(days=400 - position),
            updated_at=now,
        )
        session.add(root)
        for index, child_name in enumerate(children):
            child = Category(
                id=new_id("cat"), name=child_name, slug=_slug(child_name), parent_id=root.id,
                description=f"{child_name} in {root_name}",
                created_at=now - dt.timedelta(days=300 - position * 10 - index), updated_at=now,
            )
            session.add(child)
            leaves.append(child)
    await session.flush()
    return leaves


async def _brands(session: AsyncSession, now: dt.datetime) -> list[Brand]:
    brands = [
        Brand(id=new_id("brand"), name=name, slug=_slug(name), description=description,
              created_at=now - dt.timedelta(days=500 - index), updated_at=now)
        for index, (name, description) in enumerate(BRANDS)
    ]
    session.add_all(brands)
    await session.flush()
    return brands


async def _products(
    session: AsyncSession, rng: random.Random, now: dt.datetime,
    leaves: list[Category], brands: list[Brand], count: int,
) -> dict[str, int]:
    variants = drafts = archived = out_of_stock = on_sale = 0
    for index in range(count):
        category = leaves[index % len(leaves)]
        brand = brands[rng.randrange(len(brands))]
        noun = rng.choice(NOUNS[category.name])
        name = f"{brand.name} {rng.choice(ADJECTIVES)} {noun} {100 + index}"
        price = rng.choice([999, 1999, 2999, 4999, 7999, 9999, 14999, 29999, 59999, 99999])
        status = ProductStatus.ACTIVE
        if index % 15 == 7:
            status, drafts = ProductStatus.DRAFT, drafts + 1
        elif index % 29 == 11:
            status, archived = ProductStatus.ARCHIVED, archived + 1
        stock = 0 if index % 12 == 5 else rng.randint(3, 250)
        out_of_stock += stock == 0
        sale_price = starts = ends = None
        if index % 4 == 0:
            on_sale += 1
            sale_price = price * rng.choice([70, 80, 90]) // 100
            # Mostly open windows; some ended, some still to come, some open-ended.
            kind = index % 16
            starts = now - dt.timedelta(days=10) if kind != 8 else now + dt.timedelta(days=5)
            ends = None if kind == 4 else (now - dt.timedelta(days=1) if kind == 12 else now + dt.timedelta(days=20))
        product = Product(
            id=new_id("prod"), sku=f"{_slug(noun).upper()[:10]}-{index:04d}", name=name,
            description=f"The {name} by {brand.name}: {rng.choice(['built for professionals', 'great value', 'award-winning design', 'lightweight and durable'])}.",
            currency="USD", base_price_amount=price, sale_price_amount=sale_price,
            sale_starts_at=starts, sale_ends_at=ends, status=status.value,
            brand_id=brand.id, category_id=category.id,
            images=[f"https://img.example.com/products/{index}.jpg"],
            attributes={"color": rng.choice(COLORS)}, stock=stock,
            created_at=now - dt.timedelta(hours=count - index), updated_at=now,
        )
        session.add(product)
        if category.name in {"Shoes", "Jackets", "Laptops"}:
            for size_index, size in enumerate(SIZES if category.name != "Laptops" else ["16GB", "32GB"]):
                key = "size" if category.name != "Laptops" else "ram"
                session.add(ProductVariant(
                    id=new_id("var"), product_id=product.id, sku=f"{product.sku}-{size}", name=f"{name} / {size}",
                    price_amount=None if size_index == 0 else price + 1000 * size_index,
                    stock=rng.randint(0, 40), attributes={key: size},
                    created_at=now + dt.timedelta(seconds=size_index), updated_at=now,
                ))
                variants += 1
    await session.flush()
    return {"products": count, "variants": variants, "drafts": drafts, "archived": archived,
            "out_of_stock": out_of_stock, "on_sale": on_sale}


def _checkout_setup(session: AsyncSession, now: dt.datetime) -> None:
    for identifier, name, price, free_over in SHIPPING_METHODS:
        session.add(ShippingMethod(id=identifier, name=name, price_amount=price, free_over_amount=free_over,
                                   created_at=now, updated_at=now))
    for state, rate in US_STATE_TAX.items():
        session.add(TaxRate(id=new_id("tax"), country="US", state=state, rate=Decimal(rate), created_at=now, updated_at=now))
    for country, rate in COUNTRY_TAX.items():
        session.add(TaxRate(id=new_id("tax"), country=country, state="", rate=Decimal(rate), created_at=now, updated_at=now))
    session.add_all([
        Promotion(id=new_id("promo"), code="SAVE10", description="10% off everything", kind=PromotionKind.PERCENTAGE.value,
                  value=10, created_at=now, updated_at=now),
        Promotion(id=new_id("promo"), code="WELCOME5", description="$5 off orders over $25",
                  kind=PromotionKind.FIXED_AMOUNT.value, value=500, min_subtotal_amount=2500, created_at=now, updated_at=now),
        Promotion(id=new_id("promo"), code="BIGSALE", description="25% off, at most $50",
                  kind=PromotionKind.PERCENTAGE.value, value=25, max_discount_amount=5000, usage_limit=100,
                  starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=30), created_at=now, updated_at=now),
    ])
