"""Fixtures: every test runs against a live server on SQLite and on PostgreSQL.

`backend` is parametrised per database; its server (the real `shopql serve`) and factory live
for the whole session. A test that needs a server of its own (several workers, other
settings, a stopped database) starts one with `ServerProcess` on `fresh_database_url`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
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
    """Creates empty, migrated databases of one backend."""

    def __init__(self, name: str, tmp: Path, postgres: TemporaryPostgres | None) -> None:
        self.name = name
        self.tmp = tmp
        self.postgres = postgres

    def new(self, migrate: bool = True) -> str:
        number = next(_database_numbers)
        if self.postgres is None:
            url = f"sqlite+aiosqlite:///{self.tmp}/shopql-{number}.db"
        else:
            database = f"shopql_test_{number}"
            self.postgres.create_database(database)
            url = self.postgres.url(database)
        if migrate:
            result = run_cli(url, "migrate")
            assert result.returncode == 0, result.stderr
        return url


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
