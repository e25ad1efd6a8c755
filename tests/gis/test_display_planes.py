"""Basemap planes (gis.display_planes): Baidu Mercator against Baidu's published value, exact
round trips in every datum across Jiangyin, the tile schemes."""

from __future__ import annotations

import numpy as np
import pytest

from gis.crs import wgs84_to_gcj02
from gis.display_planes import (
    PLANE_DATUMS,
    baidu_mercator_to_bd09,
    bd09_to_baidu_mercator,
    from_plane,
    lonlat_to_web_mercator,
    tile_bounds,
    tile_lonlat_bounds,
    to_plane,
)

# Jiangyin and around: 11 x 11 points over 119.9-120.7 E, 31.6-32.1 N.
LON, LAT = (
    a.ravel() for a in np.meshgrid(np.linspace(119.9, 120.7, 11), np.linspace(31.6, 32.1, 11))
)
METRES_PER_DEG = 111_320.0


def test_baidu_mercator_of_tiananmen_is_baidus_own() -> None:
    # Baidu's API gives BD-09 (116.404, 39.915) as BD-09MC (12958175.00, 4825923.77).
    x, y = bd09_to_baidu_mercator(116.404, 39.915)
    assert x == pytest.approx(12958175.0, abs=0.01) and y == pytest.approx(4825923.77, abs=0.01)


def test_baidu_mercator_inverse_is_exact() -> None:
    x, y = bd09_to_baidu_mercator(LON, LAT)
    lon, lat = baidu_mercator_to_bd09(x, y)
    assert np.abs(lon - LON).max() < 1e-9 and np.abs(lat - LAT).max() < 1e-9
    # and in other bands and hemispheres
    pts = np.array([[3.0, -10.0], [-70.5, 50.2], [150.0, 65.0], [10.0, 5.0]])
    lon, lat = baidu_mercator_to_bd09(*bd09_to_baidu_mercator(pts[:, 0], pts[:, 1]))
    assert np.abs(lon - pts[:, 0]).max() < 1e-9 and np.abs(lat - pts[:, 1]).max() < 1e-9


@pytest.mark.parametrize("datum", PLANE_DATUMS)
def test_planes_round_trip_under_a_millimetre(datum: str) -> None:
    x, y = to_plane(datum, LON, LAT)
    lon, lat = from_plane(datum, x, y)
    err_m = np.hypot(lon - LON, lat - LAT) * METRES_PER_DEG
    assert err_m.max() < 0.001


def test_gcj02_plane_is_web_mercator_of_the_shifted_point() -> None:
    x, y = to_plane("gcj02", LON, LAT)
    gx, gy = lonlat_to_web_mercator(*wgs84_to_gcj02(LON, LAT))
    assert np.array_equal(x, gx) and np.array_equal(y, gy)
    wx, wy = to_plane("wgs84", LON, LAT)
    shift = np.hypot(x - wx, y - wy) * np.cos(np.radians(LAT))  # ground metres
    assert 400 < shift.min() and shift.max() < 600  # the 460-510 m of DOMAIN.md


def test_tile_schemes() -> None:
    # Web Mercator quad: z0 is the whole world; y counts from the north.
    assert tile_bounds("gcj02", 0, 0, 0) == pytest.approx(
        (-20037508.34, -20037508.34, 20037508.34, 20037508.34), abs=0.01
    )
    assert tile_bounds("wgs84", 1, 0, 0)[1] == pytest.approx(0.0, abs=1e-6)
    # Baidu: 256 px tiles of 2^(18-z) m from the origin, y northwards.
    assert tile_bounds("bd09", 18, 3, 5) == (768.0, 1280.0, 1024.0, 1536.0)
    assert tile_bounds("bd09", 10, 1, 2) == (65536.0, 131072.0, 131072.0, 196608.0)
    with pytest.raises(ValueError, match="wgs84, gcj02, bd09"):
        tile_bounds("epsg3857", 1, 0, 0)
    with pytest.raises(ValueError, match="wgs84, gcj02, bd09"):
        to_plane("gcj", 120.0, 31.0)


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_tile_preimage_holds_every_point_of_the_tile(datum: str) -> None:
    x, y = to_plane(datum, 120.3, 31.85)
    for z in (9, 13, 17):
        if datum == "bd09":
            size = 256 * 2.0 ** (18 - z)
            tx, ty = int(x // size), int(y // size)
        else:
            size = 2 * 20037508.342789244 / 2**z
            tx, ty = int((x + 20037508.342789244) // size), int((20037508.342789244 - y) // size)
        x0, y0, x1, y1 = tile_bounds(datum, z, tx, ty)
        px, py = np.meshgrid(np.linspace(x0, x1, 21), np.linspace(y0, y1, 21))
        lon, lat = from_plane(datum, px.ravel(), py.ravel())
        w, s, e, n = tile_lonlat_bounds(datum, z, tx, ty)
        assert (lon >= w).all() and (lon <= e).all() and (lat >= s).all() and (lat <= n).all()
