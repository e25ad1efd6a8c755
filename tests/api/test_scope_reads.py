"""Reads follow the caller's scope (issue 11): a town's (or a grid's) user never reads another
town's cases, devices, tracks, patrol figures, compliance or household counts; a single object
outside the scope is 403 like /events/{id}; the city's users see everything."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from layers.db import make_sessionmaker, transaction
from tests.api.accounts_support import make_token, make_user, problem
from tests.people_fixtures import *  # noqa: F403  (people_demo)

RUN_DAY = "2021-03-01"  # a day without fixes: a cheap coverage run, everyone absent


def _bearer(live_server: str, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=live_server, headers=headers, timeout=300)


def _client(live_server: str, engine: Any, role: str, scope: str, **kw: Any) -> httpx.Client:
    user = make_user(engine, role, scope=scope, **kw)
    return _bearer(live_server, make_token(engine, user["id"])["token"])


@pytest.fixture(scope="module")
def setting(live_server, tokens, demo_grids, people_demo, engine) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A case in a unit grid of town A, a device of that grid's worker, and another town B."""
    from layers.people import GridAssignment, StaffRole

    l3 = demo_grids[demo_grids.level == 3].iloc[321]
    town = l3.code[:9]
    other = sorted(set(demo_grids[demo_grids.level == 1].code) - {town})[0]
    point = l3.geometry.representative_point()
    with _bearer(live_server, tokens["dispatcher"]) as d:
        body = {"lon": point.x, "lat": point.y, "subclass": "0401",
                "description": "占道经营 scope", "ignore_duplicates": True}  # fmt: skip
        r = d.post("/api/v1/events", json=body)
        assert r.status_code == 201, r.text
        event = r.json()
    with transaction(make_sessionmaker(engine)) as session:
        person = session.scalar(
            select(GridAssignment.person_id)
            .where(GridAssignment.grid_code == l3.code, GridAssignment.valid_to.is_(None))
            .order_by(GridAssignment.person_id)
        )
        assert person is not None
        other_person = session.scalar(
            select(GridAssignment.person_id)
            .where(
                GridAssignment.grid_code.startswith(other),
                GridAssignment.role == StaffRole.GRID_WORKER,
                GridAssignment.valid_to.is_(None),
            )
            .order_by(GridAssignment.person_id)
        )
        other_grid = session.scalar(
            select(GridAssignment.grid_code).where(GridAssignment.person_id == other_person)
        )
    with _bearer(live_server, tokens["admin"]) as admin:
        body = {"external_id": f"scope-{secrets.token_hex(4)}", "person_id": person}
        r = admin.post("/api/v1/devices", json=body)
        assert r.status_code == 201, r.text
        device = r.json()["id"]
    with _bearer(live_server, tokens["planner"]) as planner:
        run = planner.post("/api/v1/coverage/runs", params={"date": RUN_DAY, "resolution": 10})
        assert run.status_code == 200, run.text
    return {
        "event": event["id"], "lon": point.x, "lat": point.y, "grid": l3.code, "town": town,
        "other": other, "person": person, "device": device, "other_person": other_person,
        "other_grid": other_grid,
    }  # fmt: skip


def test_duplicates_list_only_cases_in_scope(live_server, engine, setting) -> None:  # type: ignore[no-untyped-def]
    q = {"lon": setting["lon"], "lat": setting["lat"], "subclass": "0401"}
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        assert b.get(f"/api/v1/events/{setting['event']}").status_code == 403
        r = b.get("/api/v1/events/duplicates", params=q)
        assert r.status_code == 200, r.text
        assert setting["event"] not in {e["id"] for e in r.json()["data"]}
        assert "scope" not in r.text
    with _client(live_server, engine, "dispatcher", f"town:{setting['town']}") as a:
        r = a.get("/api/v1/events/duplicates", params=q)
        assert setting["event"] in {e["id"] for e in r.json()["data"]}
        # a report there is held as a possible duplicate, naming the case
        report = {"lon": setting["lon"], "lat": setting["lat"], "subclass": "0401",
                  "description": "again"}  # fmt: skip
        held = a.post("/api/v1/events", json=report)
        assert held.status_code == 409 and str(setting["event"]) in held.text
    # a report by someone who may not read that case never shows it
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        report = {"lon": setting["lon"], "lat": setting["lat"], "subclass": "0401",
                  "description": "scope dup probe", "ignore_duplicates": False}  # fmt: skip
        r = b.post("/api/v1/events", json=report)
        assert r.status_code == 201, r.text  # filed: the case it may not read is not shown
        assert "duplicates" not in r.json() and "占道经营 scope" not in r.text


def test_devices_and_tracks_follow_the_scope(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    track = f"/api/v1/devices/{setting['device']}/track"
    for role in ("dispatcher", "officer"):
        with _client(live_server, engine, role, f"town:{setting['other']}") as b:
            problem(b.get(track), 403, "scope")
            ids = {d["id"] for d in b.get("/api/v1/devices").json()["data"]}
            assert setting["device"] not in ids
    # an officer scoped to their own grid in another town
    with _client(live_server, engine, "officer", "grids", person_id=setting["other_person"]) as g:
        problem(g.get(track), 403, "scope")
        listed = g.get("/api/v1/devices").json()["data"]
        assert setting["device"] not in {d["id"] for d in listed}
    with _client(live_server, engine, "dispatcher", f"town:{setting['town']}") as a:
        assert a.get(track).status_code == 200
        assert setting["device"] in {d["id"] for d in a.get("/api/v1/devices").json()["data"]}
    with _bearer(live_server, tokens["viewer"]) as city:
        assert city.get(track).status_code == 200
        assert setting["device"] in {d["id"] for d in city.get("/api/v1/devices").json()["data"]}
    with _bearer(live_server, tokens["admin"]) as admin:  # missing stays 404
        problem(admin.get("/api/v1/devices/2147483647/track"), 404, "device_id")


def test_patrol_and_compliance_list_people_in_scope(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        daily = b.get("/api/v1/patrol/daily", params={"date": RUN_DAY})
        assert daily.status_code == 200, daily.text
        assert setting["person"] not in {r["person_id"] for r in daily.json()["data"]}
        one = {"date": RUN_DAY, "person": setting["person"]}
        problem(b.get("/api/v1/patrol/daily", params=one), 403, "scope")
        csv = b.get("/api/v1/patrol/daily", params={"date": RUN_DAY, "format": "csv"})
        assert csv.status_code == 200
        comp = b.get("/api/v1/coverage/compliance", params={"date": RUN_DAY, "resolution": 10})
        assert comp.status_code == 200, comp.text
        assert setting["person"] not in {r["person_id"] for r in comp.json()["data"]}
        problem(b.get(f"/api/v1/coverage/grids/{setting['grid']}",
                      params={"date": RUN_DAY, "resolution": 10}), 403, "scope")  # fmt: skip
        problem(b.get(f"/api/v1/coverage/grids/{setting['grid']}/tracks",
                      params={"date": RUN_DAY, "resolution": 10}), 403, "scope")  # fmt: skip
    with _bearer(live_server, tokens["viewer"]) as city:
        daily = city.get("/api/v1/patrol/daily", params={"date": RUN_DAY}).json()["data"]
        assert setting["person"] in {r["person_id"] for r in daily}
        comp = city.get("/api/v1/coverage/compliance", params={"date": RUN_DAY, "resolution": 10})
        assert setting["person"] in {r["person_id"] for r in comp.json()["data"]}


def test_household_counts_follow_the_scope(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    other = setting["other"]
    with transaction(make_sessionmaker(engine)) as session:
        inside = session.scalar(
            text("SELECT count(*) FROM household WHERE left(grid_code, 9) = :t"), {"t": other}
        )
    with _client(live_server, engine, "dispatcher", f"town:{other}") as b:
        for level in (1, 2, 3):
            rows = b.get("/api/v1/households/counts", params={"by": "grid", "level": level})
            assert rows.status_code == 200, rows.text
            data = rows.json()["data"]
            assert all(r["code"].startswith(other) for r in data)
            assert sum(r["households"] for r in data) == inside
        h3 = b.get("/api/v1/households/counts", params={"by": "h3", "resolution": 7}).json()
        assert sum(r["households"] for r in h3["data"]) == inside
    with _client(live_server, engine, "officer", "grids", person_id=setting["other_person"]) as g:
        data = g.get("/api/v1/households/counts", params={"by": "grid", "level": 1}).json()
        assert data["data"] == []  # a town's total would tell more than the officer's grid
        data = g.get("/api/v1/households/counts", params={"by": "grid", "level": 3}).json()
        assert {r["code"] for r in data["data"]} <= {setting["other_grid"]}
    with _bearer(live_server, tokens["viewer"]) as city:
        data = city.get("/api/v1/households/counts", params={"level": 1}).json()["data"]
        assert {r["code"] for r in data} >= {other, setting["town"]}


def test_a_town_squad_is_read_by_its_town(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    with _bearer(live_server, tokens["viewer"]) as city:
        squads = city.get("/api/v1/teams", params={"kind": "town_squad"}).json()["data"]
    mine = next(t for t in squads if t["town_code"] == setting["town"])
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        problem(b.get(f"/api/v1/teams/{mine['id']}/members"), 403, "team_id")
    with _client(live_server, engine, "dispatcher", f"town:{setting['town']}") as a:
        assert a.get(f"/api/v1/teams/{mine['id']}/members").status_code == 200


def test_the_last_enabled_admin_keeps_the_role(db_session) -> None:  # type: ignore[no-untyped-def]
    from layers import accounts

    # both can sign in (a password): only admins who can still get in count (usable_admins)
    only = accounts.create_user(session=db_session, name=f"last-{secrets.token_hex(3)}",
                                role="admin", password=secrets.token_urlsafe(16))  # fmt: skip
    db_session.execute(  # rolled back after the test
        text("UPDATE app_user SET disabled_at = now() WHERE role = 'admin' AND id <> :i"),
        {"i": only.id},
    )
    for change in ({"role": "viewer"}, {"disabled": True}):
        with pytest.raises(accounts.LastAdmin) as caught:
            accounts.update_user(session=db_session, user=only, **change)
        assert "make another user admin first" in caught.value.detail
        assert caught.value.field == next(iter(change))
    with pytest.raises(accounts.LastAdmin):
        accounts.disable_user(session=db_session, user=only)
    second = accounts.create_user(session=db_session, name=f"next-{secrets.token_hex(3)}",
                                  role="admin", password=secrets.token_urlsafe(16))  # fmt: skip
    accounts.update_user(session=db_session, user=only, role="viewer")  # another admin exists
    assert only.role.value == "viewer"
    with pytest.raises(accounts.LastAdmin):
        accounts.update_user(session=db_session, user=second, disabled=True)


def test_demoting_an_admin_over_http_and_scopes_that_name_nothing(
    live_server, engine, tokens
) -> None:  # type: ignore[no-untyped-def]
    spare = make_user(engine, "admin", password=None, prefix="spare")
    make_user(engine, "admin", prefix="spare")  # one who can sign in: spare is not the last
    with _bearer(live_server, tokens["admin"]) as admin:
        r = admin.patch(f"/api/v1/users/{spare['id']}", json={"role": "viewer"})
        assert r.status_code == 200, r.text  # other admins remain
        for scope in ("town:999999999", "village:999999999999"):
            base = {"name": f"s-{secrets.token_hex(3)}", "role": "officer", "scope": scope}
            body = problem(admin.post("/api/v1/users", json=base), 422, "scope")
            assert "names no" in body["detail"]
            problem(
                admin.patch(f"/api/v1/users/{spare['id']}", json={"scope": scope}), 422, "scope"
            )


def test_cli_set_role(database_url, engine, demo_grids) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import app

    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    user = make_user(engine, "viewer", password=None, prefix="cli")
    town = sorted(demo_grids[demo_grids.level == 1].code)[0]
    r = runner.invoke(app, ["user", "set-role", user["name"], "dispatcher", "--scope",
                            f"town:{town}"], env=env)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"dispatcher (town:{town})" in r.output
    r = runner.invoke(app, ["user", "set-role", user["name"], "boss"], env=env)
    assert r.exit_code == 2 and "does not exist" in r.output
    r = runner.invoke(app, ["user", "set-role", user["name"], "viewer", "--scope",
                            "town:999999999"], env=env)  # fmt: skip
    assert r.exit_code == 1 and "names no" in r.output
    with engine.connect() as conn:
        row = conn.execute(text("SELECT role, scope_code FROM app_user WHERE id = :i"),
                           {"i": user["id"]}).one()  # fmt: skip
    assert (str(row.role), row.scope_code) in {("dispatcher", town), ("Role.DISPATCHER", town)}


def test_kpis_count_the_events_in_scope(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    period = {"from": "2000-01-01", "to": "2100-01-01"}
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        for path in ("/api/v1/kpis", "/api/v1/kpis/ranking"):
            rows = b.get(path, params=period | {"by": "grid"})
            assert rows.status_code == 200, rows.text
            assert all(str(r["key"]).startswith(setting["other"]) for r in rows.json()["data"])
        towns = b.get("/api/v1/kpis", params=period | {"by": "town"}).json()["data"]
        assert {r["key"] for r in towns} <= {setting["other"]}
    with _bearer(live_server, tokens["viewer"]) as city:
        grids = city.get("/api/v1/kpis", params=period | {"by": "grid"}).json()["data"]
        assert setting["grid"] in {r["key"] for r in grids}


def test_who_is_responsible_is_read_inside_the_scope(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/grids/{setting['grid']}/responsible"
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        problem(b.get(url), 403, "scope")
        q = {"lon": setting["lon"], "lat": setting["lat"]}
        problem(b.get("/api/v1/responsible", params=q), 403, "scope")
    with _client(live_server, engine, "dispatcher", f"town:{setting['town']}") as a:
        assert a.get(url).status_code == 200
    with _bearer(live_server, tokens["viewer"]) as city:
        assert city.get(url).status_code == 200
