"""Engine and session set-up for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import asyncio
import contextvars
import errno
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event, exc
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


@dataclass(frozen=True)
class Timeouts:
    """How long database work may wait before the request fails with 503 (docs/graphql-http.md).

    `connect`: establishing a PostgreSQL connection; `pool`: waiting for a free pooled
    connection; `statement`: one PostgreSQL statement (asyncpg's command timeout, which
    also bounds the ping of an idle pooled connection); `busy`: SQLite waiting for another
    writer's lock.
    """

    connect: float = 2.0
    pool: float = 2.0
    statement: float = 5.0
    busy: float = 5.0


T = TypeVar("T")
# Work abandoned at its deadline, still cleaning up (kept referenced until it is done).
_abandoned: set[asyncio.Task[Any]] = set()


def _forget(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: its failure is the 503 already sent, not a warning


async def run_within(deadline: float, work: Coroutine[Any, Any, T]) -> T:
    """`await work`, or TimeoutError as soon as the event loop's clock passes `deadline`.

    The work runs in a task of its own so that, at the deadline, the answer (a 503) does not
    wait for its clean-up: rolling back or closing a connection to a database that stopped
    answering takes as long again. That clean-up continues in the background, bounded by
    the driver's own timeouts, and gives the connection back to the pool when done.
    """
    loop = asyncio.get_running_loop()
    task = loop.create_task(work)
    try:
        done, _ = await asyncio.wait((task,), timeout=max(deadline - loop.time(), 0))
    except asyncio.CancelledError:
        task.cancel()
        raise
    if done:
        return task.result()
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_forget)
    raise TimeoutError("the database did not answer before the request deadline")


def _create_sqlite_engine(url: str, begin: str | None, timeouts: Timeouts) -> AsyncEngine:
    # Without BEGIN (reads) every statement runs in its own implicit transaction and there is
    # nothing to roll back when the connection returns to the pool.
    engine = create_async_engine(
        url, pool_reset_on_return="rollback" if begin else None, pool_timeout=timeouts.pool
    )
    busy_ms = max(int(timeouts.busy * 1000), 0)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's implicit transactions off: BEGIN is issued by the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"busy_timeout={busy_ms}",
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


# A pooled PostgreSQL connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def _create_postgres_engine(url: str, pool_size: int, max_overflow: int, timeouts: Timeouts) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        pool_timeout=timeouts.pool,
        connect_args={
            # A generic plan for a trigram search is 1,000x slower for rare terms (PITFALLS.md).
            "server_settings": {"plan_cache_mode": "force_custom_plan", "jit": "off"},
            # A server that accepts TCP but never answers (stopped, overloaded) must not
            # hold a request for long: both bounds end in a 503.
            "timeout": timeouts.connect,
            "command_timeout": timeouts.statement,
        },
    )
    _check_connections_on_checkout(engine)
    return engine


def _check_connections_on_checkout(engine: AsyncEngine) -> None:
    """Hand out live connections without a ping per checkout (`pool_pre_ping` cost three round
    trips: BEGIN, `;`, ROLLBACK — twice per request).

    - A connection the server closed (restart, shutdown, idle_session_timeout, a terminated
      backend) is known to asyncpg at once: its protocol sees the EOF on the event loop. Such a
      connection invalidates the whole pool (every older connection is then replaced), as a
      failed pre-ping did; SQLAlchemy does the same when a statement fails with a disconnect.
    - A connection idle for longer than IDLE_PING_SECONDS may have died silently (a dropped
      network path sends no EOF): it is pinged, and replaced when the ping says disconnected.
    A busy pool never pings; a server that stops answering is bounded by the statement and
    request timeouts (503), as before.
    """
    pool = engine.sync_engine.pool
    dialect = engine.dialect

    def answers_ping(dbapi_connection: Any) -> bool:
        try:
            return dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                return False
            raise

    @event.listens_for(pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.driver_connection.is_closed():
            raise exc.InvalidatePoolError("the server closed the connection")
        checked_in_at = record.info.get("checked_in_at")  # absent for a fresh connection
        if checked_in_at is not None and time.monotonic() - checked_in_at > IDLE_PING_SECONDS:
            if not answers_ping(dbapi_connection):
                raise exc.InvalidatePoolError("the idle connection did not answer its ping")


class Database:
    """The engines plus the ways resolvers use them: short reads and one write transaction
    (an ORM session, or a Core connection for code that needs no ORM).

    Reads run in autocommit mode: no BEGIN/ROLLBACK round trips around a single SELECT.
    SQLite writes start with BEGIN IMMEDIATE: a deferred transaction that reads and then
    writes fails with "database is locked" when another writer got in between, instead of
    waiting for the busy timeout.
    """

    def __init__(
        self, url: str, pool_size: int = 10, max_overflow: int = 10, timeouts: Timeouts | None = None
    ) -> None:
        self.url = url
        self.timeouts = timeouts or Timeouts()
        backend = make_url(url).get_backend_name()
        self.is_sqlite = backend == "sqlite"
        if backend == "sqlite":
            self.engine = _create_sqlite_engine(url, None, self.timeouts)
            self.write_engine = _create_sqlite_engine(url, "BEGIN IMMEDIATE", self.timeouts)
        elif backend == "postgresql":
            self.write_engine = _create_postgres_engine(url, pool_size, max_overflow, self.timeouts)
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

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One Core connection in one transaction (committed on success, rolled back on any
        error), for code that runs only Core statements: no ORM session around each of them."""
        async with self.write_engine.begin() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.is_sqlite:
            await self.engine.dispose()


# SQLite result codes (primary, from the extended name) that mean the file cannot be used right
# now: another writer holds it, the disk fails or is full, the file cannot be opened.
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL",
                       "SQLITE_PROTOCOL", "SQLITE_NOTADB")
# PostgreSQL SQLSTATEs: connection exceptions (08), insufficient resources (53, e.g. too many
# connections), shutdown / cannot connect now (57P0x), statement canceled by a timeout (57014).
_POSTGRES_UNAVAILABLE_CLASSES = ("08", "53", "57P")
_POSTGRES_UNAVAILABLE_STATES = frozenset({"57014"})
# Socket errors of a connection attempt (refused, reset, unreachable, timed out...).
_NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH,
    errno.ENETDOWN, errno.ETIMEDOUT, errno.EPIPE, errno.EHOSTDOWN, errno.ENOTCONN,
})


def _causes(error: BaseException) -> list[BaseException]:
    """The error, the DB-API error SQLAlchemy wraps, and their explicit causes (bounded).

    `__context__` is not followed: an error raised while handling an outage is not one.
    """
    chain: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending and len(chain) < 12:
        current = pending.pop()
        if current is None or any(current is seen for seen in chain):
            continue
        chain.append(current)
        pending.extend((getattr(current, "orig", None), current.__cause__))
    return chain


def _means_unreachable(error: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(error, (ConnectionError, TimeoutError, PoolTimeout, socket.gaierror)):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "") or ""
        return name.startswith(_SQLITE_UNAVAILABLE)
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and type(error).__module__.startswith("asyncpg"):
        return sqlstate.startswith(_POSTGRES_UNAVAILABLE_CLASSES) or sqlstate in _POSTGRES_UNAVAILABLE_STATES
    if type(error).__module__.startswith("asyncpg") and type(error).__name__ == "InterfaceError":
        # asyncpg's InterfaceError is mostly misuse (a bug); only a closed connection is an outage.
        return "connection is closed" in str(error) or "connection was closed" in str(error)
    if isinstance(error, OSError) and not isinstance(error, (FileNotFoundError, PermissionError)):
        # asyncio reports several failed addresses as one OSError without an errno.
        return error.errno in _NETWORK_ERRNOS or (error.errno is None and "connect call failed" in str(error).lower())
    return False


def is_database_unavailable(error: BaseException) -> bool:
    """True for errors that mean "cannot reach the database now" (answer 503 and retry later).

    Only unreachable or overloaded counts: connection refused/reset/timed out, pool or
    statement timeouts, PostgreSQL shutting down or out of connections, SQLite busy/locked,
    disk I/O, cannot open. A missing table or a syntax error is a bug and stays a 500 with
    its traceback in the log.
    """
    return any(_means_unreachable(cause) for cause in _causes(error))
