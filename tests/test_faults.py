"""Faults: a database outage or a hung database (fail fast with 503 + Retry-After, recover by
itself), errors nothing expected (a logged 500 that keeps its request id), graceful shutdown.

The outage tests run their OWN PostgreSQL cluster: the session's `postgres` fixture also
serves the shared `backend` server of the other tests, which must not see the outage.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.factories import Factory, unique
from tests.support.postgres import PostgresNotFound, TemporaryPostgres
from tests.support.server import ServerProcess, run_cli

GRAPHQL_RESPONSE = "application/graphql-response+json"
FAST = 3.0  # seconds: an outage must be reported quickly, not after a long connect timeout
PRODUCTS_QUERY = {"query": "{ products(first: 2) { totalCount nodes { id } } }"}
BRAND_QUERY = {"query": '{ brand(id: "brand_01J0000000000000000000000") { id } }'}


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def wait_until_healthy(client: httpx.Client, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not recover after the database came back")


@pytest.fixture(scope="module")
def own_postgres():
    try:
        server = TemporaryPostgres().start()
    except PostgresNotFound as error:  # pragma: no cover - `make test` installs PostgreSQL
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.cleanup()


def test_database_outage_fails_fast_with_503_and_service_resumes(own_postgres):
    own_postgres.create_database("outage")
    url = own_postgres.url("outage")
    assert run_cli(url, "seed-demo", "--products", "10").returncode == 0
    with ServerProcess(url, workers=2) as server, httpx.Client(base_url=server.base_url, timeout=20) as client:
        total = client.post("/graphql", json=PRODUCTS_QUERY).json()["data"]["products"]["totalCount"]
        assert total > 0
        unknown_hash = hashlib.sha256(b"never registered").hexdigest()

        own_postgres.stop()
        try:
            for _ in range(3):  # more than one request, so that both workers answer
                health, elapsed = timed(lambda: client.get("/health"))
                assert health.status_code == 503 and elapsed < FAST
                assert health.json() == {"error": {"code": "service_unavailable", "message": "Database unavailable"}}

                rest, elapsed = timed(lambda: client.get("/api/v1/catalog/products"))
                assert rest.status_code == 503 and elapsed < FAST
                assert rest.json()["error"]["code"] == "service_unavailable"
                assert "SELECT" not in rest.text and "connect" not in rest.text.lower()

                graphql, elapsed = timed(lambda: client.post("/graphql", json=PRODUCTS_QUERY))
                assert graphql.status_code == 503 and elapsed < FAST
                body = graphql.json()
                assert body["data"] is None
                assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
                assert body["errors"][0]["extensions"]["requestId"] == graphql.headers["x-request-id"]

                strict, elapsed = timed(lambda: client.post(
                    "/graphql", json=PRODUCTS_QUERY, headers={"Accept": GRAPHQL_RESPONSE}))
                assert strict.status_code == 503 and elapsed < FAST

                # A nullable root field comes back null: still no data, still 503.
                brand = client.post("/graphql", json=BRAND_QUERY)
                assert brand.status_code == 503
                assert brand.json()["data"] == {"brand": None}
                for response in (health, rest, graphql, strict, brand):
                    assert response.headers["retry-after"] == "5"

                batch = client.post("/graphql", json=[BRAND_QUERY, PRODUCTS_QUERY])
                assert batch.status_code == 503 and batch.headers["retry-after"] == "5"
                # With something answered, the batch is 200 and each entry says what failed.
                partial = client.post("/graphql", json=[{"query": "{ __typename }"}, BRAND_QUERY])
                assert partial.status_code == 200 and partial.headers["retry-after"] == "5"
                assert [e["extensions"]["code"] for e in partial.json()[1]["errors"]] == ["SERVICE_UNAVAILABLE"]

                persisted, elapsed = timed(lambda: client.post("/graphql", json={
                    "extensions": {"persistedQuery": {"version": 1, "sha256Hash": unknown_hash}}}))
                assert persisted.status_code == 503 and elapsed < FAST
                assert persisted.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

                # Requests that need no database keep working.
                assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200
        finally:
            own_postgres.start()

        wait_until_healthy(client)
        for _ in range(6):
            assert client.get("/health").status_code == 200
            assert client.get("/api/v1/catalog/products").status_code == 200
            body = client.post("/graphql", json=PRODUCTS_QUERY).json()
            assert "errors" not in body and body["data"]["products"]["totalCount"] == total
        assert "Traceback" not in server.log()


def _cluster_processes(server: TemporaryPostgres) -> list[int]:
    """The postmaster and its children (the backends serving our pooled connections)."""
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
            pids.append(int(entry.name))
    return pids


@contextmanager
def hung(server: TemporaryPostgres) -> Iterator[None]:
    """PostgreSQL frozen (SIGSTOP): connections open, nothing ever answered."""
    pids = _cluster_processes(server)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_hung_database_answers_503_within_the_request_deadline(own_postgres):
    own_postgres.create_database("hung")
    url = own_postgres.url("hung")
    assert run_cli(url, "seed-demo", "--products", "5").returncode == 0
    limits = {"DB_REQUEST_TIMEOUT": "1.5", "DB_CONNECT_TIMEOUT": "1", "DB_POOL_TIMEOUT": "1"}
    with ServerProcess(url, **limits) as server, httpx.Client(base_url=server.base_url, timeout=20) as client:
        for _ in range(3):  # warm the pool: the frozen server holds live connections
            assert client.post("/graphql", json=PRODUCTS_QUERY).status_code == 200
        with hung(own_postgres):
            for _ in range(2):
                for call in (
                    lambda: client.post("/graphql", json=PRODUCTS_QUERY),
                    lambda: client.post("/graphql", json=[PRODUCTS_QUERY, BRAND_QUERY]),
                    lambda: client.get("/api/v1/catalog/products"),
                    lambda: client.get("/health"),
                ):
                    response, elapsed = timed(call)
                    assert response.status_code == 503, response.text
                    assert elapsed < FAST, (elapsed, response.request.url)
                    assert response.headers["retry-after"] == "5"
        wait_until_healthy(client)
        for _ in range(4):
            assert client.get("/api/v1/catalog/products").status_code == 200
            assert "errors" not in client.post("/graphql", json=PRODUCTS_QUERY).json()
    assert "Traceback" not in server.log()


def test_unexpected_errors_outside_graphql_keep_the_request_id(fresh_database_url):
    """A bug (here: a table gone missing) is a logged 500, not a 503, and keeps its request id."""
    factory = Factory(fresh_database_url)
    try:
        with ServerProcess(fresh_database_url) as server:
            user = factory.user()
            factory.execute(text("ALTER TABLE users RENAME TO users_gone"))
            request_id = unique("no-table-")
            response = httpx.get(f"{server.base_url}/api/v1/auth/profile", headers={
                "Authorization": f"Bearer {user['token']}", "X-Request-ID": request_id})
            assert response.status_code == 500
            assert response.json() == {"error": {"code": "internal_server_error", "message": "Internal server error"}}
            assert response.headers["x-request-id"] == request_id
            assert response.headers["cache-control"] == "no-store"
            graphql_id = unique("no-table-gql-")
            graphql = httpx.post(f"{server.base_url}/graphql", json={"query": "{ me { roles } }"}, headers={
                "Authorization": f"Bearer {user['token']}", "X-Request-ID": graphql_id})
            assert [e["extensions"]["code"] for e in graphql.json()["errors"]] == ["INTERNAL_SERVER_ERROR"]
            time.sleep(0.2)
        log = server.log_path.read_text(errors="replace")
        lines = log.splitlines()
        for rid in (request_id, graphql_id):
            [index] = [i for i, line in enumerate(lines) if rid in line and " ERROR " in line]
            assert any(line.startswith("Traceback") for line in lines[index + 1:index + 4])
        assert "Exception in ASGI application" not in log
    finally:
        factory.close()


def _read_response(sock: socket.socket, timeout: float = 15) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        data = b"".join(chunks)
        head, _, body = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:") and len(body) >= int(line.split(b":")[1]):
                return data
    return b"".join(chunks)


def test_sigterm_finishes_in_flight_requests_then_exits_cleanly(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path}/graceful.db"
    assert run_cli(url, "migrate").returncode == 0
    server = ServerProcess(url).start()
    try:
        body = json.dumps({"query": "{ brands(first: 1) { totalCount } }"}).encode()
        sock = socket.create_connection(("127.0.0.1", server.port))
        head = (
            "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        # The request is in flight: headers and half of the body sent, the rest still to come.
        sock.sendall(head + body[:10])
        time.sleep(0.5)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.process.poll() is None, "the server quit with a request in flight"
        # New connections are no longer accepted while it drains.
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        sock.sendall(body[10:])
        response = _read_response(sock)
        sock.close()
        assert response.startswith(b"HTTP/1.1 200"), response[:200]
        assert b'"totalCount":0' in response
        # uvicorn re-raises the signal after its graceful shutdown: "terminated by SIGTERM".
        assert server.process.wait(15) in (0, -signal.SIGTERM)
    finally:
        server.stop()
    log = server.log()
    assert "Finished server process" in log
    assert "Traceback" not in log
