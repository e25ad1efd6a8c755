"""Answers that say what happened (issue 11, third trial): a new draft's 201 names its owner
scope as stored; a staff-import dry run says what it would import and that it stored nothing;
a batch fix whose time has the wrong type says so (not "missing"); an owner refusal advises a
copy only when a copy would be taken."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.api.accounts_support import problem
from tests.api.test_draft_edits import edit, version_of
from tests.api.test_draft_owner_s2 import setting as setting  # the fixture
from tests.api.test_planner_scope import _client, _towns_and_grids
from tests.tracks_support import CITY_LAT, CITY_LON, make_device


def test_a_new_drafts_answer_names_its_owner_scope(
    live_server: str, engine: Engine, demo_generation: int
) -> None:
    town = _towns_and_grids(engine, demo_generation)["mine"]
    made = []
    try:
        for scope in (f"town:{town}", "city"):
            with _client(live_server, engine, scope) as p:
                body = {"from": "active", "name": f"owner {secrets.token_hex(3)}"}
                r = p.post("/api/v1/generations", json=body)
                assert r.status_code == 201, r.text
                gid = r.json()["generation"]["id"]
                made.append(gid)
                assert r.json()["generation"]["owner_scope"] == scope, r.text
                shown = p.get(f"/api/v1/generations/{gid}").json()
                assert shown["owner_scope"] == r.json()["generation"]["owner_scope"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM generation WHERE id = ANY(:g)"), {"g": made})


def test_a_staff_import_dry_run_stores_nothing_and_says_so(
    live_server: str, engine: Engine, demo_generation: int
) -> None:
    grid = _towns_and_grids(engine, demo_generation)["my_grid"]
    number = "11010519491231002X"
    roster = f"姓名,身份证号,手机号,角色,网格编码\n试运行,{number},13900001111,网格员,{grid}\n"
    with _client(live_server, engine, "city") as p:
        r = p.post("/api/v1/staff/import", params={"dry_run": "true"}, content=roster.encode(),
                   headers={"content-type": "text/csv"})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["would_import"], body["imported_rows"]) == (1, 1, 0), body
    assert body["dry_run"] is True and body["people_created"] == 0, body
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM person WHERE name = '试运行'")) == 0


def test_a_batch_time_of_the_wrong_type_is_not_called_missing(
    anon: httpx.Client, engine: Engine, demo_generation: int
) -> None:
    device = make_device(engine)
    fixes: list[dict[str, Any]] = [
        {"time": True, "lon": CITY_LON, "lat": CITY_LAT, "seq": 0},
        {"lon": CITY_LON, "lat": CITY_LAT, "seq": 1},
        {"time": None, "lon": CITY_LON, "lat": CITY_LAT, "seq": 2},
    ]
    r = anon.post(
        "/api/v1/ingest/batch",
        json={"device": device.external_id, "datum": "wgs84", "fixes": fixes},
        headers={"Authorization": f"Bearer {device.secret}"},
    )
    assert r.status_code in (200, 422), r.text
    errors = {e["index"]: e for e in (r.json().get("errors") or [])}
    assert errors[0]["field"] == "fixes/0/time", errors
    assert "missing" not in errors[0]["detail"] and "got true" in errors[0]["detail"], errors
    for i in (1, 2):
        assert "missing" in errors[i]["detail"], errors


def test_an_owner_refusal_advises_a_copy_only_when_it_would_be_taken(
    setting: dict[str, Any],
) -> None:
    a, b, gid = setting["a"], setting["b"], setting["draft"]
    v = version_of(a, gid)
    rename = {"name": "x", "version": v}
    body = problem(b.patch(f"/api/v1/generations/{gid}", json=rename), 403, "scope")
    assert body["copy_allowed"] is True and "copy it to a draft" in body["detail"], body
    # A edits a grid of its own town: the draft now changes grids outside B's scope, so a copy
    # by B would be refused too; the refusal says so and what B can do instead
    r = edit(a, gid, v, op="rename", code=setting["my_grid"], name="本镇改", reason="t")
    assert r.status_code == 200, r.text
    v = version_of(a, gid)
    body = problem(b.patch(f"/api/v1/generations/{gid}", json={**rename, "version": v}),
                   403, "scope")  # fmt: skip
    assert "copy it to a draft" not in body["detail"], body  # "… must rename it"
    r = edit(b, gid, v, op="rename", code=setting["other_grid"], name="塞进去", reason="t")
    body = problem(r, 403, "scope")
    assert body["copy_allowed"] is False, body
    assert "copy it to a draft" not in body["detail"] and "refused too" in body["detail"], body
    assert setting["my_grid"] in body["detail"], body
    copy = b.post("/api/v1/generations", json={"from": gid, "name": "copy"})
    problem(copy, 403, "scope")  # the advice holds: the copy is refused
    into = {"op": "rename", "code": setting["other_grid"], "name": "塞", "reason": "t"}
    zh = b.post(f"/api/v1/generations/{gid}/edits", params={"lang": "zh"},
                headers={"If-Match": f'"{v}"'}, json=into)  # fmt: skip
    assert zh.status_code == 403 and "复制它也会被拒绝" in zh.json()["detail"], zh.text
