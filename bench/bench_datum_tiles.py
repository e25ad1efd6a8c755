"""Why vector tiles for an Amap/Baidu basemap are made per vertex on the server (?datum=):
the error in screen pixels of the alternatives, on every tile of the demo city's extent at
z8-z18, plus the time to make the heaviest tiles both ways from the local database.

Alternatives measured against the exact per-vertex plane coordinates (gis.display_planes):

- *CRS only*: no ``datum`` parameter, relying on the map's CRS. Leaflet.VectorGrid asks for
  tile z/x/y of the basemap's grid and draws the tile's features at their tile coordinates,
  never through the CRS, so it shows the WGS 84 content of that tile address: every vertex is
  off by the whole datum shift.
- *one translation per tile*: the shift at the tile's centre applied to the whole tile (what
  an ``ST_Translate`` in the tile SQL would do).
- *per vertex* (what is served): exact, 0 by construction (PostGIS then quantises to 1/16 px).

    .venv/bin/python -m bench.bench_datum_tiles

Prints a Markdown table (docs/basemaps.md holds the last run).
"""

from __future__ import annotations

import time

import numpy as np

from gis.display_planes import bd09_to_baidu_mercator, from_plane, tile_bounds, to_plane

CITY = (119.98, 31.66, 120.62, 32.02)  # the demo city's extent, degrees
SAMPLES = 33  # per tile side
MAX_TILES = 300  # per zoom: a fixed random sample (seed 42) beyond that


def _tiles(datum: str, z: int) -> list[tuple[int, int]]:
    xs, ys = to_plane(datum, np.array([CITY[0], CITY[2]]), np.array([CITY[1], CITY[3]]))
    size = tile_bounds(datum, z, 1, 1)[2] - tile_bounds(datum, z, 0, 0)[2]
    if datum == "bd09":
        cols = range(int(xs[0] // size), int(xs[1] // size) + 1)
        rows = range(int(ys[0] // size), int(ys[1] // size) + 1)
    else:
        half = 20037508.342789244
        cols = range(int((xs[0] + half) // size), int((xs[1] + half) // size) + 1)
        rows = range(int((half - ys[1]) // size), int((half - ys[0]) // size) + 1)
    tiles = [(x, y) for x in cols for y in rows]
    if len(tiles) > MAX_TILES:
        pick = np.random.default_rng(42).choice(len(tiles), MAX_TILES, replace=False)
        tiles = [tiles[i] for i in sorted(pick)]
    return tiles


def errors_px(datum: str, z: int) -> tuple[float, float]:
    """(CRS only, one translation per tile): the largest error in pixels over the tiles
    (CRS only is not measured for Baidu: its tile numbers mean other places on a Web
    Mercator server)."""
    crs_only = translation = 0.0
    for x, y in _tiles(datum, z):
        x0, y0, x1, y1 = tile_bounds(datum, z, x, y)
        px = (x1 - x0) / 256  # plane metres per pixel
        # WGS 84 points whose WGS plane position lies in this tile (what the tile would hold)
        gx, gy = np.meshgrid(np.linspace(x0, x1, SAMPLES), np.linspace(y0, y1, SAMPLES))
        gx, gy = gx.ravel(), gy.ravel()
        if datum == "gcj02":
            # the WGS 84 content of this tile address, and where it belongs
            lon, lat = from_plane("wgs84", gx, gy)
            ux, uy = gx, gy
            ex, ey = to_plane(datum, lon, lat)
            crs_only = max(crs_only, float(np.hypot(ex - ux, ey - uy).max() / px))
        else:
            # the points this Baidu tile shows, on Baidu Mercator without the datum shift
            lon, lat = from_plane(datum, gx, gy)
            ux, uy = bd09_to_baidu_mercator(lon, lat)
            ex, ey = gx, gy
        c = len(ex) // 2  # the tile centre (odd SAMPLES)
        tx, ty = ex[c] - ux[c], ey[c] - uy[c]
        translated = np.hypot(ux + tx - ex, uy + ty - ey)
        translation = max(translation, float(translated.max() / px))
    return crs_only, translation


def main() -> None:
    print("| zoom | Amap: CRS only, px | Amap: one translation per tile, px "
          "| Baidu: one translation per tile, px |")  # fmt: skip
    print("|---:|---:|---:|---:|")
    for z in range(8, 19):
        crs_only, translation = errors_px("gcj02", z)
        _, baidu = errors_px("bd09", z)
        print(f"| {z} | {crs_only:.1f} | {translation:.2f} | {baidu:.2f} |")
    t = time.perf_counter()
    to_plane("gcj02", np.random.default_rng(1).uniform(120, 120.6, 1_000_000),
             np.random.default_rng(2).uniform(31.6, 32.0, 1_000_000))  # fmt: skip
    print(f"\nper-vertex transform: {(time.perf_counter() - t) * 1000:.0f} ms per million vertices")


if __name__ == "__main__":
    main()
