"""Benchmark: ``GET /api/v1/locate`` under concurrent load on loopback, measured with wrk.

Starts the real server (``gridgis serve``) on the embedded demo database, then drives it with
wrk (a C load generator, so the client does not steal the server's CPU as a Python client
would) using random points over the city, at several concurrencies. Side by side: ``/health``
(one trivial PostGIS round trip through the same stack) as the floor of the framework, and the
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

ROOT = Path(__file__).resolve().parent.parent
OUT_FILE = ROOT / "docs" / "benchmarks-http.md"

LUA = """
math.randomseed(42)
local token = os.getenv("GRIDGIS_TOKEN")
request = function()
  local lon = 120.00 + math.random() * 0.58
  local lat = 31.70 + math.random() * 0.28
  local path = string.format("/api/v1/locate?lon=%.6f&lat=%.6f", lon, lat)
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
"""

LUA_HEALTH = """
request = function() return wrk.format("GET", "/health") end
"""


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
    return {
        "p50_ms": to_ms(latency["50"]),
        "p99_ms": to_ms(latency["99"]),
        "rps": rps,
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def _wrk(url: str, script: str, connections: int, duration_s: int, token: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration_s}s", "--latency",
         "-s", f.name, url],
        capture_output=True, text=True, check=True, env={**os.environ, "GRIDGIS_TOKEN": token},
    ).stdout  # fmt: skip
    os.unlink(f.name)
    return _parse_wrk(out)


def _postgis_baseline(url: str, n: int = 3000) -> dict[str, float]:
    """Sequential single-point lookups by PostGIS (the query the server would otherwise run)."""
    import psycopg
    from sqlalchemy.engine import make_url

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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    # `python -m api.cli` from the repo root runs this checkout's code (not an installed copy)
    gridgis = [sys.executable, "-m", "api.cli"]
    os.chdir(ROOT)
    subprocess.run([*gridgis, "demo", "--no-serve", "--city-only"], check=True, capture_output=True)
    port = _free_port()
    env = {**os.environ, "GRIDGIS_PORT": str(port)}
    token = (
        (ROOT / ".gridgis" / "admin-token").read_text().strip()
        if (ROOT / ".gridgis" / "admin-token").exists()
        else None
    )
    if token is None:
        out = subprocess.run(
            [*gridgis, "token", "create", "bench", "--role", "viewer"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        token = re.search(r"(ggt_\S+)", out).group(1)  # type: ignore[union-attr]
    log = open(ROOT / "bench" / "out-http-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen([*gridgis, "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        # warm the locator cache
        httpx.get(f"{base}/api/v1/locate?lon=120.28&lat=31.9",
                  headers={"Authorization": f"Bearer {token}"}, timeout=60)  # fmt: skip
        rows = []
        for c in args.connections:
            rows.append(("GET /api/v1/locate", c, _wrk(base, LUA, c, args.duration, token)))
            rows.append(("GET /health (floor)", c, _wrk(base, LUA_HEALTH, c, args.duration, token)))
        url = subprocess.run(
            [*gridgis, "db", "url"], capture_output=True, text=True, check=True
        ).stdout.strip()
        rows.append(
            ("PostGIS ST_Covers query alone, no HTTP (database floor)", 1, _postgis_baseline(url))
        )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    lines = [
        "## `GET /api/v1/locate` under load (`bench/bench_http_locate.py`)",
        "",
        f"One uvicorn worker on this {os.cpu_count()}-core machine, wrk on the same machine "
        f"(loopback), {args.duration} s per row, random points over the city, demo city. "
        "Command: `.venv/bin/python -m bench.bench_http_locate`.",
        "",
        "| what | connections | p50 ms | p99 ms | requests/s | non-2xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, c, r in rows:
        lines.append(
            f"| {name} | {c} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['rps']:,.0f} | "
            f"{int(r['non_2xx'])} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    OUT_FILE.write_text(text)


if __name__ == "__main__":
    main()
