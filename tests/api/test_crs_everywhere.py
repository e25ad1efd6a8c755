"""Every endpoint that takes a point takes its datum (``crs``) and a 3D position (z ignored):
the same place sent in CGCS2000, WGS 84, GCJ-02 (Amap) and BD-09 (Baidu) lands in the same
unit grid. Case 10: a household in Amap coordinates."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest

from gis.creditcode import make_code
from gis.crs import Datum, from_cgcs2000

PROJECT_DIR = Path(__file__).resolve().parents[2]
CASES = PROJECT_DIR.parent / "shared" / "cases" / "clients"
DATUMS = [Datum.CGCS2000, Datum.WGS84, Datum.GCJ02, Datum.BD09]


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture(scope="module")
def spot(demo_grids):  # type: ignore[no-untyped-def]
    """The middle of a unit grid (far from its edges: the GCJ-02 shift is ~500 m) and its
    position in every datum."""
    l3 = demo_grids[demo_grids.level == 3].iloc[200]
    p = l3.geometry.representative_point()
    out = {"code": l3.code}
    for d in DATUMS:
        lon, lat = from_cgcs2000([p.x], [p.y], d)
        out[d.value] = (float(lon[0]), float(lat[0]))
    return out


def _household(code: str, lon: float, lat: float, **kw) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {"code": code, "address": "测试路1号", "lon": lon, "lat": lat, "head_name": "张三"} | kw


def test_households_take_crs_in_body_or_query(live_server, tokens, spot) -> None:
    with _as(live_server, tokens["officer"]) as officer:
        for d in DATUMS:
            lon, lat = spot[d.value]
            hh = f"CRS-{secrets.token_hex(4)}"
            r = officer.post("/api/v1/households", json=_household(hh, lon, lat, crs=d.value))
            assert r.status_code == 201, r.text
            assert r.json()["grid_code"] == spot["code"], d
            r = officer.post(
                "/api/v1/households", params={"crs": d.value}, json=_household(hh + "q", lon, lat)
            )
            assert r.status_code == 201 and r.json()["grid_code"] == spot["code"], (d, r.text)
        lon, lat = spot["gcj02"]
        r = officer.post("/api/v1/households", json=_household("CRS-bad", lon, lat, crs="utm"))
        assert r.status_code == 422 and r.json()["field"] == "crs"
        r = officer.post(
            "/api/v1/households",
            params={"crs": "bd09"},
            json=_household("CRS-both", lon, lat, crs="gcj02"),
        )
        assert r.status_code == 422 and r.json()["field"] == "crs"


def test_market_entities_take_crs(live_server, tokens, spot) -> None:
    with _as(live_server, tokens["planner"]) as planner:
        for d in DATUMS:
            lon, lat = spot[d.value]
            code = make_code("91320281" + secrets.token_hex(5).upper()[:9])
            body = {
                "credit_code": code,
                "name": "测试商户",
                "category": "retail",
                "lon": lon,
                "lat": lat,
                "crs": d.value,
            }
            r = planner.post("/api/v1/market-entities", json=body)
            assert r.status_code == 201, r.text
            assert r.json()["grid_code"] == spot["code"], d


def test_events_locate_responsible_and_3d_points(live_server, tokens, spot) -> None:
    with _as(live_server, tokens["officer"]) as officer:
        for d in DATUMS:
            lon, lat = spot[d.value]
            r = officer.post(
                "/api/v1/events",
                json={
                    "lon": lon,
                    "lat": lat,
                    "crs": d.value,
                    "alt": 12.5,
                    "subclass": "0401",
                    "description": "crs test",
                    "ignore_duplicates": True,
                },
            )
            assert r.status_code == 201, r.text
            assert r.json()["routing"]["grid_code"] == spot["code"], d
            q = {"lon": lon, "lat": lat, "crs": d.value}
            r = officer.get("/api/v1/events/duplicates", params=q | {"subclass": "0401"})
            assert r.status_code == 200 and r.json()["count"] >= 1, (d, r.text)
            assert officer.get("/api/v1/locate", params=q).json()["l3"]["code"] == spot["code"]
            r = officer.get("/api/v1/responsible", params=q)
            assert r.status_code == 200, r.text
            r = officer.post(
                "/api/v1/locate", json={"crs": d.value, "points": [[lon, lat, 35.0], [lon, lat]]}
            )
            assert r.status_code == 200, r.text
            assert [p["l3"] for p in r.json()["results"]] == [spot["code"]] * 2, r.json()
        r = officer.post("/api/v1/locate", json={"points": [[1.0, 2.0, 3.0, 4.0]]})
        assert r.status_code == 422 and r.json()["field"] == "points/0"


def test_case_10_household_in_gcj02(live_server, tokens) -> None:
    path = CASES / "10-household-gcj02.json"
    if not path.is_file():
        pytest.skip(f"case file absent: {path}")
    case = json.loads(path.read_text(encoding="utf-8"))
    body = {k: v for k, v in case.items() if k != "members"}  # the case's subject is crs
    body |= {"code": f"CASE10-{secrets.token_hex(4)}", "address": "澄江街道万街社区"}
    with _as(live_server, tokens["officer"]) as officer:
        r = officer.post("/api/v1/households", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["grid_code"] == "320281001009006"  # not 320281001003002 (GCJ-02 as-is)


def test_epsg_and_ogc_names_are_taken_wherever_crs_is(live_server, tokens, spot) -> None:
    """EPSG:4326 / EPSG:4490, their OGC URIs and OGC CRS84 name WGS 84 and CGCS2000 on every
    endpoint that takes ``crs`` (one parser: api.deps.parse_crs, gis.crs.datum_of)."""
    names = {
        "wgs84": ["EPSG:4326", "http://www.opengis.net/def/crs/EPSG/0/4326",
                  "http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "cgcs2000": ["EPSG:4490", "http://www.opengis.net/def/crs/EPSG/0/4490"],
    }  # fmt: skip
    with _as(live_server, tokens["officer"]) as officer:
        for datum, aliases in names.items():
            lon, lat = spot[datum]
            for name in aliases:
                q = {"lon": lon, "lat": lat, "crs": name}
                r = officer.get("/api/v1/locate", params=q)
                assert r.status_code == 200 and r.json()["l3"]["code"] == spot["code"], r.text
                r = officer.post("/api/v1/locate", json={"crs": name, "points": [[lon, lat]]})
                assert r.status_code == 200, r.text
                assert r.json()["results"][0]["l3"] == spot["code"]
                hh = f"CRS-{secrets.token_hex(4)}"
                r = officer.post("/api/v1/households", json=_household(hh, lon, lat, crs=name))
                assert r.status_code == 201 and r.json()["grid_code"] == spot["code"], r.text
        r = officer.get("/api/v1/locate", params={"lon": 1, "lat": 2, "crs": "EPSG:4549"})
        assert r.status_code == 422 and r.json()["field"] == "crs"
        assert "EPSG:4326" in r.json()["detail"]
