"""GCJ-02 / BD-09 transforms: published reference values, round trips, accuracy over the city."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.crs import (
    Datum,
    bd09_to_gcj02,
    bd09_to_wgs84,
    datum_of,
    from_cgcs2000,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_cgcs2000,
    to_metric,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# Jiangyin's extent (CGCS2000 / WGS 84)
CITY = {"lon": (119.99, 120.60), "lat": (31.68, 32.00)}
lons = st.floats(*CITY["lon"], allow_nan=False)
lats = st.floats(*CITY["lat"], allow_nan=False)


def metres(lon_a, lat_a, lon_b, lat_b):  # type: ignore[no-untyped-def]
    xa, ya = to_metric(lon_a, lat_a)
    xb, yb = to_metric(lon_b, lat_b)
    return np.hypot(xa - xb, ya - yb)


def test_published_reference_values() -> None:
    # The values every open implementation (e.g. coordtransform) publishes for Tiananmen.
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert (float(lon), float(lat)) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-12
    )
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert (float(lon), float(lat)) == pytest.approx(
        (116.41036949371029, 39.92133699351022), abs=1e-12
    )
    # the one-step BD-09 inverse gives (116.39762729, 39.90865674); ours is exact, within 1 m of it
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert (float(lon), float(lat)) == pytest.approx((116.39762729, 39.90865674), abs=1e-5)


def test_shift_over_jiangyin_is_460_to_510_m_and_bd09_about_1_1_km() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(*CITY["lon"], 10_000)
    lat = rng.uniform(*CITY["lat"], 10_000)
    gcj = metres(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert 455 < gcj.min() and gcj.max() < 515
    bd = metres(lon, lat, *wgs84_to_bd09(lon, lat))
    assert 1000 < bd.min() and bd.max() < 1250


def test_iterative_inverse_is_under_half_a_metre_everywhere_in_the_city() -> None:
    grid_lon, grid_lat = np.meshgrid(np.linspace(*CITY["lon"], 300), np.linspace(*CITY["lat"], 300))
    lon, lat = grid_lon.ravel(), grid_lat.ravel()
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, *back).max() < 0.005  # far below the 0.5 m requirement
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back).max() < 0.005


def test_one_step_inverse_would_err_by_about_two_metres() -> None:
    """Why we iterate: subtracting the forward offset once is off by ~2 m here."""
    lon, lat = np.array([120.28]), np.array([31.90])
    glon, glat = wgs84_to_gcj02(lon, lat)
    dlon, dlat = wgs84_to_gcj02(glon, glat)
    one_step = (glon - (dlon - glon), glat - (dlat - glat))
    assert 0.5 < metres(lon, lat, *one_step)[0] < 5


@settings(max_examples=300, deadline=None)
@given(lons, lats)
def test_round_trip_property(lon: float, lat: float) -> None:
    for datum in Datum:
        x, y = from_cgcs2000(lon, lat, datum)
        bx, by = to_cgcs2000(x, y, datum)
        assert metres(lon, lat, bx, by)[()] < 0.01


@given(st.floats(-180, 180), st.floats(-90, 90))
def test_outside_china_is_unchanged(lon: float, lat: float) -> None:
    if not out_of_china(lon, lat):
        return
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="same shape"):
        wgs84_to_gcj02([1.0, 2.0], [1.0])


def test_unknown_datum_is_refused() -> None:
    with pytest.raises(ValueError):
        to_cgcs2000(120.0, 31.0, "mars")


@pytest.mark.parametrize(
    ("name", "datum"),
    [
        ("cgcs2000", Datum.CGCS2000),
        (" GCJ02 ", Datum.GCJ02),
        ("EPSG:4326", Datum.WGS84),
        ("epsg:4490", Datum.CGCS2000),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", Datum.WGS84),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", Datum.CGCS2000),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", Datum.WGS84),
        ("urn:ogc:def:crs:EPSG::4490", Datum.CGCS2000),
        ("OGC:CRS84", Datum.WGS84),
    ],
)
def test_datum_of_takes_our_epsg_and_ogc_names(name: str, datum: Datum) -> None:
    assert datum_of(name) is datum


@pytest.mark.parametrize("name", ["EPSG:4549", "utm", "", "EPSG:43260", "http://www.opengis.net/"])
def test_datum_of_refuses_other_crs(name: str) -> None:
    assert datum_of(name) is None
