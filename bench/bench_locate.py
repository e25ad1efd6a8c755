"""Benchmark: GridLocator vs geopandas.sjoin vs shapely STRtree vs a PostGIS join.

Run ``.venv/bin/python -m bench.bench_locate [--points 1000000] [--grids demo|synthetic]
[--database-url postgresql+psycopg://...]`` (or set GRIDGIS_BENCH_DATABASE_URL). Every method
applies the same rule (ST_Covers, smallest code wins on ties); the answers are compared and the
count of disagreements reported (it must be 0). The markdown table is printed and written to
docs/benchmarks-locate.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.codes import JIANGYIN_TOWNS
from gis.locate import GridLocator

JIANGYIN_BOUNDS = (119.99, 31.69, 120.60, 31.99)
OUT_FILE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-locate.md"


def synthetic_city(
    n: int = 1558, seed: int = 0, bounds: tuple[float, float, float, float] = JIANGYIN_BOUNDS
) -> gpd.GeoDataFrame:
    """A Voronoi city of ``n`` L3 grids over ``bounds`` (EPSG:4490) with wiggly shared edges.

    The Voronoi edges and the bounding box are noded once, every edge is densified to ~30 m
    vertices jittered by up to ~3 m, and the result is polygonized, so neighbours share
    identical vertices (like a real, topologically clean grid layer).
    """
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    box = shapely.box(*bounds)
    seeds = rng.uniform((x0, y0), (x1, y1), size=(n, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box))
    lines = shapely.get_parts(
        shapely.line_merge(shapely.union_all([*shapely.boundary(cells), box.boundary]))
    )
    lines = shapely.get_parts(shapely.intersection(lines, box.buffer(1e-9)))
    step = 0.0003
    wiggled = []
    for line in shapely.segmentize(lines, step):
        xy = shapely.get_coordinates(line)
        if len(xy) > 2 and not shapely.intersects(line, box.exterior):
            d = np.diff(xy, axis=0)
            normal = np.stack([-d[:, 1], d[:, 0]], axis=1)
            normal /= np.linalg.norm(normal, axis=1, keepdims=True)
            xy[1:-1] += normal[1:] * rng.uniform(-0.03, 0.03, (len(xy) - 2, 1)) * step
        wiggled.append(shapely.linestrings(np.round(xy, 9)))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(wiggled))))
    faces = faces[shapely.contains(box, shapely.point_on_surface(faces))]
    centre = shapely.get_coordinates(shapely.centroid(faces))
    faces = faces[np.lexsort((centre[:, 0], -np.round(centre[:, 1], 2)))]  # N->S, W->E
    towns = sorted(JIANGYIN_TOWNS)
    town = np.arange(len(faces)) * len(towns) // len(faces)
    local = np.arange(len(faces)) - np.searchsorted(town, town)  # rank inside the town
    codes = [
        f"{towns[t]}{200 + r // 10:03d}{r % 10 + 1:03d}" for t, r in zip(town, local, strict=True)
    ]
    return gpd.GeoDataFrame(
        {"code": codes, "level": 3, "geometry": faces}, geometry="geometry", crs="EPSG:4490"
    )


def load_grids(kind: str, seed: int) -> tuple[gpd.GeoDataFrame, str]:
    """The benchmark's L3 grids and a description of where they came from."""
    if kind == "demo":
        try:
            from gis.democity import DEMO_SEED, generate_demo_city

            frame = generate_demo_city(DEMO_SEED)
            return frame[frame["level"] == 3].copy(), f"demo city (seed {DEMO_SEED})"
        except ImportError as exc:
            print(f"demo city not available ({exc}); using the synthetic city")
    return synthetic_city(seed=seed), f"synthetic Voronoi city (seed {seed})"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run_sjoin(
    grids: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray, predicate: str
) -> np.ndarray:
    """geopandas.sjoin(points, grids) + smallest-code rule (sort, keep the first per point)."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=grids.crs)
    joined = gpd.sjoin(pts, grids[["code", "geometry"]], how="inner", predicate=predicate)
    joined = joined.sort_values("code", kind="stable")
    best = joined[~joined.index.duplicated(keep="first")]["code"]
    out = np.full(len(lon), None, dtype=object)
    out[best.index.to_numpy()] = best.to_numpy()
    return out


def _min_code(codes: np.ndarray, n: int, point: np.ndarray, grid: np.ndarray) -> np.ndarray:
    first = np.full(n, len(codes), dtype=np.int64)
    np.minimum.at(first, point, grid)  # codes are sorted: the smallest index is the min code
    return np.r_[codes, None][first]


def run_strtree(codes: np.ndarray, geoms: np.ndarray, lon: np.ndarray, lat: np.ndarray):
    """shapely 2: tree of grids, STRtree.query(points, predicate='intersects')."""
    inp, hit = shapely.STRtree(geoms).query(shapely.points(lon, lat), predicate="intersects")
    return _min_code(codes, len(lon), inp, hit)


def run_strtree_points(codes: np.ndarray, geoms: np.ndarray, lon: np.ndarray, lat: np.ndarray):
    """shapely 2: tree of points, STRtree.query(grids, predicate='covers') (prepared grids)."""
    grid, point = shapely.STRtree(shapely.points(lon, lat)).query(geoms, predicate="covers")
    return _min_code(codes, len(lon), point, grid)


def run_postgis(url: str, grids: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray):
    """Load grids and points with COPY, index them, then time the ST_Covers join alone."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    raw = engine.raw_connection()
    conn = raw.driver_connection  # psycopg.Connection
    assert conn is not None
    cur = conn.cursor()
    t0 = time.perf_counter()
    cur.execute("CREATE TEMP TABLE bench_grid (code text, geom geometry(MultiPolygon, 4490))")
    cur.execute("CREATE TEMP TABLE bench_pt (id int, geom geometry(Point, 4490))")
    with cur.copy("COPY bench_grid (code, geom) FROM STDIN") as copy:
        for code, geom in zip(grids["code"], grids.geometry, strict=True):
            wkb = shapely.to_wkb(
                shapely.multipolygons([geom]) if geom.geom_type == "Polygon" else geom,
                hex=True,
                include_srid=True,
            )
            copy.write_row((code, wkb))
    buf = io.StringIO()
    pd.DataFrame({"id": np.arange(len(lon)), "x": lon, "y": lat}).to_csv(
        buf, sep="\t", header=False, index=False, float_format="%.17g"
    )
    cur.execute("CREATE TEMP TABLE bench_xy (id int, x float8, y float8)")
    with cur.copy("COPY bench_xy FROM STDIN") as copy:
        copy.write(buf.getvalue())
    cur.execute(
        "INSERT INTO bench_pt SELECT id, ST_SetSRID(ST_MakePoint(x, y), 4490) FROM bench_xy"
    )
    cur.execute("CREATE INDEX ON bench_grid USING gist (geom)")
    cur.execute("CREATE INDEX ON bench_pt USING gist (geom)")
    cur.execute("ANALYZE bench_grid")
    cur.execute("ANALYZE bench_pt")
    conn.commit()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cur.execute(
        "CREATE TEMP TABLE bench_res AS SELECT DISTINCT ON (p.id) p.id, g.code "
        "FROM bench_pt p JOIN bench_grid g ON ST_Covers(g.geom, p.geom) ORDER BY p.id, g.code"
    )
    query_s = time.perf_counter() - t0
    cur.execute("SELECT id, code FROM bench_res")
    out = np.full(len(lon), None, dtype=object)
    rows = cur.fetchall()
    if rows:
        ids, found = zip(*rows, strict=True)
        out[np.asarray(ids)] = np.asarray(found, dtype=object)
    raw.close()
    engine.dispose()
    return load_s, query_s, out


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--grids", choices=("demo", "synthetic"), default="demo")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--cell-size-deg", type=float, default=None)
    ap.add_argument("--database-url", default=os.environ.get("GRIDGIS_BENCH_DATABASE_URL"))
    ap.add_argument("--no-write", action="store_true", help="do not write docs/")
    args = ap.parse_args(argv)

    grids, source = load_grids(args.grids, 0)
    x0, y0, x1, y1 = grids.total_bounds
    rng = np.random.default_rng(args.seed)
    lon, lat = rng.uniform(x0, x1, args.points), rng.uniform(y0, y1, args.points)
    n_vertices = int(shapely.get_num_coordinates(grids.geometry.to_numpy()).sum())

    build_s, loc = timed(lambda: GridLocator.from_frame(grids, cell_size_deg=args.cell_size_deg))
    locate_s, ref = timed(lambda: loc.locate(lon, lat).l3)
    locate2_s, _ = timed(lambda: loc.locate(lon, lat).l3)
    locate_s = min(locate_s, locate2_s)
    rows: list[tuple[str, float, np.ndarray | None]] = [
        ("GridLocator.locate (exact, PostGIS arithmetic)", locate_s, ref),
        ("GridLocator build (once per grid generation)", build_s, None),
    ]
    for pred in ("covered_by", "intersects"):
        secs, answer = timed(lambda pred=pred: run_sjoin(grids, lon, lat, pred))
        rows.append((f"geopandas.sjoin(predicate='{pred}') + min code", secs, answer))
    geoms = loc._geoms
    st_s, st = timed(lambda: run_strtree(loc.codes, geoms, lon, lat))
    rows.append(("shapely STRtree(grids).query(points, 'intersects') + min code", st_s, st))
    st_s, st = timed(lambda: run_strtree_points(loc.codes, geoms, lon, lat))
    rows.append(("shapely STRtree(points).query(grids, 'covers') + min code", st_s, st))
    if args.database_url:
        load_s, query_s, pg = run_postgis(args.database_url, grids, lon, lat)
        rows.append(("PostGIS ST_Covers join + DISTINCT ON (query only)", query_s, pg))
        rows.append(("PostGIS load (COPY + GiST + ANALYZE)", load_s, None))

    lines = [
        "## Point-in-grid location (`gis/locate.py`)",
        "",
        f"{args.points:,} uniform random points (seed {args.seed}) in the bbox of {len(grids):,} "
        f"L3 grids ({n_vertices:,} vertices), {source}; raster {loc._nx} x {loc._ny} cells of "
        f"{loc._cs:.6f} deg. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (shared). Command: `.venv/bin/python -m bench.bench_locate "
        f"--points {args.points} --grids {args.grids}"
        + (" --database-url ...`" if args.database_url else "`"),
        "",
        "| method | seconds | points/s | time vs locator | disagreements |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, secs, answer in rows:
        if answer is None:
            lines.append(f"| {name} | {secs:.3f} | | | |")
            continue
        diff = int(np.sum(answer != ref))
        lines.append(
            f"| {name} | {secs:.3f} | {args.points / secs:,.0f} | {secs / locate_s:.1f}x | {diff} |"
        )
    outside = int(np.sum(ref == None))  # noqa: E711
    lines += [
        "",
        f"Points covered by no grid: {outside:,}. Every method applies ST_Covers semantics and "
        "the smallest-code tie rule; locator time is the best of 2 runs and includes the L3/L2/L1 "
        "code arrays; baseline times include building the point geometries.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        OUT_FILE.write_text(text)
        print(f"written to {OUT_FILE}")
    return text


if __name__ == "__main__":
    main()
