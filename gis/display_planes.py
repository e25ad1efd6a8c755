"""The planes a basemap is drawn in, per datum: where a WGS 84 point lands on its tiles.

A basemap's tiles are pictures of one plane; an overlay lands on the right pixel only if it is
projected into the same plane. Three planes, one per basemap datum:

- ``wgs84`` (also CGCS2000: Tianditu, an intranet XYZ server): Web Mercator (EPSG:3857) of the
  point itself; tiles ``z/x/y`` of the Web Mercator quad (y from the north);
- ``gcj02`` (Amap, Tencent): Web Mercator of the point's GCJ-02 coordinates; same tile grid;
- ``bd09`` (Baidu): "Baidu Mercator" (BD-09MC, Baidu's own polynomial projection, metres) of
  the point's BD-09 coordinates; Baidu's tiles are 256 px with origin (0, 0) at BD-09MC
  (0, 0), x east and y **north**, and ``2**(18 - z)`` metres per pixel at zoom ``z``.

The browser does the same in ``maps/static/gridgis-datum.js`` (one Leaflet CRS per plane); the
tests compare both on points across Jiangyin. Inverses solve the forward transforms by
iteration (BD-09MC is separable: each axis is a 1-D monotone function), so a forward and back
trip returns the point within 1e-9 degrees (0.1 mm).

Sources: GCJ-02/BD-09 in :mod:`gis.crs`; the BD-09MC polynomial coefficients are the ones
Baidu's JavaScript API ships (``LL2MC`` with latitude bands ``LLBAND``), as reproduced by every
public implementation.

Axis order (lon, lat) / (x, y); scalars or numpy arrays.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from gis.crs import (
    FloatArray,
    bd09_to_wgs84,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

PlaneDatum = Literal["wgs84", "gcj02", "bd09"]
PLANE_DATUMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

EARTH_RADIUS_M = 6378137.0
"""Web Mercator sphere (EPSG:3857)."""
WEB_MERCATOR_HALF_M = math.pi * EARTH_RADIUS_M
MAX_LAT_WEB_MERCATOR = 85.0511287798066

BAIDU_TILE_PX = 256
BAIDU_ZOOM_1M = 18
"""Baidu zoom at which one pixel is one BD-09MC metre."""
BAIDU_MAX_LAT = 74.0

# Baidu's LL2MC: one row per latitude band (|lat| >= LLBAND[i]): x = c0 + c1 * |lon|,
# y = sum(c[2 + k] * (|lat| / c9) ** k, k = 0..6), signs restored afterwards.
_LLBAND = (75.0, 60.0, 45.0, 30.0, 15.0, 0.0)
_LL2MC = np.array(
    [
        [-0.0015702102444, 111320.7020616939, 1704480524535203, -10338987376042340,
         26112667856603880, -35149669176653700, 26595700718403920, -10725012454188240,
         1800819912950474, 82.5],
        [0.0008277824516172526, 111320.7020463578, 647795574.6671607, -4082003173.641316,
         10774905663.51142, -15171875531.51559, 12053065338.62167, -5124939663.577472,
         913311935.9512032, 67.5],
        [0.00337398766765, 111320.7020202162, 4481351.045890365, -23393751.19931662,
         79682215.47186455, -115964993.2797253, 97236711.15602145, -43661946.33752821,
         8477230.501135234, 52.5],
        [0.00220636496208, 111320.7020209128, 51751.86112841131, 3796837.749470245,
         992013.7397791013, -1221952.21711287, 1340652.697009075, -620943.6990984312,
         144416.9293806241, 37.5],
        [-0.0003441963504368392, 111320.7020576856, 278.2353980772752, 2485758.690035394,
         6070.750963243378, 54821.18345352118, 9540.606633304236, -2710.55326746645,
         1405.483844121726, 22.5],
        [-0.0003218135878613132, 111320.7020701615, 0.00369383431289, 823725.6402795718,
         0.46104986909093, 2351.343141331292, 1.58060784298199, 8.77738589078284,
         0.37238884252424, 7.45],
    ],
    dtype=np.float64,
)  # fmt: skip

_INVERSE_TOLERANCE_M = 1e-6
_INVERSE_MAX_ITER = 30


def _band_rows(abs_lat: FloatArray) -> FloatArray:
    index = np.full(abs_lat.shape, len(_LLBAND) - 1, dtype=np.int64)
    for i in reversed(range(len(_LLBAND))):
        index = np.where(abs_lat >= _LLBAND[i], np.minimum(index, i), index)
    return _LL2MC[index]


def _baidu_y(abs_lat: FloatArray, rows: FloatArray) -> FloatArray:
    d = abs_lat / rows[..., 9]
    y = np.zeros_like(abs_lat)
    for k in range(6, -1, -1):  # Horner: c2 + c3 d + ... + c8 d^6
        y = y * d + rows[..., 2 + k]
    return y


def bd09_to_baidu_mercator(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 degrees to BD-09MC metres (Baidu's LL2MC; latitude clamped to ±74°)."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.clip(np.asarray(lat, dtype=np.float64), -BAIDU_MAX_LAT, BAIDU_MAX_LAT)
    lon_a = (lon_a + 180.0) % 360.0 - 180.0
    abs_lat = np.abs(lat_a)
    rows = _band_rows(abs_lat)
    x = rows[..., 0] + rows[..., 1] * np.abs(lon_a)
    y = _baidu_y(abs_lat, rows)
    return np.copysign(x, lon_a), np.copysign(y, lat_a)


def baidu_mercator_to_bd09(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09MC metres to BD-09 degrees: the exact inverse of :func:`bd09_to_baidu_mercator`
    (longitude in closed form, latitude by Newton steps on the band polynomial)."""
    x_a = np.asarray(x, dtype=np.float64)
    y_a = np.asarray(y, dtype=np.float64)
    abs_y = np.abs(y_a)
    # Start from the spherical Mercator latitude on Baidu's x scale, then Newton.
    scale = _LL2MC[0, 1] * 180.0 / math.pi
    lat = np.degrees(np.arctan(np.sinh(abs_y / scale)))
    for _ in range(_INVERSE_MAX_ITER):
        rows = _band_rows(lat)
        f = _baidu_y(lat, rows) - abs_y
        h = 1e-7
        slope = (_baidu_y(lat + h, rows) - _baidu_y(lat - h, rows)) / (2 * h)
        lat = np.clip(lat - f / slope, 0.0, BAIDU_MAX_LAT)
        if np.all(np.abs(f) < _INVERSE_TOLERANCE_M):
            break
    rows = _band_rows(lat)
    lon = (np.abs(x_a) - rows[..., 0]) / rows[..., 1]
    return np.copysign(lon, x_a), np.copysign(lat, y_a)


def lonlat_to_web_mercator(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Degrees to EPSG:3857 metres (latitude clamped to ±85.0511°, as Leaflet does)."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.clip(np.asarray(lat, dtype=np.float64), -MAX_LAT_WEB_MERCATOR, MAX_LAT_WEB_MERCATOR)
    x = EARTH_RADIUS_M * np.radians(lon_a)
    y = EARTH_RADIUS_M * np.log(np.tan(math.pi / 4.0 + np.radians(lat_a) / 2.0))
    return x, y


def web_mercator_to_lonlat(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """EPSG:3857 metres to degrees."""
    x_a = np.asarray(x, dtype=np.float64)
    y_a = np.asarray(y, dtype=np.float64)
    lon = np.degrees(x_a / EARTH_RADIUS_M)
    lat = np.degrees(2.0 * np.arctan(np.exp(y_a / EARTH_RADIUS_M)) - math.pi / 2.0)
    return lon, lat


def to_plane(datum: str, lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS 84 / CGCS2000 degrees to the metres of ``datum``'s basemap plane (see module doc).

    Raises ``ValueError`` for a datum other than wgs84, gcj02, bd09.
    """
    if datum == "wgs84":
        return lonlat_to_web_mercator(lon, lat)
    if datum == "gcj02":
        return lonlat_to_web_mercator(*wgs84_to_gcj02(lon, lat))
    if datum == "bd09":
        return bd09_to_baidu_mercator(*wgs84_to_bd09(lon, lat))
    raise ValueError(f"basemap datum {datum!r} is not one of {', '.join(PLANE_DATUMS)}")


def from_plane(datum: str, x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Metres of ``datum``'s basemap plane back to WGS 84 degrees (iterative inverses)."""
    if datum == "wgs84":
        return web_mercator_to_lonlat(x, y)
    if datum == "gcj02":
        return gcj02_to_wgs84(*web_mercator_to_lonlat(x, y))
    if datum == "bd09":
        return bd09_to_wgs84(*baidu_mercator_to_bd09(x, y))
    raise ValueError(f"basemap datum {datum!r} is not one of {', '.join(PLANE_DATUMS)}")


def tile_bounds(datum: str, z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) in plane metres of tile ``z/x/y`` of ``datum``'s tile scheme:
    the Web Mercator quad (y from the north) for wgs84/gcj02, Baidu's (y from the equator,
    northwards) for bd09."""
    if datum == "bd09":
        size = BAIDU_TILE_PX * 2.0 ** (BAIDU_ZOOM_1M - z)
        return x * size, y * size, (x + 1) * size, (y + 1) * size
    if datum not in PLANE_DATUMS:
        raise ValueError(f"basemap datum {datum!r} is not one of {', '.join(PLANE_DATUMS)}")
    size = 2.0 * WEB_MERCATOR_HALF_M / 2**z
    west = -WEB_MERCATOR_HALF_M + x * size
    north = WEB_MERCATOR_HALF_M - y * size
    return west, north - size, west + size, north


def tile_lonlat_bounds(
    datum: str, z: int, x: int, y: int, *, margin: float = 0.0
) -> tuple[float, float, float, float]:
    """(west, south, east, north) WGS 84 degrees holding every point that ``datum``'s plane
    puts inside tile ``z/x/y`` widened by ``margin`` (a share of the tile side).

    The shifts are smooth and far smaller than a tile's extent at the zooms served only at
    high zoom, so the box is taken from points along the tile's edges, widened by the
    largest error of that sampling (the shift's variation between samples), plus 1e-6°.
    """
    xmin, ymin, xmax, ymax = tile_bounds(datum, z, x, y)
    dx, dy = (xmax - xmin) * margin, (ymax - ymin) * margin
    xmin, ymin, xmax, ymax = xmin - dx, ymin - dy, xmax + dx, ymax + dy
    t = np.linspace(0.0, 1.0, 9)
    xs = np.concatenate([xmin + (xmax - xmin) * t, np.full(9, xmax),
                         xmax - (xmax - xmin) * t, np.full(9, xmin)])  # fmt: skip
    ys = np.concatenate([np.full(9, ymin), ymin + (ymax - ymin) * t,
                         np.full(9, ymax), ymax - (ymax - ymin) * t])  # fmt: skip
    lon, lat = from_plane(datum, xs, ys)
    pad = 1e-6 + 0.01 * max(float(np.ptp(lon)), float(np.ptp(lat))) / 8.0
    return (
        float(lon.min()) - pad,
        float(lat.min()) - pad,
        float(lon.max()) + pad,
        float(lat.max()) + pad,
    )
