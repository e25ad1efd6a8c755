"""gis.coordtext: a coordinate typed by a person, in every accepted form, and the refusals
(issue 15: "40540000, 3530000" was refused with no hint). Expected values from pyproj (EPSG
registry) and gis.crs, not from the parser."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from gis.coordtext import ACCEPTED_FORMS, CoordinateTextError, parse_point
from gis.crs import Datum, to_cgcs2000

GK_LON, GK_LAT = Transformer.from_crs("EPSG:4528", "EPSG:4490", always_xy=True).transform(
    40540000, 3530000
)


@pytest.mark.parametrize(
    "typed",
    [
        "120.28,31.91",
        "31.91, 120.28",
        "31.91N 120.28E",
        "N31.91 E120.28",
        "120.28E 31.91N",
        "31°54'36\"N 120°16'48\"E",
        "北纬31度54分36秒 东经120度16分48秒",
        "120°16.8′E, 31°54.6′N",
        "１２０.２８，３１.９１",
        "120.28 31.91 cgcs2000",
        "EPSG:4490 120.28,31.91",
    ],
)
def test_degrees_in_any_order_and_dms(typed: str) -> None:
    p = parse_point(typed)
    assert p is not None
    assert p.lon == pytest.approx(120.28, abs=1e-9)
    assert p.lat == pytest.approx(31.91, abs=1e-9)
    assert p.datum is Datum.CGCS2000


@pytest.mark.parametrize(
    ("typed", "srid"),
    [
        ("40540000, 3530000", 4528),
        ("3530000 40540000", 4528),
        ("EPSG:4528 40540000,3530000", 4528),
        ("540000,3530000", 4549),
        ("3530000,540000 EPSG:4549", 4549),
        ("540000.0 3530000.0 cgcs2000", 4549),
    ],
)
def test_gauss_kruger_metres_with_and_without_the_zone(typed: str, srid: int) -> None:
    p = parse_point(typed)
    assert p is not None and p.form == "gauss_kruger" and p.srid == srid
    assert p.lon == pytest.approx(GK_LON, abs=1e-9)
    assert p.lat == pytest.approx(GK_LAT, abs=1e-9)


def test_the_same_value_twice_needs_no_order() -> None:
    p = parse_point("0.5,0.5 wgs84")
    assert p is not None and (p.x, p.y) == (0.5, 0.5)


def test_other_zones_and_central_meridians() -> None:
    # zone 39 (CM 117E, EPSG:4527) and its CM twin EPSG:4548
    lon, lat = Transformer.from_crs("EPSG:4527", "EPSG:4490", always_xy=True).transform(
        39500000, 4400000
    )
    p = parse_point("39500000,4400000")
    assert p is not None and p.srid == 4527
    assert (p.lon, p.lat) == pytest.approx((lon, lat), abs=1e-9)
    p = parse_point("EPSG:4548 500000,4400000")
    assert p is not None and p.srid == 4548
    assert (p.lon, p.lat) == pytest.approx((lon, lat), abs=1e-9)
    # a 6-digit easting on the caller's own central meridian
    p = parse_point("500000,4400000", default_srid=4548)
    assert p is not None and (p.lon, p.lat) == pytest.approx((lon, lat), abs=1e-9)


@pytest.mark.parametrize("datum", [Datum.WGS84, Datum.GCJ02, Datum.BD09])
def test_a_named_datum_or_the_default_is_converted(datum: Datum) -> None:
    x, y = to_cgcs2000(120.28, 31.91, datum)
    for p in (
        parse_point(f"120.28,31.91 {datum.value}"),
        parse_point("31.91,120.28", default=datum),
    ):
        assert p is not None and p.datum is datum
        assert (p.lon, p.lat) == pytest.approx((float(x), float(y)), abs=1e-9)
        assert (p.x, p.y) == (120.28, 31.91)


@pytest.mark.parametrize(
    "typed", ["澄江街道", "320281001", "320281 001 201", "#12", "12", "12ab", "wgs84", "", "  "]
)
def test_words_codes_and_event_numbers_are_not_coordinates(typed: str) -> None:
    assert parse_point(typed) is None


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("31.9,60", "unclear"),  # both 90 or less: which is the longitude?
        ("31.9N,60N", "both"),
        ("200,3530000", "neither degrees"),
        ("1234,3530000", "neither degrees"),
        ("120.28,95", "latitude out of range"),
        ("200.5,31.9", "longitude 200.5 out of range"),
        ("95N,120E", "latitude 95 out of range"),
        ("1,2,3", "two values"),
        ("41540000,3530000 EPSG:4528", "zone 41"),
        ("10540000,3530000", "zone 10"),
        ("EPSG:3857 1,2", "EPSG:3857"),
        ("3530000,540000 wgs84", "CGCS2000"),
        ("31°75'N 120°E", "under 60"),
        ("120.28 gcj02", "two values"),
        ("EPSG:4528 120.28,31.91", "degrees"),
        ("120.28,31.91 wgs84 gcj02", "one datum"),
        ("31.9N 120.2E N", "follows no number"),
    ],
)
def test_unreadable_numbers_say_why_and_list_the_forms(typed: str, why: str) -> None:
    with pytest.raises(CoordinateTextError) as caught:
        parse_point(typed)
    assert why in caught.value.message
    assert caught.value.message_zh
    assert ACCEPTED_FORMS["en"] in caught.value.hint("en")
    assert ACCEPTED_FORMS["zh"] in caught.value.hint("zh")
    assert "40540000,3530000" in caught.value.hint("zh")
