"""Benchmark: loading 600,000 households with grid assignment, and counting them per grid.

Run ``.venv/bin/python -m bench.bench_households [--households 600000] [--row-sample 20000]``.
It creates a throwaway database (on DATABASE_URL's server or the embedded cluster), migrates
it, loads the demo city, then measures:

- load: ours = gis.locate (exact ST_Covers rule) + H3 cell + one COPY; baseline = one INSERT
  per row with the grid found by PostGIS (``ST_Covers`` on grid_part) — timed on a sample
  (``--row-sample``) and extrapolated linearly (said so in the table);
- counts for all 1,558 unit grids: ours = one GROUP BY on the indexed grid_code; baseline =
  read the points, geopandas ``sjoin`` with the grids, ``groupby``.

The synthesis of the fake households (names, ID numbers …) is timed apart: real loads read a
file instead. Results go to docs/benchmarks-households.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from sqlalchemy import text

from api.settings import PROJECT_DIR
from bench.scratch import scratch_database
from gis.demohouseholds import synthesize_households
from gis.locate import GridLocator
from layers.db import make_sessionmaker, transaction
from layers.demo import load_demo_city
from layers.grids import read_grid_frame
from layers.households import copy_households, locate_households

OUT_FILE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-households.md"


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=600_000)
    ap.add_argument("--row-sample", type=int, default=20_000)
    args = ap.parse_args(argv)
    rows: list[tuple[str, str, str]] = []
    with scratch_database() as engine:
        factory = make_sessionmaker(engine)
        with transaction(factory) as session:
            gen, _ = load_demo_city(
                session=session,
                seed=320281,
                metric_srid=4549,
                cache_dir=PROJECT_DIR / ".gridgis" / "cache",
            )
            gid = gen.id
            frame = read_grid_frame(session=session, generation_id=gid)
        units = frame[frame.level == 3]
        t = time.perf_counter()
        households = synthesize_households(
            units.geometry.values, list(units["name"]), args.households, seed=1
        )
        synth_s = time.perf_counter() - t

        t = time.perf_counter()
        with transaction(factory) as session:
            located, outside = locate_households(households, GridLocator.from_frame(frame))
            copy_households(session=session, frame=located, generation_id=gid)
            session.connection().exec_driver_sql("ANALYZE household")
        ours_load_s = time.perf_counter() - t
        n = len(located)
        rows.append(
            (
                "load + grid assignment",
                f"{n:,} households",
                f"**ours**: locate + H3 + COPY {ours_load_s:.1f} s",
            )
        )

        sample = households.iloc[: args.row_sample]
        t = time.perf_counter()
        with transaction(factory) as session:
            conn = session.connection()
            for r in sample.itertuples(index=False):
                conn.execute(
                    text(
                        "INSERT INTO household (code, address, geom, grid_code, generation_id, "
                        "h3_cell, head_name, head_id_number, phone, members_count) VALUES "
                        "(:code, :address, ST_SetSRID(ST_MakePoint(:lon, :lat), 4490), "
                        "(SELECT code FROM grid_part WHERE generation_id = :g AND ST_Covers(geom, "
                        "ST_SetSRID(ST_MakePoint(:lon, :lat), 4490)) ORDER BY code LIMIT 1), "
                        ":g, 0, "
                        ":head, :idn, :phone, :mc)"
                    ),
                    {
                        "code": "R" + r.code,
                        "address": r.address,
                        "lon": r.lon,
                        "lat": r.lat,
                        "g": gid,
                        "head": r.head_name,
                        "idn": r.head_id_number,
                        "phone": r.phone,
                        "mc": int(r.members_count),
                    },
                )
            session.rollback()
        row_s = time.perf_counter() - t
        rows.append(
            (
                "load + grid assignment",
                f"{len(sample):,} (sample)",
                f"baseline row INSERTs with PostGIS lookup {row_s:.1f} s → "
                f"~{row_s * n / len(sample):.0f} s for {n:,} (extrapolated)",
            )
        )

        with transaction(factory) as session:
            conn = session.connection()
            times = []
            for _ in range(5):
                t = time.perf_counter()
                counts = conn.execute(
                    text("SELECT grid_code, count(*) FROM household GROUP BY 1")
                ).all()
                times.append(time.perf_counter() - t)
            t = time.perf_counter()
            pts = conn.execute(text("SELECT id, ST_X(geom), ST_Y(geom) FROM household")).all()
            arr = np.array([(p[1], p[2]) for p in pts])
            points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(arr[:, 0], arr[:, 1]), crs=4490)
            joined = gpd.sjoin(points, units[["code", "geometry"]], predicate="within")
            base = joined.groupby("code").size()
            sjoin_s = time.perf_counter() - t
        ours_counts = dict(counts)
        agree = sum(int(base.get(k, 0)) == v for k, v in ours_counts.items())
        rows.append(
            (
                "counts for all unit grids",
                f"{len(ours_counts):,} grids",
                f"**ours**: GROUP BY on indexed grid_code, median of 5: "
                f"{sorted(times)[2] * 1000:.0f} ms",
            )
        )
        rows.append(
            (
                "counts for all unit grids",
                f"{len(base):,} grids",
                f"baseline read points + geopandas sjoin + groupby {sjoin_s:.1f} s "
                f"(agrees on {agree:,} of {len(ours_counts):,} grids)",
            )
        )
    lines = [
        "# Benchmark: households (一户一档)",
        "",
        f"`.venv/bin/python -m bench.bench_households --households {args.households} "
        f"--row-sample {args.row_sample}` on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared), PostgreSQL/PostGIS in the embedded cluster.",
        "",
        f"Synthesis of the fake households (not part of a load): {synth_s:.1f} s.",
        f"Points outside every grid (dropped): {len(outside)}.",
        "",
        "| task | size | method and time |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
    out = "\n".join(lines)
    OUT_FILE.write_text(out)
    print(out)
    return out


if __name__ == "__main__":
    main()
