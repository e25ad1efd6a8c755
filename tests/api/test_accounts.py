"""Accounts (issue 11.2): users with a role, a scope and an argon2 password, linked to a staff
member; tokens belong to a user; the person reaches household masking, the event log and the
officer's right to act."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.api.accounts_support import (
    PASSWORD,
    browser,
    login,
    make_token,
    make_user,
    problem,
)
from tests.people_fixtures import *  # noqa: F403  (people_demo, worker_token)


@pytest.fixture
def admin(live_server, tokens):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as c:
        yield c


def _bearer(live_server: str, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=live_server, headers=headers, timeout=60)


def test_admin_creates_a_user_who_logs_in_with_name_and_password(
    live_server, admin, engine
) -> None:  # type: ignore[no-untyped-def]
    name = f"wang-{id(admin)}"
    r = admin.post(
        "/api/v1/users",
        json={"name": name, "display_name": "王五", "role": "dispatcher", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["role"] == "dispatcher" and user["scope"] == "city" and user["has_password"]
    assert "password" not in user and "password_hash" not in user
    assert admin.get(f"/api/v1/users/{user['id']}").json()["name"] == name
    assert name in {u["name"] for u in admin.get("/api/v1/users").json()["data"]}
    with browser(live_server) as page:
        wrong = page.post("/login", data={"username": name, "password": "not it at all"})
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
        assert f'value="{name}"' in wrong.text  # the name stays in the form
        unknown = page.post("/login", data={"username": "nobody-here", "password": PASSWORD})
        assert unknown.status_code == 401
        ok = page.post("/login", data={"username": name, "password": PASSWORD, "next": "/live"})
        assert ok.status_code == 303 and ok.headers["location"] == "/live"
        assert page.get("/api/v1/generations").status_code == 200
    assert admin.get(f"/api/v1/users/{user['id']}").json()["last_login_at"] is not None
    # a disabled user is refused at the door, and so are their tokens
    token = make_token(engine, user["id"])
    r = admin.patch(f"/api/v1/users/{user['id']}", json={"disabled": True})
    assert r.json()["disabled_at"] is not None
    with browser(live_server) as page:
        refused = page.post("/login", data={"username": name, "password": PASSWORD, "lang": "en"})
        assert refused.status_code == 401 and "disabled" in refused.text
    with _bearer(live_server, token["token"]) as c:
        assert "disabled" in problem(c.get("/api/v1/generations"), 401, "Authorization")["detail"]


def test_passwords_are_stored_as_argon2_hashes(engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer")
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM app_user WHERE id = :i"), {"i": user["id"]}
        ).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_set_password_ends_sessions_and_the_new_one_works(live_server, admin, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer")
    with login(live_server, user["name"]) as page:
        r = admin.put(f"/api/v1/users/{user['id']}/password", json={"password": "n3w pass word"})
        assert r.status_code == 204
        assert page.get("/api/v1/generations").status_code == 401
    with login(live_server, user["name"], "n3w pass word") as page:
        assert page.get("/api/v1/generations").status_code == 200


def test_bad_user_input_is_a_problem_naming_the_field(admin, tokens, live_server) -> None:  # type: ignore[no-untyped-def]
    base = {"name": f"bad-{id(admin)}", "role": "viewer"}
    problem(admin.post("/api/v1/users", json=base | {"scope": "town:12"}), 422, "scope")
    problem(admin.post("/api/v1/users", json=base | {"scope": "planet:1"}), 422, "scope")
    problem(admin.post("/api/v1/users", json=base | {"scope": "grids"}), 422, "scope")
    problem(admin.post("/api/v1/users", json=base | {"person_id": 2**31 - 2}), 422, "person_id")
    problem(admin.post("/api/v1/users", json=base | {"password": "short"}), 422, "password")
    problem(admin.post("/api/v1/users", json=base | {"role": "king"}), 422, "role")
    problem(admin.post("/api/v1/users", json=base | {"name": "two words"}), 422, "name")
    assert admin.post("/api/v1/users", json=base).status_code == 201
    problem(admin.post("/api/v1/users", json=base), 409, "name")
    problem(admin.get("/api/v1/users/999999999"), 404, "user_id")
    problem(admin.patch("/api/v1/users/999999999", json={"role": "admin"}), 404, "user_id")
    with _bearer(live_server, tokens["dispatcher"]) as c:  # admins only
        problem(c.get("/api/v1/users"), 403, "Authorization")
        problem(c.get("/api/v1/tokens"), 403, "Authorization")
        problem(c.post("/api/v1/users", json=base), 403, "Authorization")


def test_tokens_belong_to_a_user_show_last_use_and_revoke(live_server, admin, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "planner")
    r = admin.post("/api/v1/tokens", json={"user": user["name"], "name": "QGIS on PC-12"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["token"].startswith("ggt_") and created["role"] == "planner"
    assert created["user_id"] == user["id"] and created["last_used_at"] is None
    listed = {t["id"]: t for t in admin.get("/api/v1/tokens").json()["data"]}
    assert "token" not in listed[created["id"]]  # the value is shown once only
    with _bearer(live_server, created["token"]) as c:
        assert c.get("/api/v1/generations").status_code == 200
    mine = admin.get("/api/v1/tokens", params={"user_id": user["id"]}).json()["data"]
    assert [t["id"] for t in mine] == [created["id"]] and mine[0]["last_used_at"] is not None
    # the token's role is its user's: promote the user, the token follows
    assert admin.patch(f"/api/v1/users/{user['id']}", json={"role": "admin"}).status_code == 200
    with _bearer(live_server, created["token"]) as c:
        assert c.get("/api/v1/users").status_code == 200
        assert admin.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
        problem(c.get("/api/v1/generations"), 401, "Authorization")
    revoked = admin.get("/api/v1/tokens", params={"user_id": user["id"]}).json()["data"][0]
    assert revoked["revoked_at"] is not None
    problem(admin.delete("/api/v1/tokens/999999999"), 404, "token_id")
    problem(admin.post("/api/v1/tokens", json={"user": "no-such-user"}), 404, "user")
    problem(admin.post("/api/v1/tokens", json={}), 422, "body")  # the body as a whole


def test_a_user_linked_to_a_grid_worker_sees_their_grid_unmasked(
    live_server, engine, worker_token
) -> None:  # type: ignore[no-untyped-def]
    grid, person = worker_token["grid"], worker_token["person_id"]
    other_grid = grid[:12] + ("002" if grid[-3:] != "002" else "001")
    user = make_user(engine, "officer", person_id=person)
    # offset 3: households other tests audit (tests/api/test_people_api.py reads the first)
    with login(live_server, user["name"]) as page:
        own = page.get("/api/v1/households", params={"grid": grid, "limit": 3, "offset": 3}).json()
        assert own["data"] and not any(h["masked"] for h in own["data"])
        other = page.get("/api/v1/households", params={"grid": other_grid, "limit": 3}).json()
        assert all(h["masked"] for h in other["data"])
    log = [a for a in _access_log(live_server, engine) if a["person_id"] == person]
    assert log and {a["grid_code"] for a in log} == {grid}
    # the same person, scoped to another town: the scope narrows, the grid is out of reach
    with engine.connect() as conn:  # a town of the city (a scope must name one)
        other_town = conn.execute(
            text("SELECT code FROM grid WHERE level = 1 AND code <> :t ORDER BY code LIMIT 1"),
            {"t": grid[:9]},
        ).scalar_one()
    scoped = make_user(engine, "officer", person_id=person, scope=f"town:{other_town}")
    with login(live_server, scoped["name"]) as page:
        problem(page.get("/api/v1/households", params={"grid": grid, "limit": 3}), 403, "grid")
    # a user without a person (an admin included) never sees personal data
    nobody = make_user(engine, "admin")
    with login(live_server, nobody["name"]) as page:
        own = page.get("/api/v1/households", params={"grid": grid, "limit": 3}).json()
        assert all(h["masked"] for h in own["data"])


def _access_log(live_server: str, engine: Any) -> list[dict[str, Any]]:
    admin = make_user(engine, "admin")
    with login(live_server, admin["name"]) as page:
        return list(page.get("/api/v1/households/access-log").json()["data"])


@pytest.fixture
def town_case(live_server, tokens, demo_grids, people_demo) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A case dispatched in a unit grid of the demo city, with the grid's town."""
    l3 = demo_grids[demo_grids.level == 3].iloc[321]
    point = l3.geometry.representative_point()
    with _bearer(live_server, tokens["dispatcher"]) as d:
        body = {"lon": point.x, "lat": point.y, "subclass": "0401", "description": "占道经营",
                "ignore_duplicates": True}  # fmt: skip
        event = d.post("/api/v1/events", json=body).json()
        for action in ("accept", "dispatch"):
            r = d.post(f"/api/v1/events/{event['id']}/actions", json={"action": action})
            assert r.status_code == 200, r.text
    return {"id": event["id"], "grid": l3.code, "town": l3.code[:9], "demo_grids": demo_grids}


def test_an_officer_acts_only_in_their_scope_and_on_cases_routed_to_them(
    live_server, engine, tokens, town_case, worker_token
) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/events/{town_case['id']}/actions"
    grids = town_case["demo_grids"]
    towns = sorted(set(grids[grids.level == 1].code) - {town_case["town"]})
    elsewhere = make_user(engine, "officer", scope=f"town:{towns[0]}")
    with login(live_server, elsewhere["name"]) as page:
        body = problem(page.post(url, json={"action": "start"}), 403, "action")
        assert "outside your scope" in body["detail"]
    # a staff member whose grids are elsewhere: refused until a dispatcher reroutes to them
    person = worker_token["person_id"]
    assert not worker_token["grid"].startswith(town_case["town"]), "pick another case grid"
    linked = make_user(engine, "officer", person_id=person)
    with login(live_server, linked["name"]) as page:
        body = problem(page.post(url, json={"action": "start"}), 403, "action")
        assert "routing" in body["detail"]
        with _bearer(live_server, tokens["dispatcher"]) as d:
            r = d.post(
                f"/api/v1/events/{town_case['id']}/routing",
                json={"changes": {"worker_person_id": person}, "reason": "就近处置"},
            )
            assert r.status_code == 200, r.text
        r = page.post(url, json={"action": "start"})
        assert r.status_code == 200, r.text
    # the event log carries the person who acted
    with _bearer(live_server, tokens["viewer"]) as v:
        timeline = v.get(f"/api/v1/events/{town_case['id']}").json()["timeline"]
    assert timeline[-1]["person_id"] == person and timeline[-1]["to"] == "in_handling"


def test_a_user_sees_the_events_of_their_scope_only(live_server, engine, tokens, town_case) -> None:  # type: ignore[no-untyped-def]
    grids = town_case["demo_grids"]
    other = sorted(set(grids[grids.level == 1].code) - {town_case["town"]})[0]
    elsewhere = make_user(engine, "officer", scope=f"town:{other}")
    local = make_user(engine, "dispatcher", scope=f"town:{town_case['town']}")
    case = f"/api/v1/events/{town_case['id']}"
    with login(live_server, elsewhere["name"]) as page:
        problem(page.get(case), 403, "scope")
        listed = page.get("/api/v1/events", params={"limit": 10_000}).json()["data"]
        assert town_case["id"] not in {e["id"] for e in listed}
        assert all((e["routing"]["grid_code"] or "").startswith(other) for e in listed)
        overdue = page.get("/api/v1/events/overdue").json()["data"]
        assert all((e["routing"]["grid_code"] or "").startswith(other) for e in overdue)
        # every other read follows the same rule
        problem(page.get("/api/v1/dashboard/events", params={"scope": town_case["town"]}),
                403, "scope")  # fmt: skip
        mine = page.get("/api/v1/dashboard/events").json()  # empty scope: their own town
        assert mine["scope"] == other if "scope" in mine else True
        latest = page.get("/api/v1/positions/latest").json()["features"]
        assert all((f["properties"]["grid"] or {}).get("code", other).startswith(other)
                   if isinstance(f["properties"]["grid"], dict)
                   else (f["properties"]["grid"] or other).startswith(other)
                   for f in latest)  # fmt: skip
    token = make_token(engine, elsewhere["id"])["token"]
    with _bearer(live_server, token) as key:
        one = key.get(f"/open311/v2/requests/{town_case['id']}.json",
                      params={"api_key": token})  # fmt: skip
        assert one.status_code == 404
        listed = key.get("/open311/v2/requests.json", params={"api_key": token}).json()
        assert town_case["id"] not in {int(r["service_request_id"]) for r in listed}
    with login(live_server, local["name"]) as page:
        assert page.get(case).status_code == 200
        listed = page.get("/api/v1/events", params={"limit": 10_000}).json()["data"]
        assert town_case["id"] in {e["id"] for e in listed}
    with _bearer(live_server, tokens["viewer"]) as city:  # the city's users see everything
        assert city.get(case).status_code == 200


def test_an_officer_of_the_town_may_act_and_reports_carry_the_person(
    live_server, engine, town_case, worker_token
) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/events/{town_case['id']}/actions"
    local = make_user(engine, "officer", scope=f"town:{town_case['town']}")
    with login(live_server, local["name"]) as page:
        r = page.post(url, json={"action": "start"})
        assert r.status_code == 200, r.text
    reporter = make_user(engine, "officer", person_id=worker_token["person_id"])
    token = make_token(engine, reporter["id"])
    grids = town_case["demo_grids"]
    point = grids[grids.code == worker_token["grid"]].iloc[0].geometry.representative_point()
    with _bearer(live_server, token["token"]) as c:
        body = {"lon": point.x, "lat": point.y, "subclass": "0401", "description": "占道",
                "ignore_duplicates": True}  # fmt: skip
        event = c.post("/api/v1/events", json=body)
        assert event.status_code == 201, event.text
    # a reporter scoped elsewhere still follows what they reported
    grids_l1 = sorted(set(grids[grids.level == 1].code) - {worker_token["grid"][:9]})
    away = make_user(engine, "officer", person_id=worker_token["person_id"],
                     scope=f"town:{grids_l1[0]}")  # fmt: skip
    with login(live_server, away["name"]) as page:
        assert page.get(f"/api/v1/events/{event.json()['id']}").status_code == 200
    with _bearer(live_server, token["token"]) as c:
        period = {"from": "2020-01-01", "to": "2100-01-01"}
        r = c.get("/api/v1/kpis", params={"by": "reporter", **period})
        assert r.status_code == 200, r.text
        kpis = r.json()
    keys = {str(row.get("key")) for row in kpis["data"]}
    assert str(worker_token["person_id"]) in keys, kpis["data"][:3]


def test_cli_user_and_token_commands(database_url, engine) -> None:  # type: ignore[no-untyped-def]
    import re
    import secrets

    from typer.testing import CliRunner

    from api.cli import app

    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    name, service = f"cli-{secrets.token_hex(3)}", f"svc-{secrets.token_hex(3)}"

    def run(*args: str, stdin: str | None = None, code: int = 0) -> str:
        r = runner.invoke(app, list(args), input=stdin, env=env)
        assert r.exit_code == code, r.output
        return str(r.output)

    run("user", "create", name, "--role", "officer", "--scope", "town:320281104",
        "--password-stdin", stdin="a long password\n")  # fmt: skip
    assert "town:320281104" in run("user", "list")
    assert "320281" in run("user", "create", "x-bad", "--role", "officer", "--scope", "town:1",
                           "--no-password", code=1)  # fmt: skip
    run("user", "create", name, "--role", "viewer", "--no-password", code=1)  # name taken
    # `token create NAME --role` keeps working: a system user NAME holds the token
    first = run("token", "create", service, "--role", "viewer")
    assert re.search(r"ggt_[\w-]{40,}", first) and f"user {service}" in first
    run("token", "create", service, "--role", "viewer")  # the same user again
    assert "exists with role viewer" in run("token", "create", service, "--role", "admin", code=1)
    mine = run("token", "create", "phone", "--user", name)
    assert "(officer)" in mine
    token_id = re.search(r"token (\d+)", mine).group(1)  # type: ignore[union-attr]
    run("user", "passwd", name, "--password-stdin", stdin="another password\n")
    run("user", "disable", name)
    assert f"token {token_id} revoked" in run("token", "revoke", token_id)
    run("token", "revoke", "999999999", code=1)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT password_hash, disabled_at, system FROM app_user WHERE name = :n"),
            {"n": name},
        ).one()
        owners = conn.execute(
            text(
                "SELECT count(*) FROM api_token t JOIN app_user u ON u.id = t.user_id "
                "WHERE u.name = :n AND u.system"
            ),
            {"n": service},
        ).scalar_one()
    assert row.password_hash.startswith("$argon2id$") and row.disabled_at and not row.system
    assert owners == 2


def test_a_town_dispatcher_acts_only_on_the_towns_cases(live_server, engine, town_case) -> None:  # type: ignore[no-untyped-def]
    grids = town_case["demo_grids"]
    towns = sorted(set(grids[grids.level == 1].code) - {town_case["town"]})
    other = make_user(engine, "dispatcher", scope=f"town:{towns[-1]}")
    event_url = f"/api/v1/events/{town_case['id']}"
    with login(live_server, other["name"]) as page:
        body = problem(page.post(f"{event_url}/actions", json={"action": "park", "note": "x"}),
                       403, "action")  # fmt: skip
        assert "outside your scope" in body["detail"]
        reroute = {"changes": {"department": "城管"}, "reason": "试试"}
        problem(page.post(f"{event_url}/routing", json=reroute), 403, "scope")
    local = make_user(engine, "dispatcher", scope=f"town:{town_case['town']}")
    with login(live_server, local["name"]) as page:
        r = page.post(f"{event_url}/actions", json={"action": "park", "note": "等待材料"})
        assert r.status_code == 200, r.text
