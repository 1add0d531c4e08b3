"""Fixtures: every test runs against a live server on SQLite and on PostgreSQL.

`backend` is parametrised per database; its server (the real `shopql serve`) and factory live
for the whole session. A test that needs a server of its own (several workers, other
settings, a stopped database) starts one with `ServerProcess` on `fresh_database_url`.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import Factory
from tests.support.api import Api
from tests.support.postgres import TemporaryPostgres
from tests.support.server import ServerProcess, run_cli

BACKENDS = ["sqlite", "postgresql"]
_database_numbers = itertools.count(1)


@dataclass
class Backend:
    name: str
    database_url: str
    server: ServerProcess
    factory: Factory


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryPostgres]:
    server = TemporaryPostgres()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


class DatabaseMaker:
    """Creates empty, migrated databases of one backend.

    The first migrated database is made by the real `shopql migrate` and kept as a template;
    the others are copies of it (a file copy on SQLite, CREATE DATABASE … TEMPLATE on
    PostgreSQL), which is much faster than migrating each.
    """

    def __init__(self, name: str, tmp: Path, postgres: TemporaryPostgres | None) -> None:
        self.name = name
        self.tmp = tmp
        self.postgres = postgres
        self._template: str | None = None

    def new(self, migrate: bool = True) -> str:
        number = next(_database_numbers)
        if self.postgres is None:
            path = self.tmp / f"shopql-{number}.db"
            if migrate:
                shutil.copyfile(self._migrated_template(), path)
            return f"sqlite+aiosqlite:///{path}"
        database = f"shopql_test_{number}"
        self.postgres.create_database(database, template=self._migrated_template() if migrate else "template0")
        return self.postgres.url(database)

    def _migrated_template(self) -> str:
        """The SQLite file or PostgreSQL database name of the migrated template."""
        if self._template is None:
            # Numbered: pytest may build this fixture again (per parameter) on the same server.
            name = f"shopql_template_{next(_database_numbers)}"
            if self.postgres is None:
                path = self.tmp / f"{name}.db"
                url = f"sqlite+aiosqlite:///{path}"
                template = str(path)
            else:
                url = self.postgres.create_database(name)
                template = name
            result = run_cli(url, "migrate")
            assert result.returncode == 0, result.stderr
            if self.postgres is None:
                with closing(sqlite3.connect(template)) as conn:  # fold the WAL into the file before copies
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._template = template
        return self._template


@pytest.fixture(scope="session", params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DatabaseMaker:
    postgres = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    return DatabaseMaker(request.param, tmp_path_factory.mktemp(request.param), postgres)


@pytest.fixture(scope="session")
def backend(databases: DatabaseMaker) -> Iterator[Backend]:
    url = databases.new()
    server = ServerProcess(url).start()
    factory = Factory(url)
    try:
        yield Backend(databases.name, url, server, factory)
    finally:
        server.stop()
        factory.close()


@pytest.fixture
def api(backend: Backend) -> Iterator[Api]:
    client = Api(backend.server.base_url)
    yield client
    client.close()


@pytest.fixture
def factory(backend: Backend) -> Factory:
    return backend.factory


@pytest.fixture
def fresh_database_url(databases: DatabaseMaker) -> str:
    """An empty, migrated database of the current backend, for a server of the test's own."""
    return databases.new()
