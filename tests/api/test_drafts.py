"""Drafts over HTTP: a copy of a generation, or a planner's file compared with the active
generation before it is stored; bad files answered with problem+json naming the fix."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
import shapely

PROBLEM = "application/problem+json"


@pytest.fixture
def planner(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['planner']}"}, timeout=120
    ) as c:
        yield c


def _gpkg(frame: gpd.GeoDataFrame, path: Path, layer: str | None = None) -> Path:
    frame.to_file(path, layer=layer) if layer else frame.to_file(path)
    return path


def _upload(
    client: httpx.Client, path: Path, name: str = "test draft", **fields: str
) -> httpx.Response:
    with path.open("rb") as fh:
        return client.post(
            "/api/v1/generations",
            data={"name": name, **fields},
            files={"file": (path.name, fh.read(), "application/octet-stream")},
        )


def _is_problem(r: httpx.Response, status: int, field: str) -> dict:  # type: ignore[type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["field"] == field, body
    return body  # type: ignore[no-any-return]


def test_copy_of_the_active_generation(planner, client, demo_generation) -> None:  # type: ignore[no-untyped-def]
    r = planner.post("/api/v1/generations", json={"from": "active", "name": "copy", "note": "x"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert not {"id", "status"} & body.keys()  # the generation's fields are under "generation"
    gen = body["generation"]
    assert gen["status"] == "draft" and gen["created_from"] == demo_generation
    assert gen["created_by"].startswith("test planner") and gen["version"] == 1
    assert body["counts"] == {"1": 17, "2": 271, "3": 1558}
    assert body["publishable"] is True and body["validation"]["ok"] is True
    codes = body["comparison"]["codes"]
    assert (codes["added_count"], codes["removed_count"], codes["changed_count"]) == (0, 0, 0)
    assert body["comparison"]["outline"]["dropped_m2"] == 0
    by_id = planner.post("/api/v1/generations", json={"from": gen["id"], "name": "copy 2"})
    assert by_id.status_code == 201 and by_id.json()["generation"]["created_from"] == gen["id"]
    steps = client.get(f"/api/v1/generations/{gen['id']}/review").json()["steps"]
    assert [s["action"] for s in steps] == ["create"] and steps[0]["actor"] == "test planner"
    # a viewer may not make drafts
    _is_problem(client.post("/api/v1/generations", json={"name": "x"}), 403, "Authorization")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"from": "yesterday", "name": "x"}, 422, "from"),
        ({"from": 987654, "name": "x"}, 404, "generation"),
        ({"from": "active"}, 422, "name"),
        ({"from": "active", "name": "x", "colour": "red"}, 422, "colour"),
    ],
)
def test_copy_bad_requests(planner, body, status, field) -> None:  # type: ignore[no-untyped-def]
    _is_problem(planner.post("/api/v1/generations", json=body), status, field)


def test_copy_needs_json_or_multipart(planner) -> None:  # type: ignore[no-untyped-def]
    r = planner.post(
        "/api/v1/generations", content=b"code,name", headers={"Content-Type": "text/csv"}
    )
    _is_problem(r, 415, "Content-Type")
    r = planner.post(
        "/api/v1/generations", content=b"{no", headers={"Content-Type": "application/json"}
    )
    _is_problem(r, 422, "body")


def test_multi_layer_geopackage_from_the_issue(planner, demo_grids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """QGIS-edited GeoPackage with towns, villages and units in three layers."""
    path = tmp_path / "edited.gpkg"
    for level, layer in ((1, "towns"), (2, "villages"), (3, "units")):
        _gpkg(demo_grids[demo_grids.level == level], path, layer)
    body = _is_problem(_upload(planner, path, lang="zh"), 422, "layer")
    # the layers to choose from, for /plan's chooser; the detail in the page's language and
    # without the command line's wording
    listed = [(x["name"], x["features"]) for x in body["layers"]]
    assert listed == [("towns", 17), ("villages", 271), ("units", 1558)]
    kind = body["layers"][2]["geometry_type"]
    assert kind in ("Polygon", "MultiPolygon")
    assert "含 3 个图层" in body["detail"]
    assert f"units（{kind}，1558 个要素）" in body["detail"]
    assert "--" not in body["detail"]
    en = _is_problem(_upload(planner, path, lang="en"), 422, "layer")
    assert en["detail"].startswith(f"edited.gpkg holds 3 layers: towns ({kind}, 17 features)")
    assert "--" not in en["detail"] and en["layers"] == body["layers"]
    missing = _is_problem(_upload(planner, path, layer="roads"), 422, "layer")
    assert "roads" in missing["detail"] and missing["layers"] == body["layers"]
    # the 17 towns alone drop two levels: refused with the numbers
    body = _is_problem(_upload(planner, path, layer="towns"), 422, "file")
    assert body["title"] == "Draft refused"
    assert body["comparison"]["levels_dropped"] == [2, 3]
    assert "L2 (271 grids)" in body["detail"] and "L3 (1558 grids)" in body["detail"]
    # forced, it is stored as a draft that can never be published
    forced = _upload(planner, path, layer="towns", force="true")
    assert forced.status_code == 201, forced.text
    assert forced.json()["publishable"] is False
    kinds = forced.json()["validation"]["by_kind"]
    assert kinds == {"count_mismatch": 2}
    gen_id = forced.json()["generation"]["id"]
    r = planner.post(f"/api/v1/generations/{gen_id}/submit", json={"reason": "try"})
    assert _is_problem(r, 422, "generation")["validation"]["ok"] is False
    r = planner.post(f"/api/v1/generations/{gen_id}/publish", json={"reason": "try"})
    _is_problem(r, 422, "generation")
    # the units layer alone is what a planner edits: a valid 3-level draft
    units = _upload(planner, path, layer="units")
    assert units.status_code == 201, units.text
    body = units.json()
    assert body["publishable"] is True
    assert body["file"]["derived"] == {"1": 17, "2": 271}
    assert body["file"]["placeholders"] == []  # names kept from the active generation
    assert body["comparison"]["codes"]["changed_count"] == 0
    every = _upload(planner, path, layer="all")
    assert every.status_code == 201 and every.json()["publishable"] is True


def test_l3_only_shapefile_round_trip(planner, demo_grids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gis.gridfiles import to_shapefile

    path = to_shapefile(demo_grids[demo_grids.level == 3], tmp_path / "units.zip")
    r = _upload(planner, path, name="from a shapefile")
    assert r.status_code == 201, r.text
    assert r.json()["publishable"] is True
    assert r.json()["file"]["counts"] == {"1": 17, "2": 271, "3": 1558}


def test_an_l3_file_missing_an_inner_grid_is_a_gap_never_publishable(
    planner, demo_grids, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Parents derived from the unit grids carry a missing grid's hole along, so the hierarchy
    checks cannot see it: the hole in the city (absent from the active one) is a GAP."""
    import shapely

    from gis.gridfiles import to_shapefile

    units = demo_grids[demo_grids.level == 3]
    outline = shapely.union_all(units.geometry.values).boundary
    inner = units[~units.geometry.buffer(1e-6).intersects(outline)].iloc[0]  # not on the edge
    path = to_shapefile(units[units.code != inner.code], tmp_path / "missing.zip")
    r = _upload(planner, path, name="a grid missing")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["publishable"] is False
    gaps = [p for p in body["validation"]["problems"] if p["kind"] == "gap" and p["level"] == 3]
    assert gaps and gaps[0]["area_m2"] > 1000 and "missing" in gaps[0]["detail"]


def _drop_towns(demo_grids: gpd.GeoDataFrame, share: float) -> tuple[gpd.GeoDataFrame, float]:
    """The L3 grids without whole towns totalling at least ``share`` of the city's area."""
    towns = demo_grids[demo_grids.level == 1].to_crs(4549)
    total, dropped, gone = towns.area.sum(), 0.0, []
    for code, area in sorted(zip(towns.code, towns.area, strict=True), key=lambda t: t[1]):
        if dropped / total >= share:
            break
        gone.append(code)
        dropped += area
    keep = demo_grids[(demo_grids.level == 3) & ~demo_grids.code.str[:9].isin(gone)]
    return keep, dropped / total


def test_a_draft_dropping_10_percent_is_refused_unless_forced(
    planner, demo_grids, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    keep, share = _drop_towns(demo_grids, 0.10)
    path = _gpkg(keep, tmp_path / "smaller.gpkg")
    body = _is_problem(_upload(planner, path), 422, "file")
    outline = body["comparison"]["outline"]
    assert outline["dropped_share"] == pytest.approx(share, rel=1e-3)
    assert outline["hausdorff_m"] > 100
    assert f"{share:.2%}" in body["detail"] and "force" in body["detail"]
    assert body["comparison"]["codes"]["removed_count"] > 0
    forced = _upload(planner, path, force="true")
    assert forced.status_code == 201, forced.text
    assert (
        forced.json()["comparison"]["codes"]["removed_count"]
        == len(demo_grids)
        - len(keep)
        - forced.json()["file"]["derived"]["1"]
        - forced.json()["file"]["derived"]["2"]
    )


def _unit_row(frame: gpd.GeoDataFrame) -> int:
    return int(frame.index[frame.level == 3][0])


def _small_city(demo_grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return demo_grids[demo_grids.code.str.startswith("320281001")].reset_index(drop=True).copy()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ("empty_parent", "parent_code", "empty parent_code; fill it with"),
        ("short_code", "code", "an L3 code has 15 digits"),
        ("wrong_prefix", "parent_code", "make code and parent_code agree"),
        ("invalid", "geometry", "Fix geometries"),
        ("no_crs", "crs", "crs=EPSG:4490"),
        ("missing_column", "columns", "lacks the column(s) name"),  # parents: from the codes
        ("not_a_grid_file", "file", "zipped Shapefile"),
    ],
)
def test_bad_files_are_problems_naming_the_fix(  # type: ignore[no-untyped-def]
    planner, demo_grids, tmp_path, change, field, words
) -> None:
    bad = _small_city(demo_grids)
    k = _unit_row(bad)
    path = tmp_path / "bad.gpkg"
    if change == "empty_parent":
        bad.loc[k, "parent_code"] = ""
    elif change == "short_code":
        bad.loc[k, "code"] = bad.loc[k, "code"][:-1]
    elif change == "wrong_prefix":
        bad.loc[k, "parent_code"] = "320281001999"
    elif change == "invalid":
        x, y = bad.geometry[k].representative_point().coords[0]
        bad.loc[k, "geometry"] = shapely.Polygon(
            [(x, y), (x + 1e-4, y + 1e-4), (x + 1e-4, y), (x, y + 1e-4), (x, y)]
        )
    elif change == "no_crs":
        bad = gpd.GeoDataFrame(bad.drop(columns="geometry"), geometry=list(bad.geometry))
    elif change == "missing_column":
        bad = bad.drop(columns=["name"])
    if change == "not_a_grid_file":
        path = tmp_path / "notes.txt"
        path.write_text("hello")
    else:
        bad.to_file(path)
    body = _is_problem(_upload(planner, path), 422, field)
    assert words in body["detail"], body["detail"]


def test_3d_file_is_read_without_heights_and_a_stated_crs_is_used(  # type: ignore[no-untyped-def]
    planner, demo_grids, tmp_path
) -> None:
    l3 = demo_grids[demo_grids.level == 3].copy()
    l3["geometry"] = shapely.force_3d(l3.geometry.values, 5.0)
    r = _upload(planner, _gpkg(l3, tmp_path / "z.gpkg"))
    assert r.status_code == 201, r.text
    assert any("Z values" in n for n in r.json()["file"]["notes"])
    bare = gpd.GeoDataFrame(
        demo_grids[demo_grids.level == 3].drop(columns="geometry"),
        geometry=list(demo_grids[demo_grids.level == 3].geometry),
    )
    path = tmp_path / "bare.gpkg"
    bare.to_file(path)
    stated = _upload(planner, path, crs="EPSG:4490")
    assert stated.status_code == 201 and stated.json()["publishable"] is True
    mismatch = _upload(planner, _gpkg(demo_grids, tmp_path / "full.gpkg"), crs="EPSG:4326")
    _is_problem(mismatch, 422, "crs")


def test_uploads_need_a_name_and_a_file(planner) -> None:  # type: ignore[no-untyped-def]
    r = planner.post("/api/v1/generations", data={"name": "x"}, files={"other": ("a", b"1")})
    _is_problem(r, 422, "file")
    r = planner.post("/api/v1/generations", files={"file": ("a.geojson", io.BytesIO(b"{}").read())})
    _is_problem(r, 422, "name")


def test_export_as_zipped_shapefile_and_import_it_back(
    planner, client, demo_generation, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import pyogrio

    r = client.get(f"/api/v1/generations/{demo_generation}/export", params={"format": "shp"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    path = tmp_path / "city.zip"
    path.write_bytes(r.content)
    raw = pyogrio.read_dataframe(path)
    assert {"code", "level", "parent_cod", "name"} <= set(raw.columns) and len(raw) == 1846
    back = _upload(planner, path, name="round trip")
    assert back.status_code == 201, back.text
    codes = back.json()["comparison"]["codes"]
    assert (codes["added_count"], codes["removed_count"], codes["changed_count"]) == (0, 0, 0)
    assert back.json()["publishable"] is True
    gpkg = client.get(f"/api/v1/generations/{demo_generation}/export")
    assert gpkg.status_code == 200 and gpkg.content[:15] == b"SQLite format 3"
    _is_problem(
        client.get(f"/api/v1/generations/{demo_generation}/export", params={"format": "dwg"}),
        422,
        "format",
    )


def test_export_is_in_the_openapi_document(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/generations/{generation_id}/export"]["get"]
    media = op["responses"]["200"]["content"].keys()
    assert {"application/zip", "application/geopackage+sqlite3", "application/geo+json"} <= media
    assert any(p["name"] == "format" for p in op["parameters"])
    # the answers of making a draft and of publishing name their fields (no null id/status)
    made = doc["paths"]["/api/v1/generations"]["post"]["responses"]["201"]["content"]
    assert made["application/json"]["schema"]["$ref"].endswith("/DraftCreated")
    published = doc["paths"]["/api/v1/generations/{generation_id}/publish"]["post"]
    ref = published["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/PublishAnswer")


def test_a_file_saved_in_epsg_4549_changes_no_grid(planner, demo_grids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """QGIS users often save in the projected CRS: the coordinates come back through
    EPSG:4549 slightly different, and no grid may count as changed for that."""
    path = _gpkg(demo_grids.to_crs(4549), tmp_path / "metric.gpkg")
    r = _upload(planner, path, name="saved in 4549")
    assert r.status_code == 201, r.text
    comparison = r.json()["comparison"]
    assert comparison["codes"]["changed_count"] == 0, comparison["codes"]["changed"][:3]
    assert comparison["tolerance"] == {"hausdorff_m": 0.05, "area_m2_per_km": 5.0}
    gen = r.json()["generation"]["id"]
    diff = planner.get(f"/api/v1/generations/{gen}/diff").json()
    assert diff["features"] == [] and diff["tolerance"]["hausdorff_m"] == 0.05
