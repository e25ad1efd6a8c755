"""Benchmark: ``GET /api/v1/patrol/daily`` for a county's day (1,906 officers).

``layers.tracks.daily_stats`` reads every officer's fixes of the day by binary COPY, 500 devices
a round trip, and computes mileage, patrol time, stops, own-grid time and silences per device.
The baseline, in the same run on the same rows, is what it replaced: one ``SELECT`` per device
(``layers.positions.read_track``) followed by the same computation.

The day is the simulated one of ``bench.bench_coverage`` (8 h at one fix per 5 s), each device
given a person whose own grid is the village the simulation sent it to.

Run: ``.venv/bin/python -m bench.bench_patrol_daily [--officers 1906]`` (the embedded cluster or
``DATABASE_URL``). Writes docs/benchmarks-patrol-daily.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import text

from bench.bench_coverage import ensure_day
from bench.bench_coverage_db import DAY, load_day
from bench.scratch import scratch_database
from gis.tracks import UNUSABLE, summarize_track
from layers.db import make_sessionmaker, transaction
from layers.demo import load_demo_city
from layers.devices import list_devices
from layers.positions import read_track
from layers.tracks import daily_stats, day_bounds

PROJECT_DIR = Path(__file__).resolve().parents[1]
OUT = PROJECT_DIR / "docs" / "benchmarks-patrol-daily.md"
console = Console()


def per_device_baseline(session, day) -> int:  # type: ignore[no-untyped-def]
    """The replaced path: one query per device, then the same track summary."""
    from gis.crs import to_metric

    start, end = day_bounds(day)
    n = 0
    for device, person in list_devices(session=session):
        if person is None:
            continue
        fixes = read_track(
            session=session, device_id=device.id, start=start, end=end, exclude_flags=UNUSABLE
        )
        if len(fixes.t_s):
            x, y = to_metric(fixes.lon, fixes.lat, 4549)
            summarize_track(fixes.t_s, x, y)
        n += 1
    return n


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--officers", type=int, default=1906)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    files = ensure_day(args.officers, 200, 1, PROJECT_DIR / ".gridgis" / "bench" / "daily-day")
    with scratch_database() as engine:
        factory = make_sessionmaker(engine)
        with transaction(factory) as session:
            load_demo_city(session=session, seed=320281, metric_srid=4549,
                           cache_dir=PROJECT_DIR / ".gridgis" / "cache")  # fmt: skip
        fixes = load_day(engine, files)
        with engine.begin() as conn:
            # every device gets a person assigned to the village of its first fix's grid
            conn.execute(text(
                "INSERT INTO person (id, name) SELECT id, 'officer ' || id FROM device"
            ))  # fmt: skip
            conn.execute(text("UPDATE device SET person_id = id"))
            conn.execute(text(
                "INSERT INTO grid_assignment (person_id, grid_code, role) "
                "SELECT d.id, left(g.code, 12), 'patroller' FROM device d "
                "JOIN LATERAL (SELECT p.lon, p.lat FROM position p WHERE p.device_id = d.id "
                "  ORDER BY p.fix_time LIMIT 1) f ON true "
                "JOIN grid g ON g.level = 3 AND ST_Covers(g.geom, ST_SetSRID("
                "  ST_MakePoint(f.lon, f.lat), 4490))"
            ))  # fmt: skip
            conn.execute(text("ANALYZE"))
        new_s: list[float] = []
        old_s: list[float] = []
        with factory() as session:
            for _ in range(args.repeat):
                t = time.perf_counter()
                rows = daily_stats(session=session, day=DAY)
                new_s.append(time.perf_counter() - t)
                t = time.perf_counter()
                n = per_device_baseline(session, DAY)
                old_s.append(time.perf_counter() - t)
        assert n == len(rows)
        own = float(np.mean([r["own_grid_share"] or 0 for r in rows]))
    new, old = statistics.median(new_s), statistics.median(old_s)
    table = "\n".join([
        "# Patrol daily statistics (GET /api/v1/patrol/daily)",
        "",
        f"{len(rows):,} officers, {fixes:,} fixes (8 h at 5 s), median of {args.repeat} runs, "
        "this 2-core machine, idle.",
        "",
        "| path | seconds | ratio |",
        "|---|---:|---:|",
        f"| daily_stats: binary COPY, 500 devices a round trip | {new:.2f} | 1.0 |",
        f"| baseline: one SELECT per device (read_track) + same summary | {old:.2f} | "
        f"{old / new:.1f}x slower |",
        "",
        "The simulated fixes carry no grid code (they are loaded by COPY, not through the "
        f"ingest pipeline), so own-grid time is 0 here (mean share {own:.2f}); the rule itself "
        "is tested in tests/layers/test_daily_stats.py.",
        "Command: `.venv/bin/python -m bench.bench_patrol_daily`.",
        "",
    ])  # fmt: skip
    OUT.write_text(table)
    console.print(table)
    return table


if __name__ == "__main__":
    main()
