"""Coordinate reference systems: SRIDs, transformers and the Chinese map datums.

Storage is CGCS2000 geographic (EPSG:4490); metric work is EPSG:4549 (CGCS2000 / 3-degree
Gauss-Krüger CM 120E), which suits Jiangyin because the city straddles 120°E. Phone GPS
(WGS 84) differs from CGCS2000 by well under a metre and is taken as is.

GCJ-02 ("Mars" coordinates, used by Amap/Tencent) and BD-09 (Baidu) are obfuscated datums:
the forward transforms are closed-form, the inverses are solved iteratively here to well
under 0.5 m (the usual one-step inverse errs by about 2 m over Jiangyin).

Axis order is (lon, lat) everywhere; every function works on scalars or numpy arrays.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

SRID_CGCS2000 = 4490
"""CGCS2000 geographic (lon, lat in degrees): how every geometry is stored."""
SRID_METRIC_DEFAULT = 4549
"""CGCS2000 / 3-degree Gauss-Krüger CM 120E: metres, the default for areas and distances."""


class Datum(StrEnum):
    """The datum a coordinate pair is given in."""

    CGCS2000 = "cgcs2000"
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


_OGC_EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
DATUM_ALIASES: dict[str, Datum] = {
    "epsg:4490": Datum.CGCS2000,
    "epsg:4326": Datum.WGS84,
    _OGC_EPSG.lower() + "4490": Datum.CGCS2000,
    _OGC_EPSG.lower() + "4326": Datum.WGS84,
    # OGC CRS84 is WGS 84 in lon/lat order (the order every endpoint takes)
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": Datum.WGS84,
    "urn:ogc:def:crs:ogc:1.3:crs84": Datum.WGS84,
    "urn:ogc:def:crs:epsg::4326": Datum.WGS84,
    "urn:ogc:def:crs:epsg::4490": Datum.CGCS2000,
    "crs84": Datum.WGS84,
    "ogc:crs84": Datum.WGS84,
}
"""Other names of the datums: EPSG codes and OGC URIs/URNs (lower case)."""
DATUM_NAMES = "cgcs2000|wgs84|gcj02|bd09 (or EPSG:4490, EPSG:4326, OGC CRS84)"


def datum_of(name: str) -> Datum | None:
    """The datum a ``crs`` name means, or None: our names (``cgcs2000``, ``wgs84``,
    ``gcj02``, ``bd09``), the EPSG names ``EPSG:4490`` (CGCS2000) and ``EPSG:4326`` (WGS 84),
    their OGC URIs (``http://www.opengis.net/def/crs/EPSG/0/4326``) and URNs, and OGC CRS84
    (WGS 84, lon/lat); case and surrounding space do not matter."""
    key = name.strip().lower()
    try:
        return Datum(key)
    except ValueError:
        return DATUM_ALIASES.get(key.rstrip("/"))


# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# Bounding box outside which GCJ-02 applies no offset (the rule all public implementations use).
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)

_INVERSE_TOLERANCE_DEG = 1e-10  # ~0.01 mm; iteration stops once the forward image matches
_INVERSE_MAX_ITER = 30

FloatArray = NDArray[np.float64]


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape:
        raise ValueError(
            f"lon and lat must have the same shape, got {lon_a.shape} and {lat_a.shape}; "
            "pass two arrays of equal length"
        )
    return lon_a, lat_a


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where a point lies outside the box in which GCJ-02 applies its offset.

    Parameters
    ----------
    lon, lat : array_like
        Degrees, any of the datums (the box is coarse, the difference does not matter).
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    west, south, east, north = CHINA_BBOX
    return (lon_a < west) | (lon_a > east) | (lat_a < south) | (lat_a > north)


def _delta_lat(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _delta_lon(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS 84 (or CGCS2000) degrees to GCJ-02 degrees; identity outside China."""
    lon_a, lat_a = _as_arrays(lon, lat)
    dlat = _delta_lat(lon_a - 105.0, lat_a - 35.0)
    dlon = _delta_lon(lon_a - 105.0, lat_a - 35.0)
    radlat = lat_a / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon_a, lat_a)
    return np.where(outside, lon_a, lon_a + dlon), np.where(outside, lat_a, lat_a + dlat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 degrees to BD-09 degrees (closed form)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: object,
    lon: FloatArray,
    lat: FloatArray,
    start: tuple[FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """Solve forward(x) = target by fixed-point iteration x <- x - (forward(x) - target).

    The GCJ/BD offsets vary slowly (their Jacobian is within 1e-4 of the identity), so each
    step gains about four decimal digits; three or four steps reach the tolerance.
    """
    fwd = forward  # typed loosely to accept both forward transforms
    x, y = start[0].copy(), start[1].copy()
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = fwd(x, y)  # type: ignore[operator]
        ex, ey = fx - lon, fy - lat
        x -= ex
        y -= ey
        if np.all(np.abs(ex) < _INVERSE_TOLERANCE_DEG) and np.all(
            np.abs(ey) < _INVERSE_TOLERANCE_DEG
        ):
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 degrees to WGS 84 degrees by iteration (error < 1 mm); identity outside China."""
    lon_a, lat_a = _as_arrays(lon, lat)
    x, y = _invert(wgs84_to_gcj02, lon_a, lat_a, (lon_a, lat_a))
    outside = out_of_china(lon_a, lat_a)
    return np.where(outside, lon_a, x), np.where(outside, lat_a, y)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 degrees to GCJ-02 degrees by iteration from the usual one-step approximation."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _invert(gcj02_to_bd09, lon_a, lat_a, _bd09_to_gcj02_approx(lon_a, lat_a))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS 84 degrees to BD-09 degrees."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 degrees to WGS 84 degrees (both inverses iterative)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_cgcs2000(
    lon: ArrayLike, lat: ArrayLike, datum: Datum | str
) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates given in ``datum`` to CGCS2000 (= WGS 84 at phone-GPS accuracy)."""
    datum = Datum(datum)
    if datum is Datum.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if datum is Datum.BD09:
        return bd09_to_wgs84(lon, lat)
    return _as_arrays(lon, lat)


def from_cgcs2000(
    lon: ArrayLike, lat: ArrayLike, datum: Datum | str
) -> tuple[FloatArray, FloatArray]:
    """Convert CGCS2000 coordinates to ``datum`` (e.g. to overlay on an Amap basemap)."""
    datum = Datum(datum)
    if datum is Datum.GCJ02:
        return wgs84_to_gcj02(lon, lat)
    if datum is Datum.BD09:
        return wgs84_to_bd09(lon, lat)
    return _as_arrays(lon, lat)


@lru_cache(maxsize=16)
def transformer(src_srid: int, dst_srid: int) -> Transformer:
    """A cached pyproj transformer with (lon, lat) / (x, y) axis order."""
    return Transformer.from_crs(src_srid, dst_srid, always_xy=True)


def to_metric(
    lon: ArrayLike, lat: ArrayLike, metric_srid: int = SRID_METRIC_DEFAULT
) -> tuple[FloatArray, FloatArray]:
    """CGCS2000 degrees to projected metres (x east, y north) in ``metric_srid``."""
    lon_a, lat_a = _as_arrays(lon, lat)
    x, y = transformer(SRID_CGCS2000, metric_srid).transform(lon_a, lat_a)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def from_metric(
    x: ArrayLike, y: ArrayLike, metric_srid: int = SRID_METRIC_DEFAULT
) -> tuple[FloatArray, FloatArray]:
    """Projected metres in ``metric_srid`` to CGCS2000 degrees (lon, lat)."""
    x_a, y_a = _as_arrays(x, y)
    lon, lat = transformer(metric_srid, SRID_CGCS2000).transform(x_a, y_a)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
