"""Grid listings, one grid with relations, generations — over real HTTP."""

from __future__ import annotations

import pytest


def test_generations_lists_the_active_demo(client, demo_generation) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/generations").json()
    active = [g for g in body["data"] if g["status"] == "active"]
    assert body["count"] == len(body["data"])
    assert [g["id"] for g in active] == [demo_generation]
    one = client.get(f"/api/v1/generations/{demo_generation}").json()
    assert one["activated_at"].startswith("2023-12-31T16:00:00")  # 2024-01-01 00:00 +08:00


@pytest.mark.parametrize(("level", "count"), [(1, 17), (2, 271), (3, 1558)])
def test_grids_by_level(client, level, count) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/grids", params={"level": level, "simplify": 5})
    assert r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    assert len(features) == count
    props = features[0]["properties"]
    assert set(props) == {"code", "name", "level", "parent_code", "area_m2"}
    assert len(props["code"]) == 6 + 3 * level
    assert props["area_m2"] > 0


def test_grids_by_parent_and_bbox(client) -> None:  # type: ignore[no-untyped-def]
    towns = client.get("/api/v1/grids", params={"level": 1}).json()["features"]
    core = next(f for f in towns if f["properties"]["code"] == "320281001")
    villages = client.get("/api/v1/grids", params={"parent": "320281001"}).json()["features"]
    assert villages and all(f["properties"]["parent_code"] == "320281001" for f in villages)
    bbox = "120.27,31.89,120.29,31.91"
    in_box = client.get("/api/v1/grids", params={"level": 3, "bbox": bbox}).json()["features"]
    assert 0 < len(in_box) < 1558
    assert core["properties"]["name"] == "澄江街道"


def test_one_grid_with_relations(client) -> None:  # type: ignore[no-untyped-def]
    villages = client.get("/api/v1/grids", params={"parent": "320281001"}).json()["features"]
    code = villages[0]["properties"]["code"]
    body = client.get(f"/api/v1/grids/{code}").json()
    props = body["properties"]
    assert body["geometry"]["type"] == "MultiPolygon"
    assert [a["code"] for a in props["ancestors"]] == ["320281001"]
    assert props["children"] and all(c["code"].startswith(code) for c in props["children"])
    assert props["neighbours"] and all(len(n["code"]) == 12 for n in props["neighbours"])
    assert code not in [n["code"] for n in props["neighbours"]]


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/grids/320281999999999", {}, 404, "code"),
        ("/api/v1/grids/12345", {}, 422, "code"),
        ("/api/v1/grids/abc", {}, 422, "code"),
        ("/api/v1/grids", {"level": 4}, 422, "level"),
        ("/api/v1/grids", {"bbox": "1,2,3"}, 422, "bbox"),
        ("/api/v1/grids", {"bbox": "120.3,31.9,120.2,32"}, 422, "bbox"),
        ("/api/v1/grids", {"bbox": "a,b,c,d"}, 422, "bbox"),
        ("/api/v1/grids", {"bbox": "0,95,1,96"}, 422, "bbox"),
        ("/api/v1/grids", {"generation": 424242}, 404, "generation"),
        ("/api/v1/grids", {"simplify": -1}, 422, "simplify"),
        ("/api/v1/grids", {"parent": "x"}, 422, "parent"),
        ("/api/v1/generations/777777", {}, 404, "generation"),
    ],
)
def test_grids_bad_input_is_a_problem(client, path, params, status, field) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


def test_bbox_in_gcj02_is_converted_before_the_query(client) -> None:  # type: ignore[no-untyped-def]
    from gis.crs import wgs84_to_gcj02

    west, south, east, north = 120.27, 31.89, 120.275, 31.895
    plain = client.get(
        "/api/v1/grids", params={"level": 3, "bbox": f"{west},{south},{east},{north}"}
    )
    gx, gy = wgs84_to_gcj02([west, east], [south, north])
    gcj_bbox = f"{gx[0]},{gy[0]},{gx[1]},{gy[1]}"
    converted = client.get("/api/v1/grids", params={"level": 3, "bbox": gcj_bbox, "crs": "gcj02"})
    unconverted = client.get("/api/v1/grids", params={"level": 3, "bbox": gcj_bbox})
    codes = [{f["id"] for f in r.json()["features"]} for r in (plain, converted, unconverted)]
    assert codes[0] == codes[1]
    assert codes[0] != codes[2]  # a 500 m shift selects other grids
    bad = client.get("/api/v1/grids", params={"bbox": gcj_bbox, "crs": "utm"})
    assert bad.status_code == 422 and bad.json()["field"] == "crs"


def test_bbox_tests_geometries_not_envelopes(client, engine, demo_generation) -> None:  # type: ignore[no-untyped-def]
    """The grids of a bbox are those whose polygon meets it (ST_Intersects), not every grid
    whose envelope does: towns are irregular, so a box in a town's envelope corner misses it."""
    from sqlalchemy import text

    bbox = (120.27, 31.89, 120.29, 31.91)
    with engine.connect() as conn:
        exact = set(conn.execute(text(
            "SELECT code FROM grid WHERE generation_id = :g AND level = 1 AND "
            "ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4490))"),
            {"g": demo_generation, "w": bbox[0], "s": bbox[1], "e": bbox[2], "n": bbox[3]},
        ).scalars())  # fmt: skip
        envelope = set(conn.execute(text(
            "SELECT code FROM grid WHERE generation_id = :g AND level = 1 AND "
            "geom && ST_MakeEnvelope(:w, :s, :e, :n, 4490)"),
            {"g": demo_generation, "w": bbox[0], "s": bbox[1], "e": bbox[2], "n": bbox[3]},
        ).scalars())  # fmt: skip
    r = client.get("/api/v1/grids", params={"level": 1, "bbox": ",".join(map(str, bbox))})
    assert {f["properties"]["code"] for f in r.json()["features"]} == exact
    assert exact <= envelope
