"""A deterministic demo city: synthetic 17/271/1,558 grids over Jiangyin's real outline.

Real town and village boundaries of Jiangyin are not public, so the demo city subdivides the
real land outline (``load_outline``) into synthetic but realistic grids:

- L1: the 17 real towns/sub-districts/zone of ``gis.codes.JIANGYIN_TOWNS`` at plausible places;
- L2: 271 villages (村, codes 2xx) and communities (社区, codes 0xx) with synthetic names;
- L3: 1,558 unit grids, small and dense in the urban core (澄江街道), large in the country.

How it is built (all metric work in ``metric_srid``, EPSG:4549 by default):

1. 1,558 seeds drawn with a density that peaks at the urban core and at each town seat, then
   two density-weighted Lloyd steps;
2. their Voronoi edges, bent into smooth wiggly lines that stay inside each edge's kite (so no
   two edges cross), converted to CGCS2000 degrees;
3. ONE noding of all edges plus the outline boundary, snap-rounded to a 1e-7° grid
   (``shapely.union_all(..., grid_size=1e-7)``), then ``shapely.polygonize``: every face shares
   identical vertices with its neighbours; faces cut off from their seed join the neighbour
   they share the longest boundary with;
4. towns grown on the grid adjacency graph from their seats (multi-source Dijkstra with
   offsets tuned to the towns' areas), villages by graph Lloyd clustering inside each town;
   every region is a connected, hole-free set of unit grids;
5. L3 = union of its faces, L2 = union of its L3 faces, L1 = union of its L2 faces
   (``shapely.coverage_union_all``), so nesting is exact by construction.

Codes (see ``gis.codes``):

- communities are the villages whose unit grids average at most 0.45 km², plus the one
  holding the town seat; they get 001, 002, ... by distance of their centroid from the seat;
  the other villages get 201, 202, ... in reading order (see below) of their centroids, with
  rows as high as the town's mean village side;
- unit grids are numbered 001, 002, ... in reading order inside their village: with metric
  centroids (x, y) in ``metric_srid``, the village's northernmost y ``north`` and the row
  height ``band = sqrt(village area / number of its grids)``, row ``r = floor((north - y) /
  band)``; grids are sorted by r (north to south), then by x (west to east), then by -y.
  Names are ``<village name>第<n>网格``.

The union of all grids equals the outline up to the 1e-7° snap rounding (well under 0.01 % of
the area).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis.crs import SRID_CGCS2000, SRID_METRIC_DEFAULT
from gis.democity.generate import COUNTS, GenerationFailed, Row, generate_rows
from gis.democity.outline import OutlineMissing, convert_outline, load_outline

__all__ = [
    "COUNTS",
    "DEMO_SEED",
    "GENERATOR_VERSION",
    "GenerationFailed",
    "OutlineMissing",
    "convert_outline",
    "demo_city_cached",
    "generate_demo_city",
    "load_outline",
]

DEMO_SEED = 320281
"""The seed of the demo city everyone shows."""
GENERATOR_VERSION = "1"
"""Bump whenever the output for a given seed changes; cached cities are keyed by it."""

COLUMNS = ["code", "level", "parent_code", "name", "geometry"]


def _frame(rows: list[Row]) -> gpd.GeoDataFrame:
    data = pd.DataFrame(
        {
            "code": pd.Series([r[0] for r in rows], dtype=object),
            "level": pd.Series([r[1] for r in rows], dtype="int64"),
            "parent_code": pd.Series([r[2] for r in rows], dtype=object),
            "name": pd.Series([r[3] for r in rows], dtype=object),
        }
    )
    return gpd.GeoDataFrame(data, geometry=[r[4] for r in rows], crs=SRID_CGCS2000)


def generate_demo_city(
    seed: int = DEMO_SEED, metric_srid: int = SRID_METRIC_DEFAULT
) -> gpd.GeoDataFrame:
    """Generate the demo city's grid frame.

    Parameters
    ----------
    seed : int
        Same seed, byte-identical result; another seed, another city.
    metric_srid : int
        Projected CRS (metres) for the geometric work, EPSG:4549 by default.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code``, ``level``, ``parent_code`` (None for L1), ``name``, ``geometry``
        (one Polygon per grid, vertices on a 1e-7° grid); CRS EPSG:4490 (lon, lat degrees);
        17 L1, 271 L2 and 1,558 L3 rows, sorted by level then code.

    Raises
    ------
    GenerationFailed
        If no valid city comes out for this seed (has not happened; use another seed).
    """
    return _frame(generate_rows(seed, metric_srid))


def cache_path(seed: int, cache_dir: Path | str, metric_srid: int = SRID_METRIC_DEFAULT) -> Path:
    """Where ``demo_city_cached`` keeps the city for ``seed`` (a GeoPackage)."""
    name = f"democity-v{GENERATOR_VERSION}-seed{seed}-srid{metric_srid}.gpkg"
    return Path(cache_dir) / name


def demo_city_cached(
    seed: int, cache_dir: Path | str, metric_srid: int = SRID_METRIC_DEFAULT
) -> gpd.GeoDataFrame:
    """``generate_demo_city(seed, metric_srid)``, stored in and reloaded from ``cache_dir``.

    The GeoPackage is keyed by seed, SRID and ``GENERATOR_VERSION`` and written atomically;
    the reloaded frame equals a freshly generated one (same dtypes, None parents, exact
    coordinates).
    """
    path = cache_path(seed, cache_dir, metric_srid)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        grids = generate_demo_city(seed, metric_srid)
        fd, tmp = tempfile.mkstemp(suffix=".gpkg", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
        try:
            grids.to_file(tmp, driver="GPKG", layer="grids", engine="pyogrio")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return grids
    loaded = gpd.read_file(path, layer="grids", engine="pyogrio")
    rows: list[Row] = [
        (
            str(r.code),
            int(r.level),
            None if pd.isna(r.parent_code) else str(r.parent_code),
            str(r.name),
            r.geometry,
        )
        for r in loaded.itertuples(index=False)
    ]
    return _frame(rows)
