"""Point-in-grid routing over real HTTP on the demo city."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from gis.crs import wgs84_to_bd09, wgs84_to_gcj02


@pytest.fixture(scope="module")
def inside_points(demo_grids):  # type: ignore[no-untyped-def]
    """(lon, lat, l3 code) of each L3 grid's representative point, for 40 grids."""
    l3 = demo_grids[demo_grids.level == 3].sort_values("code").iloc[::39]
    pts = l3.geometry.representative_point()
    return list(zip(pts.x, pts.y, l3.code, strict=True))


def test_locate_one_point_returns_all_three_levels(client, inside_points) -> None:  # type: ignore[no-untyped-def]
    lon, lat, code = inside_points[0]
    body = client.get("/api/v1/locate", params={"lon": lon, "lat": lat}).json()
    assert body["found"] is True
    assert body["l3"]["code"] == code
    assert body["l2"]["code"] == code[:12]
    assert body["l1"]["code"] == code[:9]
    assert body["l1"]["name"]
    assert body["generation"]["id"]


@pytest.mark.parametrize("datum", ["gcj02", "bd09", "wgs84", "cgcs2000"])
def test_locate_accepts_every_datum(client, inside_points, datum) -> None:  # type: ignore[no-untyped-def]
    for lon, lat, code in inside_points[:5]:
        if datum == "gcj02":
            x, y = wgs84_to_gcj02(lon, lat)
        elif datum == "bd09":
            x, y = wgs84_to_bd09(lon, lat)
        else:
            x, y = lon, lat
        body = client.get(
            "/api/v1/locate", params={"lon": float(x), "lat": float(y), "crs": datum}
        ).json()
        assert body["l3"]["code"] == code, (datum, body)
        assert abs(body["lon"] - lon) < 1e-7 and abs(body["lat"] - lat) < 1e-7


def test_locate_outside_city_says_none(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/locate", params={"lon": 121.47, "lat": 31.23}).json()  # Shanghai
    assert body["found"] is False
    assert body["l3"] is None and body["l2"] is None and body["l1"] is None


def test_locate_at_a_date_before_any_generation_is_404(client, inside_points) -> None:  # type: ignore[no-untyped-def]
    lon, lat, _ = inside_points[0]
    r = client.get("/api/v1/locate", params={"lon": lon, "lat": lat, "at": "2020-01-01"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "at"
    ok = client.get("/api/v1/locate", params={"lon": lon, "lat": lat, "at": "2025-06-01"})
    assert ok.status_code == 200 and ok.json()["found"]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"lon": "nan", "lat": 31.9}, "lon", "finite"),
        ({"lon": 120.3, "lat": "inf"}, "lat", "finite"),
        ({"lon": 31.9, "lat": 120.3}, "lat", "swapped"),
        ({"lon": 200, "lat": 31.9}, "lon", "-180..180"),
        ({"lon": "abc", "lat": 31.9}, "lon", "number"),
        ({"lat": 31.9}, "lon", "required"),
        ({"lon": 120.3, "lat": 31.9, "crs": "utm"}, "crs", "cgcs2000|wgs84|gcj02|bd09"),
        ({"lon": 120.3, "lat": 31.9, "at": "yesterday"}, "at", "ISO 8601"),
        ({"lon": 120.3, "lat": 31.9, "generation": 99999}, "generation", "no generation"),
    ],
)
def test_locate_bad_input_is_a_problem(client, params, field, words) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/locate", params=params)
    assert r.status_code in (404, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["field"] == field
    assert words in body["detail"]
    assert {"type", "title", "status", "detail"} <= body.keys()


def test_batch_json_agrees_with_single_lookups(client, inside_points) -> None:  # type: ignore[no-untyped-def]
    points = [[lon, lat] for lon, lat, _ in inside_points] + [[121.47, 31.23]]
    body = client.post("/api/v1/locate", json={"points": points}).json()
    assert body["count"] == len(points)
    assert body["found"] == len(points) - 1
    assert [r["l3"] for r in body["results"][:-1]] == [c for _, _, c in inside_points]
    assert body["results"][-1] == {"l3": None, "l2": None, "l1": None}


def test_batch_columnar_json_in_gcj02(client, inside_points) -> None:  # type: ignore[no-untyped-def]
    lon = np.array([p[0] for p in inside_points])
    lat = np.array([p[1] for p in inside_points])
    gx, gy = wgs84_to_gcj02(lon, lat)
    body = client.post(
        "/api/v1/locate", json={"crs": "gcj02", "lon": gx.tolist(), "lat": gy.tolist()}
    ).json()
    assert [r["l3"] for r in body["results"]] == [c for _, _, c in inside_points]


def test_batch_csv_in_csv_out_keeps_ids(client, inside_points) -> None:  # type: ignore[no-untyped-def]
    lines = ["id,lon,lat"] + [f"p{i},{lon},{lat}" for i, (lon, lat, _) in enumerate(inside_points)]
    r = client.post(
        "/api/v1/locate", content="\n".join(lines), headers={"Content-Type": "text/csv"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows] == [f"p{i}" for i in range(len(inside_points))]
    assert [row["l3"] for row in rows] == [c for _, _, c in inside_points]


def test_batch_of_100k_points(client) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    lon = rng.uniform(119.99, 120.6, 100_000)
    lat = rng.uniform(31.69, 31.99, 100_000)
    body = client.post("/api/v1/locate", json={"lon": lon.tolist(), "lat": lat.tolist()}).json()
    assert body["count"] == 100_000
    assert 0 < body["found"] < 100_000


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"content": b"{not json"}, 422, "body"),
        ({"json": [1, 2]}, 422, "body"),
        ({"json": {"points": [[120.3, 31.9], [120.3]]}}, 422, "points/1"),
        ({"json": {"points": [[120.3, 31.9], ["a", "b"]]}}, 422, "points/1"),
        ({"json": {"points": [[120.3, 31.9], [31.9, 120.3]]}}, 422, "points/1/lat"),
        ({"json": {"lon": [1, 2], "lat": [1]}}, 422, "lat"),
        ({"json": {}}, 422, "points"),
        ({"json": {"nothing": 1}}, 422, "nothing"),  # not a field of the body
        ({"json": {"points": [[120.3, 31.9]], "crs": "mars"}}, 422, "crs"),
        ({"content": b"x,y\n1,2", "headers": {"Content-Type": "text/csv"}}, 422, "body"),
        ({"content": b"lon,lat\n1,zz", "headers": {"Content-Type": "text/csv"}}, 422, "line 2"),
        (
            {"content": b"<xml/>", "headers": {"Content-Type": "application/xml"}},
            415,
            "Content-Type",
        ),
    ],
)
def test_batch_bad_input_is_a_problem(client, kwargs, status, field) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/locate", **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


def test_batch_over_the_limit_is_413(client) -> None:  # type: ignore[no-untyped-def]
    n = 100_001
    r = client.post("/api/v1/locate", json={"lon": [120.3] * n, "lat": [31.9] * n})
    assert r.status_code == 413
    assert "100000" in r.json()["detail"]


def test_batch_with_nan_lists_each_bad_index(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/locate",
        content=b'{"lon": [120.3, NaN, 120.2], "lat": [31.9, 31.9, 95]}',
        headers={"Content-Type": "application/json"},
    )
    # orjson rejects the non-standard NaN literal: a malformed body, not a 500
    assert r.status_code == 422
