"""`INSERT … ON CONFLICT DO NOTHING` for both databases: the unique constraint decides the race."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from db.engine import Database


def insert_ignoring_conflict(db: Database, table: Table, *columns: str) -> Any:
    """An INSERT that silently skips the row when it would violate the unique index on `columns`.

    Add `.returning(...)`: no row back means another transaction got there first.
    """
    dialect_insert = sqlite.insert if db.is_sqlite else postgresql.insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=list(columns))
