"""A planner's grid changes stay inside their scope (issue 11, layers/planning/scope.py): a town's
planner edits (edits API, undo, OGC PATCH) only their town's grids, and approves or publishes
only drafts that change nothing outside it; a city-wide planner or an admin may. Refusals are
403 naming the field and the codes, in English and Chinese; nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.api.accounts_support import make_token, make_user, problem
from tests.api.test_draft_edits import edit, version_of
from tests.planning_fixtures import draft, draft_of, planner  # noqa: F401


def _client(live_server: str, engine: Engine, scope: str) -> httpx.Client:
    user = make_user(engine, "planner", scope=scope)
    headers = {"Authorization": f"Bearer {make_token(engine, user['id'])['token']}"}
    return httpx.Client(base_url=live_server, headers=headers, timeout=300)


def _towns_and_grids(engine: Engine, gid: int) -> dict[str, Any]:
    """Two towns of the draft and a unit grid in each."""
    with engine.connect() as conn:
        towns = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 1 ORDER BY code "
                 "LIMIT 2"), {"g": gid},
        ).scalars().all()  # fmt: skip
        grids = [
            conn.execute(
                text(
                    "SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                    "AND code LIKE :t ORDER BY code LIMIT 1"
                ),
                {"g": gid, "t": t + "%"},
            ).scalar_one()
            for t in towns
        ]
    return {"mine": towns[0], "other": towns[1], "my_grid": grids[0], "other_grid": grids[1]}


def own(engine: Engine, gid: int, town: str) -> None:
    """Make draft ``gid`` a draft of ``town`` (as if that town's planner had made it; S2)."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE generation SET owner_scope = :o WHERE id = :g"),
            {"o": f"town:{town}", "g": gid},
        )


@pytest.fixture
def town_planner(live_server: str, engine: Engine, draft: int) -> Iterator[Any]:  # noqa: F811
    where = _towns_and_grids(engine, draft)
    own(engine, draft, where["mine"])  # the town planner's own draft
    with _client(live_server, engine, f"town:{where['mine']}") as c:
        yield c, where


def _name(engine: Engine, gid: int, code: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT name FROM grid WHERE generation_id = :g AND code = :c"),
                {"g": gid, "c": code},
            ).scalar_one()
        )


def test_a_towns_planner_edits_only_the_towns_grids(
    town_planner: Any,
    planner: httpx.Client,  # noqa: F811
    engine: Engine,
    draft: int,  # noqa: F811
) -> None:
    c, where = town_planner
    other, mine = where["other_grid"], where["my_grid"]
    before = _name(engine, draft, other)
    v = version_of(c, draft)
    refused = edit(c, draft, v, op="rename", code=other, name="别人的", reason="t")
    body = problem(refused, 403, "code")
    assert other in body["detail"] and f"town:{where['mine']}" in body["detail"]
    zh_body = {"op": "rename", "code": other, "name": "x", "reason": "t", "version": v}
    zh = c.post(f"/api/v1/generations/{draft}/edits", params={"lang": "zh"}, json=zh_body)
    assert zh.status_code == 403 and "权限范围" in zh.json()["detail"], zh.text
    merge = edit(c, draft, v, op="merge", codes=[mine, other], name="x", reason="t")
    assert merge.status_code in (403, 422), merge.text  # never stored
    assert version_of(c, draft) == v and _name(engine, draft, other) == before  # nothing stored
    ok = edit(c, draft, v, op="rename", code=mine, name="本镇网格", reason="t")
    assert ok.status_code == 200, ok.text
    # OGC PATCH of another town's grid: 403 too
    item = f"/ogc/collections/grids-l3@{draft}/items/{other}"
    etag = c.get(item).headers["ETag"]
    r = c.patch(item, json={"properties": {"name": "改名"}}, headers={"If-Match": etag})
    problem(r, 403, "code")
    assert _name(engine, draft, other) == before
    # undoing a city planner's edit of another town is an edit of that town
    v = version_of(planner, draft)
    city = edit(planner, draft, v, op="rename", code=other, name="全市改", reason="t")
    assert city.status_code == 200, city.text
    undo = c.post(f"/api/v1/generations/{draft}/edits/undo", json={"version": v + 1})
    problem(undo, 403, "code")
    assert _name(engine, draft, other) == "全市改"


def test_approving_and_publishing_outside_the_scope_needs_the_city(
    live_server: str,
    engine: Engine,
    demo_generation: int,
    planner: httpx.Client,  # noqa: F811
) -> None:
    with draft_of(engine, demo_generation) as gid:
        where = _towns_and_grids(engine, gid)
        own(engine, gid, where["other"])  # a draft of the other town, edited by the city
        v = version_of(planner, gid)
        r = edit(planner, gid, v, op="rename", code=where["other_grid"], name="他镇", reason="t")
        assert r.status_code == 200, r.text
        assert planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
        with _client(live_server, engine, f"town:{where['mine']}") as town:
            r = town.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"})
            body = problem(r, 403, "scope")
            assert where["other_grid"] in body["detail"] and "city-wide" in body["detail"]
            r = town.post(f"/api/v1/generations/{gid}/publish",
                          json={"commit": True, "reason": "go"})  # fmt: skip
            problem(r, 403, "scope")
            dry = town.post(f"/api/v1/generations/{gid}/publish", json={"reason": "look"})
            assert dry.status_code != 403, dry.text  # a dry run changes nothing
        with _client(live_server, engine, f"town:{where['other']}") as theirs:
            r = theirs.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"})
            assert r.status_code == 200, r.text  # the change lies in their town
    with draft_of(engine, demo_generation) as gid:
        v = version_of(planner, gid)
        r = edit(planner, gid, v, op="rename", code=where["my_grid"], name="本镇", reason="t")
        assert planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
        with _client(live_server, engine, "city") as city:
            r = city.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"})
            assert r.status_code == 200, r.text


def test_the_scope_rule_itself() -> None:
    from layers.errors import Forbidden
    from layers.planning.scope import require_edit_in_scope

    answer = {"edit": {"op": "move_vertex", "params": {"at": [120.1, 31.8]},
                       "grids_before": ["320281001001001", "320281002001001"],
                       "grids_after": ["320281001001001", "320281002001001"]}}  # fmt: skip
    require_edit_in_scope(answer=answer, role="planner", codes=None, scope="city")
    require_edit_in_scope(answer=answer, role="admin", codes=("320281001",), scope="town")
    with pytest.raises(Forbidden) as caught:
        require_edit_in_scope(answer=answer, role="planner", codes=("320281001",), scope="t")
    assert caught.value.field == "grids" and "320281002001001" in caught.value.detail
    assert "320281001001001" not in caught.value.extra["outside"]


def test_a_towns_planner_imports_a_file_changing_only_the_town(
    live_server: str, engine: Engine, demo_grids: Any, tmp_path: Any
) -> None:
    towns = sorted(demo_grids[demo_grids.level == 1].code)
    mine, other = towns[0], towns[1]
    units = demo_grids[demo_grids.level == 3]
    made: list[int] = []

    def upload(c: httpx.Client, town: str, name: str) -> httpx.Response:
        city = demo_grids.copy()
        target = units[units.code.str.startswith(town)].code.iloc[0]
        city.loc[city.code == target, "name"] = name
        path = tmp_path / f"{name}.geojson"
        city.to_file(path, driver="GeoJSON")
        files = {"file": (path.name, path.read_bytes(), "application/geo+json")}
        r = c.post("/api/v1/generations", data={"name": f"scope import {name}"}, files=files)
        if r.status_code == 201:
            made.append(int(r.json()["generation"]["id"]))
        return r

    try:
        with _client(live_server, engine, f"town:{mine}") as c:
            refused = upload(c, other, "他镇改名")
            body = problem(refused, 403, "file")
            assert body["outside"] and all(code.startswith(other) for code in body["outside"])
            ok = upload(c, mine, "本镇改名")
            assert ok.status_code == 201, ok.text
        with engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM generation WHERE name = :n"),
                             {"n": "scope import 他镇改名"}).scalar_one()  # fmt: skip
        assert n == 0  # nothing of the refused import stored
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM generation WHERE id = ANY(:ids)"), {"ids": made})
