"""/plan's "assignments to decide" form in headless Chromium: a split leaves the grid worker of
the split grid to decide; the planner publishes from the page, the form lists the assignment
(the impact panel says "to decide" in the page's language, not the API's word), the planner
moves it to one half from the page: the row leaves the form and the assignment is on the chosen
grid (API and database). Reopening the page lists what is left.

Publishing changes the shared test database's active generation: ``restore_demo`` puts the
demo generation back in force afterwards, and the assignments touched are put back as they were;
The households and zone members of the split grid are put back too."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from tests.api.accounts_support import make_token, make_user
from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_plan_page import _api, _shot, open_plan

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def deciders(engine: Engine) -> list[str]:
    """Tokens of two planner accounts (four eyes: the second approves the first's draft)."""
    return [
        make_token(engine, make_user(engine, "planner", prefix="decide")["id"])["token"]
        for _ in range(2)
    ]


def _quiet_grid(engine: Engine, generation: int) -> tuple[str, Any]:
    """A unit grid with a current assignment and the fewest households."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT g.code, ST_AsBinary(g.geom) AS geom FROM grid g "
                "WHERE g.generation_id = :g AND g.level = 3 "
                "AND EXISTS (SELECT 1 FROM grid_assignment a WHERE a.grid_code = g.code "
                "  AND a.valid_to IS NULL) "
                "ORDER BY (SELECT count(*) FROM household h WHERE h.grid_code = g.code), "
                "g.code LIMIT 1"
            ),
            {"g": generation},
        ).one()
    return row.code, shapely.from_wkb(bytes(row.geom))


def staff_of(engine: Engine, code: str) -> dict[str, Any]:
    """What a publication splitting grid ``code`` changes, as it is now: the last assignment
    id, the grid's assignments, households and zone memberships (for :func:`put_back_staff`)."""
    with engine.connect() as conn:
        last_id = conn.execute(text("SELECT coalesce(max(id), 0) FROM grid_assignment")).scalar()
        before = conn.execute(
            text("SELECT id, grid_code, valid_to FROM grid_assignment WHERE grid_code = :c"),
            {"c": code},
        ).all()
        households = conn.execute(
            text("SELECT id, generation_id FROM household WHERE grid_code = :c"), {"c": code}
        ).all()
        zones = (
            conn.execute(text("SELECT zone_id FROM zone_member WHERE grid_code = :c"), {"c": code})
            .scalars()
            .all()
        )
    return {"code": code, "last_id": last_id, "before": before, "households": households,
            "zones": zones}  # fmt: skip


def put_back_staff(engine: Engine, saved: dict[str, Any], halves: list[str]) -> None:
    """Assignments, households and zone members of ``saved`` (:func:`staff_of`) as they were
    before grid ``saved["code"]`` was split into ``halves``."""
    code = saved["code"]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM grid_assignment WHERE id > :i"), {"i": saved["last_id"]})
        for a in saved["before"]:
            conn.execute(
                text("UPDATE grid_assignment SET grid_code = :c, valid_to = :t WHERE id = :i"),
                {"c": a.grid_code, "t": a.valid_to, "i": a.id},
            )
        for h in saved["households"]:
            conn.execute(
                text("UPDATE household SET grid_code = :c, generation_id = :g WHERE id = :i"),
                {"c": code, "g": h.generation_id, "i": h.id},
            )
        if halves:
            conn.execute(text("DELETE FROM zone_member WHERE grid_code = ANY(:h)"), {"h": halves})
        for z in saved["zones"]:
            conn.execute(
                text("INSERT INTO zone_member (zone_id, grid_code) VALUES (:z, :c) "
                     "ON CONFLICT DO NOTHING"),
                {"z": z, "c": code},
            )  # fmt: skip


def test_decide_an_assignment_from_the_page(  # type: ignore[no-untyped-def]
    browser, live_server, engine, deciders, people_demo, artifacts, restore_demo
) -> None:
    author, reviewer = deciders
    code, geom = _quiet_grid(engine, people_demo["generation"])
    saved = staff_of(engine, code)  # put back as it was after the publication
    halves: list[str] = []
    page = None
    try:
        with _api(live_server, author) as api, _api(live_server, reviewer) as second:
            made = api.post("/api/v1/generations", json={"from": "active", "name": "分工测试"})
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
            done = split.json()["edit"]  # neighbours with a new vertex on the line are in both
            halves[:] = sorted(set(done["grids_after"]) - set(done["grids_before"]))
            assert len(halves) >= 2 and all(len(c) == 15 for c in halves), done
            assert api.post(f"/api/v1/generations/{draft}/submit", json={"reason": "s"}).is_success
            assert second.post(f"/api/v1/generations/{draft}/approve", json={"reason": "ok"}
                               ).is_success  # fmt: skip

            page, seen = open_plan(browser, live_server, author, f"/plan?draft={draft}")
            wait_until(page, "window.gridgisPlan.state.draft && "
                       "window.gridgisPlan.state.draft.status === 'approved' && "
                       "window.gridgisPlan.impacts > 0", timeout=120_000)  # fmt: skip
            impact = page.inner_text("#impact")
            assert "需人工确定" in impact and "(decide" not in impact, impact
            page.fill("#review-reason", "拆分网格，分工待定")
            page.click("#publish-dry")
            wait_until(page, "document.getElementById('review-answer').dataset.dryRun === '1'")
            page.click("#publish-commit")
            wait_until(page, "window.gridgisPlan.state.draft.status === 'active'", 120_000)
            said = page.inner_text("#review-answer")  # in the page's words, not the API's
            assert f"版本 #{draft} 自" in said and "现行版本" in said, said
            assert "is active" not in said and "dry run" not in said, said
            rows = wait_until(
                page, "document.querySelectorAll('#to-decide tr[data-assignment]').length"
            )
            pending = api.get(f"/api/v1/generations/{draft}/assignments-to-decide").json()["data"]
            assert rows == len(pending) >= 1
            mine = [a for a in pending if a["grid_code"] == code]
            assert mine, pending
            target = mine[0]
            assert sorted(target["candidates"]) == halves
            form = page.inner_text("#to-decide")
            assert "需人工确定的人员分工" in form and code in form
            _shot(page, artifacts, "plan_decide_zh_listed")

            # decide it from the page: move it to the second half
            row = f"#to-decide tr[data-assignment='{target['id']}']"
            page.select_option(f"{row} select", halves[1])
            page.click(f"{row} button")
            wait_until(page, f'!document.querySelector("{row}")', timeout=60_000)
            assert f"已处理分工 {target['id']}" in page.inner_text("#to-decide")
            _shot(page, artifacts, "plan_decide_zh_decided")

            # the API and the database agree: not to decide any more, on the chosen grid
            left = api.get(f"/api/v1/generations/{draft}/assignments-to-decide").json()["data"]
            assert target["id"] not in {a["id"] for a in left}
            with engine.connect() as conn:
                now_on = (
                    conn.execute(
                        text(
                            "SELECT grid_code FROM grid_assignment WHERE person_id = :p "
                            "AND role = :r AND valid_to IS NULL AND grid_code = ANY(:codes)"
                        ),
                        {"p": target["person_id"], "r": target["role"], "codes": halves},
                    )
                    .scalars()
                    .all()
                )
            assert now_on == [halves[1]], now_on
            steps = api.get(f"/api/v1/generations/{draft}/review").json()["steps"]
            assert steps[-1]["reason"] == "拆分网格，分工待定"

            # opening the page again lists what is left (or nothing)
            page.reload()
            wait_until(page, "window.gridgisPlan && window.gridgisPlan.ready", timeout=60_000)
            count = "document.querySelectorAll('#to-decide tr[data-assignment]').length"
            if left:
                assert wait_until(page, f"{count} === {len(left)}", timeout=60_000)
            else:
                assert page.evaluate(count) == 0
            assert_offline_and_clean(seen)
    finally:
        if page is not None:
            page.context.close()
        put_back_staff(engine, saved, halves)
