"""Schemathesis (its own CLI, a real third-party client) against the live server.

Requests are generated from /openapi.json and from the GraphQL schema, on a server with the
demo catalog, a signed-in admin and Google sign-in configured (the fake provider). No request
may answer 5xx, and every REST response must match the OpenAPI document: status code,
content type, headers and body schema. Examples are bounded and seeded so the run is quick
and reproducible; SCHEMATHESIS_EXAMPLES raises the bound for a deeper run.

Left out, on purpose: `positive_data_acceptance` (it expects every schema-valid body to be
accepted, but the domain rules, e.g. the password policy or an email's syntax, say more than
JSON Schema does; those answers are documented 400s). The GraphQL run uses our own
`no_internal_error` check (tests/support/schemathesis_hooks.py) for the reason given there.
One worker: Python 3.11.7's ast module is not thread-safe, and schemathesis parses lambdas.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import Factory
from tests.support.fake_google import FakeGoogle
from tests.support.server import ROOT, ServerProcess, run_cli

EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "25")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def target(databases: Any) -> Iterator[tuple[ServerProcess, str]]:
    url = databases.new()
    seeded = run_cli(url, "seed-demo", "--products", "60")
    assert seeded.returncode == 0, seeded.stderr
    with FakeGoogle() as google:
        server = ServerProcess(url, **google.server_env())
        server.env["GOOGLE_REDIRECT_URI"] = f"{server.base_url}/api/v1/auth/google/callback"
        factory = Factory(url)
        try:
            admin = factory.user(roles=("admin", "user"))
            with server:
                yield server, admin["token"]
        finally:
            factory.close()


def schemathesis(
    location: str, token: str, tmp_path: Path, *checks: str, hooks: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if hooks:
        env["SCHEMATHESIS_HOOKS"] = hooks
    return subprocess.run(
        [str(SCHEMATHESIS), "run", location, *checks,
         "--max-examples", EXAMPLES, "--seed", "20261201", "--generation-database", "none",
         "--header", f"Authorization: Bearer {token}", "--workers", "1",
         "--request-timeout", "20", "--no-color", "--report-dir", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=env,
    )


def test_rest_routes_conform_to_their_openapi_document(target, tmp_path):
    server, token = target
    result = schemathesis(
        f"{server.base_url}/openapi.json", token, tmp_path,
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]


def test_graphql_never_fails_unexpectedly(target, tmp_path):
    server, token = target
    result = schemathesis(
        f"{server.base_url}/graphql", token, tmp_path, "--checks", "no_internal_error",
        hooks="tests.support.schemathesis_hooks",
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
