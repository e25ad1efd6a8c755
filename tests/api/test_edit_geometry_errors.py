"""Issue 10 (planner's trial): an outline or line GEOS cannot process (a self-crossing ring, two
vertices swapped, a vertex moved far across the grid) is a 422 problem+json naming
``geometry`` (or the op's own field) and the fix on every edit path (OGC PUT/PATCH, the edits
API, split lines, the CLI), never a 500; nothing is stored (same ETag, outlines and log)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine

from tests.api.test_ogc_planners import etag, interior_pair, item_url, shared_vertex
from tests.planning_fixtures import *  # noqa: F403  (the draft and planner fixtures)

PROBLEM = "application/problem+json"


def _ring_edit(geometry: dict[str, Any], how: str, vertex: tuple[float, float]) -> dict:  # type: ignore[type-arg]
    """``geometry`` (a unit grid's outline) with its outer ring broken as ``how`` says:
    ``swap_adjacent`` (the shared vertex and the next one swapped: the ring crosses itself),
    ``swap_apart`` (the shared vertex and the one two further on swapped), ``far_across`` (the
    shared vertex moved through the centre to well beyond the opposite side)."""
    geom = shape(geometry)
    poly = geom.geoms[0] if geom.geom_type == "MultiPolygon" else geom
    coords = [list(c) for c in poly.exterior.coords[:-1]]
    i = min(
        range(len(coords)), key=lambda k: shapely.Point(coords[k]).distance(shapely.Point(vertex))
    )
    n = len(coords)
    holes = [list(r.coords) for r in poly.interiors]
    if how == "far_across":
        c = poly.centroid
        coords[i] = [c.x + 2.5 * (c.x - coords[i][0]), c.y + 2.5 * (c.y - coords[i][1])]
        new = shapely.Polygon([*coords, coords[0]], holes)
    else:  # from the shared vertex on, the first swap whose ring crosses itself
        step = 1 if how == "swap_adjacent" else 2
        for k in range(n):
            a, b = (i + k) % n, (i + k + step) % n
            swapped = [list(c) for c in coords]
            swapped[a], swapped[b] = swapped[b], swapped[a]
            new = shapely.Polygon([*swapped, swapped[0]], holes)
            if not new.is_valid:
                break
    assert not new.is_valid, how  # the case under test: an outline GEOS calls invalid
    if geom.geom_type == "MultiPolygon":
        return mapping(shapely.MultiPolygon([new, *list(geom.geoms)[1:]]))
    return mapping(new)


def _assert_geometry_problem(r: httpx.Response, field: str = "geometry") -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["field"] == field, problem
    assert "nothing was stored" in problem["detail"] and "split" in problem["detail"], problem
    return problem


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("how", ["swap_adjacent", "swap_apart", "far_across"])
def test_ogc_write_of_an_unprocessable_outline_is_422(
    planner: httpx.Client, engine: Engine, draft: int, method: str, how: str
) -> None:
    a, b = interior_pair(engine, draft)
    vertex = shared_vertex(engine, draft, a, b)
    read = planner.get(item_url(draft, a))
    v0, original = etag(read), read.json()
    before = {code: planner.get(item_url(draft, code)).json()["geometry"] for code in (a, b)}
    log_before = planner.get(f"/api/v1/generations/{draft}/edits").json()
    geometry = _ring_edit(original["geometry"], how, vertex)
    if method == "PUT":
        body = {"type": "Feature", "properties": original["properties"], "geometry": geometry}
        r = planner.put(item_url(draft, a), json=body, headers={"If-Match": v0})
    else:
        r = planner.patch(
            item_url(draft, a),
            json={"geometry": geometry},
            headers={"If-Match": v0, "Content-Type": "application/merge-patch+json"},
        )
    _assert_geometry_problem(r)
    zh = planner.put(
        item_url(draft, a) + "?lang=zh",
        json={"type": "Feature", "properties": original["properties"], "geometry": geometry},
        headers={"If-Match": v0},
    )
    assert zh.status_code == 422 and any("\u4e00" <= ch <= "\u9fff" for ch in zh.json()["detail"])
    # nothing stored, and the server still answers on the same connection
    assert etag(planner.get(item_url(draft, a))) == v0
    for code, geom in before.items():
        assert planner.get(item_url(draft, code)).json()["geometry"] == geom, code
    assert planner.get(f"/api/v1/generations/{draft}/edits").json() == log_before


def test_edits_api_far_vertex_and_self_crossing_split_are_422(
    planner: httpx.Client, engine: Engine, draft: int
) -> None:
    a, b = interior_pair(engine, draft)
    vertex = shared_vertex(engine, draft, a, b)
    url = f"/api/v1/generations/{draft}/edits"
    log_before = planner.get(url).json()
    outline = shape(planner.get(item_url(draft, a)).json()["geometry"])
    c = outline.centroid
    far = [c.x + 2.5 * (c.x - vertex[0]), c.y + 2.5 * (c.y - vertex[1])]
    v = log_before["version"]
    body = {"op": "move_vertex", "at": list(vertex), "to": far, "reason": "t", "version": v}
    r = planner.post(url, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM and r.json()["field"] in ("to", "geometry")
    # a split line that crosses itself inside the grid
    minx, miny, maxx, maxy = outline.bounds
    w, h = maxx - minx, maxy - miny
    line = [[minx - w, miny + h / 2], [maxx - w / 3, miny + h / 2], [minx + w / 3, maxy - h / 4],
            [minx + w / 3, miny + h / 4], [maxx + w, maxy - h / 3]]  # fmt: skip
    r = planner.post(
        url, json={"op": "split", "code": a, "line": line, "reason": "t", "version": v}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM and r.json()["field"] == "line", r.json()
    r = planner.post(
        url,
        json={"op": "replace_geometry", "code": a, "reason": "t", "version": v,
              "geometry": _ring_edit(outline.__geo_interface__, "swap_adjacent", vertex)},
    )  # fmt: skip
    _assert_geometry_problem(r)
    assert planner.get(url).json() == log_before


def test_cli_edit_of_an_unprocessable_outline_says_why(
    monkeypatch: pytest.MonkeyPatch, database_url: str, engine: Engine, draft: int, tmp_path: Any
) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))
    a, b = interior_pair(engine, draft)
    vertex = shared_vertex(engine, draft, a, b)
    from sqlalchemy import text

    with engine.connect() as conn:
        wkb = conn.execute(
            text("SELECT ST_AsBinary(geom) FROM grid WHERE generation_id = :g AND code = :c"),
            {"g": draft, "c": a},
        ).scalar_one()
    outline = shapely.from_wkb(bytes(wkb))
    params = {"code": a, "geometry": _ring_edit(mapping(outline), "swap_adjacent", vertex)}
    args = ["drafts", "edit", str(draft), "replace_geometry", "--params", json.dumps(params),
            "--reason", "t", "--commit"]  # fmt: skip
    out = CliRunner().invoke(app, args, terminal_width=200)
    assert out.exit_code == 1, out.output
    assert "geometry" in out.output and "Traceback" not in out.output
