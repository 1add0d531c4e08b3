"""Catalog throughput: REST and GraphQL against the raw Starlette + SQLAlchemy floor.

    python -m bench.catalog [--seconds 10] [--rounds 2] [--database sqlite|postgresql]

One run, same data (the demo catalog), each server on one worker process, wrk on loopback.
Targets (issue 2): REST/floor >= 0.6, GraphQL/floor >= 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.load import LoadResult, wrk
from tests.support.server import ROOT, ServerProcess, free_port, run_cli

GRAPHQL_QUERY = (
    "query CatalogProducts { products(first: 20) { totalCount nodes { id sku name description "
    "basePrice { amount currency } salePrice { amount currency } status brandId categoryId images "
    "attributes stock createdAt updatedAt } } }"
)


class FloorServer:
    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "bench.floor:create_floor_app", "--port", str(self.port),
             "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )
        for _ in range(100):
            try:
                httpx.get(f"{self.url}/products", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("floor server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def prepare_database(kind: str, stack: ExitStack) -> str:
    if kind == "postgresql":
        from tests.support.postgres import TemporaryPostgres

        postgres = stack.enter_context(TemporaryPostgres())
        postgres.create_database("bench")
        url = postgres.url("bench")
    else:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="shopql-bench-"))
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
    result = run_cli(url, "seed-demo")
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return url


def check_same_json(floor_url: str, rest_url: str) -> None:
    floor = httpx.get(f"{floor_url}/products?page_size=20").json()
    rest = httpx.get(f"{rest_url}/api/v1/catalog/products?page_size=20").json()
    if floor != rest:
        raise SystemExit("the floor does not write the same JSON as the REST route: the comparison is void")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the median is reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        url = prepare_database(args.database, stack)
        floor = FloorServer(url)
        stack.callback(floor.stop)
        app = stack.enter_context(ServerProcess(url, SQL_COUNT_HEADER="0"))
        check_same_json(floor.url, app.base_url)
        graphql_body = json.dumps({"query": GRAPHQL_QUERY})
        targets = {
            "(a) floor: Starlette + SQLAlchemy": lambda c: wrk(f"{floor.url}/products?page_size=20", seconds=args.seconds, connections=c),
            "(b) REST /catalog/products": lambda c: wrk(f"{app.base_url}/api/v1/catalog/products?page_size=20", seconds=args.seconds, connections=c),
            "(c) GraphQL products(first: 20)": lambda c: wrk(
                f"{app.base_url}/graphql", seconds=args.seconds, connections=c, method="POST", body=graphql_body,
                headers={"Content-Type": "application/json"},
            ),
        }
        for run in targets.values():  # warm-up: caches, connection pools, JIT-free but page cache
            run(4)
        results: dict[str, list[LoadResult]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, run in targets.items():
                results[name].append(run(args.connections))
        single: dict[str, LoadResult] = {name: run(1) for name, run in targets.items()}

    print(f"\nCatalog listing, 20 products a request, {args.database}, one worker, "
          f"wrk -c{args.connections} {args.seconds}s x {args.rounds} rounds (median)")
    median = {name: _median(rows) for name, rows in results.items()}
    for name, result in median.items():
        print(result.row(name))
    floor_rps = median["(a) floor: Starlette + SQLAlchemy"].requests_per_second
    rest_rps = median["(b) REST /catalog/products"].requests_per_second
    graphql_rps = median["(c) GraphQL products(first: 20)"].requests_per_second
    print(f"b/a = {rest_rps / floor_rps:.2f}   (target >= 0.60)")
    print(f"c/a = {graphql_rps / floor_rps:.2f}   (target >= 0.50)")
    print("\nOne connection (latency tail):")
    for name, result in single.items():
        print(result.row(name) + f"   p99/p50 {result.p99_ms / result.p50_ms:.1f}")
    errors = sum(r.non_2xx for rows in results.values() for r in rows)
    if errors:
        print(f"WARNING: {errors} non-2xx responses")
    return 0


def _median(rows: list[LoadResult]) -> LoadResult:
    ordered = sorted(rows, key=lambda r: r.requests_per_second)
    middle = ordered[len(ordered) // 2]
    return LoadResult(
        statistics.median(r.requests_per_second for r in rows), middle.p50_ms, middle.p99_ms,
        sum(r.non_2xx for r in rows),
    )


if __name__ == "__main__":
    sys.exit(main())
