"""One way to run the app in its own uvicorn process for tests: the session's live server and
the second servers some tests need (other map settings, a throw-away database for fuzzing)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from api.settings import PROJECT_DIR

START_S = 600
"""How long a test server may take to answer /health: the slowest honest start on a busy
2-core machine (imports, migrations check, calendar) — never a tight deadline; a server that
exits fails at once."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def app_server(database_url: str, data_dir: Path, **settings: str) -> Iterator[str]:
    """The app on ``database_url`` with ``GRIDGIS_*`` ``settings`` (environment names), its
    log in ``data_dir/server.log``; yields its base URL, stops it afterwards."""
    env = {**os.environ, "DATABASE_URL": database_url, "GRIDGIS_DATA_DIR": str(data_dir),
           "GRIDGIS_SESSION_SECRET": "test-secret", **settings}  # fmt: skip
    port = free_port()
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_DIR,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_S
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("a test server did not start:\n" + log_path.read_text())
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
