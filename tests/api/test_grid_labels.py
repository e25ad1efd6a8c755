"""GET /api/v1/grid-labels: name points of grids for the map pages (no geometry), the children
of a grid or the unit grids of a view; every bad parameter a 422 naming it."""

from __future__ import annotations

import httpx
import pytest
from shapely import wkb
from shapely.geometry import Point
from sqlalchemy import Engine, text


def test_town_labels_lie_inside_their_towns(client: httpx.Client, engine: Engine) -> None:
    answer = client.get("/api/v1/grid-labels?level=1")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 17 and body["truncated"] is False
    assert set(body["data"][0]) >= {"code", "name", "level", "lon", "lat"}
    with engine.connect() as conn:
        shapes = {
            r.code: wkb.loads(bytes(r.g))
            for r in conn.execute(
                text(
                    "SELECT code, ST_AsBinary(geom) AS g FROM grid "
                    "WHERE generation_id = :g AND level = 1"
                ),
                {"g": body["generation"]["id"]},
            )
        }
    for row in body["data"]:
        assert shapes[row["code"]].contains(Point(row["lon"], row["lat"])), row


def test_children_of_a_town_and_of_a_village(client: httpx.Client) -> None:
    villages = client.get("/api/v1/grid-labels?parent=320281001").json()["data"]
    assert villages and all(v["level"] == 2 for v in villages)
    assert all(v["code"].startswith("320281001") and len(v["code"]) == 12 for v in villages)
    detail = client.get("/api/v1/grids/320281001").json()["properties"]
    assert [v["code"] for v in villages] == [c["code"] for c in detail["children"]]
    units = client.get(f"/api/v1/grid-labels?parent={villages[0]['code']}&level=3").json()
    assert units["count"] > 0 and all(u["level"] == 3 for u in units["data"])


def test_unit_grids_of_a_view(client: httpx.Client) -> None:
    unit = client.get("/api/v1/grid-labels?parent=320281001001").json()["data"][0]
    w, s = unit["lon"] - 0.01, unit["lat"] - 0.01
    e, n = unit["lon"] + 0.01, unit["lat"] + 0.01
    body = client.get(f"/api/v1/grid-labels?level=3&bbox={w},{s},{e},{n}").json()
    assert unit["code"] in [r["code"] for r in body["data"]]
    assert all(w <= r["lon"] <= e and s <= r["lat"] <= n for r in body["data"])
    empty = client.get("/api/v1/grid-labels?level=3&bbox=100,10,100.1,10.1").json()
    assert empty == {**empty, "count": 0, "data": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "level"),
        ("level=4", "level"),
        ("level=3", "bbox"),
        ("level=3&bbox=119,31,121,33", "bbox"),
        ("level=3&bbox=120,31,abc,32", "bbox"),
        ("parent=320281001001001", "parent"),
        ("parent=12345", "parent"),
        ("parent=320281001&level=3", "level"),
        ("level=1&generation=0", None),
    ],
)
def test_bad_parameters_say_which_and_how(client: httpx.Client, query: str, field: str) -> None:
    answer = client.get(f"/api/v1/grid-labels?{query}")
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    if field:
        assert answer.json()["field"] == field


def test_unknown_generation_is_404_and_login_is_needed(
    client: httpx.Client, anon: httpx.Client
) -> None:
    assert client.get("/api/v1/grid-labels?level=1&generation=999999").status_code == 404
    assert anon.get("/api/v1/grid-labels?level=1").status_code == 401
