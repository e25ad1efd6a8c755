"""Scope, second round (issue 11): coverage tables and trends, city-team members and the
officer's phone routes follow the caller's scope; one rule "in scope by grid code"
(layers.accounts.in_codes / prefix_clause) everywhere."""

from __future__ import annotations

from tests.api.accounts_support import problem
from tests.api.test_scope_reads import RUN_DAY, _bearer, _client
from tests.api.test_scope_reads import setting as setting  # the module fixture
from tests.people_fixtures import *  # noqa: F403  (people_demo)

COVER = {"date": RUN_DAY, "resolution": 10}


def test_coverage_table_lists_only_the_callers_area(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    other = setting["other"]
    with _client(live_server, engine, "dispatcher", f"town:{other}") as b:
        for level in (1, 2, 3):
            r = b.get("/api/v1/coverage", params={**COVER, "level": level})
            assert r.status_code == 200, r.text
            codes = {row["code"] for row in r.json()["data"]}
            assert codes and all(c.startswith(other) for c in codes), level
        csv = b.get("/api/v1/coverage", params={**COVER, "level": 3, "format": "csv"})
        assert csv.status_code == 200 and setting["grid"] not in csv.text
    with _bearer(live_server, tokens["viewer"]) as city:
        rows = city.get("/api/v1/coverage", params={**COVER, "level": 1}).json()["data"]
        assert {other, setting["town"]} <= {r["code"] for r in rows}


def test_coverage_trend_stays_in_the_callers_area(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    other, town = setting["other"], setting["town"]
    span = {"from": RUN_DAY, "to": RUN_DAY, "resolution": 10}
    with _client(live_server, engine, "dispatcher", f"town:{other}") as b:
        mine = b.get("/api/v1/coverage/trend", params=span)
        assert mine.status_code == 200, mine.text
        assert mine.json()["code"] == other  # no code: the caller's town, not the city
        problem(b.get("/api/v1/coverage/trend", params={**span, "code": town}), 403, "scope")
        problem(b.get("/api/v1/coverage/trend", params={**span, "code": "3202"}), 403, "scope")
        inside = b.get("/api/v1/coverage/trend", params={**span, "code": other + "001"})
        assert inside.status_code in (200, 404), inside.text  # a village of it, if it exists
    with _bearer(live_server, tokens["viewer"]) as city:
        whole = city.get("/api/v1/coverage/trend", params=span)
        assert whole.status_code == 200 and whole.json()["code"] is None


def test_city_team_members_only_for_entitled_roles(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    with _bearer(live_server, tokens["viewer"]) as city:
        teams = city.get("/api/v1/teams", params={"kind": "city_team"}).json()["data"]
        assert teams, "the demo has city teams"
        team = teams[0]["id"]
        problem(city.get(f"/api/v1/teams/{team}/members"), 403, "team_id")
        problem(city.get("/api/v1/teams/2147483647/members"), 404, "team_id")
    for role in ("dispatcher", "officer"):
        with _client(live_server, engine, role, f"town:{setting['town']}") as t:
            problem(t.get(f"/api/v1/teams/{team}/members"), 403, "team_id")  # was a 500
    with _client(live_server, engine, "officer", "city") as officer:
        problem(officer.get(f"/api/v1/teams/{team}/members"), 403, "team_id")
    with _bearer(live_server, tokens["dispatcher"]) as d:
        r = d.get(f"/api/v1/teams/{team}/members")
        assert r.status_code == 200, r.text
        members = r.json()["data"]
    if members:  # a member reads their own team whatever their role
        member = members[0]["person_id"]
        with _client(live_server, engine, "viewer", "city", person_id=member) as own:
            assert own.get(f"/api/v1/teams/{team}/members").status_code == 200


def test_phone_routes_never_leave_the_scope(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    """An officer whose staff member works in town A but whose account is scoped to town B
    sees and acts on nothing of A from the phone's routes."""
    event = setting["event"]
    kw = {"person_id": setting["person"]}
    with _client(live_server, engine, "officer", f"town:{setting['other']}", **kw) as b:
        me = b.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["grids"] == []
        grid = b.get("/api/v1/me/grid").json()
        assert grid["grids"] == [] and grid["events"]["features"] == []
        tasks = b.get("/api/v1/me/tasks").json()["data"]
        assert all(t["grid_code"].startswith(setting["other"]) for t in tasks)
        problem(b.get(f"/api/v1/me/tasks/{event}"), 403, "id")
        assert b.get(f"/api/v1/events/{event}").status_code == 403
        act = b.post(f"/api/v1/events/{event}/actions", json={"action": "start"})
        assert act.status_code == 403, act.text
        problem(b.get(f"/api/v1/coverage/grids/{setting['grid']}", params=COVER), 403, "scope")
        daily = {"date": RUN_DAY, "person": setting["other_person"]}
        assert b.get("/api/v1/patrol/daily", params=daily).status_code == 200  # B's person
    with _client(live_server, engine, "officer", "grids", **kw) as own:
        assert setting["grid"] in own.get("/api/v1/me").json()["grids"]
        problem(own.get(f"/api/v1/coverage/grids/{setting['other_grid']}", params=COVER), 403,
                "scope")  # fmt: skip


def test_one_rule_for_in_scope() -> None:
    from layers.accounts import in_codes

    assert in_codes("320281104001001", None)
    assert in_codes("320281104001001", ("320281104",))
    assert not in_codes("320281105001001", ("320281104",))
    assert not in_codes(None, ("320281104",)) and not in_codes("320281104", ())
    assert in_codes("320281104001001", ["320281105", "320281104001"])  # a list works too


def test_an_area_touching_the_scope() -> None:
    from layers.accounts import touches_codes

    assert touches_codes("320281104", ("320281104001",))  # the town of a village's user
    assert touches_codes("320281104001001", ("320281104",))
    assert not touches_codes("320281105", ("320281104001",))
    assert touches_codes("320281105", None) and not touches_codes("320281105", ())


def _case_in(live_server: str, tokens: dict[str, str], engine, grid_code: str) -> int:  # type: ignore[no-untyped-def]
    """A new case at a point inside ``grid_code`` (reported by the city's dispatcher)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid "
                 "WHERE code = :c ORDER BY generation_id DESC LIMIT 1) s"), {"c": grid_code},
        ).one()  # fmt: skip
    with _bearer(live_server, tokens["dispatcher"]) as d:
        body = {"lon": lon, "lat": lat, "subclass": "0401", "description": "scope reroute",
                "ignore_duplicates": True}  # fmt: skip
        r = d.post("/api/v1/events", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def test_rerouting_stays_inside_the_scope(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    mine = _case_in(live_server, tokens, engine, setting["other_grid"])
    path = f"/api/v1/events/{mine}/routing"
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        outside = [
            ({"grid_code": setting["grid"]}, "changes/grid_code"),
            ({"worker_person_id": setting["person"]}, "changes/worker_person_id"),
            ({"chief_person_id": setting["person"]}, "changes/chief_person_id"),
        ]
        for changes, field in outside:
            problem(b.post(path, json={"changes": changes, "reason": "t"}), 403, field)
        ok = b.post(path, json={"changes": {"worker_person_id": setting["other_person"]},
                                "reason": "inside"})  # fmt: skip
        assert ok.status_code == 200, ok.text
        elsewhere = f"/api/v1/events/{setting['event']}/routing"
        body = {"changes": {"department": "x"}, "reason": "t"}
        problem(b.post(elsewhere, json=body), 403, "scope")
    with _bearer(live_server, tokens["dispatcher"]) as city:  # the city's dispatcher may
        r = city.post(path, json={"changes": {"grid_code": setting["grid"]}, "reason": "city"})
        assert r.status_code == 200, r.text


def test_escalation_touches_only_the_callers_cases(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    a = _case_in(live_server, tokens, engine, setting["grid"])
    b = _case_in(live_server, tokens, engine, setting["other_grid"])
    with engine.begin() as conn:  # both overdue, in handling
        conn.execute(
            text("UPDATE event SET status = 'in_handling', accepted_at = now() - interval '2 h', "
                 "deadline_at = now() - interval '1 h', escalated_at = NULL "
                 "WHERE id IN (:a, :b)"), {"a": a, "b": b},
        )  # fmt: skip
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as town_b:
        r = town_b.post("/api/v1/events/overdue/escalate")
        assert r.status_code == 200, r.text
    with engine.connect() as conn:
        done = dict(conn.execute(
            text("SELECT id, escalated_at IS NOT NULL FROM event WHERE id IN (:a, :b)"),
            {"a": a, "b": b},
        ).all())  # fmt: skip
    assert done == {a: False, b: True}


def test_households_are_registered_inside_the_scope_only(live_server, engine, setting) -> None:  # type: ignore[no-untyped-def]
    import secrets

    from sqlalchemy import text

    def body(code: str, lon: float, lat: float) -> dict[str, object]:
        return {"code": code, "address": "测试路1号", "lon": lon, "lat": lat, "head_name": "张三"}

    with engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid "
                 "WHERE code = :c ORDER BY generation_id DESC LIMIT 1) s"),
            {"c": setting["other_grid"]},
        ).one()  # fmt: skip
    with _client(live_server, engine, "officer", f"town:{setting['other']}") as b:
        there = f"SCOPE-{secrets.token_hex(4)}"
        problem(b.post("/api/v1/households", json=body(there, setting["lon"], setting["lat"])),
                403, "scope")  # fmt: skip
        here = b.post("/api/v1/households", json=body(f"SCOPE-{secrets.token_hex(4)}", lon, lat))
        assert here.status_code == 201, here.text
        assert here.json()["grid_code"].startswith(setting["other"])
    with engine.connect() as conn:  # nothing of the refused one was stored
        assert conn.execute(text("SELECT count(*) FROM household WHERE code = :c"),
                            {"c": there}).scalar_one() == 0  # fmt: skip


def test_a_towns_zones_are_replaced_by_its_planners_only(live_server, engine, setting) -> None:  # type: ignore[no-untyped-def]
    with _client(live_server, engine, "planner", f"town:{setting['other']}") as b:
        zones = {"zones": [{"code": "Z-1", "name": "一片", "members": [setting["grid"]]}]}
        problem(b.put(f"/api/v1/zones/towns/{setting['town']}", json=zones), 403, "scope")
        mine = b.put(f"/api/v1/zones/towns/{setting['other']}", json=zones)
        assert mine.status_code == 422, mine.text  # inside: refused only for not tiling it


def test_a_towns_planner_imports_its_towns_roster_only(live_server, engine, setting) -> None:  # type: ignore[no-untyped-def]
    head = "姓名,身份证号,手机号,角色,网格编码\n"
    row = "测试员,11010519491231002X,13900001111,网格员,{code}\n"
    with _client(live_server, engine, "planner", f"town:{setting['other']}") as b:
        mixed = head + row.format(code=setting["other_grid"]) + row.format(code=setting["grid"])
        r = b.post("/api/v1/staff/import", params={"dry_run": "true"}, content=mixed.encode(),
                   headers={"content-type": "text/csv"})  # fmt: skip
        body = problem(r, 403, "file")
        assert "rows 3 " in body["detail"]
        own = head + row.format(code=setting["other_grid"])
        r = b.post("/api/v1/staff/import", params={"dry_run": "true"}, content=own.encode(),
                   headers={"content-type": "text/csv"})  # fmt: skip
        assert r.status_code == 200, r.text  # a dry run: one good row, nothing stored
        assert (r.json()["would_import"], r.json()["imported_rows"], r.json()["dry_run"]) == (
            1, 0, True,
        ), r.text  # fmt: skip


def _tile_of(lon: float, lat: float, z: int = 15) -> str:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{z}/{x}/{y}"


def test_coverage_tiles_carry_only_the_callers_grids(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid "
                 "WHERE code = :c ORDER BY generation_id DESC LIMIT 1) s"),
            {"c": setting["other_grid"]},
        ).one()  # fmt: skip
    a_tile = f"/tiles/coverage/{_tile_of(setting['lon'], setting['lat'])}.mvt"
    b_tile = f"/tiles/coverage/{_tile_of(lon, lat)}.mvt"
    q = {"date": RUN_DAY}
    with _bearer(live_server, tokens["viewer"]) as city:
        whole = city.get(a_tile, params=q)
        assert whole.status_code == 200, whole.text
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        theirs = b.get(a_tile, params=q)
        assert theirs.status_code in (200, 204), theirs.text
        assert setting["grid"].encode() not in theirs.content  # A's grid is not in B's tile
        assert theirs.headers["ETag"] != whole.headers["ETag"]  # cached and tagged apart
        own = b.get(b_tile, params=q)
        assert own.status_code == 200 and setting["other_grid"].encode() in own.content
    assert setting["grid"].encode() in whole.content
