"""Checkout throughput: `python -m bench.checkout [--orders N] [--concurrency C]`.

For SQLite (1 worker) and PostgreSQL (2 workers, a throwaway cluster) it starts the real
`shopql serve`, prepares N users whose carts each hold 1-2 lines (written straight to the
database: set-up is not measured), then fires N `POST /api/v1/orders` over HTTP with C in
flight and reports orders/s and latency. Each run ends with the oversell check: 24 buyers race
for a product with stock 5 — exactly 5 orders, stock 0.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from db.ids import new_id
from db.models import Cart, CartItem, Order, Product, Role, ShippingMethod, TaxRate, User, UserRole
from resolvers.tokens import issue_access_token
from tests.factories import Factory
from tests.support.postgres import TemporaryPostgres
from tests.support.server import ServerProcess, run_cli

ADDRESS = {
    "first_name": "Ada", "last_name": "Lovelace", "address1": "1 Main St", "city": "New York",
    "state": "NY", "postal_code": "10001", "country": "US",
}
RACE_BUYERS = 24
RACE_STOCK = 5


@dataclass
class Result:
    backend: str
    workers: int
    orders: int
    seconds: float
    statuses: Counter[int]
    latencies_ms: list[float]
    race: Counter[int]
    race_stock: int
    race_orders: int

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds

    def lines(self) -> list[str]:
        latencies = sorted(self.latencies_ms)
        p50 = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        oversell = "ok" if self.race == {201: RACE_STOCK, 400: RACE_BUYERS - RACE_STOCK} and self.race_stock == 0 \
            and self.race_orders == RACE_STOCK else "FAILED"
        return [
            f"{self.backend} ({self.workers} worker{'s' if self.workers > 1 else ''}): "
            f"{self.per_second:.0f} orders/s — {self.orders} orders in {self.seconds:.2f} s, "
            f"statuses {dict(self.statuses)}",
            f"  latency ms: p50 {p50:.1f}, p95 {p95:.1f}, p99 {p99:.1f}",
            f"  oversell check: {dict(self.race)} for {RACE_BUYERS} buyers of stock {RACE_STOCK}, "
            f"stock left {self.race_stock}, orders {self.race_orders} -> {oversell}",
        ]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def prepare(factory: Factory, buyers: int, seed: int = 7) -> list[str]:
    """Users with filled carts, products, a shipping method and NY tax; returns access tokens."""
    rng = random.Random(seed)
    now = _now()
    products = [
        {"id": new_id("prod"), "sku": f"BENCH-{index:03d}-{new_id('x')[-6:]}", "name": f"Bench product {index}",
         "description": "", "currency": "USD", "base_price_amount": rng.choice([999, 1999, 4999, 12999]),
         "status": "ACTIVE", "images": [], "attributes": {}, "stock": 10**6, "created_at": now, "updated_at": now}
        for index in range(20)
    ]
    factory.execute(insert(Product).values(products))
    factory.execute(insert(ShippingMethod).values(
        id="ship_bench", name="Bench standard", currency="USD", price_amount=599, free_over_amount=5000,
        active=True, created_at=now, updated_at=now,
    ))
    factory.execute(insert(TaxRate).values(id=new_id("tax"), country="US", state="NY", rate=Decimal("0.0875"),
                                           created_at=now, updated_at=now))
    role_id = factory.execute(select(Role.id).where(Role.name == "user"))[0][0]
    tokens = []
    for start in range(0, buyers, 500):
        users, roles, carts, items = [], [], [], []
        for index in range(start, min(buyers, start + 500)):
            user_id, cart_id = new_id("usr"), new_id("cart")
            users.append({"id": user_id, "email": f"bench{index}-{user_id[-8:].lower()}@example.com",
                          "password_hash": None, "first_name": "Bench", "last_name": str(index), "active": True,
                          "email_verified": True, "created_at": now, "updated_at": now})
            roles.append({"user_id": user_id, "role_id": role_id, "created_at": now})
            carts.append({"id": cart_id, "user_id": user_id, "session_id": "", "created_at": now, "updated_at": now})
            for product in rng.sample(products, rng.choice([1, 2])):
                items.append({"id": new_id("item"), "cart_id": cart_id, "product_id": product["id"], "variant_id": None,
                              "line_key": f"{product['id']}:", "quantity": rng.randint(1, 3), "attributes": {},
                              "created_at": now, "updated_at": now})
            tokens.append(issue_access_token(user_id, factory.settings).token)
        factory.execute(insert(User).values(users))
        factory.execute(insert(UserRole).values(roles))
        factory.execute(insert(Cart).values(carts))
        factory.execute(insert(CartItem).values(items))
    return tokens


async def fire(base_url: str, tokens: list[str], concurrency: int) -> tuple[float, Counter[int], list[float]]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for token in tokens:
        queue.put_nowait(token)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        # Warm the connections and the workers' caches with a few harmless requests.
        await asyncio.gather(*(client.get("/health") for _ in range(concurrency)))

        async def worker() -> None:
            while not queue.empty():
                token = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(
                    "/api/v1/orders",
                    json={"shipping_address": ADDRESS, "shipping_method_id": "ship_bench"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, statuses, latencies


def race(base_url: str, factory: Factory) -> tuple[Counter[int], int, int]:
    """24 buyers, stock 5, all released at once: exactly 5 orders, stock 0."""
    product = factory.product(stock=RACE_STOCK)
    buyers = [factory.user() for _ in range(RACE_BUYERS)]
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for buyer in buyers:
            response = client.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 1},
                                   headers={"Authorization": f"Bearer {buyer['token']}"})
            response.raise_for_status()
    orders_before = factory.execute(select(func.count()).select_from(Order))[0][0]
    barrier = threading.Barrier(RACE_BUYERS)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def buy(buyer: dict) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            barrier.wait()
            response = client.post("/api/v1/orders", json={"shipping_address": ADDRESS},
                                   headers={"Authorization": f"Bearer {buyer['token']}"})
        with lock:
            statuses[response.status_code] += 1

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    orders_after = factory.execute(select(func.count()).select_from(Order))[0][0]
    return statuses, factory.product_stock(product["id"]), orders_after - orders_before


def run_backend(name: str, url: str, workers: int, orders: int, concurrency: int) -> Result:
    migrated = run_cli(url, "migrate")
    if migrated.returncode != 0:
        raise RuntimeError(migrated.stderr)
    factory = Factory(url)
    try:
        tokens = prepare(factory, orders)
        with ServerProcess(url, workers=workers, log_path=Path(tempfile.gettempdir()) / f"bench-{name}.log") as server:
            seconds, statuses, latencies = asyncio.run(fire(server.base_url, tokens, concurrency))
            race_statuses, race_stock, race_orders = race(server.base_url, factory)
    finally:
        factory.close()
    return Result(name, workers, orders, seconds, statuses, latencies, race_statuses, race_stock, race_orders)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders per backend (default 2000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="run one backend only")
    args = parser.parse_args(argv)
    results = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="shopql-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            results.append(run_backend("SQLite", url, 1, args.orders, args.concurrency))
            print("\n".join(results[-1].lines()), flush=True)
    if args.only in (None, "postgresql"):
        with TemporaryPostgres() as postgres:
            url = postgres.create_database("shopql_bench")
            results.append(run_backend("PostgreSQL", url, 2, args.orders, args.concurrency))
            print("\n".join(results[-1].lines()), flush=True)
    failed = [r for r in results if r.statuses != {201: r.orders} or "FAILED" in r.lines()[-1]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
