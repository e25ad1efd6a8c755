"""The OGC collection ``zones`` (执法片区), read by GDAL's OAPIF driver and by hand."""

from __future__ import annotations

import pyogrio
import pytest
from shapely.geometry import box, shape
from shapely.ops import unary_union

from tests.api.test_ogc import gdal_auth  # noqa: F401  (GDAL bearer-token fixture)
from tests.people_fixtures import *  # noqa: F403  (session fixtures of issue 3)


def zone_count(client) -> int:  # type: ignore[no-untyped-def]
    # From the API, not people_demo's counts: a second module importing people_demo in the
    # same session finds the people loaded and gets no counts back.
    return len(client.get("/api/v1/zones").json()["features"])


def test_gdal_reads_every_zone_through_paging(live_server, gdal_auth, client, people_demo) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    api = client.get("/api/v1/zones").json()["features"]
    # a page size below the number of zones, so GDAL has to follow the next links
    frame = pyogrio.read_dataframe(f"OAPIF:{live_server}/ogc", layer="zones", PAGE_SIZE=10)
    assert len(frame) == len(api) > 17 * 3 - 1
    assert frame["code"].is_unique
    assert {
        "code",
        "name",
        "town_code",
        "squad_name",
        "squad_members",
        "member_count",
        "grid_count",
    } <= set(frame.columns)
    assert frame.geometry.is_valid.all()
    assert (frame["member_count"] >= 1).all() and (frame["squad_members"] >= 1).all()
    assert frame["squad_name"].str.contains("中队").all()
    # a town's zones dissolve into the town (level-1 grid) itself: no gap, no overlap
    town = "320281104"
    towns = pyogrio.read_dataframe(f"OAPIF:{live_server}/ogc", layer="grids-l1")
    town_shape = towns.loc[towns["code"] == town].geometry.iloc[0]
    zones = frame.loc[frame["town_code"] == town]
    assert 3 <= len(zones) <= 4
    dissolved = unary_union(list(zones.geometry))
    assert dissolved.symmetric_difference(town_shape).area < 1e-6 * town_shape.area
    assert sum(z.area for z in zones.geometry) == pytest.approx(town_shape.area, rel=1e-6)


def test_gdal_zone_bbox_filter(live_server, gdal_auth, client, people_demo) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    bbox = (120.27, 31.89, 120.29, 31.91)
    frame = pyogrio.read_dataframe(f"OAPIF:{live_server}/ogc", layer="zones", bbox=bbox)
    assert 0 < len(frame) < zone_count(client)
    assert all(g.intersects(box(*bbox)) for g in frame.geometry)


def test_zone_paging_links_and_item(client, people_demo) -> None:  # type: ignore[no-untyped-def]
    total = zone_count(client)
    first = client.get("/ogc/collections/zones/items", params={"limit": 10}).json()
    assert first["numberMatched"] == total and first["numberReturned"] == 10
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert "offset=10" in rels["next"] and "prev" not in rels
    rest = client.get("/ogc/collections/zones/items", params={"limit": 1000, "offset": 10}).json()
    assert rest["numberReturned"] == total - 10
    assert "next" not in {link["rel"] for link in rest["links"]}
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in rest["features"]}
    code = first["features"][0]["id"]
    item = client.get(f"/ogc/collections/zones/items/{code}").json()
    assert item["properties"]["code"] == code and item["links"][0]["rel"] == "self"
    assert shape(item["geometry"]).area > 0
    meta = client.get("/ogc/collections/zones").json()
    assert meta["id"] == "zones" and len(meta["extent"]["spatial"]["bbox"][0]) == 4


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/ogc/collections/zones/items/NOPE", {}, 404, "featureId"),
        ("/ogc/collections/zones/items", {"limit": 0}, 400, "limit"),
        ("/ogc/collections/zones/items", {"offset": -1}, 400, "offset"),
        ("/ogc/collections/zones/items", {"bbox": "1,2,3"}, 400, "bbox"),
        ("/ogc/collections/zone/items", {}, 404, "collectionId"),
    ],
)
def test_zone_collection_bad_input(client, people_demo, path, params, status, field) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field
