"""Benchmark: PostgreSQL's CPU per single fix, stored alone or in groups (group commit).

What one group of the OsmAnd single-fix path costs the database (``api/ingest/group.py``):
the device lookup (``layers.fix_groups.devices_with_latest``) and the INSERT with its statement
trigger (migration 0023) and commit (``layers.fix_groups.insert_fixes``), for groups of 1 (the
former path: one fix, one transaction) to 64 fixes of distinct devices. Measured as the CPU
time of the one backend that runs them (``/proc`` through psutil), which other work on the
machine hardly changes, and wall time per fix. Uses the embedded demo database; the fixes go
to 64 devices of its own (``bench-group-…``), an hour or more in the past.

    .venv/bin/python -m bench.bench_ingest_group [--fixes 800]

Prints a Markdown table (docs/benchmarks-http.md quotes it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
from sqlalchemy.engine import make_url

from layers.fix_groups import devices_with_latest, insert_fixes

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1, 4, 8, 16, 32, 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixes", type=int, default=800, help="fixes per group size")
    args = parser.parse_args()
    url = subprocess.run(
        [sys.executable, "-m", "api.cli", "db", "url"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.strip()  # fmt: skip
    u = make_url(url)
    conninfo = f"dbname={u.database} user={u.username} host={u.query.get('host', u.host)}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        stamp = f"{os.getpid()}-{time.time_ns()}"
        names = [f"bench-group-{stamp}-{i}" for i in range(64)]
        ids = [
            conn.execute(
                "INSERT INTO device (external_id, active) VALUES (%s, true) RETURNING id", (n,)
            ).fetchone()[0]  # type: ignore[index]
            for n in names
        ]
        backend = psutil.Process(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        k = 0
        lines = [
            "| fixes per group | PostgreSQL CPU ms/fix | wall ms/fix |",
            "|---:|---:|---:|",
        ]
        for n in SIZES:
            rounds = max(10, args.fixes // n)
            used = backend.cpu_times()
            wall = time.perf_counter()
            for _ in range(rounds):
                rows = []
                for i in range(n):
                    k += 1
                    rows.append((
                        ids[i], t0 + timedelta(milliseconds=k), t0, 120.25, 31.9, 120.25, 31.9,
                        "wgs84", 5.0, None, None, None, None, None, 0, None, "osmand", None,
                    ))  # fmt: skip
                devices_with_latest(conn, names[:n])
                insert_fixes(conn, rows)
            wall = time.perf_counter() - wall
            after = backend.cpu_times()
            cpu = after.user + after.system - used.user - used.system
            lines.append(
                f"| {n} | {cpu * 1000 / (rounds * n):.3f} | {wall * 1000 / (rounds * n):.3f} |"
            )
        conn.execute("DELETE FROM device WHERE id = ANY(%s)", (ids,))  # and their fixes
    print(f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
