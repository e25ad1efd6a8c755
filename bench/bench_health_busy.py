"""How long ``/health`` takes while the server checks a flood of passwords, or while it
parses big uploads (issue 11: "/health and other requests answer in < 100 ms during any
upload").

    .venv/bin/python -m bench.bench_health_busy [--project DIR] [--logins 60] [--seconds 15]
    .venv/bin/python -m bench.bench_health_busy --uploads 600000 49000 [--seconds 15]
    .venv/bin/python -m bench.bench_health_busy --gpx 40000 [--seconds 15]

Starts the app of ``--project`` (default: this checkout; give an exported older tree to
measure "before") on a fresh database of the embedded cluster, makes a user with a password,
then runs ``--logins`` parallel sign-ins (argon2, right password, over and over) for
``--seconds`` while one client asks ``/health`` every 50 ms; prints the ``/health`` latency
(p50, p95, max, n) idle and under the flood, and the sign-ins done. With ``--uploads N …``,
instead of the flood: for each N, an XLSX staff roster of N rows (openpyxl, written once to
/tmp) is posted to ``POST /api/v1/staff/import?dry_run=true`` over and over by two clients for
``--seconds`` (600,000 rows: the attack of the issue, a 674 KB file refused at the 50,000-row
limit after it is parsed that far; 49,000: under the limit, every row read and checked), with
the uploads answered by status. With ``--gpx N …``: for each N, a GPX track of N points (one a
second, inside the city, written once to /tmp) is posted to ``POST /api/v1/ingest/gpx`` of a
device made for it, over and over by two clients (each post after the first stores nothing
new: the points are read, located, flagged and sent to the database, which skips them). A
measurement, not a test (no timing is asserted anywhere).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from layers.cluster import LocalCluster
from layers.db import make_sessionmaker, transaction
from tests.server_support import free_port

PROJECT = Path(__file__).resolve().parents[1]
PASSWORD = "slow-river-under-7-bridges"


def _latencies(base: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            client.get("/health").raise_for_status()
            out.append(time.perf_counter() - t0)
            time.sleep(0.05)


def _logins(base: str, stop: threading.Event, done: list[int]) -> None:
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        while not stop.is_set():
            r = client.post("/login", data={"username": "bench", "password": PASSWORD})
            done.append(r.status_code)
            client.cookies.clear()


def _flood(base: str, logins: int, seconds: float, results: Any) -> None:
    done: list[int] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_logins, args=(base, stop, done)) for _ in range(logins)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    results.put(done)


def _roster_xlsx(rows: int) -> Path:
    """An XLSX staff roster of ``rows`` rows (the header and one number a row), cached in /tmp."""
    path = Path("/tmp") / f"gridgis-bench-roster-{rows}.xlsx"
    if not path.exists():
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(["name", "id_number", "phone", "role", "grid_code"])
        for i in range(rows):
            sheet.append([i])
        book.save(path)
    return path


def _posts(
    base: str,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    path: Path,
    seconds: float,
    results: Any,
) -> None:
    """Two clients posting the file ``path`` to ``url`` for ``seconds`` (a staff roster to the
    import's dry run, or a GPX track); the status codes go on ``results``."""
    data = path.read_bytes()
    done: list[int] = []
    stop = threading.Event()

    def post() -> None:
        with httpx.Client(base_url=base, timeout=600) as client:
            while not stop.is_set():
                r = client.post(url, params=params, content=data, headers=headers)
                done.append(r.status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    results.put(done)


def _track_gpx(points: int) -> Path:
    """A GPX 1.1 track of ``points`` points, one a second from yesterday 08:00 UTC, walking
    east from the middle of the demo city (written by gpxpy, the library the server reads GPX
    with); cached in /tmp."""
    path = Path("/tmp") / f"gridgis-bench-track-{points}.gpx"
    if not path.exists():
        from datetime import UTC, datetime, timedelta

        import gpxpy.gpx

        t0 = (datetime.now(UTC) - timedelta(days=1)).replace(hour=8, minute=0, second=0)
        segment = gpxpy.gpx.GPXTrackSegment()
        segment.points = [
            gpxpy.gpx.GPXTrackPoint(CITY[1], CITY[0] + i * 1e-6, elevation=5,
                                    time=t0 + timedelta(seconds=i))
            for i in range(points)
        ]  # fmt: skip
        track = gpxpy.gpx.GPXTrack(name="bench")
        track.segments.append(segment)
        gpx = gpxpy.gpx.GPX()
        gpx.creator = "bench"
        gpx.tracks.append(track)
        path.write_text(gpx.to_xml(version="1.1"), encoding="utf-8")
    return path


CITY = (120.285, 31.92)  # lon, lat inside the demo city (WGS 84; tests/tracks_support.py)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _probe_during(
    base: str, load: Any, load_args: tuple[Any, ...], seconds: float
) -> tuple[list[float], list[int]]:
    """``/health`` latencies (s) while ``load(*load_args, results)`` runs in its own process
    (its threads must not take this process's GIL from the /health client: that would measure
    the client, not the server); and the status codes the load put on ``results``."""
    latencies: list[float] = []
    results: Any = multiprocessing.Queue()
    worker = multiprocessing.Process(target=load, args=(*load_args, results))
    worker.start()
    time.sleep(1)  # the load under way
    stop = threading.Event()
    probe = threading.Thread(target=_latencies, args=(base, stop, latencies))
    probe.start()
    time.sleep(seconds)
    stop.set()
    probe.join()
    codes: list[int] = results.get()
    worker.join()
    return latencies, codes


def _first_upload(base: str, path: str, data: bytes, **kwargs: Any) -> str:
    """One upload right after the server started, ``/health`` probed meanwhile: what it
    costs once (first imports of the route's modules, the grid locator built for the active
    generation) before the steady state measured after it."""
    latencies: list[float] = []
    stop = threading.Event()
    probe = threading.Thread(target=_latencies, args=(base, stop, latencies))
    probe.start()
    t0 = time.perf_counter()
    with httpx.Client(base_url=base, timeout=600) as client:
        status = client.post(path, content=data, **kwargs).status_code
    elapsed = time.perf_counter() - t0
    time.sleep(0.1)
    stop.set()
    probe.join()
    return _summary(f"/health during the first upload ({status}, {elapsed:.1f} s)", latencies)


def _summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(0.95 * (len(values) - 1))]
    return (
        f"{name}: p50 {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {values[-1] * 1000:.1f} ms, n {len(values)}"
    )


def _load_city(url: str) -> None:
    """The demo city as the active generation (fixes are located in its grids; a roster's
    rows are checked against them)."""
    from api.settings import Settings
    from layers.demo import load_demo_city

    settings = Settings()
    with transaction(make_sessionmaker(create_engine(url))) as session:
        load_demo_city(
            session=session, seed=settings.geo.demo_seed,
            metric_srid=settings.geo.metric_srid, cache_dir=PROJECT / ".gridgis" / "cache",
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", type=Path, default=PROJECT)
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--uploads", type=int, nargs="*", default=[],
        help="rows of the XLSX rosters uploaded instead of the sign-in flood",
    )  # fmt: skip
    parser.add_argument(
        "--gpx", type=int, nargs="*", default=[],
        help="points of the GPX tracks uploaded instead of the sign-in flood",
    )  # fmt: skip
    args = parser.parse_args()
    tracks = [_track_gpx(points) for points in args.gpx]
    rosters = [_roster_xlsx(rows) for rows in args.uploads]
    cluster = LocalCluster(Path(os.environ.get("GRIDGIS_DATA_DIR", PROJECT / ".gridgis")))
    cluster.start()
    name = f"gridgis_bench_health_{secrets.token_hex(3)}"
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(cluster.url).set(database=name).render_as_string(hide_password=False)
    with create_engine(url).begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = Path("/tmp") / name
    data_dir.mkdir()
    env = {**os.environ, "DATABASE_URL": url, "GRIDGIS_DATA_DIR": str(data_dir),
           "GRIDGIS_SESSION_SECRET": "bench-secret", "PYTHONPATH": str(args.project)}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=args.project,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        from layers import accounts

        with transaction(make_sessionmaker(create_engine(url))) as session:
            accounts.create_user(session=session, name="bench", role="admin", password=PASSWORD)
        idle: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=_latencies, args=(base, stop, idle))
        probe.start()
        time.sleep(3)
        stop.set()
        probe.join()
        if tracks or rosters:
            _load_city(url)
        if tracks:
            from layers.devices import create_device

            with transaction(make_sessionmaker(create_engine(url))) as session:
                device = f"bench-gpx-{secrets.token_hex(3)}"
                _, secret = create_device(session=session, external_id=device)
                device = f"bench-gpx-{secrets.token_hex(3)}"
                _, secret = create_device(session=session, external_id=device)
            assert secret is not None
            print(f"project {args.project}")
            print(_summary("/health idle", idle))
            for points, track in zip(args.gpx, tracks, strict=True):
                print(_first_upload(
                    base, "/api/v1/ingest/gpx", track.read_bytes(), params={"device": device},
                    headers={"Authorization": f"Bearer {secret}",
                             "Content-Type": "application/gpx+xml"},
                ))  # fmt: skip
                during, answered = _probe_during(
                    base, _posts, (base, "/api/v1/ingest/gpx", {"device": device},
                                  {"Authorization": f"Bearer {secret}",
                                   "Content-Type": "application/gpx+xml"},
                                  track, args.seconds + 1.0),
                    args.seconds,
                )  # fmt: skip
                size_kb = track.stat().st_size / 1024
                print(_summary(f"/health during uploads of a {points:,}-point GPX "
                               f"({size_kb:,.0f} KB), two at a time", during))  # fmt: skip
                codes = {c: answered.count(c) for c in sorted(set(answered))}
                print(f"uploads answered: {len(answered)} by status {codes}")
                print(f"load average {os.getloadavg()[0]:.1f}")
            return
        if rosters:
            from layers import auth

            with transaction(make_sessionmaker(create_engine(url))) as session:
                user = accounts.get_user(session=session, name="bench")
                _, token = auth.create_token(session=session, name="bench", user=user)
            print(f"project {args.project}")
            print(_summary("/health idle", idle))
            for rows, roster in zip(args.uploads, rosters, strict=True):
                print(_first_upload(
                    base, "/api/v1/staff/import", roster.read_bytes(), params={"dry_run": "true"},
                    headers={"Authorization": f"Bearer {token}", "Content-Type": XLSX},
                ))  # fmt: skip
                during, answered = _probe_during(
                    base,
                    _posts,
                    (
                        base,
                        "/api/v1/staff/import",
                        {"dry_run": "true"},
                        {"Authorization": f"Bearer {token}", "Content-Type": XLSX},
                        roster,
                        args.seconds + 1.0,
                    ),
                    args.seconds,
                )
                size_kb = roster.stat().st_size / 1024
                print(_summary(f"/health during uploads of a {rows:,}-row XLSX "
                               f"({size_kb:,.0f} KB), two at a time", during))  # fmt: skip
                codes = {c: answered.count(c) for c in sorted(set(answered))}
                print(f"uploads answered: {len(answered)} by status {codes}")
                print(f"load average {os.getloadavg()[0]:.1f}")
            return
        busy, done = _probe_during(
            base, _flood, (base, args.logins, args.seconds + 1.0), args.seconds
        )
        print(f"project {args.project}")
        print(_summary("/health idle", idle))
        print(_summary(f"/health during {args.logins} parallel sign-ins", busy))
        codes = {c: done.count(c) for c in sorted(set(done))}
        print(f"sign-ins answered: {len(done)} by status {codes}")
    finally:
        server.terminate()
        server.wait(30)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
