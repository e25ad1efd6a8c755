"""Benchmark: ``GET /api/v1/locate`` under concurrent load on loopback, measured with wrk.

Starts the real server (``gridgis serve``) on the embedded demo database, then drives it with
wrk (a C load generator, so the client does not steal the server's CPU as a Python client
would) using random points over the city, at several concurrencies. Side by side: ``/livez``
(the process answers, no database: the floor of the HTTP stack alone), ``/health`` (one trivial
PostGIS round trip through the same stack), and the
single-point lookup done by PostGIS (``ST_Covers`` on subdivided parts) through psycopg, as the
database baseline.

    .venv/bin/python -m bench.bench_http_locate [--duration 10] [--workers 1]

Needs ``wrk`` (apt-get install wrk). Writes docs/benchmarks-http.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
OUT_FILE = ROOT / "docs" / "benchmarks-http.md"
WRK_DIR = Path(__file__).parent / "wrk"  # the wrk request scripts (Lua)

LUA = (WRK_DIR / "locate.lua").read_text()

LUA_HEALTH = (WRK_DIR / "health.lua").read_text()

LUA_LIVEZ = (WRK_DIR / "livez.lua").read_text()  # the process alone: no database

# Traccar Client / OsmAnd single fixes from a fleet of 64 phones (bench/wrk/osmand.lua)
LUA_OSMAND = (WRK_DIR / "osmand.lua").read_text()

NOTES_MARKER = "<!-- notes below are kept when the bench rewrites the table -->"

PG_DATABASE: str | None = None
"""The database the served app uses: PostgreSQL CPU is counted for its backends only."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parse_wrk(output: str) -> dict[str, float]:
    def to_ms(value: str) -> float:
        number = float(re.match(r"[\d.]+", value).group())  # type: ignore[union-attr]
        if value.endswith("us"):
            return number / 1000
        if value.endswith("ms"):
            return number
        return number * 1000  # seconds

    latency = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", output, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", output)  # no answer within 2 s
    return {
        "p50_ms": to_ms(latency["50"]),
        "p99_ms": to_ms(latency["99"]),
        "rps": rps,
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "timeouts": float(timeouts.group(1)) if timeouts else 0.0,
    }


def _cpu_s(server_pid: int, database: str | None = None) -> tuple[float, float | dict[int, float]]:
    """CPU seconds used so far by the server (supervisor and workers) and by PostgreSQL: with
    ``database``, only the backends connected to it (the server's pooled connections, which
    live through a row; other databases of a shared cluster, e.g. tests', are left out, and so
    are the cluster's WAL writer and checkpointer), else every PostgreSQL process."""
    import psutil

    def used(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
        except psutil.Error:
            return 0.0
        return float(t.user + t.system)

    def tree(root: psutil.Process) -> float:
        # the live processes, plus what exited children used (counted once reaped by root)
        try:
            t = root.cpu_times()
            reaped = float(t.children_user + t.children_system)
        except psutil.Error:
            reaped = 0.0
        return used(root) + reaped + sum(used(c) for c in root.children(recursive=True))

    ours = tree(psutil.Process(server_pid))
    # with ``database``: per backend process id (a backend that starts during a row counts
    # from zero; one that ends during it is left out: the server's pool keeps its own)

    def is_postmaster(p: psutil.Process) -> bool:
        try:
            parent = p.parent()
            return p.name().startswith("postgres") and not (
                parent is not None and parent.name().startswith("postgres")
            )
        except psutil.Error:
            return False

    postmasters = [p for p in psutil.process_iter() if is_postmaster(p)]
    if database is None:
        return ours, sum(tree(p) for p in postmasters)

    def serves_ours(p: psutil.Process) -> bool:
        # a backend's title: "postgres: <user> <database> <host> <state>"
        try:
            words = " ".join(p.cmdline()).split()
        except psutil.Error:
            return False
        return len(words) > 2 and words[0] == "postgres:" and words[2] == database

    backends = [c for m in postmasters for c in m.children() if serves_ours(c)]
    return ours, {p.pid: used(p) for p in backends}


def _wrk(
    url: str,
    script: str,
    connections: int,
    duration_s: int,
    token: str,
    server_pid: int,
    **env: str,
) -> dict[str, float]:
    """One wrk run; with the CPU milliseconds the server and PostgreSQL spent per request,
    which (unlike requests/s) hardly depends on what else the machine is doing."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    before = _cpu_s(server_pid, PG_DATABASE)
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration_s}s", "--latency",
         "-s", f.name, url],
        capture_output=True, text=True, check=True,
        env={**os.environ, "GRIDGIS_TOKEN": token, **env},
    ).stdout  # fmt: skip
    after = _cpu_s(server_pid, PG_DATABASE)
    os.unlink(f.name)
    result = _parse_wrk(out)
    done = result["rps"] * duration_s or float("nan")  # none answered: no per-request cost
    result["server_cpu_ms"] = (after[0] - before[0]) * 1000 / done
    if isinstance(after[1], dict) and isinstance(before[1], dict):
        was = before[1]
        db_s = sum(v - was.get(pid, 0.0) for pid, v in after[1].items())
    else:
        db_s = float(after[1]) - float(before[1])  # type: ignore[arg-type]
    result["db_cpu_ms"] = db_s * 1000 / done
    return result


def _postgis_baseline(url: str, n: int = 3000) -> dict[str, float]:
    """Sequential single-point lookups by PostGIS (the query the server would otherwise run)."""
    import psycopg

    u = make_url(url)
    conninfo = f"dbname={u.database} user={u.username} host={u.query.get('host', u.host)}"
    rng = np.random.default_rng(42)
    lon = rng.uniform(120.0, 120.58, n)
    lat = rng.uniform(31.70, 31.98, n)
    timings = []
    with psycopg.connect(conninfo) as conn:
        gen = conn.execute("SELECT id FROM generation WHERE status = 'active'").fetchone()[0]  # type: ignore[index]
        sql = (
            "SELECT code FROM grid_part WHERE generation_id = %s AND "
            "ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490)) ORDER BY code LIMIT 1"
        )
        for x, y in zip(lon, lat, strict=True):
            t = time.perf_counter()
            conn.execute(sql, (gen, float(x), float(y))).fetchone()
            timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[int(len(timings) * 0.99)],
        "rps": 1000 / statistics.mean(timings),
        "non_2xx": 0.0,
        "server_cpu_ms": float("nan"),
        "db_cpu_ms": float("nan"),
    }


def _devices(base: str, token: str, count: int = 64) -> str:
    """``count`` bench devices (admin token) as ``id,secret;id,secret;…`` for the OsmAnd rows:
    a fleet, as phones send (one device's fixes are one after another, never 16 at once)."""
    stamp = f"{os.getpid()}-{time.time_ns()}"
    pairs = []
    for i in range(count):
        r = httpx.post(f"{base}/api/v1/devices", json={"external_id": f"bench-{stamp}-{i}"},
                       headers={"Authorization": f"Bearer {token}"}, timeout=60)  # fmt: skip
        r.raise_for_status()
        pairs.append(f"{r.json()['external_id']},{r.json()['secret']}")
    return ";".join(pairs)


def _serve(gridgis: list[str], workers: int) -> tuple[subprocess.Popen[bytes], str, object]:
    port = _free_port()
    log = open(ROOT / "bench" / f"out-http-server-{workers}.log", "w")  # noqa: SIM115
    server = subprocess.Popen([*gridgis, "serve", "--port", str(port), "--workers", str(workers)],
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return server, base, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--rows",
        nargs="+",
        default=["locate", "osmand"],
        choices=["locate", "osmand"],
        help="which requests to load beside /health and /livez (always run): default both",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    # `python -m api.cli` from the repo root runs this checkout's code (not an installed copy)
    gridgis = [sys.executable, "-m", "api.cli"]
    os.chdir(ROOT)
    subprocess.run([*gridgis, "demo", "--no-serve", "--city-only"], check=True, capture_output=True)
    # kept running through the rows: a server started on a stopped cluster stops it on exit,
    # and the database floor row below queries it directly
    subprocess.run([*gridgis, "db", "up"], check=True, capture_output=True)
    token = (ROOT / ".gridgis" / "admin-token").read_text().strip()
    url = subprocess.run(
        [*gridgis, "db", "url"], capture_output=True, text=True, check=True
    ).stdout.strip()
    global PG_DATABASE
    PG_DATABASE = make_url(url).database
    rows = []
    for workers in args.workers:
        server, base, log = _serve(gridgis, workers)
        try:
            for _ in range(2 * workers):  # warm every worker's locator and caches
                httpx.get(f"{base}/api/v1/locate?lon=120.28&lat=31.9",
                          headers={"Authorization": f"Bearer {token}"}, timeout=120)  # fmt: skip
            fleet = _devices(base, token)
            for c in args.connections:
                if "locate" in args.rows:
                    rows.append((workers, "GET /api/v1/locate", c,
                                 _wrk(base, LUA, c, args.duration, token, server.pid)))  # fmt: skip
                rows.append((workers, "GET /health (floor)", c,
                             _wrk(base, LUA_HEALTH, c, args.duration, token,
                                  server.pid)))  # fmt: skip
                rows.append((workers, "GET /livez (process floor, no database)", c,
                             _wrk(base, LUA_LIVEZ, c, args.duration, token,
                                  server.pid)))  # fmt: skip
                if "osmand" in args.rows:
                    rows.append((workers,
                                 "GET /api/v1/ingest/osmand (one new fix each, 64 phones)", c,
                                 _wrk(base, LUA_OSMAND, c, args.duration, token, server.pid,
                                      GRIDGIS_DEVICES=fleet,
                                      GRIDGIS_T0=str(int(time.time()) - 3600 + c))))  # fmt: skip
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()  # type: ignore[attr-defined]
    rows.append((0, "PostGIS ST_Covers query alone, no HTTP (database floor)", 1,
                 _postgis_baseline(url)))  # fmt: skip
    load = os.getloadavg()[0]
    lines = [
        "## `GET /api/v1/locate` under load (`bench/bench_http_locate.py`)",
        "",
        f"uvicorn workers (`gridgis serve --workers N`) on this {os.cpu_count()}-core machine, "
        f"wrk on the same machine (loopback), {args.duration} s per row, random points over the "
        f"city, demo city; load average {load:.1f} at the end. Command: "
        f"`{' '.join(['.venv/bin/python -m bench.bench_http_locate', *sys.argv[1:]])}`.",
        "",
        "CPU ms/request: CPU time the server processes and PostgreSQL spent during the row, "
        "divided by the requests answered (what bounds the rate on a machine of N free cores: "
        "about N x 1000 / (server + database + wrk's share) requests/s). PostgreSQL: the "
        f"backends of the app's database `{PG_DATABASE}` only (the shared cluster's other "
        "databases, e.g. concurrent test runs, and its WAL writer are not counted).",
        "",
        "| workers | what | connections | p50 ms | p99 ms | requests/s | vs /health "
        "| vs /livez | non-2xx | timeouts | server CPU ms/req | PostgreSQL CPU ms/req |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor = {(w, c): r["rps"] for w, name, c, r in rows if name.startswith("GET /health")}
    alive = {(w, c): r["rps"] for w, name, c, r in rows if name.startswith("GET /livez")}
    for w, name, c, r in rows:
        ratio = r["rps"] / floor[(w, c)] if floor.get((w, c)) else float("nan")
        ratio_live = r["rps"] / alive[(w, c)] if alive.get((w, c)) else float("nan")
        lines.append(
            f"| {w or ''} | {name} | {c} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['rps']:,.0f} | {ratio:.2f} | {ratio_live:.2f} | {int(r['non_2xx'])} | "
            f"{int(r.get('timeouts', 0))} | "
            f"{r['server_cpu_ms']:.2f} | {r['db_cpu_ms']:.2f} |"
        )
    lines += [
        "",
        "OsmAnd rows: each request is the next fix of the next of 64 phones "
        "(bench/wrk/osmand.lua), answered 200 once committed. Fixes arriving together in one "
        "server process are stored in one transaction (group commit, api/ingest/group.py): "
        "one device lookup and one INSERT (one run of the position trigger, one WAL flush) "
        "per group, so the database's CPU per fix falls as concurrency grows.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    # notes written by hand below the marker are kept
    kept = OUT_FILE.read_text().partition(NOTES_MARKER) if OUT_FILE.exists() else ("", "", "")
    OUT_FILE.write_text(text + (f"\n{NOTES_MARKER}{kept[2]}" if kept[1] else ""))


if __name__ == "__main__":
    main()
