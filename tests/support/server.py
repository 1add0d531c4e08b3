"""Runs the real `shopql serve` in a subprocess on a free loopback port (tests go over HTTP)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.api import TLS

ROOT = Path(__file__).resolve().parents[2]
TEST_JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPQL_", "GRAPHQL_"))}
    env.update(
        SHOPQL_ENV="test",
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_JWT_SECRET,
        SQL_COUNT_HEADER="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopql.cli", *args],
        cwd=ROOT,
        env=server_env(database_url, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


class ServerProcess:
    def __init__(self, database_url: str, *, workers: int = 1, log_path: Path | None = None,
                 serve_args: tuple[str, ...] = (), **env: str) -> None:
        self.database_url = database_url
        self.workers = workers
        self.serve_args = serve_args  # more `shopql serve` options, e.g. ("--proxy-headers",)
        self.env = server_env(database_url, **env)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or Path(f"/tmp/shopql-test-server-{self.port}.log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ServerProcess:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shopql.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers), *self.serve_args],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1, verify=TLS).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
