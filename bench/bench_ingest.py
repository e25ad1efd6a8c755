"""Benchmark: fix ingest over HTTP and track playback (issue 4's speed targets).

On a scratch database in the embedded cluster (demo city loaded), with the real server in its
own uvicorn process:

1. batch ingest over HTTP (``POST /api/v1/ingest/batch``, 5,000 fixes per request, JSON parse,
   CGCS2000 conversion, L3 grid, flags, COPY), fixes/s sustained, side by side with a per-row
   ``INSERT`` baseline (one statement per fix through psycopg, no conversion at all);
2. Traccar/OsmAnd single-fix ``GET`` requests/s on loopback, driven by wrk (C, Lua script);
3. one officer's 8 h track at 5 s (5,760 fixes, with stops): ``GET /devices/{id}/track``
   latency, p50 and p95.

    .venv/bin/python -m bench.bench_ingest [--workers 1] [--fixes 400000] [--duration 10]

Writes docs/benchmarks-tracks.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.bench_http_locate import _free_port, _parse_wrk

ROOT = Path(__file__).resolve().parent.parent
OUT_FILE = ROOT / "docs" / "benchmarks-tracks.md"
BATCH = 5_000

LUA_OSMAND = """
local n = 0
local base = tonumber(os.getenv("BENCH_T0"))
local devices = {}
for d in string.gmatch(os.getenv("BENCH_DEVICES"), "[^,]+") do table.insert(devices, d) end
request = function()
  n = n + 1
  local dev = devices[(n % #devices) + 1]
  local i = math.floor(n / #devices)
  local path = string.format(
    "/api/v1/ingest/osmand?id=%s&lat=%.6f&lon=%.6f&timestamp=%d&speed=2.3&bearing=90&accuracy=6",
    dev, 31.92 + (i % 100) * 1e-5, 120.285 + (i % 97) * 1e-5, base + i)
  return wrk.format("GET", path)
end
"""


def _scratch_database() -> tuple[str, str, object]:
    from layers.cluster import LocalCluster

    cluster = LocalCluster(ROOT / ".gridgis")
    cluster.start()
    name = f"gridgis_bench_{secrets.token_hex(3)}"
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(cluster.url).set(database=name).render_as_string(hide_password=False)
    with create_engine(url).begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    return url, name, admin


def _prepare(url: str, n_devices: int) -> tuple[list[tuple[int, str, str]], list[str]]:
    """Migrate, load the demo city, register devices (with secrets) and open ones (wrk)."""
    from layers.db import make_engine, make_sessionmaker, transaction
    from layers.demo import load_demo_city
    from layers.devices import create_device
    from layers.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        load_demo_city(session=session, seed=320281, metric_srid=4549,
                       cache_dir=ROOT / ".gridgis" / "cache")  # fmt: skip
        devices = []
        for i in range(n_devices):
            d, secret = create_device(session=session, external_id=f"bench-{i:03d}")
            devices.append((d.id, d.external_id, str(secret)))
        open_ids = []
        for i in range(16):
            d, _ = create_device(session=session, external_id=f"osm-{i:02d}", with_secret=False)
            open_ids.append(d.external_id)
    engine.dispose()
    return devices, open_ids


def _batch_bodies(
    devices: list[tuple[int, str, str]], total: int, t0: datetime
) -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(1)
    per_device = total // len(devices)
    bodies = []
    for _, ext, secret in devices:
        lon = 120.285 + np.cumsum(rng.normal(0, 2e-5, per_device))
        lat = 31.92 + np.cumsum(rng.normal(0, 2e-5, per_device))
        for a in range(0, per_device, BATCH):
            fixes = [
                {"time": (t0 + timedelta(seconds=5 * i)).isoformat(), "lon": float(lon[i]),
                 "lat": float(lat[i]), "accuracy_m": 6.0, "speed_mps": 1.3, "seq": i}
                for i in range(a, min(a + BATCH, per_device))
            ]  # fmt: skip
            bodies.append((secret, orjson.dumps({"device": ext, "datum": "gcj02", "fixes": fixes})))
    return bodies


def _batch_ingest(base: str, bodies: list[tuple[str, bytes]], clients: int) -> dict[str, float]:
    """Post prepared bodies from ``clients`` threads; fixes/s over the wall time."""
    queue = list(bodies)
    lock = threading.Lock()
    stored = [0]
    latencies: list[float] = []

    def work() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    secret, body = queue.pop()
                t = time.perf_counter()
                headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
                r = client.post("/api/v1/ingest/batch", content=body, headers=headers)
                r.raise_for_status()
                with lock:
                    stored[0] += r.json()["stored"]
                    latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return {"fixes": stored[0], "seconds": wall, "fixes_per_s": stored[0] / wall,
            "p50_request_ms": statistics.median(latencies) * 1000}  # fmt: skip


def _per_row_baseline(url: str, device_id: int, n: int, t0: datetime) -> dict[str, float]:
    """One INSERT per fix (no conversion, no grid, no flags) in one transaction."""
    import psycopg

    u = make_url(url)
    conninfo = f"dbname={u.database} user={u.username} host={u.query.get('host', u.host)}"
    sql = (
        "INSERT INTO position (device_id, fix_time, server_time, lon, lat, raw_lon, raw_lat, "
        "datum, accuracy_m, flags, seq, source) VALUES (%s, %s, now(), %s, %s, %s, %s, 'wgs84', "
        "%s, 0, %s, 'batch') ON CONFLICT DO NOTHING"
    )
    with psycopg.connect(conninfo) as conn:
        start = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(n):
                lon, lat = 120.285 + i * 1e-7, 31.92
                cur.execute(sql, (device_id, t0 + timedelta(seconds=i), lon, lat, lon, lat, 6.0, i))
        conn.commit()
        wall = time.perf_counter() - start
    return {"fixes": n, "seconds": wall, "fixes_per_s": n / wall}


def _officer_day(base: str, device: tuple[int, str, str], day0: datetime) -> dict[str, float]:
    """Ingest one 8 h tour at 5 s with stops (through the batch API), then time the track."""
    from shapely.geometry import box

    from gis.crs import from_metric, to_metric
    from gis.patrolsim import WALK, patrol_tour

    x, y = to_metric(np.array([120.285]), np.array([31.92]))
    region = box(x[0] - 400, y[0] - 400, x[0] + 400, y[0] + 400)
    tour = patrol_tour(region, rng=np.random.default_rng(5), start_s=day0.timestamp(),
                       duration_s=8 * 3600 - 5, mode=WALK)  # fmt: skip
    lon, lat = from_metric(tour.x_m, tour.y_m)
    fixes = [{"time": float(t), "lon": float(a), "lat": float(b), "accuracy_m": float(c)}
             for t, a, b, c in zip(tour.t_s, lon, lat, tour.accuracy_m, strict=True)]  # fmt: skip
    dev_id, ext, secret = device
    r = httpx.post(f"{base}/api/v1/ingest/batch", json={"device": ext, "fixes": fixes},
                   headers={"Authorization": f"Bearer {secret}"}, timeout=120)  # fmt: skip
    r.raise_for_status()
    token = os.environ["BENCH_TOKEN"]
    params = {"from": day0.isoformat(), "to": (day0 + timedelta(hours=9)).isoformat()}
    timings = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        for k in range(60):
            t = time.perf_counter()
            body = client.get(f"/api/v1/devices/{dev_id}/track", params=params).json()
            if k >= 10:  # the first requests warm caches
                timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    return {"fixes": body["summary"]["fixes"], "stops": body["summary"]["stops"],
            "p50_ms": statistics.median(timings), "p95_ms": timings[int(len(timings) * 0.95)],
            "planned_stops": len(tour.stops)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--fixes", type=int, default=400_000)
    parser.add_argument("--clients", type=int, default=4, help="batch client threads")
    parser.add_argument("--duration", type=int, default=10, help="wrk seconds")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    url, name, admin = _scratch_database()
    server = None
    log = open(ROOT / "bench" / "out-ingest-server.log", "w")  # noqa: SIM115
    try:
        devices, open_ids = _prepare(url, 21)
        from layers.auth import create_token
        from layers.db import make_engine, make_sessionmaker, transaction

        with transaction(make_sessionmaker(make_engine(url))) as session:
            _, token = create_token(session=session, name="bench", role="viewer")
        os.environ["BENCH_TOKEN"] = token
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": url,
               "GRIDGIS_DATA_DIR": tempfile.mkdtemp(prefix="gridgis-bench-")}  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--workers", str(args.workers)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
        # warm every worker (locator cache, partitions)
        warm = _batch_bodies(devices[:1], 2 * BATCH, t0 - timedelta(days=1))
        _batch_ingest(base, warm * 2, 2)
        bodies = _batch_bodies(devices[1:20], args.fixes, t0)
        batch = _batch_ingest(base, bodies, args.clients)
        baseline = _per_row_baseline(url, devices[0][0], 20_000, t0 - timedelta(days=2))
        script_env = {"BENCH_T0": str(int(t0.timestamp()) + 10**6),
                      "BENCH_DEVICES": ",".join(open_ids)}  # fmt: skip
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA_OSMAND)
        out = subprocess.run(
            ["wrk", "-t", "1", "-c", str(args.connections), "-d", f"{args.duration}s",
             "--latency", "-s", f.name, base],
            capture_output=True, text=True, check=True, env={**os.environ, **script_env},
        ).stdout  # fmt: skip
        os.unlink(f.name)
        osmand = _parse_wrk(out)
        day0 = datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0) - timedelta(
            days=1
        )
        track = _officer_day(base, devices[20], day0)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        with admin.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    ratio = batch["fixes_per_s"] / baseline["fixes_per_s"]
    lines = [
        "## Patrol tracks: ingest and playback (`bench/bench_ingest.py`)",
        "",
        f"{os.cpu_count()}-core machine, server and clients on it (loopback), "
        f"{args.workers} uvicorn worker(s), scratch database with the demo city. Command: "
        f"`.venv/bin/python -m bench.bench_ingest --workers {args.workers}`. "
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| what | measure | target |",
        "|---|---:|---:|",
        f"| batch ingest over HTTP ({BATCH:,} fixes/request, GCJ-02 → CGCS2000, L3 grid, "
        f"flags, COPY; {args.clients} client threads, {batch['fixes']:,} fixes) | "
        f"**{batch['fixes_per_s']:,.0f} fixes/s** (p50 {batch['p50_request_ms']:.0f} ms "
        f"per request) | ≥ 20,000 fixes/s |",
        f"| per-row INSERT baseline (psycopg, one statement per fix, no conversion, "
        f"{baseline['fixes']:,} fixes) | {baseline['fixes_per_s']:,.0f} fixes/s | "
        f"(batch is {ratio:.1f}×) |",
        f"| OsmAnd single-fix GET (wrk, {args.connections} connections, {args.duration} s) | "
        f"**{osmand['rps']:,.0f} requests/s** (p50 {osmand['p50_ms']:.1f} ms, p99 "
        f"{osmand['p99_ms']:.1f} ms, non-2xx {int(osmand['non_2xx'])}) | ≥ 1,000/s |",
        f"| one officer, 8 h at 5 s ({track['fixes']:,} fixes, {track['stops']} stops found "
        f"of {track['planned_stops']} planned): `GET /devices/{{id}}/track` | "
        f"**p50 {track['p50_ms']:.1f} ms** (p95 {track['p95_ms']:.1f} ms, 50 requests) | "
        "p50 < 100 ms |",
        "",
    ]
    text_out = "\n".join(lines)
    print(text_out)
    OUT_FILE.write_text(text_out)


if __name__ == "__main__":
    main()
