"""A throwaway PostgreSQL server for tests and benchmarks.

Debian's PostgreSQL lives in /usr/lib/postgresql/<version>/bin and `initdb` refuses to run as
root, so when we are root the cluster is created and run as the `postgres` OS user. Each
server gets its own temporary directory (data, Unix socket, log) and a free loopback port
other than 5432, so it never collides with a system service or another test run. Durability
is switched off: the data is thrown away anyway.

    with TemporaryPostgres() as pg:
        pg.create_database("shop")
        engine = create_async_engine(pg.url("shop"))

`python -m tests.support.postgres` starts one and prints its URL until Ctrl-C.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresNotFound", "PostgresError", "TemporaryPostgres", "find_bin_dir"]

_DIR_PREFIX = "shopql-pg-"
_OWNER_FILE = "owner.pid"  # pid of the Python process that owns the directory
_DEFAULT_PORT = 5432
_OS_USER = "postgres"  # who runs initdb/postgres when we are root
_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
    "-c full_page_writes=off -c max_connections=200"
)


class PostgresNotFound(RuntimeError):
    """PostgreSQL binaries are not installed."""


class PostgresError(RuntimeError):
    """A PostgreSQL command failed; the message carries its output."""


def _version_key(path: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: "15" or "9.6" -> numeric tuple for sorting.
    version = Path(path).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_bin_dir() -> Path:
    """Directory holding initdb, pg_ctl, postgres and psql (highest Debian version first)."""
    needed = ("initdb", "pg_ctl", "postgres", "psql")
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for directory in candidates:
        if all(os.access(os.path.join(directory, name), os.X_OK) for name in needed):
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb:
        directory = Path(initdb).resolve().parent
        if all(os.access(directory / name, os.X_OK) for name in needed):
            return directory
    raise PostgresNotFound(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) were not found under "
        "/usr/lib/postgresql/*/bin or on PATH; run `make postgres` to install them."
    )


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != _DEFAULT_PORT:
            return port


def _clean_env() -> dict[str, str]:
    # PG* variables of the caller (PGHOST, PGDATA, PGPORT, ...) must not steer our commands.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_MESSAGES"] = "C"  # error text we can read in reports
    return env


class TemporaryPostgres:
    """A private PostgreSQL cluster in a temporary directory, listening on 127.0.0.1."""

    def __init__(self, bin_dir: str | os.PathLike[str] | None = None, *, user: str = "postgres"):
        self.bin_dir = Path(bin_dir) if bin_dir else find_bin_dir()
        self.user = user  # database superuser (initdb -U)
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._as_os_user = _is_root()
        self._running = False

    # -- paths -------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._require_base() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._require_base()

    @property
    def log_file(self) -> Path:
        return self._require_base() / "postgres.log"

    @property
    def running(self) -> bool:
        return self._running

    def _require_base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("TemporaryPostgres has not been started")
        return self.base_dir

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> TemporaryPostgres:
        """Create the cluster on first call, then start the server (idempotent)."""
        if self._running:
            return self
        if self.base_dir is None:
            _sweep_stale_dirs()
            self._create_cluster()
            atexit.register(self.cleanup)
        if self.port is None:
            # Another process may grab the port between our probe and postgres' bind.
            for attempt in range(5):
                self.port = _free_port()
                try:
                    self._start_server()
                    break
                except PostgresError:
                    if attempt == 4 or "could not bind" not in self._log_tail():
                        raise
        else:
            self._start_server()  # restart: same port, same data
        return self

    def stop(self) -> None:
        """Fast shutdown (rolls back open transactions, disconnects clients)."""
        if not self._running or self.base_dir is None:
            return
        self._run([self._bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast",
                   "-w", "-t", "60"], check=False, as_os_user=True)
        self._running = False

    def restart(self) -> None:
        """Stop then start on the same port and data: simulates an outage and recovery."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop the server and delete everything it wrote. Safe to call twice."""
        try:
            self.stop()
        finally:
            atexit.unregister(self.cleanup)
            if self.base_dir is not None:
                shutil.rmtree(self.base_dir, ignore_errors=True)
                self.base_dir = None
            self.port = None

    close = cleanup

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._running else "stopped"
        return f"<TemporaryPostgres {state} dir={self.base_dir}>"

    # -- databases ---------------------------------------------------------------------

    def url(self, dbname: str = "postgres", driver: str = "asyncpg") -> str:
        """SQLAlchemy URL, e.g. postgresql+asyncpg://postgres@127.0.0.1:PORT/dbname."""
        if self.port is None:
            raise RuntimeError("TemporaryPostgres has not been started")
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq/asyncpg DSN (no SQLAlchemy driver suffix)."""
        return self.url(dbname, driver="")

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL with psql over TCP (trust auth) and return its unaligned output."""
        if not self._running:
            raise RuntimeError("TemporaryPostgres is not running")
        result = self._run(
            [self._bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", dbname,
             "-c", sql],
            as_os_user=False,
        )
        return result.stdout

    def create_database(self, name: str, *, template: str = "template0") -> str:
        """Create a database (UTF8, C collation) and return its SQLAlchemy URL."""
        self.psql(f"CREATE DATABASE {_ident(name)} TEMPLATE {_ident(template)} "
                  "ENCODING 'UTF8'")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")

    # -- internals ---------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _run(self, argv: list[str], *, check: bool = True, as_os_user: bool = True,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict = {}
        program = Path(argv[0]).name
        if as_os_user and self._as_os_user:
            runuser = shutil.which("runuser")
            if runuser:
                argv = [runuser, "-u", _OS_USER, "--", *argv]
            else:
                kwargs["user"] = kwargs["group"] = _OS_USER
        # cwd inside our dir: the postgres user may not be allowed into the caller's cwd.
        cwd = self.base_dir if self.base_dir is not None else None
        result = subprocess.run(argv, cwd=cwd, env=_clean_env(), capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, timeout=timeout,
                                **kwargs)
        if check and result.returncode != 0:
            raise PostgresError(
                f"{program} failed (exit {result.returncode}): {' '.join(argv)}\n"
                f"{result.stdout}{result.stderr}".rstrip()
            )
        return result

    def _create_cluster(self) -> None:
        base = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX, dir=self._temp_root()))
        self.base_dir = base
        try:
            (base / _OWNER_FILE).write_text(str(os.getpid()))
            if self._as_os_user:
                _check_os_user()
                shutil.chown(base, user=_OS_USER, group=None)
            common = [self._bin("initdb"), "-D", str(self.data_dir), "-A", "trust",
                      "-U", self.user, "--no-sync", "-E", "UTF8"]
            try:
                self._run([*common, "--locale=C.UTF-8"], timeout=300)
            except PostgresError:
                # Minimal images may lack the C.UTF-8 locale; plain C sorts the same anyway.
                shutil.rmtree(self.data_dir, ignore_errors=True)
                self._run([*common, "--locale=C"], timeout=300)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            self.base_dir = None
            raise

    def _temp_root(self) -> str:
        root = tempfile.gettempdir()
        # The postgres user must be able to traverse to its directory (TMPDIR=/root/... fails).
        if self._as_os_user and not _world_traversable(root):
            root = "/tmp"
        return root

    def _start_server(self) -> None:
        options = f"{_SERVER_OPTIONS} -p {self.port} -k {self.socket_dir}"
        try:
            self._run([self._bin("pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data_dir),
                       "-l", str(self.log_file), "-o", options], timeout=90)
        except PostgresError as error:
            raise PostgresError(f"{error}\n--- server log ---\n{self._log_tail()}") from None
        self._running = True

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_os_user() -> None:
    import pwd

    try:
        pwd.getpwnam(_OS_USER)
    except KeyError:
        raise PostgresNotFound(
            f"running as root but there is no '{_OS_USER}' OS user to run initdb as; "
            "run `make postgres` (the Debian package creates it)."
        ) from None


def _world_traversable(path: str) -> bool:
    current = Path(path).resolve()
    for directory in (current, *current.parents):
        if not directory.stat().st_mode & 0o001:
            return False
    return True


def _sweep_stale_dirs() -> None:
    """Remove servers left behind by test runs that were killed before atexit could run."""
    roots = {tempfile.gettempdir(), "/tmp"}
    for root in roots:
        for base in glob.glob(os.path.join(root, _DIR_PREFIX + "*")):
            try:
                owner = int(Path(base, _OWNER_FILE).read_text().strip())
            except (OSError, ValueError):
                continue
            if _pid_alive(owner):
                continue
            _kill_postmaster(Path(base, "data", "postmaster.pid"))
            shutil.rmtree(base, ignore_errors=True)


def _kill_postmaster(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return
    # The pid may have been reused since; only signal it if it is still a postgres.
    try:
        if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return
    except OSError:
        return
    try:
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown; data is being deleted anyway
    except (ProcessLookupError, PermissionError):
        return
    for _ in range(100):
        if not _pid_alive(pid):
            return
        time.sleep(0.05)


def main() -> int:
    # SIGTERM/SIGHUP must unwind through `with` so the server and its directory go away.
    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    # Background jobs of non-interactive shells start with SIGINT ignored; take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, _exit)
    try:
        with TemporaryPostgres() as pg:
            print(pg.url("postgres"), flush=True)
            print(f"# data dir {pg.data_dir}, log {pg.log_file}; Ctrl-C stops and deletes it",
                  file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    except (PostgresNotFound, PostgresError) as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
