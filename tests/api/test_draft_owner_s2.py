"""A draft belongs to the scope of the planner who made it (issue 11, task S2 part 1: a town's
planner renamed, submitted, rejected, approved and published another town's unedited draft, and
put edits of its own into it). Anyone may read a draft; renaming, editing (edits API, OGC),
submitting, rejecting, approving, rebasing and publishing need the draft's scope within the
caller's (a city-wide planner or an admin: any), as well as the grids rule of
layers/planning/scope.py. Refusals are 403 ``scope``; nothing is stored."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from layers.accounts import Identity, Scope
from layers.models import Role
from layers.planning.scope import owned_by
from tests.api.accounts_support import problem
from tests.api.test_draft_edits import edit, version_of
from tests.api.test_planner_scope import _client, _towns_and_grids


def _row(engine: Engine, gid: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT name, status::text AS status, owner_scope FROM generation WHERE id = :g"),
            {"g": gid},
        ).one()


@pytest.fixture
def setting(live_server: str, engine: Engine, demo_generation: int) -> Iterator[dict[str, Any]]:
    """Town A's planner, town B's planner, a city-wide planner; town A's own draft (a copy of
    the city in force made over HTTP) and an unedited draft made by the city's planner."""
    where = _towns_and_grids(engine, demo_generation)
    made: list[int] = []
    with (
        _client(live_server, engine, f"town:{where['mine']}") as a,
        _client(live_server, engine, f"town:{where['other']}") as b,
        _client(live_server, engine, "city") as city,
    ):
        for who in (a, city):
            name = f"owner {secrets.token_hex(3)}"
            r = who.post("/api/v1/generations", json={"from": "active", "name": name})
            assert r.status_code == 201, r.text
            made.append(r.json()["generation"]["id"])
        try:
            yield {**where, "a": a, "b": b, "city": city, "draft": made[0], "citys": made[1]}
        finally:
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM generation WHERE id = ANY(:g)"), {"g": made})


def test_a_draft_records_its_makers_scope(setting: dict[str, Any], engine: Engine) -> None:
    assert _row(engine, setting["draft"]).owner_scope == f"town:{_town(setting)}"
    assert _row(engine, setting["citys"]).owner_scope == "city"
    shown = setting["b"].get(f"/api/v1/generations/{setting['draft']}")
    assert shown.status_code == 200 and shown.json()["owner_scope"] == f"town:{_town(setting)}"


def _town(setting: dict[str, Any]) -> str:
    return str(setting["my_grid"])[:9]


def test_another_towns_planner_reads_but_does_not_change_a_draft(
    setting: dict[str, Any], engine: Engine
) -> None:
    a, b, gid = setting["a"], setting["b"], setting["draft"]
    assert b.get(f"/api/v1/generations/{gid}/edits").status_code == 200  # reading is open
    v = version_of(a, gid)
    body = problem(b.patch(f"/api/v1/generations/{gid}", json={"name": "偷改", "version": v}),
                   403, "scope")  # fmt: skip
    owner = f"town:{_town(setting)}"
    assert owner in body["detail"] and body["owner_scope"] == owner
    zh = b.patch(f"/api/v1/generations/{gid}", params={"lang": "zh"},
                 json={"name": "偷改", "version": v})  # fmt: skip
    assert zh.status_code == 403 and "草案" in zh.json()["detail"], zh.text
    # an edit of B's own grid into A's draft: refused, nothing stored (the owner is never
    # locked out of its own draft)
    r = edit(b, gid, v, op="rename", code=setting["other_grid"], name="塞进去", reason="t")
    problem(r, 403, "scope")
    item = f"/ogc/collections/grids-l3@{gid}/items/{setting['other_grid']}"
    ogc = b.patch(item, json={"properties": {"name": "塞进去"}}, headers={"If-Match": f'"{v}"'})
    problem(ogc, 403, "scope")
    assert version_of(a, gid) == v
    for step in ("submit", "reject", "approve", "rebase"):
        problem(b.post(f"/api/v1/generations/{gid}/{step}", json={"reason": "x"}), 403, "scope")
    problem(b.post(f"/api/v1/generations/{gid}/publish", json={"commit": True, "reason": "x"}),
            403, "scope")  # fmt: skip
    assert _row(engine, gid).status.lower().endswith("draft")
    assert _row(engine, gid).name != "偷改"
    # its owner edits and submits it; the city's planner approves it
    r = edit(a, gid, v, op="rename", code=setting["my_grid"], name="本镇改", reason="t")
    assert r.status_code == 200, r.text
    assert a.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).status_code == 200
    problem(b.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"}), 403, "scope")
    r = setting["city"].post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"})
    assert r.status_code == 200, r.text


def test_a_towns_planner_cannot_publish_the_citys_unedited_draft(
    setting: dict[str, Any], engine: Engine
) -> None:
    a, city, gid = setting["a"], setting["city"], setting["citys"]
    v = version_of(city, gid)
    problem(a.patch(f"/api/v1/generations/{gid}", json={"name": "x", "version": v}), 403, "scope")
    for step in ("submit", "approve", "reject", "rebase"):
        problem(a.post(f"/api/v1/generations/{gid}/{step}", json={"reason": "x"}), 403, "scope")
    assert city.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).status_code == 200
    body = problem(a.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"}),
                   403, "scope")  # fmt: skip
    assert "city's draft" in body["detail"]
    problem(a.post(f"/api/v1/generations/{gid}/publish", json={"commit": True, "reason": "go"}),
            403, "scope")  # fmt: skip
    assert _row(engine, gid).status.lower().endswith("submitted")
    dry = a.post(f"/api/v1/generations/{gid}/publish", json={"reason": "look"})
    assert dry.status_code != 403, dry.text  # a dry run changes nothing: anyone may look


def _who(scope: str, role: Role = Role.PLANNER, user_id: int = 7) -> Identity:
    return Identity(name="t", role=role, user_id=user_id, scope=Scope.parse(scope))


def test_the_ownership_rule_itself() -> None:
    town, village = ("320281001",), ("320281001002",)
    assert owned_by(None, identity=_who("city"), codes=None)
    assert owned_by("town:320281004", identity=_who("town:320281001", Role.ADMIN), codes=town)
    assert not owned_by(None, identity=_who("town:320281001"), codes=town)
    assert not owned_by("city", identity=_who("town:320281001"), codes=town)
    assert owned_by("town:320281001", identity=_who("town:320281001"), codes=town)
    assert owned_by("village:320281001002", identity=_who("town:320281001"), codes=town)
    assert not owned_by("town:320281001", identity=_who("village:320281001002"), codes=village)
    assert not owned_by("town:320281004", identity=_who("town:320281001"), codes=town)
    assert owned_by("user:7", identity=_who("grids"), codes=("320281001002003",))
    assert not owned_by("user:8", identity=_who("grids"), codes=("320281001002003",))


def test_the_command_line_keeps_to_the_owner_too(
    database_url: str, engine: Engine, demo_generation: int
) -> None:
    from layers.accounts import create_user
    from layers.db import make_sessionmaker, transaction
    from tests.api.test_cli_scope import _cli, _edits, _rename, _status
    from tests.planning_fixtures import draft_of

    with draft_of(engine, demo_generation) as gid:  # the city's unedited draft
        where = _towns_and_grids(engine, gid)
        town = f"s2-town-{secrets.token_hex(3)}"
        with transaction(make_sessionmaker(engine)) as session:
            create_user(session=session, name=town, role="planner",
                        scope=Scope.parse(f"town:{where['mine']}"))  # fmt: skip
        out = _cli(database_url, *_rename(gid, where["my_grid"], "越权", town, "--commit"), code=1)
        assert "city's draft" in out, out
        assert _edits(engine, gid) == 0
        for step in ("submit", "approve", "reject"):
            out = _cli(database_url, "grids", step, str(gid), "--reason", "x", "--as", town,
                       code=1)  # fmt: skip
            assert "city's draft" in out, (step, out)
        assert _status(engine, gid) == "draft"
