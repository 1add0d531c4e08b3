"""Keyword search latency on a large generated catalog, through the REST route (incl. total_items).

    python -m bench.search [--products 1000000] [--database sqlite|postgresql|both] [--requests 200]

Generates products whose names and descriptions draw words from a Zipf-like vocabulary, so
some keywords match a large share of the catalog and others a handful of rows, then times
GET /api/v1/catalog/products?keyword=... (one worker, sequential requests). Target: p50 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx

from db.ids import new_id
from tests.support.server import ServerProcess, run_cli

SYLLABLES = ["ka", "lo", "mi", "ne", "ro", "ta", "vu", "zen", "pra", "sti", "qua", "dor", "fel", "gim", "hux"]
COMMON = ["laptop", "wireless", "steel", "cotton", "portable"]
COLUMNS = (
    "id, sku, name, description, currency, base_price_amount, status, images, attributes, stock, "
    "created_at, updated_at"
)


LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
LETTER_WEIGHTS = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0,
                  1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """Pseudo-words with English letter frequencies: realistic trigram diversity."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(LETTERS, LETTER_WEIGHTS, k=rng.randint(5, 10))))
    return sorted(words)


def word_lists() -> tuple[list[str], list[str]]:
    """(mid-frequency words: ~350 rows each at 1M, rare words: 5 rows each at 1M)."""
    rng = random.Random(7)
    words = vocabulary(rng, 21000)
    rng.shuffle(words)
    return words[:20000], words[20000:]


def generate(count: int, seed: int = 7) -> Iterator[tuple]:
    """Each product: one of COMMON in half the rows (so each ~10%), 7 mid-frequency words,
    and every 200th product one rare word."""
    rng = random.Random(seed)
    mid, rare = word_lists()
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for index in range(count):
        picked = [rng.choice(mid) for _ in range(7)]
        if index % 2 == 0:
            picked[rng.randrange(7)] = COMMON[(index // 2) % len(COMMON)]
        if index % 200 == 0:
            picked.append(rare[(index // 200) % len(rare)])
        name = " ".join(picked[:3]).title() + f" {index}"
        description = "The " + " ".join(picked[3:]) + " edition."
        created = start + dt.timedelta(seconds=index * 30)
        yield (new_id("prod"), f"GEN-{index:08d}", name, description, "USD", 1000 + index % 50000, "ACTIVE",
               "[]", "{}", index % 100, created, created)


def fill_sqlite(path: str, count: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rows = ((r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
             r[10].strftime("%Y-%m-%d %H:%M:%S.000000"), r[11].strftime("%Y-%m-%d %H:%M:%S.000000"))
            for r in generate(count))
    with conn:
        conn.executemany(f"INSERT INTO products ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("PRAGMA optimize")
    conn.execute("ANALYZE")
    conn.close()


async def fill_postgres(dsn: str, count: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP INDEX IF EXISTS ix_products_name_trgm; DROP INDEX IF EXISTS ix_products_description_trgm")
        records = ((r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]) for r in generate(count))
        await conn.copy_records_to_table(
            "products", records=records, columns=[c.strip() for c in COLUMNS.split(",")],
        )
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute("CREATE INDEX ix_products_name_trgm ON products USING gin (name gin_trgm_ops)")
        await conn.execute("CREATE INDEX ix_products_description_trgm ON products USING gin (description gin_trgm_ops)")
        await conn.execute("VACUUM ANALYZE products")
    finally:
        await conn.close()


def keywords(count: int) -> dict[str, list[str]]:
    mid, rare = word_lists()
    return {
        "common word (10% of rows)": COMMON[:3],
        "mid-frequency word": mid[100:104],
        "rare word": rare[:4],
        "no match": ["zzyzx", "qqqqq"],
        "product number": [f"{count - 17}", f"{count // 2 + 3}"],
    }


def measure(base_url: str, keyword_groups: dict[str, list[str]], requests: int) -> dict[str, tuple[float, float, int]]:
    results = {}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for label, words in keyword_groups.items():
            latencies = []
            total = 0
            for i in range(requests):
                word = words[i % len(words)]
                started = time.perf_counter()
                response = client.get("/api/v1/catalog/products", params={"keyword": word, "page_size": 20})
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                total = response.json()["meta"]["total_items"]
            latencies.sort()
            results[label] = (statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1], total)
    return results


def run(database: str, products: int, requests: int, stack: ExitStack) -> None:
    started = time.perf_counter()
    if database == "postgresql":
        from tests.support.postgres import TemporaryPostgres

        postgres = stack.enter_context(TemporaryPostgres())
        postgres.create_database("search")
        url = postgres.url("search")
        assert run_cli(url, "migrate").returncode == 0
        asyncio.run(fill_postgres(postgres.dsn("search"), products))
    else:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="shopql-search-"))
        url = f"sqlite+aiosqlite:///{folder}/search.db"
        assert run_cli(url, "migrate").returncode == 0
        fill_sqlite(f"{folder}/search.db", products)
    print(f"[{database}] generated {products:,} products in {time.perf_counter() - started:.0f} s", flush=True)
    with ServerProcess(url, SQL_COUNT_HEADER="0") as server:
        measure(server.base_url, {"warm-up": COMMON}, 10)
        results = measure(server.base_url, keywords(products), requests)
    print(f"\nSearch on {products:,} products, {database}, REST keyword search incl. total_items, "
          f"{requests} sequential requests per row")
    all_p50 = []
    for label, (p50, p99, total) in results.items():
        all_p50.append(p50)
        print(f"  {label:<28} p50 {p50:>8.2f} ms   p99 {p99:>8.2f} ms   total_items {total:>8,}")
    print(f"  median of the rows' p50: {statistics.median(all_p50):.2f} ms (target < 20 ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    for database in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        with ExitStack() as stack:
            run(database, args.products, args.requests, stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
