"""Benchmark: patrol coverage of a whole Jiangyin day (gis.coverage, gis.coverage_dask).

    .venv/bin/python -m bench.bench_coverage [--officers 3000] [--baseline-officers 30]
                                             [--workers 1 2] [--skip-dask]

A simulated day: ``--officers`` officers x 8 h at one fix per 5 s (3,000 -> 17.3 M fixes),
each patrolling street-like legs around a home L3 grid of the demo city (walking ~1.3 m/s or
e-bike ~4 m/s, stops, ~5 m correlated GPS noise, 2 % invalid fixes, some silences > 5 min).
It is generated once, seeded and vectorised, 200 officers per Parquet file, into
``.gridgis/bench/coverage-day/`` and reused. Then:

1. grid preparation (``CoverageGrids.from_polygons``, 1,558 grids, H3 res 10, 5 m raster);
2. the engine over every file in a fresh process that streams file by file (one file in
   RAM at a time): wall time, fixes/s, peak RSS -- and the same over half the files, to show
   that memory does not grow with the fixes;
3. the same day on dask-geopandas (``gis.coverage_dask``) with 1 and 2 local worker
   processes, checked identical to (2);
4. a naive geopandas baseline on ``--baseline-officers`` officers (tracks as LineStrings in
   EPSG:4549, ``buffer(30)``, ``union_all``, intersection area per grid; H3 centres by
   ``sjoin(predicate="dwithin")``) against the engine on the same fixes, figures compared.

Writes docs/benchmarks-coverage.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import astuple
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from rich.console import Console
from rich.progress import track

from gis.coverage import CoverageAccumulator, CoverageGrids, CoverageParams, CoverageResult
from gis.crs import from_metric
from gis.democity import demo_city_cached

ROOT = Path(__file__).resolve().parent.parent
OUT_FILE = ROOT / "docs" / "benchmarks-coverage.md"
DAY_DIR = ROOT / ".gridgis" / "bench" / "coverage-day"
PARAMS = CoverageParams(resolution=10, distance_m=30.0, max_gap_s=300.0, pixel_m=5.0)
SIM_VERSION = 1
DAY0 = 1_741_017_600  # 2025-03-04 00:00 Beijing time, epoch seconds
console = Console()


# --- the simulated day ------------------------------------------------------------------------


def unit_polygons() -> tuple[list[str], np.ndarray]:
    frame = demo_city_cached(320281, ROOT / ".gridgis" / "cache")
    units = frame[frame.level == 3]
    return list(units["code"]), units.geometry.values


def _moving_noise(rng: np.random.Generator, shape: tuple[int, int], sd_m: float) -> np.ndarray:
    """Correlated GPS error: a 6-fix moving sum of white noise, scaled to ``sd_m``."""
    k = 6
    c = np.cumsum(rng.normal(0.0, sd_m / np.sqrt(k), (shape[0], shape[1] + k)), axis=1)
    return c[:, k:] - c[:, :-k]


def simulate_chunk(
    rng: np.random.Generator, homes: np.ndarray, first_device: int, hours: float, step_s: float
) -> dict[str, np.ndarray]:
    """Fixes of ``len(homes)`` officers; ``homes`` rows are (x_m, y_m, half_side_m) EPSG:4549.

    Each officer walks (70 %) or rides an e-bike on a street lattice (block 70-140 m, turned by
    a random angle) folded into a square around home, stopping now and then; fixes every
    ``step_s`` seconds with noise, 2 % invalid (half of them jumps of km), 0-3 silences.
    """
    n = len(homes)
    steps = int(hours * 3600 / step_s)
    legs = 2400  # move/stop pairs; enough to fill 8 h even for the fastest e-bike
    ebike = rng.random(n) < 0.3
    speed = np.where(ebike, rng.normal(4.0, 0.4, n), rng.normal(1.3, 0.12, n)).clip(0.8, 6)
    block = rng.uniform(70, 140, n)
    half = np.maximum(np.round(homes[:, 2] / block), 1) * block
    # legs: whole blocks along one street axis, alternating with stops (often zero)
    blocks = rng.integers(1, 5, (n, legs)) * block[:, None]
    axis = rng.integers(0, 2, (n, legs))
    sign = rng.choice([-1.0, 1.0], (n, legs))
    move_s = blocks / (speed[:, None] * rng.uniform(0.85, 1.15, (n, legs)))
    p_stop = np.where(ebike, 0.25, 0.15)[:, None]
    stop_s = np.where(rng.random((n, legs)) < p_stop, rng.uniform(60, 600, (n, legs)), 0.0)
    dur = np.stack((move_s, stop_s), axis=2).reshape(n, 2 * legs)
    du = np.stack((np.where(axis == 0, sign * blocks, 0), np.zeros((n, legs))), 2)
    dv = np.stack((np.where(axis == 1, sign * blocks, 0), np.zeros((n, legs))), 2)
    du, dv = du.reshape(n, 2 * legs), dv.reshape(n, 2 * legs)
    end_t = np.cumsum(dur, axis=1)
    assert (end_t[:, -1] > steps * step_s).all(), "too few legs for the day"
    start_t, start_u, start_v = (
        np.hstack((np.zeros((n, 1)), a[:, :-1]))
        for a in (end_t, np.cumsum(du, 1), np.cumsum(dv, 1))
    )
    # the leg each fix falls in: one searchsorted over all officers (offset by officer)
    tau = np.arange(steps) * step_s
    span = float(end_t[:, -1].max()) + 1.0
    flat_end = (end_t + np.arange(n)[:, None] * span).ravel()
    leg = np.searchsorted(flat_end, (tau[None, :] + np.arange(n)[:, None] * span).ravel(), "right")
    leg = leg.reshape(n, steps) - np.arange(n)[:, None] * 2 * legs
    rows = np.arange(n)[:, None]
    frac = (tau[None, :] - start_t[rows, leg]) / np.maximum(dur[rows, leg], 1e-9)
    u = start_u[rows, leg] + frac * du[rows, leg]
    v = start_v[rows, leg] + frac * dv[rows, leg]
    # fold the lattice walk into [-half, half] (reflecting walls, streets stay streets)
    u, v = (np.abs(np.mod(w - half[:, None], 4 * half[:, None]) - 2 * half[:, None])
            - half[:, None] for w in (u, v))  # fmt: skip
    angle = rng.uniform(0, np.pi / 2, n)[:, None]
    x = homes[:, :1] + u * np.cos(angle) - v * np.sin(angle) + _moving_noise(rng, u.shape, 5.0)
    y = homes[:, 1:2] + u * np.sin(angle) + v * np.cos(angle) + _moving_noise(rng, u.shape, 5.0)
    valid = rng.random((n, steps)) >= 0.02
    jump = ~valid & (rng.random((n, steps)) < 0.5)
    x = np.where(jump, x + rng.uniform(-5000, 5000, (n, steps)), x)
    y = np.where(jump, y + rng.uniform(-5000, 5000, (n, steps)), y)
    # silences: 0-3 per officer of 6-25 min, fixes dropped
    keep = np.ones((n, steps), dtype=bool)
    for k in range(3):
        on = rng.random(n) < (0.5, 0.25, 0.1)[k]
        s0 = rng.uniform(0, steps * step_s, n)
        length = rng.uniform(360, 1500, n)
        keep &= ~(on[:, None] & (tau[None, :] >= s0[:, None])
                  & (tau[None, :] < (s0 + length)[:, None]))  # fmt: skip
    t = DAY0 + 8 * 3600 + rng.uniform(-1800, 1800, n)[:, None] + tau[None, :]
    device = np.broadcast_to((first_device + np.arange(n))[:, None], (n, steps))
    lon, lat = from_metric(x[keep], y[keep])
    return {"device": device[keep].astype(np.int64), "t_s": t[keep], "lon": lon, "lat": lat,
            "valid": valid[keep]}  # fmt: skip


def ensure_day(officers: int, per_chunk: int, seed: int, day_dir: Path) -> list[Path]:
    """The day's Parquet files (one per ``per_chunk`` officers), generated once and reused."""
    spec = {"version": SIM_VERSION, "officers": officers, "per_chunk": per_chunk, "seed": seed,
            "hours": 8, "step_s": 5}  # fmt: skip
    manifest = day_dir / "manifest.json"
    n_files = -(-officers // per_chunk)
    files = [day_dir / f"part-{i:04d}.parquet" for i in range(n_files)]
    fresh = manifest.exists() and json.loads(manifest.read_text()) == spec
    if fresh and all(f.exists() for f in files):
        return files
    day_dir.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    grids = gpd.GeoSeries(unit_polygons()[1], crs=4490).to_crs(PARAMS.metric_srid)
    home = rng.integers(0, len(grids), officers)
    inner = shapely.point_on_surface(grids.values[home])
    half = np.clip(0.55 * np.sqrt(grids.area.to_numpy()[home]), 150, 700)
    homes = np.column_stack((shapely.get_x(inner), shapely.get_y(inner), half))
    t = time.perf_counter()
    for i in track(range(n_files), description="simulating the day", console=console):
        a, b = i * per_chunk, min((i + 1) * per_chunk, officers)
        cols = simulate_chunk(rng, homes[a:b], 10_000 + a, 8, 5.0)
        pq.write_table(pa.table(cols), files[i])
    manifest.write_text(json.dumps(spec))
    console.print(f"simulated {officers} officers in {time.perf_counter() - t:.1f} s")
    return files


def read_chunk(path: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy() for name in table.column_names}


# --- the engine in its own process (peak RSS is then the engine's alone) ---------------------


def digest(result: CoverageResult) -> str:
    """One hash of every figure: covered cells, per-grid rows, visits, device summaries."""
    h = hashlib.sha256(np.packbits(result.covered).tobytes())
    h.update(repr([astuple(g) for g in result.grids]).encode())
    h.update(repr([astuple(v) for v in result.visits]).encode())
    h.update(repr(sorted((k, astuple(v)) for k, v in result.devices.items())).encode())
    return h.hexdigest()[:16]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def engine_run(files: list[Path]) -> dict[str, Any]:
    """Grids, then stream every file through one accumulator (run in a child process)."""
    codes, polygons = unit_polygons()
    start_rss = rss_mb()
    t = time.perf_counter()
    grids = CoverageGrids.from_polygons(codes, polygons, params=PARAMS)
    prep_s = time.perf_counter() - t
    after_prep = rss_mb()
    t = time.perf_counter()
    acc = CoverageAccumulator(grids, PARAMS)
    fixes, rss_after = 0, []
    for path in files:
        c = read_chunk(path)
        acc.add(c["device"], c["t_s"], c["lon"], c["lat"], c["valid"])
        fixes += len(c["t_s"])
        del c
        rss_after.append(rss_mb())
    result = acc.result()
    run_s = time.perf_counter() - t
    return {
        "prep_s": prep_s, "run_s": run_s, "fixes": fixes, "files": len(files),
        "start_rss_mb": start_rss, "prep_rss_mb": after_prep, "chunk_rss_mb": rss_after,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
        "digest": digest(result), "summary": summary(result),
    }  # fmt: skip


def summary(result: CoverageResult) -> dict[str, float]:
    h3 = [g.h3_share for g in result.grids if g.h3_share is not None]
    return {
        "mean_buffer_share": float(np.mean([g.buffer_share for g in result.grids])),
        "mean_h3_share": float(np.mean(h3)),
        "covered_cells": int(result.covered.sum()),
        "cells": len(result.covered),
        "visits": len(result.visits),
        "devices": len(result.devices),
    }


def engine_in_child(files: list[Path]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.bench_coverage", "--engine-run",
           json.dumps([str(f) for f in files])]  # fmt: skip
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


# --- dask -------------------------------------------------------------------------------------


def worker_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def dask_runs(files: list[Path], workers: list[int]) -> list[dict[str, Any]]:
    from distributed import Client, LocalCluster

    from gis.coverage_dask import GridSpec, coverage_dask, read_fixes_parquet

    codes, polygons = unit_polygons()
    spec = GridSpec.from_polygons(codes, polygons, params=PARAMS)
    client_grids = spec.build()
    rows = []
    for k in workers:
        with (
            LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):  # fmt: skip
            runs = (
                ("points, cold (workers build the grids)", True),
                ("points, warm (grids cached on workers)", True),
                ("lon/lat columns, warm", False),
            )
            for label, points in runs:
                t = time.perf_counter()
                fixes = read_fixes_parquet([str(f) for f in files], points=points)
                result = coverage_dask(fixes, spec, client=client, grids=client_grids)
                wall = time.perf_counter() - t
                peaks = client.run(worker_peak_rss_mb)
                rows.append(
                    {"workers": k, "run": label, "wall_s": wall, "digest": digest(result),
                     "worker_peak_rss_mb": max(peaks.values())}
                )  # fmt: skip
                console.print(rows[-1])
    return rows


# --- naive geopandas baseline -----------------------------------------------------------------


def naive_geopandas(
    c: dict[str, np.ndarray], units_m: gpd.GeoDataFrame, centres_m: gpd.GeoDataFrame
) -> tuple[dict[str, float], set[int]]:
    """Buffer share per grid and covered cells, the textbook geopandas way (EPSG:4549)."""
    pts = gpd.GeoDataFrame(
        {"device": c["device"], "t_s": c["t_s"]},
        geometry=gpd.points_from_xy(c["lon"], c["lat"]), crs=4490,
    )[c["valid"]].to_crs(units_m.crs).sort_values(["device", "t_s"])  # fmt: skip
    dev, t = pts["device"].to_numpy(), pts["t_s"].to_numpy()
    new_run = np.r_[True, (dev[1:] != dev[:-1]) | (np.diff(t) > PARAMS.max_gap_s)]
    run = np.cumsum(new_run) - 1
    xy = shapely.get_coordinates(pts.geometry.values)
    sizes = np.bincount(run)
    lines = shapely.linestrings(xy[np.isin(run, np.flatnonzero(sizes > 1))],
                                indices=run[np.isin(run, np.flatnonzero(sizes > 1))])  # fmt: skip
    lone = shapely.points(xy[np.isin(run, np.flatnonzero(sizes == 1))])
    tracks = gpd.GeoDataFrame(geometry=np.concatenate((lines, lone)), crs=units_m.crs)
    reach = tracks.buffer(PARAMS.distance_m).union_all()
    hit = units_m[units_m.intersects(reach)]
    share = hit.intersection(reach).area / hit.area
    near = gpd.sjoin(centres_m, tracks, predicate="dwithin", distance=PARAMS.distance_m)
    return dict(zip(hit["code"], share, strict=True)), set(near["cell"].unique().tolist())


def baseline(files: list[Path], officers: int) -> dict[str, Any]:
    codes, polygons = unit_polygons()
    grids = CoverageGrids.from_polygons(codes, polygons, params=PARAMS)
    c = read_chunk(files[0])
    keep = c["device"] < c["device"].min() + officers
    c = {k: v[keep] for k, v in c.items()}
    units_m = gpd.GeoDataFrame({"code": codes}, geometry=polygons, crs=4490).to_crs(4549)
    centres_m = gpd.GeoDataFrame(
        {"cell": grids.cells.astype(np.int64)},
        geometry=gpd.points_from_xy(grids.centres_m[:, 0], grids.centres_m[:, 1]), crs=4549,
    )  # fmt: skip

    def ours() -> CoverageResult:
        acc = CoverageAccumulator(grids, PARAMS)
        acc.add(c["device"], c["t_s"], c["lon"], c["lat"], c["valid"])
        return acc.result()

    ours_s, result = best_of(ours, 3)
    base_s, (shares, cells) = best_of(lambda: naive_geopandas(c, units_m, centres_m), 1)
    mine = {g.code: g.buffer_share for g in result.grids}
    touched = sorted(set(shares) | {k for k, v in mine.items() if v > 0})
    diff = np.array([abs(mine[k] - shares.get(k, 0.0)) for k in touched])
    ours_cells = set(grids.cells[result.covered].astype(np.int64).tolist())
    return {
        "officers": officers, "fixes": len(c["t_s"]), "ours_s": ours_s, "base_s": base_s,
        "grids": len(touched), "max_diff": float(diff.max()), "mean_diff": float(diff.mean()),
        "over_1pct": int((diff > 0.01).sum()), "cells_ours": len(ours_cells),
        "cells_base": len(cells), "only_ours": len(ours_cells - cells),
        "only_base": len(cells - ours_cells),
    }  # fmt: skip


def best_of(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


# --- report -----------------------------------------------------------------------------------


def report(args: argparse.Namespace, full: dict[str, Any], half: dict[str, Any],
           dask_rows: list[dict[str, Any]], base: dict[str, Any]) -> str:  # fmt: skip
    s = full["summary"]
    rate = full["fixes"] / full["run_s"]
    verdict = "met" if full["run_s"] <= 60 else "**missed**"
    lines = [
        "# Benchmark: patrol coverage of a whole day",
        "",
        f"`.venv/bin/python -m bench.bench_coverage --officers {args.officers} "
        f"--baseline-officers {args.baseline_officers}` on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared); "
        f"{datetime.now(UTC):%Y-%m-%d}. Parameters: H3 resolution {PARAMS.resolution}, "
        f"reach {PARAMS.distance_m:g} m, silence > {PARAMS.max_gap_s:g} s, "
        f"{PARAMS.pixel_m:g} m pixels, EPSG:{PARAMS.metric_srid}.",
        "",
        f"Simulated day: {args.officers:,} officers x 8 h at 5 s, {full['fixes']:,} fixes in "
        f"{full['files']} Parquet files of {args.per_chunk} officers "
        f"(`.gridgis/bench/coverage-day/`). Result: {s['covered_cells']:,} of {s['cells']:,} "
        f"H3 cells covered, mean H3 share {s['mean_h3_share']:.1%}, mean buffer share "
        f"{s['mean_buffer_share']:.1%} over 1,558 grids, {s['visits']:,} (grid, device) visits.",
        "",
        "## Single process, streaming file by file",
        "",
        "| run | fixes | grid preparation | engine (read + add + result) | fixes/s | RSS after "
        "grids | RSS after last file | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in (("full day", full), ("half the day (first half of the files)", half)):
        lines.append(
            f"| {name} | {r['fixes']:,} | {r['prep_s']:.1f} s | **{r['run_s']:.1f} s** | "
            f"{r['fixes'] / r['run_s'] / 1e6:.2f} M | {r['prep_rss_mb']:.0f} MB | "
            f"{r['chunk_rss_mb'][-1]:.0f} MB | {r['peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        f"Target: the full day in at most 60 s on this machine: {verdict} "
        f"({full['run_s']:.1f} s, {rate / 1e6:.2f} M fixes/s; grid preparation is done once "
        "per grid generation and can be kept). RSS after each file (MB): "
        + ", ".join(f"{v:.0f}" for v in full["chunk_rss_mb"])
        + ".",
        "",
    ]
    if dask_rows:
        one = [r for r in dask_rows if r["workers"] == 1 and "points, warm" in r["run"]]
        lines += [
            "## dask-geopandas (`gis.coverage_dask`), local worker processes",
            "",
            "`read_fixes_parquet`: one partition per file (`dask.dataframe.from_map`), as a "
            "`dask_geopandas.GeoDataFrame` of points in EPSG:4490 (or, last row of each, plain "
            "lon/lat columns); one accumulator state per partition (`map_partitions`), states "
            "merged on the client. Wall time from building the frame to the result; the "
            "client holds its own grids, built before.",
            "",
            "| workers | run | wall | speed-up vs 1 worker (points, warm) | peak RSS of a worker | "
            "identical to the single process |",
            "|---|---|---|---|---|---|",
        ]
        for r in dask_rows:
            up = f"{one[0]['wall_s'] / r['wall_s']:.2f}x" if one else ""
            same = "yes" if r["digest"] == full["digest"] else "**NO**"
            lines.append(
                f"| {r['workers']} | {r['run']} | {r['wall_s']:.1f} s | {up} | "
                f"{r['worker_peak_rss_mb']:.0f} MB | {same} |"
            )
        lines.append("")
    b = base
    lines += [
        "## Against a naive geopandas method (same fixes)",
        "",
        f"{b['officers']} officers, {b['fixes']:,} fixes, {b['grids']} grids touched. Baseline: "
        "valid fixes to EPSG:4549, one LineString per run between silences (lone fixes as "
        "points), `buffer(30)`, `union_all`, `intersection` with every grid, area share; H3 "
        "cells by `sjoin(centres, tracks, predicate='dwithin', distance=30)` on the same cell "
        "centres.",
        "",
        "| method | time | ratio |",
        "|---|---|---|",
        f"| **engine** (`CoverageAccumulator.add` + `result`, best of 3) | "
        f"**{b['ours_s']:.2f} s** | **{b['base_s'] / b['ours_s']:.0f}x** |",
        f"| naive geopandas | {b['base_s']:.1f} s | 1x |",
        "",
        f"Buffer share per grid, engine (5 m raster) minus baseline (exact polygons): max "
        f"{b['max_diff']:.2%} absolute, mean {b['mean_diff']:.3%}; grids off by more than 1 %: "
        f"{b['over_1pct']}. Covered H3 cells: engine {b['cells_ours']:,}, baseline "
        f"{b['cells_base']:,}; only in the engine {b['only_ours']}, only in the baseline "
        f"{b['only_base']}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--officers", type=int, default=3000)
    ap.add_argument("--per-chunk", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-officers", type=int, default=30)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--engine-run", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.engine_run:
        out = json.dumps(engine_run([Path(p) for p in json.loads(args.engine_run)]))
        print(out)
        return out
    files = ensure_day(args.officers, args.per_chunk, args.seed, DAY_DIR)
    console.print("engine, full day (child process) ...")
    full = engine_in_child(files)
    console.print({k: v for k, v in full.items() if k != "chunk_rss_mb"})
    console.print("engine, half the day ...")
    half = engine_in_child(files[: max(len(files) // 2, 1)])
    console.print({k: v for k, v in half.items() if k != "chunk_rss_mb"})
    dask_rows = [] if args.skip_dask else dask_runs(files, args.workers)
    console.print("naive geopandas baseline ...")
    base = baseline(files, args.baseline_officers)
    console.print(base)
    out = report(args, full, half, dask_rows, base)
    OUT_FILE.write_text(out)
    console.print(out)
    return out


if __name__ == "__main__":
    main()
