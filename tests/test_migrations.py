"""Migrations: they build exactly the modelled schema and can be rolled back and re-applied."""

from __future__ import annotations

import asyncio

from db.engine import Database
from db.migrate import downgrade, migrate, schema_differences

# The search index is maintained by migration 0002 outside the models (FTS5 / pg_trgm).
SEARCH_OBJECTS = ("products_search", "ix_products_name_trgm", "ix_products_description_trgm")


def _run(url, work):
    async def main():
        db = Database(url, pool_size=1, max_overflow=0)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _meaningful(differences):
    return [d for d in differences if not any(name in repr(d) for name in SEARCH_OBJECTS)]


def test_migrations_match_the_models(fresh_database_url):
    assert _meaningful(_run(fresh_database_url, lambda db: schema_differences(db.write_engine))) == []


def test_migrations_roll_back_and_forward(fresh_database_url):
    async def cycle(db):
        await downgrade(db.write_engine, "base")
        await migrate(db.write_engine)
        return await schema_differences(db.write_engine)

    assert _meaningful(_run(fresh_database_url, cycle)) == []
