"""Engine and session set-up for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Counts the SQL statements of the current request when the app asks for it (SQL_COUNT_HEADER).
statement_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "statement_counter", default=None
)


def _count_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    counter = statement_counter.get()
    if counter is not None and not statement.startswith(("BEGIN", "PRAGMA")):
        counter[0] += 1


def _create_sqlite_engine(url: str, begin: str | None) -> AsyncEngine:
    # Without BEGIN (reads) every statement runs in its own implicit transaction and there is
    # nothing to roll back when the connection returns to the pool.
    engine = create_async_engine(url, pool_reset_on_return="rollback" if begin else None)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's implicit transactions off: BEGIN is issued by the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "busy_timeout=15000",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    else:

        @event.listens_for(engine.sync_engine, "begin")
        def _no_begin(conn: Any) -> None:
            pass

    return engine


def _create_postgres_engine(url: str, pool_size: int, max_overflow: int) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        pool_pre_ping=True,
        connect_args={
            # A generic plan for a trigram search is 1,000x slower for rare terms (PITFALLS.md).
            "server_settings": {"plan_cache_mode": "force_custom_plan", "jit": "off"},
            "timeout": 5,
            "command_timeout": 30,
        },
    )


class Database:
    """The engines plus the two ways resolvers use them: short reads and one write transaction.

    Reads run in autocommit mode: no BEGIN/ROLLBACK round trips around a single SELECT.
    SQLite writes start with BEGIN IMMEDIATE: a deferred transaction that reads and then
    writes fails with "database is locked" when another writer got in between, instead of
    waiting for the busy timeout.
    """

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.url = url
        backend = make_url(url).get_backend_name()
        self.is_sqlite = backend == "sqlite"
        if backend == "sqlite":
            self.engine = _create_sqlite_engine(url, None)
            self.write_engine = _create_sqlite_engine(url, "BEGIN IMMEDIATE")
        elif backend == "postgresql":
            self.write_engine = _create_postgres_engine(url, pool_size, max_overflow)
            self.engine = self.write_engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            raise ValueError(f"unsupported database backend: {backend}")
        # The PostgreSQL read engine is an option view of the write engine and shares its events.
        for engine in (self.engine, self.write_engine) if self.is_sqlite else (self.write_engine,):
            event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
        self.sessionmaker = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one batch of reads (each dataloader batch gets its own)."""
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One ORM session in one transaction: committed on success, rolled back on any error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.is_sqlite:
            await self.engine.dispose()


def is_database_unavailable(error: BaseException) -> bool:
    """True for errors that mean "cannot reach the database", as opposed to a bad statement."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(error, (ConnectionError, TimeoutError)) or (
        isinstance(error, OSError) and not isinstance(error, FileNotFoundError)
    ):
        return True
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    module = type(error).__module__
    return module.startswith("asyncpg") and type(error).__name__ in {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "InterfaceError",
        "TooManyConnectionsError",
        "AdminShutdownError",
        "ConnectionFailureError",
    }
