"""/plan lists the grids a publication left without a role (and zone members on retired codes)
beside the assignments to decide, and decides one from the page (headless Chromium): a staffed
grid split in two and published (an admin's emergency publication), the page lists both halves'
roles with the split grid's people as choices; leaving one vacant removes it from the API's
list and logs the reason. ``restore_demo`` puts the demo generation back in force; the
assignments, households and zone members touched are put back as they were."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_plan_decide import _quiet_grid, put_back_staff, staff_of
from tests.e2e.test_plan_page import _api, open_plan

pytestmark = pytest.mark.browser


def test_grids_to_staff_listed_and_decided_on_the_page(  # type: ignore[no-untyped-def]
    browser, live_server, engine: Engine, tokens, people_demo, restore_demo
) -> None:
    code, geom = _quiet_grid(engine, people_demo["generation"])
    saved = staff_of(engine, code)  # put back as it was after the publication
    halves: list[str] = []
    page = None
    try:
        with (
            _api(live_server, tokens["planner"]) as api,
            _api(live_server, tokens["admin"]) as admin,
        ):
            made = api.post("/api/v1/generations", json={"from": "active", "name": "缺岗测试"})
            assert made.status_code == 201, made.text
            draft = made.json()["generation"]["id"]
            minx, miny, maxx, maxy = geom.bounds
            mid = (miny + maxy) / 2
            version = api.get(f"/api/v1/generations/{draft}/edits").headers["ETag"]
            split = api.post(
                f"/api/v1/generations/{draft}/edits",
                json={"op": "split", "code": code, "reason": "一分为二",
                      "line": [[minx - 0.01, mid], [maxx + 0.01, mid]]},
                headers={"If-Match": version},
            )  # fmt: skip
            assert split.status_code == 200, split.text
            done = split.json()["edit"]
            halves[:] = sorted(set(done["grids_after"]) - set(done["grids_before"]))
            dry = admin.post(f"/api/v1/generations/{draft}/publish", json={"reason": "看看"}).json()
            planned = dry["impact"]["grids_to_staff"]["items"]
            assert {i["grid_code"] for i in planned} & set(halves), planned
            published = admin.post(
                f"/api/v1/generations/{draft}/publish",
                json={"reason": "拆分", "commit": True, "emergency": True},
            )
            assert published.status_code == 200, published.text
            assert any(a.get("kind") == "grid_role"
                       for a in published.json()["reanchor"]["ambiguous"])  # fmt: skip
            pending = api.get(f"/api/v1/generations/{draft}/grids-to-staff").json()["data"]
            mine = [i for i in pending if i["grid_code"] in halves]
            assert mine and all(i["sources"] == [code] for i in mine), pending

            # F10.2: a case filed meanwhile in a half whose worker is undecided goes up a level
            # (or to the town's dispatch queue) and its log says so; the half stays listed
            half = next(i["grid_code"] for i in mine if i["role"] == "grid_worker")
            with engine.connect() as conn:
                lon, lat = conn.execute(
                    text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                         "FROM grid WHERE generation_id = :g AND code = :c) s"),
                    {"g": draft, "c": half},
                ).one()  # fmt: skip
            filed = admin.post("/api/v1/events", json={
                "lon": lon, "lat": lat, "subclass": "0101", "ignore_duplicates": True,
                "description": "缺岗网格中的事件"})  # fmt: skip
            assert filed.status_code == 201, filed.text
            with engine.connect() as conn:
                logged = conn.execute(
                    text("SELECT e.grid_code, l.note, l.data FROM event e JOIN event_log l "
                         "ON l.event_id = e.id AND l.filed_town_code = e.filed_town_code "
                         "AND l.action = 'report' WHERE e.id = :i"),
                    {"i": filed.json()["id"]},
                ).one()  # fmt: skip
            assert logged.grid_code == half and logged.data["worker_from"] != "grid", logged
            # the log's note is zh (the log's language), its English in data.note_en
            assert half in logged.note and "无网格员" in logged.note, logged
            assert half in logged.data["note_en"] and "no worker" in logged.data["note_en"], logged
            still = api.get(f"/api/v1/generations/{draft}/grids-to-staff").json()["data"]
            assert (half, "grid_worker") in {(i["grid_code"], i["role"]) for i in still}

            page, seen = open_plan(browser, live_server, tokens["planner"], "/plan")
            wait_until(page, "window.gridgisPlan.toDecideMore && "
                       "window.gridgisPlan.toDecideMore.staff > 0", timeout=120_000)  # fmt: skip
            target = mine[0]
            row = (f"#to-decide-more tr[data-grid='{target['grid_code']}']"
                   f"[data-role='{target['role']}']")  # fmt: skip
            assert page.locator(row).count() == 1
            names = page.locator(f"{row} select option").all_text_contents()
            assert any(c["name"] in n for c in target["candidates"] for n in names), names
            # a "move" says before it is chosen which grid it may leave without staff (F10b)
            moves = [n for n in names if "调来" in n]
            assert all("可能因此缺岗" in n for n in moves), names
            heading = "#to-decide-more [data-kind='staff'] .to-decide-title"
            count = page.evaluate("window.gridgisPlan.toDecideMore.staff")
            assert f"缺岗网格（{count} 个）" in page.text_content(heading)
            page.evaluate("window.__samePage = true")  # gone if the page reloads
            page.fill("#review-reason", "招聘中")
            page.select_option(f"{row} select", "vacant:")
            page.click(f"{row} button")
            wait_until(page, "window.gridgisPlan.decidedMore === 1", timeout=60_000)
            # the list is re-read from the server and redrawn with its counts, without a reload
            # (F10.3, F10b: a "move" can add the person's former grid to the list)
            server = api.get(f"/api/v1/generations/{draft}/to-decide").json()["grids_to_staff"]
            assert len(server) == count - 1
            assert page.evaluate("window.__samePage === true")
            assert page.evaluate("window.gridgisPlan.toDecideMore.staff") == len(server)
            if server:
                assert f"缺岗网格（{len(server)} 个）" in page.text_content(heading)
            left = api.get(f"/api/v1/generations/{draft}/grids-to-staff").json()["data"]
            assert (target["grid_code"], target["role"]) not in {
                (i["grid_code"], i["role"]) for i in left
            }
            steps = api.get(f"/api/v1/generations/{draft}/review").json()["steps"]
            assert steps[-1]["reason"] == "招聘中"
            assert steps[-1]["details"]["step"] == "staff_grid"
            assert_offline_and_clean(seen)
    finally:
        if page is not None:
            page.context.close()
        put_back_staff(engine, saved, halves)
