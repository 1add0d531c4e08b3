"""`INSERT … ON CONFLICT DO NOTHING` for both databases: the unique constraint decides the race."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from db.engine import Database


# Built once per backend and arguments: statements are immutable (`.values()` makes a new one),
# and building one per request (with its cache key) costs more than executing it.
_BUILT: dict[tuple[bool, str, tuple[str, ...], str | None], Any] = {}


def insert_ignoring_conflict(db: Database, table: Table, *columns: str, returning: str | None = None) -> Any:
    """An INSERT that silently skips the row when it would violate the unique index on `columns`.

    `returning`: a column to return; no row back means another transaction got there first.
    """
    key = (db.is_sqlite, table.name, columns, returning)
    statement = _BUILT.get(key)
    if statement is None:
        dialect_insert = sqlite.insert if db.is_sqlite else postgresql.insert
        statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(columns))
        if returning is not None:
            statement = statement.returning(table.c[returning])
        _BUILT[key] = statement
    return statement


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
