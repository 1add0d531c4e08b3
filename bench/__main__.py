"""`python -m bench` (make bench): every benchmark in turn, figures printed to stdout.

    python -m bench            catalog throughput (SQLite and PostgreSQL), checkout, search on 1M products
    python -m bench --quick    shorter runs, 500 orders per checkout run, 100k products for search
"""

from __future__ import annotations

import argparse
import sys

from bench import catalog, checkout, search


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    seconds = ["--seconds", "5", "--rounds", "1"] if args.quick else []
    catalog.main([*seconds, "--database", "sqlite"])
    catalog.main([*seconds, "--database", "postgresql"])
    checkout.main(["--orders", "500"] if args.quick else [])
    search.main(["--products", "100000" if args.quick else "1000000"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
