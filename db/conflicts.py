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


# SQLSTATE classes of integrity violations (PostgreSQL) and SQLite's message prefixes.
_SQLSTATES = {"23505": "unique", "23503": "foreign_key", "23514": "check", "23502": "not_null"}
_SQLITE_MESSAGES = {
    "UNIQUE constraint failed": "unique",
    "FOREIGN KEY constraint failed": "foreign_key",
    "CHECK constraint failed": "check",
    "NOT NULL constraint failed": "not_null",
}


def violated_constraint(error: Exception) -> str:
    """Which kind of constraint an IntegrityError broke: 'unique', 'foreign_key', 'check',
    'not_null' or 'other' — so a race that deletes a referenced row can be NOT_FOUND, not 409."""
    original = getattr(error, "orig", error)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code:
        return _SQLSTATES.get(str(code), "other")
    message = str(original)
    return next((kind for prefix, kind in _SQLITE_MESSAGES.items() if prefix in message), "other")
