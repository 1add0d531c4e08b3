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


def _count_statement(*_: Any) -> None:
    counter = statement_counter.get()
    if counter is not None:
        counter[0] += 1


def _create_sqlite_engine(url: str, begin: str) -> AsyncEngine:
    engine = create_async_engine(url)

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

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

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

    SQLite gets a second engine for writes whose transactions start with BEGIN IMMEDIATE: a
    deferred transaction that reads and then writes fails with "database is locked" when
    another writer got in between, instead of waiting for the busy timeout.
    """

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.url = url
        backend = make_url(url).get_backend_name()
        if backend == "sqlite":
            self.engine = _create_sqlite_engine(url, "BEGIN")
            self.write_engine = _create_sqlite_engine(url, "BEGIN IMMEDIATE")
        elif backend == "postgresql":
            self.engine = _create_postgres_engine(url, pool_size, max_overflow)
            self.write_engine = self.engine
        else:
            raise ValueError(f"unsupported database backend: {backend}")
        self.is_sqlite = backend == "sqlite"
        for engine in {self.engine, self.write_engine}:
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
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


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
