"""Substring search on product name and description, indexed on both databases.

SQLite: an FTS5 table with the `trigram` tokenizer over the ACTIVE products (external
content, kept in step by triggers). It indexes products by rowid; a VACUUM may renumber
rowids, so after one, rebuild it: `DELETE FROM products_search;` then re-run the last
statement of SQLITE_UP.
PostgreSQL: pg_trgm GIN indexes that serve `ILIKE '%…%'` on each column.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Only ACTIVE products are indexed (the public search), so counting matches needs no join.
SQLITE_UP = [
    "CREATE VIRTUAL TABLE products_search USING fts5("
    "name, description, content='products', tokenize='trigram')",
    "CREATE TRIGGER products_search_ai AFTER INSERT ON products WHEN new.status = 'ACTIVE' BEGIN "
    "INSERT INTO products_search(rowid, name, description) "
    "VALUES (new.rowid, new.name, new.description); END",
    "CREATE TRIGGER products_search_ad AFTER DELETE ON products WHEN old.status = 'ACTIVE' BEGIN "
    "INSERT INTO products_search(products_search, rowid, name, description) "
    "VALUES ('delete', old.rowid, old.name, old.description); END",
    "CREATE TRIGGER products_search_au AFTER UPDATE OF name, description, status ON products BEGIN "
    "INSERT INTO products_search(products_search, rowid, name, description) "
    "SELECT 'delete', old.rowid, old.name, old.description WHERE old.status = 'ACTIVE'; "
    "INSERT INTO products_search(rowid, name, description) "
    "SELECT new.rowid, new.name, new.description WHERE new.status = 'ACTIVE'; END",
    "INSERT INTO products_search(rowid, name, description) "
    "SELECT rowid, name, description FROM products WHERE status = 'ACTIVE'",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS products_search_au",
    "DROP TRIGGER IF EXISTS products_search_ad",
    "DROP TRIGGER IF EXISTS products_search_ai",
    "DROP TABLE IF EXISTS products_search",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_products_name_trgm ON products USING gin (name gin_trgm_ops)",
    "CREATE INDEX ix_products_description_trgm ON products USING gin (description gin_trgm_ops)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_products_description_trgm",
    "DROP INDEX IF EXISTS ix_products_name_trgm",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_UP)
    else:
        _run(POSTGRES_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_DOWN)
    else:
        _run(POSTGRES_DOWN)
