"""Issue 10 (second re-trial, fault 2): a file sent with the wrong CRS is refused as such
(422, field ``crs``) with the likely CRS named, not as a draft that "drops 100 % of the city":
lon/lat GeoJSON sent as EPSG:3857 → EPSG:4490/4326; metres (EPSG:4549) sent as EPSG:4490 →
EPSG:4549. The Chinese text is Chinese throughout. Nothing is stored. The right CRS imports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
from sqlalchemy import Engine, text

PROBLEM = "application/problem+json"
# what may stay Latin in a Chinese message: CRS names, the field name, axis letters, ellipses
ALLOWED_LATIN = re.compile(r"EPSG|crs|\bx\b|\by\b")


@pytest.fixture
def planner(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['planner']}"}, timeout=300
    ) as c:
        yield c


def _upload(c: httpx.Client, path: Path, lang: str | None = None, **fields: str) -> httpx.Response:
    headers = {"Accept-Language": lang} if lang else {}
    return c.post(
        "/api/v1/generations", data={"name": "wrong crs", **fields}, headers=headers,
        files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
    )  # fmt: skip


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM generation")).scalar_one())


def _l3_geojson(demo_grids: gpd.GeoDataFrame, path: Path, epsg: int | None = None) -> Path:
    units = demo_grids[demo_grids.level == 3]
    if epsg is not None:
        units = units.to_crs(epsg=epsg)
    data = json.loads(units.to_json())
    data.pop("crs", None)  # a planner's GeoJSON states no CRS: the form's crs= is what counts
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_lon_lat_sent_as_web_mercator_names_the_likely_crs(  # type: ignore[no-untyped-def]
    planner, engine, demo_grids, demo_generation, tmp_path
) -> None:
    path = _l3_geojson(demo_grids, tmp_path / "l3.geojson")
    before = _count(engine)
    r = _upload(planner, path, "en", crs="EPSG:3857")
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), r.text
    body = r.json()
    assert body["field"] == "crs", body
    assert "EPSG:4490" in body["detail"] and "EPSG:4326" in body["detail"]
    assert "longitude/latitude" in body["detail"] and "nowhere near the city" in body["detail"]
    assert "drops" not in body["detail"]
    hint = body["crs_hint"]
    assert hint["likely_crs"] == ["EPSG:4490", "EPSG:4326"] and hint["stated_crs"] == "EPSG:3857"
    assert 119 < hint["bounds"][0] < 122 and 30 < hint["bounds"][1] < 33
    zh = _upload(planner, path, "zh-CN", crs="EPSG:3857")
    assert zh.status_code == 422, zh.text
    detail = zh.json()["detail"]
    assert "EPSG:4490" in detail and "经纬度" in detail and "公里" in detail
    assert not re.search(r"[A-Za-z]", ALLOWED_LATIN.sub("", detail)), detail
    assert _count(engine) == before
    # the right CRS: no refusal about the CRS (stored as a draft, removed again)
    ok = _upload(planner, path, crs="EPSG:4490")
    assert ok.status_code == 201, ok.text
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM generation WHERE id = :g"),
                     {"g": ok.json()["generation"]["id"]})  # fmt: skip


def test_metres_sent_as_degrees_names_the_metric_crs(  # type: ignore[no-untyped-def]
    planner, engine, demo_grids, demo_generation, tmp_path
) -> None:
    path = _l3_geojson(demo_grids, tmp_path / "metres.geojson", epsg=4549)
    before = _count(engine)
    r = _upload(planner, path, "en", crs="EPSG:4490")
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), r.text
    body = r.json()
    assert body["field"] == "crs" and "EPSG:4549" in body["detail"], body
    assert "metres" in body["detail"] and "area of use" in body["detail"]
    zh = _upload(planner, path, "zh-CN", crs="EPSG:4490")
    detail = zh.json()["detail"]
    assert zh.status_code == 422 and "EPSG:4549" in detail and "米制" in detail, detail
    assert not re.search(r"[A-Za-z]", ALLOWED_LATIN.sub("", detail)), detail
    assert _count(engine) == before


def test_a_whole_city_dropped_is_told_in_chinese_throughout(  # type: ignore[no-untyped-def]
    planner, demo_grids, demo_generation, tmp_path
) -> None:
    """The drop refusal itself (right CRS, one town only): Chinese words for its numbers."""
    units = demo_grids[demo_grids.level == 3]
    one_town = units[units.code.str[:9] == units.code.iloc[0][:9]]
    path = tmp_path / "town.geojson"
    data = json.loads(one_town.to_json())
    data.pop("crs", None)
    path.write_text(json.dumps(data), encoding="utf-8")
    r = _upload(planner, path, "zh-CN", crs="EPSG:4490")
    assert r.status_code == 422 and r.json()["field"] == "file", r.text
    detail = r.json()["detail"]
    assert "平方公里" in detail and "相距" in detail, detail
    assert not re.search(r"[A-Za-z]", ALLOWED_LATIN.sub("", detail)), detail
