"""Staff, zones, households and draws over real HTTP (live server on the test database)."""

from __future__ import annotations

import io

import httpx
import openpyxl
import pytest

from tests.people_fixtures import *  # noqa: F403  (session fixtures of issue 3)

PROBLEM = "application/problem+json"


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _problem(r: httpx.Response, status: int, field: str) -> dict:  # type: ignore[type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["field"] == field, body
    return body


def test_who_is_responsible_for_a_point(client, people_demo) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/responsible", params={"lon": 120.285, "lat": 31.92}).json()
    assert len(body["grid"]["code"]) == 15
    assert set(body["by_role"]) == {
        "grid_chief",
        "grid_worker",
        "patroller",
        "supervisor",
        "informant",
        "liaison",
    }
    assert body["zone"]["code"].startswith(body["grid"]["code"][:9])
    assert "中队" in body["squad"]["name"]
    assert "****" in body["staff"][0]["phone"]  # viewers see staff phones masked
    same = client.get(f"/api/v1/grids/{body['grid']['code']}/responsible").json()
    assert same["staff"] == body["staff"]


def test_responsible_bad_input(client, people_demo) -> None:  # type: ignore[no-untyped-def]
    _problem(client.get("/api/v1/responsible", params={"lon": 116.4, "lat": 39.9}), 422, "lon")
    _problem(client.get("/api/v1/responsible", params={"lon": 31.9, "lat": 120.28}), 422, "lat")
    _problem(client.get("/api/v1/responsible", params={"lon": "x", "lat": 31}), 422, "lon")
    _problem(client.get("/api/v1/grids/320281999999999/responsible"), 404, "code")


def test_teams(client, people_demo) -> None:  # type: ignore[no-untyped-def]
    city = client.get("/api/v1/teams", params={"kind": "city_team"}).json()
    assert city["count"] == 7 and all(t["members"] == 20 for t in city["data"])
    _problem(client.get("/api/v1/teams", params={"kind": "army"}), 422, "kind")


CSV_OK = "姓名,身份证号,手机号,角色,网格编码\n测试员,{idn},13900001111,网格员,{code}\n"


def test_import_csv_and_xlsx(live_server, tokens, people_demo) -> None:  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["planner"]) as c:
        code = c.get("/api/v1/grids", params={"level": 3}).json()["features"][0]["id"]
        bad = CSV_OK.format(idn="110105194912310021", code=code) + "无名,,,队长,123\n"
        r = c.post(
            "/api/v1/staff/import",
            params={"on_error": "refuse"},
            content=bad.encode(),
            headers={"content-type": "text/csv"},
        )
        body = _problem(r, 422, "file")
        cells = {(e["row"], e["column"]) for e in body["report"]["errors"]}
        assert cells == {(2, "id_number"), (3, "id_number"), (3, "role"), (3, "grid_code")}
        ok = CSV_OK.format(idn="11010519491231002X", code=code)
        r = c.post(
            "/api/v1/staff/import",
            params={"dry_run": "true"},
            content=ok.encode(),
            headers={"content-type": "text/csv"},
        )
        dry = r.json()  # a dry run: one good row, nothing stored (issue 11)
        assert (dry["would_import"], dry["imported_rows"], dry["assignments_created"]) == (1, 0, 0)
        book = openpyxl.Workbook()
        book.active.append(["name", "id_number", "phone", "role", "grid_code"])
        book.active.append(["表格员", "11010519491231002X", 13900001111, "grid_worker", int(code)])
        buf = io.BytesIO()
        book.save(buf)
        r = c.post(
            "/api/v1/staff/import", params={"filename": "roster.xlsx"}, content=buf.getvalue()
        )
        assert r.status_code == 200, r.text
        assert r.json()["assignments_created"] == 1
        assert r.json()["grids_without"]["grid_worker"]["count"] == 0
        _problem(
            c.post(
                "/api/v1/staff/import", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"}
            ),
            422,
            "header",
        )
        _problem(
            c.post(
                "/api/v1/staff/import", content=b"PK\x03\x04junk", params={"filename": "x.xlsx"}
            ),
            422,
            "file",
        )
        _problem(
            c.post(
                "/api/v1/staff/import", content=b"{}", headers={"content-type": "application/json"}
            ),
            415,
            "Content-Type",
        )
        _problem(
            c.post(
                "/api/v1/staff/import",
                params={"on_error": "maybe"},
                content=b"",
                headers={"content-type": "text/csv"},
            ),
            422,
            "on_error",
        )
    # a viewer may not import
    with _as(live_server, tokens["viewer"]) as c:
        assert (
            c.post(
                "/api/v1/staff/import", content=b"", headers={"content-type": "text/csv"}
            ).status_code
            == 403
        )


def test_households_masked_for_viewers(client, worker_token) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/households", params={"grid": worker_token["grid"]}).json()
    assert body["count"] > 0
    first = body["data"][0]
    assert first["masked"] and first["head_name"].endswith("*")
    assert "****" in first["phone"] and "********" in first["head_id_number"]
    assert all(m["name"].endswith("*") for m in first["members"])


def test_households_unmasked_in_own_grid_and_audited(live_server, tokens, worker_token) -> None:  # type: ignore[no-untyped-def]
    with _as(live_server, worker_token["token"]) as c:
        own = c.get("/api/v1/households", params={"grid": worker_token["grid"], "limit": 3}).json()
        assert [h["masked"] for h in own["data"]] == [False, False, False]
        assert "*" not in own["data"][0]["phone"]
        other_grid = worker_token["grid"][:12] + (
            "002" if worker_token["grid"][-3:] != "002" else "001"
        )
        other = c.get("/api/v1/households", params={"grid": other_grid, "limit": 3}).json()
        assert all(h["masked"] for h in other["data"])
        one = c.get(f"/api/v1/households/{own['data'][0]['id']}").json()
        assert one["masked"] is False
    with _as(live_server, tokens["admin"]) as c:
        log = c.get(
            "/api/v1/households/access-log", params={"household_id": own["data"][0]["id"]}
        ).json()["data"]
        assert [a["purpose"] for a in log] == ["detail", "list"]
        assert {a["person_id"] for a in log} == {worker_token["person_id"]}
        # an admin without a grid of their own sees masked data, and nothing is audited
        assert c.get(f"/api/v1/households/{own['data'][0]['id']}").json()["masked"] is True
    with _as(live_server, tokens["viewer"]) as c:
        assert c.get("/api/v1/households/access-log").status_code == 403


def test_household_counts_api(client, people_demo) -> None:  # type: ignore[no-untyped-def]
    grids = client.get("/api/v1/households/counts", params={"level": 1}).json()
    assert grids["count"] == 17
    cells = client.get("/api/v1/households/counts", params={"by": "h3", "resolution": 8}).json()
    assert sum(c["households"] for c in cells["data"]) == sum(
        g["households"] for g in grids["data"]
    )
    _problem(
        client.get("/api/v1/households/counts", params={"by": "h3", "resolution": 12}),
        422,
        "resolution",
    )
    _problem(client.get("/api/v1/households/counts", params={"by": "street"}), 422, "by")
    _problem(client.get("/api/v1/households/counts", params={"level": 4}), 422, "level")
    _problem(client.get("/api/v1/households", params={"grid": "abc"}), 422, "grid")
    _problem(
        client.get("/api/v1/households", params={"grid": "320281001", "flag": "rich"}), 422, "flag"
    )
    _problem(client.get("/api/v1/households/999999999"), 404, "household_id")


def test_register_household(live_server, tokens, people_demo) -> None:  # type: ignore[no-untyped-def]
    body = {
        "code": "T-1",
        "address": "测试路1号",
        "lon": 120.285,
        "lat": 31.92,
        "head_name": "王五",
        "phone": "13812341234",
        "head_id_number": "11010519491231002X",
        "members": [{"name": "赵六", "relation": "配偶"}],
        "low_income": True,
    }
    with _as(live_server, tokens["officer"]) as c:
        r = c.post("/api/v1/households", json=body)
        assert r.status_code == 201 and len(r.json()["grid_code"]) == 15
        _problem(c.post("/api/v1/households", json=body), 409, "code")
        _problem(
            c.post("/api/v1/households", json={**body, "code": "T-2", "lon": 121.5}), 422, "lon"
        )
        _problem(
            c.post("/api/v1/households", json={**body, "code": "T-3", "phone": "12345"}),
            422,
            "phone",
        )
        _problem(
            c.post(
                "/api/v1/households",
                json={**body, "code": "T-4", "head_id_number": "110105194912310021"},
            ),
            422,
            "head_id_number",
        )


def test_zones_api(client, live_server, tokens, people_demo) -> None:  # type: ignore[no-untyped-def]
    zones = client.get("/api/v1/zones", params={"town": "320281104"})
    assert zones.headers["content-type"] == "application/geo+json"
    features = zones.json()["features"]
    assert 3 <= len(features) <= 4
    assert client.get("/api/v1/zones/validation").json()["ok"] is True
    one = client.get(f"/api/v1/zones/{features[0]['id']}").json()
    assert one["properties"]["members"]
    members = [
        m
        for f in features
        for m in client.get(f"/api/v1/zones/{f['id']}").json()["properties"]["members"]
    ]
    proposal = {
        "zones": [
            {"code": "A", "name": "甲", "members": members[:-1]},
            {"code": "B", "name": "乙", "members": members[:2]},
        ]
    }
    r = client.post("/api/v1/zones/towns/320281104/check", json=proposal).json()
    assert r["ok"] is False and {p["kind"] for p in r["problems"]} == {"gap", "overlap"}
    with _as(live_server, tokens["planner"]) as c:
        body = _problem(c.put("/api/v1/zones/towns/320281104", json=proposal), 422, "zones")
        assert "gap" in body["detail"] or "no zone" in body["detail"]
        _problem(c.put("/api/v1/zones/towns/320281999", json=proposal), 404, "town_code")
    _problem(client.get("/api/v1/zones/NOPE"), 404, "code")


def test_market_and_draws(live_server, tokens, client, people_demo) -> None:  # type: ignore[no-untyped-def]
    draw_in = {
        "title": "2026年7月双随机抽查",
        "seed": "2026-07-01 江阴",
        "n_targets": 4,
        "area_code": "320281001",
        "inspectors_per_target": 2,
    }
    with _as(live_server, tokens["planner"]) as c:
        first = c.post("/api/v1/draws", json=draw_in).json()
        second = c.post("/api/v1/draws", json=draw_in).json()
        assert first["verified"] is True
        assert [t["id"] for t in first["targets"]] == [t["id"] for t in second["targets"]]
        assert first["digest"] == second["digest"]
        for t in first["targets"]:
            assert t["grid_code"].startswith("320281001") and len(t["inspectors"]) == 2
        _problem(c.post("/api/v1/draws", json={**draw_in, "n_targets": 10_000}), 422, "n_targets")
        _problem(c.post("/api/v1/draws", json={**draw_in, "category": "toys"}), 422, "category")
        _problem(c.post("/api/v1/draws", json={**draw_in, "area_code": "abc"}), 422, "area_code")
        entity = {
            "credit_code": "91350100M000100Y43",
            "name": "测试公司",
            "category": "food",
            "lon": 120.285,
            "lat": 31.92,
        }
        assert c.post("/api/v1/market-entities", json=entity).status_code == 201
        _problem(c.post("/api/v1/market-entities", json=entity), 409, "credit_code")
        _problem(
            c.post("/api/v1/market-entities", json={**entity, "credit_code": "91350100M000100Y44"}),
            422,
            "credit_code",
        )
        _problem(
            c.post(
                "/api/v1/market-entities",
                json={**entity, "credit_code": "91320281MA1ABCDE0U", "lat": 30.0},
            ),
            422,
            "lon",
        )
    assert client.get(f"/api/v1/draws/{first['id']}/verify").json()["reproduced"] is True
    _problem(client.get("/api/v1/draws/999999"), 404, "draw_id")
    assert client.post("/api/v1/draws", json=draw_in).status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/zones", "/api/v1/households/counts", "/api/v1/teams"])
def test_needs_a_token(anon, path) -> None:  # type: ignore[no-untyped-def]
    assert anon.get(path).status_code == 401
