"""The `shopql` command: serve, migrate, seed-demo, create-admin, persist, export-schema, openapi."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from db.engine import Database
from shopql.settings import ConfigurationError, Settings, get_settings


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        db = Database(settings.database_url, pool_size=2, max_overflow=0)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _migrate(settings: Settings) -> None:
    from db.migrate import migrate

    _with_database(settings, lambda db: migrate(db.write_engine))


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    _migrate(settings)
    print("database is at the latest migration", file=sys.stderr)
    return 0


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from db.demo import catalog_is_empty, seed_demo

    async def work(db: Database) -> dict[str, int] | None:
        if args.if_empty and not await catalog_is_empty(db):
            return None
        return await seed_demo(db, products=args.products)

    _migrate(settings)
    counts = _with_database(settings, work)
    if counts is None:
        print("catalog already has products; demo data not loaded", file=sys.stderr)
    else:
        print("demo data loaded: " + ", ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)
    return 0


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.auth.accounts import ensure_admin
    from resolvers.errors import DomainError

    _migrate(settings)
    try:
        user_id, created = _with_database(
            settings, lambda db: ensure_admin(db, args.email, args.password, args.reset_password)
        )
    except DomainError as refused:
        print(f"error: {refused.message}", file=sys.stderr)
        return 2
    print(f"{'created' if created else 'updated'} admin {user_id} <{args.email.strip().lower()}>", file=sys.stderr)
    return 0


def cmd_persist(args: argparse.Namespace, settings: Settings) -> int:
    """Load a persisted-operation manifest as the safelist (docs/graphql-http.md)."""
    from schema.executor import GraphQLEngine, RequestError
    from schema.root import schema
    from shopql.persisted_queries import ManifestError, PersistedQueryStore, load_manifest

    try:
        with open(args.manifest, "rb") as manifest:
            documents = load_manifest(manifest.read())
    except OSError as error:
        print(f"error: cannot read {args.manifest}: {error.strerror}", file=sys.stderr)
        return 2
    except ManifestError as error:
        print(f"error: {args.manifest}: {error}", file=sys.stderr)
        return 2
    # Safelisted documents are trusted: they must be valid against this schema, limits aside.
    engine = GraphQLEngine(schema)
    invalid = 0
    for sha, query in documents.items():
        try:
            engine.prepare(query, cache=False, trusted=True)
        except RequestError as error:
            invalid += 1
            print(f"error: {sha}: {error.errors[0]['message']}", file=sys.stderr)
    if invalid:
        print(f"error: {invalid} document(s) do not validate; nothing was stored", file=sys.stderr)
        return 2
    _migrate(settings)
    stored, unflagged = _with_database(
        settings, lambda db: PersistedQueryStore(db).safelist(documents, replace=args.replace)
    )
    note = f"; {unflagged} no longer safelisted" if args.replace else ""
    print(f"safelisted {stored} document(s){note}", file=sys.stderr)
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from schema.root import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def cmd_openapi(args: argparse.Namespace, settings: Settings) -> int:
    from shopql.app import create_app

    app = create_app(settings)
    sys.stdout.write(json.dumps(app.state.openapi, indent=2) + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from shopql.logs import logging_config

    _migrate(settings)
    uvicorn.run(
        "shopql.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,  # the app's own access log (ACCESS_LOG) carries the request id
        log_config=logging_config(settings),
        log_level="info",
        timeout_graceful_shutdown=args.graceful_timeout,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopql", description="ShopQL commerce API")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (use PostgreSQL for more than 1)")
    serve.add_argument("--graceful-timeout", type=int, default=20,
                       help="seconds to let in-flight requests finish on shutdown")
    serve.add_argument("--proxy-headers", action="store_true",
                       help="trust X-Forwarded-For from --forwarded-allow-ips (behind a proxy)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)

    seed = commands.add_parser("seed-demo", help="load the demo catalog")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when products exist")
    seed.add_argument("--products", type=int, default=120)
    seed.set_defaults(handler=cmd_seed_demo)

    admin = commands.add_parser("create-admin", help="create an admin, or grant admin to an existing user")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--reset-password", action="store_true",
                       help="also set the password of an existing account (required when its email "
                            "was never verified; ends its sessions)")
    admin.set_defaults(handler=cmd_create_admin)

    persist = commands.add_parser(
        "persist", help="safelist the documents of a persisted-operation manifest (JSON)"
    )
    persist.add_argument("manifest", help="Apollo persisted query manifest, or a {sha256: query} JSON map")
    persist.add_argument("--replace", action="store_true",
                         help="documents safelisted before but absent from this manifest lose the flag")
    persist.set_defaults(handler=cmd_persist)

    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(handler=cmd_export_schema)
    commands.add_parser("openapi", help="print the REST OpenAPI document").set_defaults(handler=cmd_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return args.handler(args, settings)


if __name__ == "__main__":
    sys.exit(main())
