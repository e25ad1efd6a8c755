"""Benchmark: the same ingest and coverage run on single-node PostGIS and on Citus (1, 2 workers).

Each configuration is a private cluster in a temporary folder (never the shared embedded one):
a plain :class:`layers.cluster.LocalCluster`, then :class:`layers.citus.CitusCluster` with 1 and
2 workers, all on this machine. On each: migrate (the distribution step on Citus), load the demo
city, register ``--devices`` devices, then

1. ingest: ``layers.positions.store_fixes`` of a simulated chunk of a day (every device walking,
   one fix per 5 s for ``--minutes``), one batch per device per transaction, fixes/s;
2. coverage: ``layers.coverage.compute_coverage_run`` of that day from the position table, s
   (run twice: the first run of a process includes numba's compilation; the second is quoted);
3. storage: bytes per stored fix (``position`` with its indexes, heap + index, after VACUUM).

    .venv/bin/python -m bench.bench_citus [--devices 200] [--minutes 60] [--configs postgis,1,2]

Prints one JSON line per configuration and writes bench/out-citus.json (docs/scale-out.md
quotes it). All nodes share this machine's cores: a Citus figure here is not the speed of a
cluster of machines, it is the overhead (or gain) of the distributed path on the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
OUT_FILE = ROOT / "bench" / "out-citus.json"
DAY = date(2025, 6, 3)
START = datetime(2025, 6, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


def _rows(device_id: int, k: int, n: int, rng: np.random.Generator) -> Any:
    from layers.positions import FixRows

    lon = 120.24 + (k % 20) * 0.004 + np.cumsum(rng.normal(0, 2e-5, n))
    lat = 31.88 + (k // 20) * 0.003 + np.cumsum(rng.normal(0, 2e-5, n))
    nan = np.full(n, np.nan)
    return FixRows(
        device_id=np.full(n, device_id),
        fix_time=[START + timedelta(seconds=5 * i) for i in range(n)],
        lon=lon, lat=lat, raw_lon=lon.copy(), raw_lat=lat.copy(), datum=["wgs84"] * n,
        accuracy_m=np.full(n, 6.0), speed_mps=np.full(n, 1.3), course_deg=nan, altitude_m=nan,
        battery_pct=nan, grid_code=["320281001001001"] * n, flags=np.zeros(n, np.int16),
        seq=list(range(n)), source="bench", attributes=[None] * n,
    )  # fmt: skip


def _position_bytes(engine: Engine, citus: bool) -> int:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM position"))
        if citus:  # heap + indexes of every shard of every partition, on every worker
            sql = (
                "SELECT coalesce(sum(citus_total_relation_size(inhrelid)), 0) "
                "FROM pg_inherits WHERE inhparent = 'position'::regclass"
            )
        else:
            sql = (
                "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) "
                "FROM pg_inherits WHERE inhparent = 'position'::regclass"
            )
        return int(conn.execute(text(sql)).scalar_one())


def run_one(url: str, *, citus: bool, devices: int, minutes: int) -> dict[str, Any]:
    from layers.coverage import compute_coverage_run
    from layers.db import make_engine, make_sessionmaker, transaction
    from layers.demo import load_demo_city
    from layers.devices import create_device
    from layers.migrate import upgrade
    from layers.positions import PARTITIONS, store_fixes

    engine = make_engine(url)
    t = time.perf_counter()
    upgrade(engine)
    migrate_s = time.perf_counter() - t
    make = make_sessionmaker(engine)
    t = time.perf_counter()
    with transaction(make) as session:
        load_demo_city(session=session, seed=320281, metric_srid=4549,
                       cache_dir=ROOT / ".gridgis" / "cache")  # fmt: skip
    demo_s = time.perf_counter() - t
    with transaction(make) as session:
        ids = [
            create_device(session=session, external_id=f"bench-{i:04d}")[0].id
            for i in range(devices)
        ]
    PARTITIONS.forget()
    PARTITIONS.ensure(engine=engine, times=[START])
    n = minutes * 12
    rng = np.random.default_rng(7)
    batches = [_rows(d, k, n, rng) for k, d in enumerate(ids)]
    received = START + timedelta(minutes=minutes)
    t = time.perf_counter()
    stored = 0
    for rows in batches:
        with transaction(make) as session:
            stored += store_fixes(session=session, rows=rows, received_at=received)
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    with transaction(make) as session:
        compute_coverage_run(session=session, day=DAY)
    first_coverage_s = time.perf_counter() - t  # includes numba's compilation in this process
    t = time.perf_counter()
    with transaction(make) as session:  # the same run again (replaced): warm
        compute_coverage_run(session=session, day=DAY)
    coverage_s = time.perf_counter() - t
    size = _position_bytes(engine, citus)
    engine.dispose()
    return {
        "fixes": stored,
        "devices": devices,
        "migrate_s": round(migrate_s, 2),
        "demo_load_s": round(demo_s, 2),
        "ingest_s": round(ingest_s, 2),
        "ingest_fixes_per_s": round(stored / ingest_s),
        "coverage_first_s": round(first_coverage_s, 2),
        "coverage_s": round(coverage_s, 2),
        "coverage_fixes_per_s": round(stored / coverage_s),
        "position_bytes": size,
        "bytes_per_fix": round(size / max(stored, 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--configs", default="postgis,1,2")
    args = parser.parse_args()

    from layers.citus import CitusCluster
    from layers.cluster import LocalCluster

    results = []
    for config in args.configs.split(","):
        folder = Path(tempfile.mkdtemp(prefix="gridgis-bench-citus-", dir="/tmp"))
        os.chmod(folder, 0o755)
        if config == "postgis":
            cluster: Any = LocalCluster(folder / "pg")
        else:
            cluster = CitusCluster(folder, workers=int(config))
        try:
            cluster.start()
            result = run_one(
                cluster.url, citus=config != "postgis", devices=args.devices, minutes=args.minutes
            )
        finally:
            cluster.stop()
            for node in getattr(cluster, "nodes", [cluster]):
                shutil.rmtree(node.data_dir, ignore_errors=True)
            shutil.rmtree(folder, ignore_errors=True)
        result = {"config": config if config == "postgis" else f"citus-{config}w", **result}
        result["cores"] = os.cpu_count()
        print(json.dumps(result), flush=True)
        results.append(result)
    OUT_FILE.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
