"""The upload parsers' child processes (layers/tables.py run_isolated): nicer than the server,
so its requests get the CPU first, and never outliving the server (a server stopped or killed
left its parsers running, holding their memory and the server's output pipes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from layers import tables

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_parser_runs_nicer_than_the_server() -> None:
    assert tables.run_isolated(os.getpid) != os.getpid()
    assert tables.run_isolated(os.nice, 0) >= os.nice(0) + tables.PARSE_NICENESS


def test_parsers_end_with_a_killed_server() -> None:
    # a "server" that parsed once and then dies without any shutdown (as under kill -9)
    code = (
        "import os, sys\n"
        "from layers import tables\n"
        "print(tables.run_isolated(os.getpid), flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    child = int(out.stdout.split()[-1])
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child), f"parser {child} outlived its server"


def test_shutdown_stops_the_pool_and_a_later_parse_starts_it_again() -> None:
    first = tables.run_isolated(os.getpid)
    tables.shutdown_pool()
    deadline = time.monotonic() + 30
    while _alive(first) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(first)
    assert tables.run_isolated(os.getpid) != first
