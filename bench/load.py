"""Load generation with wrk (Debian package `wrk`): req/s and latency percentiles.

`wrk()` repeats one fixed request; `run_wrk_script()` runs a Lua script of the caller's (for
requests that differ, e.g. one token per request) and returns wrk's output.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int

    def row(self, label: str) -> str:
        return f"{label:<34} {self.requests_per_second:>9.0f} req/s   p50 {self.p50_ms:>7.2f} ms   p99 {self.p99_ms:>7.2f} ms"


def _millis(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk_script(url: str, script: str, *, seconds: int, connections: int, threads: int = 1,
                   timeout_seconds: int = 30, latency: bool = True, finished_marker: Path | None = None) -> str:
    """Run wrk with the Lua `script` (text) for at most `seconds`; return its standard output.

    wrk's main thread sleeps for all of `-d` even when the script stops its threads early
    (`wrk.thread:stop()`). A script that knows when it is done creates `finished_marker`: wrk
    is then interrupted (SIGINT: its threads have ended, so the main thread gets it), which
    ends the sleep, and wrk reports as usual.
    """
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `make bench` (installs it) or apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_seconds}s",
            "-s", file.name, url]
    if latency:
        argv.insert(1, "--latency")
    try:
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            deadline = time.monotonic() + seconds + 60
            if finished_marker is not None:
                while process.poll() is None and not finished_marker.exists() and time.monotonic() < deadline:
                    time.sleep(0.02)
                if process.poll() is None:
                    time.sleep(0.05)  # the threads return right after the marker is written
                    process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        if process.returncode != 0:
            raise subprocess.CalledProcessError(process.returncode, argv, stdout, stderr)
        return stdout
    finally:
        Path(file.name).unlink(missing_ok=True)


def wrk(url: str, *, seconds: int = 10, connections: int = 16, threads: int = 1,
        method: str = "GET", body: str | None = None, headers: dict[str, str] | None = None) -> LoadResult:
    script_lines = [f'wrk.method = "{method}"']
    if body is not None:
        script_lines.append(f"wrk.body = [==[{body}]==]")
    for name, value in (headers or {}).items():
        script_lines.append(f'wrk.headers["{name}"] = "{value}"')
    output = run_wrk_script(url, "\n".join(script_lines) + "\n", seconds=seconds, connections=connections,
                            threads=threads, timeout_seconds=2)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _millis(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _millis(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return LoadResult(rps, p50, p99, int(non_2xx.group(1)) if non_2xx else 0)
