"""H3 hexagon cells for aggregation: the only module that speaks h3 (and its lat, lng order).

Everything in and out of this module is (lon, lat) in EPSG:4490 degrees (CGCS2000 equals WGS 84
to well under a metre here, far below any H3 cell size).
"""

from __future__ import annotations

import h3
import h3.api.basic_int as h3i
import numpy as np
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon

MIN_RESOLUTION = 5
MAX_RESOLUTION = 12


def check_resolution(resolution: int) -> None:
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise ValueError(
            f"H3 resolution {resolution} is outside {MIN_RESOLUTION}..{MAX_RESOLUTION}; "
            "use 7 (5 km²) to 10 (15,000 m²) for city maps"
        )


def cells_of(lon: ArrayLike, lat: ArrayLike, resolution: int) -> NDArray[np.uint64]:
    """H3 cell ids (uint64) of points given in (lon, lat) degrees."""
    check_resolution(resolution)
    lons = np.asarray(lon, dtype=np.float64)
    lats = np.asarray(lat, dtype=np.float64)
    to_cell = h3i.latlng_to_cell
    cells = [to_cell(y, x, resolution) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)]
    return np.array(cells, dtype=np.uint64).reshape(lons.shape)


def parents_of(cells: ArrayLike, resolution: int) -> NDArray[np.uint64]:
    """The ancestor of each cell at the coarser ``resolution``."""
    check_resolution(resolution)
    arr = np.asarray(cells, dtype=np.uint64)
    unique, inverse = np.unique(arr, return_inverse=True)
    parents = np.array([h3i.cell_to_parent(int(c), resolution) for c in unique], dtype=np.uint64)
    return parents[inverse].reshape(arr.shape)


def cell_resolution(cell: int) -> int:
    return int(h3i.get_resolution(int(cell)))


def cell_hex(cell: int) -> str:
    """The usual hexadecimal text of a cell id (what h3 tools print)."""
    return str(h3.int_to_str(int(cell)))


def cell_polygon(cell: int) -> Polygon:
    """The cell's boundary as a shapely polygon in (lon, lat) degrees."""
    ring = [(lng, lat) for lat, lng in h3i.cell_to_boundary(int(cell))]
    return Polygon(ring)


def cells_in_polygon(polygon: Polygon | MultiPolygon, resolution: int) -> NDArray[np.uint64]:
    """Cells whose centre lies inside ``polygon`` (lon, lat degrees), sorted; h3's polyfill
    ("centre containment") on each part, holes honoured."""
    check_resolution(resolution)
    parts = polygon.geoms if isinstance(polygon, MultiPolygon) else [polygon]
    found: list[int] = []
    for part in parts:
        if part.is_empty:
            continue
        shape = h3.LatLngPoly(
            [(y, x) for x, y in part.exterior.coords[:-1]],
            *[[(y, x) for x, y in ring.coords[:-1]] for ring in part.interiors],
        )
        found.extend(h3i.h3shape_to_cells(shape, resolution))
    return np.unique(np.array(found, dtype=np.uint64))


def cell_centres(cells: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(lon, lat) degrees of each cell's centre (h3's own centre point)."""
    arr = np.asarray(cells, dtype=np.uint64).ravel()
    centre = h3i.cell_to_latlng
    lat_lon = np.array([centre(c) for c in arr.tolist()], dtype=np.float64).reshape(-1, 2)
    return lat_lon[:, 1].copy(), lat_lon[:, 0].copy()
