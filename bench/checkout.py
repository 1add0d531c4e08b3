"""Checkout throughput: `python -m bench.checkout [--orders N] [--concurrency C] [--client wrk|httpx|both]`.

For SQLite (1 worker) and PostgreSQL (2 workers, a throwaway cluster) it starts the real
`shopql serve`, prepares N users whose carts each hold 1-2 lines (written straight to the
database: set-up is not measured), then fires N `POST /api/v1/orders` over HTTP with C in
flight, one per user (each has a cart to check out), and reports orders/s and latency.

Load generators (`--client`, default `both`, each with its own N users):
- `wrk` (Debian package `wrk`): a Lua script hands out the users' tokens in turn, one request
  each; once all are handed out, connections wait (`delay()`) and the run stops at the last
  response. orders/s = the 201s actually received / wrk's run time; every status is counted
  and every prepared order must be a 201. wrk costs little CPU, which matters here: the
  server workers, PostgreSQL and the load generator share the machine's cores.
- `httpx`: the earlier Python load generator (an httpx AsyncClient with C workers), about
  2 ms CPU per order on those same cores, so it reports less than the server can do.
Each run ends with the oversell check: 24 buyers race for a product with stock 5 — exactly 5
orders, stock 0.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import re
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

from bench.load import run_wrk_script
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
class Firing:
    """One load generator's run: N checkouts, one per prepared user."""

    client: str
    orders: int
    seconds: float
    statuses: Counter[int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    problems: str = ""  # what else the load generator saw (socket errors), for the report

    @property
    def per_second(self) -> float:
        # Only the orders actually placed count.
        return self.statuses.get(201, 0) / self.seconds

    @property
    def ok(self) -> bool:
        return self.statuses == {201: self.orders}

    def line(self) -> str:
        problems = f", {self.problems}" if self.problems else ""
        return (f"  {self.client:<5}: {self.per_second:.0f} orders/s — {self.statuses.get(201, 0)} orders in "
                f"{self.seconds:.2f} s, statuses {dict(sorted(self.statuses.items()))}{problems}; "
                f"latency ms p50 {self.p50_ms:.1f}, p95 {self.p95_ms:.1f}, p99 {self.p99_ms:.1f}")


@dataclass
class Result:
    backend: str
    workers: int
    firings: list[Firing]
    race: Counter[int]
    race_stock: int
    race_orders: int

    @property
    def race_ok(self) -> bool:
        return self.race == {201: RACE_STOCK, 400: RACE_BUYERS - RACE_STOCK} and self.race_stock == 0 \
            and self.race_orders == RACE_STOCK

    @property
    def ok(self) -> bool:
        return self.race_ok and all(firing.ok for firing in self.firings)

    def lines(self) -> list[str]:
        return [
            f"{self.backend} ({self.workers} worker{'s' if self.workers > 1 else ''}):",
            *(firing.line() for firing in self.firings),
            f"  oversell check: {dict(self.race)} for {RACE_BUYERS} buyers of stock {RACE_STOCK}, "
            f"stock left {self.race_stock}, orders {self.race_orders} -> {'ok' if self.race_ok else 'FAILED'}",
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


ORDER_BODY = {"shipping_address": ADDRESS, "shipping_method_id": "ship_bench"}


async def warm_up(base_url: str, concurrency: int) -> None:
    """Open the workers' pooled connections and warm their caches with harmless requests."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await asyncio.gather(*(client.get("/health") for _ in range(concurrency)))


async def fire_httpx(base_url: str, tokens: list[str], concurrency: int) -> Firing:
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
                    "/api/v1/orders", json=ORDER_BODY, headers={"Authorization": f"Bearer {token}"},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Firing("httpx", len(tokens), elapsed, statuses, statistics.median(latencies),
                  latencies[int(len(latencies) * 0.95) - 1], latencies[int(len(latencies) * 0.99) - 1])


# request() takes the next token, one order each. wrk calls request() once before the run, in
# the first thread's Lua state, to check the script: that first call gets a GET /health that is
# never sent (were it sent, its 200 would be reported apart), so no token is used up. Once every
# token is handed out, delay() parks each connection for an hour, so no request beyond the
# prepared orders is sent, and the thread stops at the last order's response, creating the
# marker file that tells run_wrk_script to end wrk. The run time is the thread's own, from its
# first order request to its last response (a monotonic clock through LuaJIT's ffi); done() (in
# wrk's main Lua state) prints it with the statuses counted by the thread and latency percentiles.
WRK_CHECKOUT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + math.floor(tonumber(clock.tv_nsec) / 1000)
end

local tokens = {}
for line in io.lines([==[%(tokens_path)s]==]) do tokens[#tokens + 1] = line end
local body = [==[%(body)s]==]
local handed_out, answered, checked = 0, 0, false
statuses = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function delay()
  if handed_out >= #tokens then return 3600000 end
  return 0
end

function request()
  if not checked or handed_out >= #tokens then
    checked = true
    return wrk.format("GET", "/health")
  end
  handed_out = handed_out + 1
  if handed_out == 1 then first_us = now_us() end
  return wrk.format("POST", "/api/v1/orders",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[handed_out]}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 then  -- 200 is only /health's: an order is a 201 or an error
    answered = answered + 1
    if answered >= #tokens then
      last_us = now_us()
      io.open([==[%(marker_path)s]==], "w"):close()
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("status %%d %%d\n", status, count))
    end
  end
  local errors = summary.errors
  local first, last = threads[1]:get("first_us"), threads[1]:get("last_us")
  -- wrk's own duration (all of -d) only when the run did not finish
  io.write(string.format("duration_us %%d\n", (first and last) and (last - first) or summary.duration))
  io.write(string.format("socket_errors connect %%d read %%d write %%d timeout %%d\n",
    errors.connect, errors.read, errors.write, errors.timeout))
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("latency_p%%d_us %%d\n", p, latency:percentile(p)))
  end
end
"""


def fire_wrk(base_url: str, tokens: list[str], concurrency: int) -> Firing:
    with tempfile.TemporaryDirectory(prefix="shopql-wrk-") as tmp:
        tokens_path, marker_path = Path(tmp) / "tokens", Path(tmp) / "finished"
        tokens_path.write_text("\n".join(tokens) + "\n")
        script = WRK_CHECKOUT % {"tokens_path": tokens_path, "marker_path": marker_path, "body": json.dumps(ORDER_BODY)}
        # -d only bounds a run that goes wrong (a lost response); a good one ends at its last response.
        output = run_wrk_script(base_url, script, seconds=max(120, len(tokens) // 10), connections=concurrency,
                                timeout_seconds=60, finished_marker=marker_path)
    statuses = Counter({int(code): int(count) for code, count in re.findall(r"^status (\d+) (\d+)$", output, re.M)})
    seconds = int(re.search(r"^duration_us (\d+)$", output, re.M).group(1)) / 1e6
    percentile = {int(p): int(us) / 1000 for p, us in re.findall(r"^latency_p(\d+)_us (\d+)$", output, re.M)}
    errors = re.search(r"^socket_errors (.*)$", output, re.M).group(1)
    # Read errors come from parked connections the server closes when idle (keep-alive timeout);
    # a lost order shows as a missing 201.
    problems = [] if errors == "connect 0 read 0 write 0 timeout 0" else [f"socket errors: {errors}"]
    health = statuses.pop(200, 0)
    if health:
        problems.append(f"{health} GET /health without a token")
    return Firing("wrk", len(tokens), seconds, statuses, percentile[50], percentile[95], percentile[99],
                  "; ".join(problems))


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


def run_backend(name: str, url: str, workers: int, orders: int, concurrency: int, clients: list[str]) -> Result:
    migrated = run_cli(url, "migrate")
    if migrated.returncode != 0:
        raise RuntimeError(migrated.stderr)
    factory = Factory(url)
    firings = []
    try:
        tokens = prepare(factory, orders * len(clients))
        with ServerProcess(url, workers=workers, log_path=Path(tempfile.gettempdir()) / f"bench-{name}.log") as server:
            for index, client in enumerate(clients):
                batch = tokens[index * orders:(index + 1) * orders]
                if client == "wrk":
                    asyncio.run(warm_up(server.base_url, concurrency))
                    firings.append(fire_wrk(server.base_url, batch, concurrency))
                else:
                    firings.append(asyncio.run(fire_httpx(server.base_url, batch, concurrency)))
            race_statuses, race_stock, race_orders = race(server.base_url, factory)
    finally:
        factory.close()
    return Result(name, workers, firings, race_statuses, race_stock, race_orders)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders per backend and client (default 2000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="run one backend only")
    parser.add_argument("--client", choices=["wrk", "httpx", "both"], default="both",
                        help="load generator (default both: wrk, then httpx, each with its own users)")
    args = parser.parse_args(argv)
    clients = ["wrk", "httpx"] if args.client == "both" else [args.client]
    results = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="shopql-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            results.append(run_backend("SQLite", url, 1, args.orders, args.concurrency, clients))
            print("\n".join(results[-1].lines()), flush=True)
    if args.only in (None, "postgresql"):
        with TemporaryPostgres() as postgres:
            url = postgres.create_database("shopql_bench")
            results.append(run_backend("PostgreSQL", url, 2, args.orders, args.concurrency, clients))
            print("\n".join(results[-1].lines()), flush=True)
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
