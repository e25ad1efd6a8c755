"""Benchmark: patrol coverage the way the product computes it, from the position table.

``gridgis coverage --date D`` (and ``POST /api/v1/coverage/runs``) reads the day's fixes from
PostGIS device chunk by device chunk (binary COPY), runs the engine and stores the run. This
script loads the simulated Jiangyin day of ``bench.bench_coverage`` (3,000 officers x 8 h at
5 s) into the ``position`` table of a scratch database, then times:

* reading every fix back (binary COPY, 200 devices a round trip) alone;
* ``compute_coverage_run`` end to end (read + engine + store);
* against the in-memory engine over the same files: identical covered cells and buffer areas;
* a PostGIS baseline on a subset of officers: ``ST_MakeLine`` per run of fixes, ``ST_Buffer``,
  ``ST_Union``, ``ST_Intersection`` with each grid (the buffer method in SQL), as a ratio to
  ``compute_coverage_run`` restricted to the same officers' devices.

Run: ``.venv/bin/python -m bench.bench_coverage_db`` (the embedded cluster or ``DATABASE_URL``;
first run simulates the day, ~10 s). Writes docs/benchmarks-coverage-db.md.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from sqlalchemy import text

from bench.bench_coverage import DAY0, PARAMS, ensure_day, read_chunk
from bench.scratch import scratch_database
from gis.coverage import CoverageAccumulator
from gis.tracks import FixFlag
from layers.coverage import (
    SHANGHAI,
    CoverageGrid,
    _read_chunk,
    compute_coverage_run,
    coverage_grids,
    window,
)
from layers.db import make_sessionmaker, transaction
from layers.demo import load_demo_city
from layers.positions import PARTITIONS

PROJECT_DIR = Path(__file__).resolve().parents[1]
OUT = PROJECT_DIR / "docs" / "benchmarks-coverage-db.md"
console = Console()
PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 in Unix microseconds
DAY = datetime.fromtimestamp(DAY0, tz=SHANGHAI).date()

# binary COPY rows: every column fixed width, so numpy writes them without a Python loop
_ROW = np.dtype([
    ("n", ">i2"),
    ("l0", ">i4"), ("device", ">i4"), ("l1", ">i4"), ("fix_time", ">i8"),
    ("l2", ">i4"), ("lon", ">f8"), ("l3", ">i4"), ("lat", ">f8"),
    ("l4", ">i4"), ("raw_lon", ">f8"), ("l5", ">i4"), ("raw_lat", ">f8"),
    ("l6", ">i4"), ("datum", "S5"), ("l7", ">i4"), ("flags", ">i2"),
    ("l8", ">i4"), ("source", "S5"),
])  # fmt: skip
_COLUMNS = "device_id, fix_time, lon, lat, raw_lon, raw_lat, datum, flags, source"


def copy_payload(c: dict[str, np.ndarray]) -> bytes:
    rows = np.zeros(len(c["t_s"]), dtype=_ROW)
    rows["n"] = 9
    for k, size in zip(range(9), (4, 8, 8, 8, 8, 8, 5, 2, 5), strict=True):
        rows[f"l{k}"] = size
    rows["device"] = c["device"]
    rows["fix_time"] = np.round(c["t_s"] * 1e6).astype(np.int64) - PG_EPOCH_US
    rows["lon"] = rows["raw_lon"] = c["lon"]
    rows["lat"] = rows["raw_lat"] = c["lat"]
    rows["datum"] = b"wgs84"
    rows["source"] = b"bench"
    rows["flags"] = np.where(c["valid"], 0, int(FixFlag.CLIENT_INVALID))
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + rows.tobytes() + (-1).to_bytes(2, "big", signed=True)


def load_day(engine, files: list[Path]) -> int:  # type: ignore[no-untyped-def]
    ids: set[int] = set()
    for f in files:
        ids.update(np.unique(read_chunk(f)["device"]).tolist())
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO device (id, external_id, secret_hash, active) "
                "SELECT i, 'bench-' || i, 'x', true FROM unnest(CAST(:ids AS int[])) AS i"
            ),
            {"ids": sorted(ids)},
        )
    PARTITIONS.ensure(engine=engine, times=[datetime.fromtimestamp(DAY0, tz=UTC)])
    total = 0
    raw = engine.raw_connection()
    try:
        for f in track(files, description="loading the day into position", console=console):
            c = read_chunk(f)
            sql = f"COPY position ({_COLUMNS}) FROM STDIN (FORMAT binary)"
            with raw.cursor() as cur, cur.copy(sql) as cp:
                cp.write(copy_payload(c))
            raw.commit()
            total += len(c["t_s"])
        with raw.cursor() as cur:
            cur.execute("ANALYZE position")
        raw.commit()
    finally:
        raw.close()
    return total


POSTGIS_BUFFER = """
WITH f AS (
  SELECT device_id, fix_time,
         ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4490), :srid) AS p,
         fix_time - lag(fix_time) OVER (PARTITION BY device_id ORDER BY fix_time) AS dt
  FROM position
  WHERE device_id = ANY(:ids) AND flags & :unusable = 0 AND fix_time >= :a AND fix_time < :b
), runs AS (
  SELECT device_id, fix_time, p,
         sum(CASE WHEN dt IS NULL OR dt > make_interval(secs => :gap) THEN 1 ELSE 0 END)
           OVER (PARTITION BY device_id ORDER BY fix_time) AS run
  FROM f
), lines AS (
  SELECT CASE WHEN count(*) > 1 THEN ST_MakeLine(p ORDER BY fix_time) ELSE ST_Collect(p) END AS g
  FROM runs GROUP BY device_id, run
), buf AS (
  SELECT ST_Union(ST_Buffer(g, :d, 'quad_segs=8')) AS b FROM lines
), grids AS (
  SELECT code, ST_Transform(geom, :srid) AS geom FROM grid WHERE generation_id = :gen AND level = 3
)
SELECT code, ST_Area(ST_Intersection(grids.geom, buf.b)) / ST_Area(grids.geom)
FROM grids, buf WHERE ST_Intersects(grids.geom, buf.b)
"""


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--officers", type=int, default=3000)
    ap.add_argument("--baseline-officers", type=int, default=30)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args(argv)
    files = ensure_day(args.officers, 200, 1, PROJECT_DIR / ".gridgis" / "bench" / "coverage-day")
    lines: list[str] = []
    with scratch_database(keep=args.keep) as engine:
        factory = make_sessionmaker(engine)
        with transaction(factory) as session:
            gen, _ = load_demo_city(session=session, seed=320281, metric_srid=4549,
                                    cache_dir=PROJECT_DIR / ".gridgis" / "cache")  # fmt: skip
            gid = gen.id
        t = time.perf_counter()
        fixes = load_day(engine, files)
        load_s = time.perf_counter() - t
        console.print(f"loaded {fixes:,} fixes in {load_s:.1f} s")
        start, end = window(DAY, None)
        with factory() as session:
            ids = [int(i) for i in session.scalars(text("SELECT id FROM device ORDER BY id"))]
            grids = coverage_grids(session=session, generation_id=gid, params=PARAMS)  # warm
            t = time.perf_counter()
            read = 0
            for k in range(0, len(ids), 200):
                chunk = _read_chunk(session, ids[k : k + 200], start, end)
                read += 0 if chunk is None else len(chunk[0])
            read_s = time.perf_counter() - t
        console.print(f"read back {read:,} fixes in {read_s:.1f} s")
        t = time.perf_counter()
        with transaction(factory) as session:
            run = compute_coverage_run(session=session, day=DAY, params=PARAMS)
            run_id = run.id
        run_s = time.perf_counter() - t
        console.print(f"compute_coverage_run: {run_s:.1f} s")
        # the same day in memory, from the files
        acc = CoverageAccumulator(grids, PARAMS)
        for f in files:
            c = read_chunk(f)
            acc.add(c["device"], c["t_s"], c["lon"], c["lat"], c["valid"])
        mem = {g.code: g for g in acc.result().grids}
        with factory() as session:
            stored = session.query(CoverageGrid).filter(CoverageGrid.run_id == run_id).all()
        cells_same = sum(mem[s.grid_code].covered_cells == s.covered_cells for s in stored)
        area_diff = max(abs(mem[s.grid_code].covered_area_m2 - s.covered_area_m2) for s in stored)
        # PostGIS baseline on a subset of officers, and the product path on the same subset
        subset = ids[: args.baseline_officers]
        sql = text(POSTGIS_BUFFER)
        bind = {"ids": subset, "unusable": int(FixFlag.IMPOSSIBLE_JUMP | FixFlag.FUTURE_TIME
                                                 | FixFlag.CLIENT_INVALID),
                "a": start, "b": end, "gap": PARAMS.max_gap_s, "d": PARAMS.distance_m,
                "srid": PARAMS.metric_srid, "gen": gid}  # fmt: skip
        with factory() as session:
            t = time.perf_counter()
            base = dict(session.execute(sql, bind).all())
            base_s = time.perf_counter() - t
            t = time.perf_counter()
            sub = CoverageAccumulator(grids, PARAMS)
            chunk = _read_chunk(session, subset, start, end)
            sub.add(*chunk)
            ours = {g.code: g.buffer_share for g in sub.result().grids}
            ours_s = time.perf_counter() - t
        diff = [abs(ours[c] - v) for c, v in base.items()]
        lines = [
            "# Benchmark: coverage from the position table (the product path)",
            "",
            f"`.venv/bin/python -m bench.bench_coverage_db --officers {args.officers}` on 2 "
            f"shared cores, {date.today().isoformat()}; PostgreSQL + PostGIS in the embedded "
            f"cluster. Parameters: {PARAMS.as_dict()}.",
            "",
            "| step | figure |",
            "|---|---|",
            f"| load the simulated day into `position` (binary COPY, 15 files) | {fixes:,} fixes "
            f"in {load_s:.1f} s |",
            f"| read every fix of the day back (binary COPY, 200 devices per round trip) | "
            f"{read:,} fixes in **{read_s:.1f} s** ({read / read_s / 1e6:.2f} M fixes/s) |",
            f"| `compute_coverage_run` end to end (read + engine + store 1,558 grids, "
            f"{len(ids):,} devices) | **{run_s:.1f} s** (target ≤ 60 s) |",
            f"| same figures as the engine over the files | covered cells equal in "
            f"{cells_same:,} of {len(stored):,} grids; largest covered-area difference "
            f"{area_diff:.3g} m² |",
            "",
            f"## Against PostGIS doing the buffer method in SQL ({len(subset)} officers)",
            "",
            "`ST_MakeLine` per run of valid fixes (split at silences), `ST_Buffer(30 m, "
            "quad_segs=8)`, `ST_Union`, `ST_Intersection` and `ST_Area` per grid:",
            "",
            "| method | time | ratio |",
            "|---|---|---|",
            f"| **ours**: read (binary COPY) + engine | **{ours_s:.2f} s** | "
            f"**{base_s / ours_s:.0f}x** |",
            f"| PostGIS SQL | {base_s:.1f} s | 1x |",
            "",
            f"Buffer share per grid ({len(base)} grids touched), ours (5 m raster) minus "
            f"PostGIS (polygons): max {max(diff) * 100:.2f} % absolute, mean "
            f"{np.mean(diff) * 100:.3f} %.",
            "",
        ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    console.print("\n".join(lines))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
