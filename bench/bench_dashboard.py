"""Benchmark: the front page's dashboard calls under load (issue 15: p50 <= 150 ms).

Against a RUNNING app with the demo data (``gridgis demo``: city, staff, households, patrol
days with coverage, events): 16 reader threads (httpx, one keep-alive client each) ask the
panels of the front page in a loop, as 16 screens would, for a mix of scopes (the city, a
town, a village, a unit grid), while one writer thread posts ~300 fixes/s to
``POST /api/v1/ingest/batch`` (3 bench devices registered through the API, one batch of 100
fixes per device per second). Latency per endpoint: p50, p95, max, requests; and the fixes/s
the writer achieved.

    .venv/bin/python -m bench.bench_dashboard --base http://127.0.0.1:8000 --token ADMIN_TOKEN \
        [--duration 30] [--readers 16] [--fixes-per-s 300]

Writes docs/benchmarks-dashboard.md. The token must be an admin's (it registers the bench
devices; reads work with any role).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
OUT_FILE = ROOT / "docs" / "benchmarks-dashboard.md"
TARGET_P50_MS = 150.0


def _scopes(client: httpx.Client) -> list[str]:
    """The city, the first town, one of its villages and one of that village's grids."""
    towns = client.get("/api/v1/grids", params={"level": 1, "simplify": 500}).json()
    town = sorted(f["properties"]["code"] for f in towns["features"])[0]
    village = client.get(f"/api/v1/grids/{town}").json()["properties"]["children"][0]["code"]
    grid = client.get(f"/api/v1/grids/{village}").json()["properties"]["children"][0]["code"]
    return ["", town, village, grid]


def _paths(scopes: list[str], patrol_day: str) -> list[tuple[str, str]]:
    """(name, path) of what the page asks, per scope; and the officers' daily figures of
    ``patrol_day`` (``GET /api/v1/patrol/daily``, every device: issue 12's <= 1 s)."""
    out = [("patrol/daily", f"/api/v1/patrol/daily?date={patrol_day}")]
    for s in scopes:
        out += [
            ("events", f"/api/v1/dashboard/events?scope={s}"),
            ("events/points", f"/api/v1/dashboard/events/points?scope={s}"),
            ("patrols", f"/api/v1/dashboard/patrols?scope={s}"),
            ("kpis", f"/api/v1/dashboard/kpis?scope={s}"),
        ]
        if s:
            out.append(("grid/{code}", f"/api/v1/dashboard/grid/{s}"))
    return out


def _devices(client: httpx.Client, n: int) -> list[tuple[str, str]]:
    tag = secrets.token_hex(3)
    out = []
    for i in range(n):
        r = client.post("/api/v1/devices", json={"external_id": f"bench-dash-{tag}-{i:02d}"})
        r.raise_for_status()
        out.append((r.json()["external_id"], r.json()["secret"]))
    return out


def _writer(base: str, devices: list[tuple[str, str]], fixes_per_s: int, stop: threading.Event,
            stats: dict[str, float]) -> None:  # fmt: skip
    """One batch per device per second, ``fixes_per_s / len(devices)`` fixes each (a walk)."""
    per = max(1, fixes_per_s // len(devices))
    t = datetime.now(UTC) - timedelta(hours=1)
    tick = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        start = time.perf_counter()
        while not stop.is_set():
            second = time.perf_counter()
            for k, (ext, secret) in enumerate(devices):
                fixes = [
                    {"time": (t + timedelta(seconds=tick * per + i)).isoformat(),
                     "lon": 120.285 + 1e-5 * (tick * per + i) % 0.01, "lat": 31.92 + 1e-3 * k,
                     "accuracy_m": 6.0, "speed_mps": 1.2}
                    for i in range(per)
                ]  # fmt: skip
                r = client.post("/api/v1/ingest/batch", json={"device": ext, "fixes": fixes},
                                headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
                if r.status_code < 300:
                    stats["stored"] += r.json().get("stored", 0)
                else:
                    stats["errors"] += 1
            tick += 1
            rest = 1.0 - (time.perf_counter() - second)
            if rest > 0:
                stop.wait(rest)
        stats["seconds"] = time.perf_counter() - start


def _reader(
    base: str,
    token: str,
    paths: list[tuple[str, str]],
    offset: int,
    stop: threading.Event,
    out: dict[str, list[float]],
    lock: threading.Lock,
) -> None:
    mine: dict[str, list[float]] = {}
    i = offset
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as client:  # fmt: skip
        while not stop.is_set():
            name, path = paths[i % len(paths)]
            i += 1
            t = time.perf_counter()
            r = client.get(path)
            ms = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
            mine.setdefault(name, []).append(ms)
    with lock:
        for k, v in mine.items():
            out.setdefault(k, []).extend(v)


def _row(name: str, v: list[float]) -> str:
    v = sorted(v)
    p95 = v[min(len(v) - 1, int(0.95 * len(v)))]
    return f"| {name} | {statistics.median(v):.1f} | {p95:.1f} | {v[-1]:.1f} | {len(v):,} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--token", default=os.environ.get("GRIDGIS_ADMIN_TOKEN"))
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--readers", type=int, default=16)
    ap.add_argument("--fixes-per-s", type=int, default=300)
    ap.add_argument("--out", type=Path, default=OUT_FILE)
    yesterday = (datetime.now(UTC) + timedelta(hours=8) - timedelta(days=1)).date().isoformat()
    ap.add_argument("--patrol-day", default=yesterday, help="day of /patrol/daily (Shanghai)")
    args = ap.parse_args()
    if not args.token:
        raise SystemExit("give --token (the admin token `gridgis demo` prints)")
    with httpx.Client(base_url=args.base, headers={"Authorization": f"Bearer {args.token}"},
                      timeout=60) as client:  # fmt: skip
        scopes = _scopes(client)
        paths = _paths(scopes, args.patrol_day)
        devices = _devices(client, 3)
        for _, path in paths:  # warm: first-request caches (generation, locator)
            client.get(path).raise_for_status()
    stop = threading.Event()
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {}
    written = {"stored": 0.0, "errors": 0.0, "seconds": 0.0}
    writer_args = (args.base, devices, args.fixes_per_s, stop, written)
    threads = [threading.Thread(target=_writer, args=writer_args)]
    threads += [
        threading.Thread(target=_reader,
                         args=(args.base, args.token, paths, k * 3, stop, latencies, lock))
        for k in range(args.readers)
    ]  # fmt: skip
    for t in threads:
        t.start()
    time.sleep(args.duration)
    load = os.getloadavg()  # the machine's load over the run (1, 5, 15 min)
    stop.set()
    for t in threads:
        t.join()
    every = [x for v in latencies.values() for x in v]
    rate = written["stored"] / written["seconds"] if written["seconds"] else 0.0
    lines = [
        "# Dashboard API under load (front page `/`, issue 15)",
        "",
        f"{args.readers} reader threads (httpx, keep-alive) asking the front page's panels in a "
        f"loop for {args.duration:.0f} s, scopes: city, town {scopes[1]}, village {scopes[2]}, "
        f"grid {scopes[3]}; meanwhile one writer posted {rate:.0f} fixes/s "
        f"({int(written['stored']):,} stored, {int(written['errors'])} failed batches) to "
        f"`/api/v1/ingest/batch`. Server: {args.base}; this {os.cpu_count()}-core machine, "
        f"shared with other work (load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "at the end of the run). Milliseconds over HTTP (client-side wall time).",
        "",
        "| call | p50 ms | p95 ms | max ms | requests |",
        "|---|---:|---:|---:|---:|",
        *[_row(k, v) for k, v in sorted(latencies.items())],
        _row("**all**", every),
        "",
        f"Target: p50 <= {TARGET_P50_MS:.0f} ms per call: "
        + (
            "met"
            if all(statistics.median(v) <= TARGET_P50_MS for v in latencies.values())
            else "NOT met"
        )
        + ".",
        "",
        "Command: `.venv/bin/python -m bench.bench_dashboard --base URL --token ADMIN_TOKEN "
        f"--duration {args.duration:.0f} --readers {args.readers} --fixes-per-s "
        f"{args.fixes_per_s}` against `gridgis demo` (or `gridgis serve` on the demo data).",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
