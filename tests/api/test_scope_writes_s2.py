"""Writes that place a thing stay inside the caller's scope (issue 11, task S2 part 2): a town's
planner registers market entities and makes draws only in the town (403 naming the field and the
grid, also "city-wide" for a draw without an area); a city-wide planner anywhere. Events are the
exception by rule: anyone on patrol reports what they see wherever it is (DOMAIN.md §3: routing
goes by the point to that grid's team), so a town's dispatcher may file a case in another town;
it is routed there and stays out of the filer's actions."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from gis.creditcode import make_code
from tests.api.accounts_support import problem
from tests.api.test_scope_reads import _bearer, _client


def _point(l3: Any) -> tuple[float, float]:
    p = l3.geometry.representative_point()
    return float(p.x), float(p.y)


@pytest.fixture(scope="module")
def towns(demo_grids) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A unit grid in each of two towns and a point in each (CGCS2000 lon/lat)."""
    l3 = demo_grids[demo_grids.level == 3]
    mine = l3.iloc[50]
    other = l3[l3.code.str[:9] != mine.code[:9]].iloc[50]
    return {
        "town": mine.code[:9], "grid": mine.code, "point": _point(mine),
        "other_town": other.code[:9], "other_grid": other.code, "other_point": _point(other),
    }  # fmt: skip


def _entity(lon: float, lat: float) -> dict[str, Any]:
    first17 = "91320281" + "".join(secrets.choice("0123456789ABCDEFGH") for _ in range(9))
    return {"credit_code": make_code(first17), "name": "测试商店", "category": "retail",
            "lon": lon, "lat": lat, "crs": "cgcs2000"}  # fmt: skip


def test_a_towns_planner_registers_entities_only_in_the_town(
    live_server, engine, tokens, towns
) -> None:  # type: ignore[no-untyped-def]
    with _client(live_server, engine, "planner", f"town:{towns['town']}") as p:
        outside = _entity(*towns["other_point"])
        body = problem(p.post("/api/v1/market-entities", json=outside), 403, "lon")
        assert towns["other_grid"] in body["detail"] and towns["town"] in body["detail"], body
        listed = p.get("/api/v1/market-entities", params={"limit": 1000}).json()["data"]
        assert outside["credit_code"] not in {e["credit_code"] for e in listed}
        inside = p.post("/api/v1/market-entities", json=_entity(*towns["point"]))
        assert inside.status_code == 201 and inside.json()["grid_code"] == towns["grid"], (
            inside.text
        )
    with _bearer(live_server, tokens["planner"]) as city:  # the city's planner: anywhere
        r = city.post("/api/v1/market-entities", json=outside)
        assert r.status_code == 201 and r.json()["grid_code"] == towns["other_grid"], r.text


def test_a_towns_planner_draws_only_in_the_town(live_server, engine, towns) -> None:  # type: ignore[no-untyped-def]
    draw = {"title": "抽查", "seed": "s2", "n_targets": 1}
    with _client(live_server, engine, "planner", f"town:{towns['town']}") as p:
        whole = problem(p.post("/api/v1/draws", json=draw), 403, "scope")
        assert "city-wide" in whole["detail"] and "grid ," not in whole["detail"], whole
        other = p.post("/api/v1/draws", json=draw | {"area_code": towns["other_town"]})
        assert towns["other_town"] in problem(other, 403, "scope")["detail"]
        mine = p.post("/api/v1/draws", json=draw | {"area_code": towns["town"]})
        assert mine.status_code in (201, 422), mine.text  # 422: no entity in the town to draw


def test_events_are_reported_wherever_they_are_seen(live_server, engine, towns) -> None:  # type: ignore[no-untyped-def]
    lon, lat = towns["other_point"]
    report = {"lon": lon, "lat": lat, "crs": "cgcs2000", "subclass": "0101",
              "description": "边界外看到的", "ignore_duplicates": True}  # fmt: skip
    with _client(live_server, engine, "dispatcher", f"town:{towns['town']}") as d:
        r = d.post("/api/v1/events", json=report)
        assert r.status_code == 201, r.text
        assert r.json()["routing"]["grid_code"] == towns["other_grid"]  # routed there
