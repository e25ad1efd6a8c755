"""The impact table (XLSX/CSV, and the same rows the CLI writes) says things in the reader's
language: kinds, grid changes, actions, event statuses (the one status-name table) and roles —
never the API's words (keep/move/decide, in_handling)."""

from __future__ import annotations

import io

import httpx
import openpyxl
import pytest
from sqlalchemy import Engine, text

from api.routes.drafts import impact_rows
from maps.status_names import event_status_names
from tests.planning_fixtures import *  # noqa: F403  (the draft and planner fixtures)

REPORT = {
    "changed_grids": [
        {"code": "320281001001001", "change": "removed", "area_before_m2": 10.0,
         "area_after_m2": None,
         "lineage": [{"old_code": "320281001001001", "new_code": "320281001001099",
                      "kind": "merged_into"}]},
    ],
    "households": {"items": [{"id": 1, "code": "H1", "old_grid": "a", "new_grid": "b"}]},
    "events": {"items": [{"id": 7, "subclass": "0101", "status": "in_handling",
                          "grid_at_report": "a", "new_grid": "b"}]},
    "assignments": {"items": [
        {"id": 3, "name": "张三", "role": "grid_worker", "grid_code": "a", "new_grid": None,
         "action": "decide", "candidates": ["b", "c"]},
        {"id": 4, "name": "李四", "role": "grid_worker", "grid_code": "a", "new_grid": "b",
         "action": "move", "candidates": []},
    ]},
    "zones": {"items": [{"id": 2, "code": "Z1", "name": "z", "members_removed": [{"code": "a"}],
                         "members_reshaped": []}]},
    "devices": {"items": [{"id": 5, "external_id": "dev", "person_id": 9}]},
}  # fmt: skip

RAW = {"keep", "move", "decide", "in_handling", "merged_into", "grid_worker"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rows_speak_the_language(lang: str) -> None:
    rows = impact_rows(REPORT, lang)
    by_kind = {r["kind"]: r for r in rows}
    words = {str(v) for r in rows for v in r.values()}
    assert not RAW & words, RAW & words
    status = event_status_names(lang)["in_handling"]
    if lang == "zh":
        assert set(by_kind) == {"网格", "住户", "事件", "人员分工", "执法片区", "设备"}
        assert by_kind["网格"]["label"] == "删除" and "并入" in by_kind["网格"]["detail"]
        assert by_kind["事件"]["detail"] == status == "处置中"
        assert by_kind["事件"]["action"] == "保留上报时的网格"
        actions = [r["action"] for r in rows if r["kind"] == "人员分工"]
        assert actions == ["需人工确定", "随网格移动"]
    else:
        assert set(by_kind) == {"grid", "household", "event", "assignment", "zone", "device"}
        assert by_kind["grid"]["label"] == "removed"
        assert "merged into" in by_kind["grid"]["detail"]
        assert by_kind["event"]["detail"] == status == "In handling"
        actions = [r["action"] for r in rows if r["kind"] == "assignment"]
        assert actions == ["to decide", "moves with its grid"]
    assert "grid_worker" not in " ".join(r["label"] for r in rows)


@pytest.mark.parametrize(("lang", "header", "grid", "merged"), [
    ("zh", "类别", "网格", "并入"), ("en", "Kind", "grid", "merged into"),
])  # fmt: skip
def test_xlsx_over_http_in_the_page_language(
    live_server: str, tokens: dict[str, str], engine: Engine, draft: int,
    lang: str, header: str, grid: str, merged: str,
) -> None:  # fmt: skip
    with engine.connect() as conn:
        a, b = conn.execute(
            text(
                "SELECT a.code, b.code FROM grid a JOIN grid b ON b.generation_id = "
                "a.generation_id AND b.level = 3 AND a.code < b.code AND a.geom && b.geom "
                "AND b.parent_code = a.parent_code AND ST_Relate(a.geom, b.geom, 'F***1****') "
                "WHERE a.generation_id = :g AND a.level = 3 ORDER BY a.code LIMIT 1"
            ),
            {"g": draft},
        ).one()
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['planner']}"},
        timeout=300,
    ) as planner:  # fmt: skip
        version = planner.get(f"/api/v1/generations/{draft}/edits").headers["ETag"]
        r = planner.post(
            f"/api/v1/generations/{draft}/edits",
            json={"op": "merge", "codes": [a, b], "reason": "impact words"},
            headers={"If-Match": version},
        )
        assert r.status_code == 200, r.text
        x = planner.get(
            f"/api/v1/generations/{draft}/impact", params={"format": "xlsx", "lang": lang}
        )
    assert x.status_code == 200, x.text
    sheet = openpyxl.load_workbook(io.BytesIO(x.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == header
    grid_rows = [r for r in rows[1:] if r[0] == grid]
    assert len(grid_rows) == 3, rows[:5]
    assert any(merged in (r[6] or "") for r in grid_rows)
    cells = {str(c) for r in rows[1:] for c in r if c is not None}
    assert not RAW & cells, RAW & cells


@pytest.mark.parametrize(("lang", "status", "action"), [
    ("zh", "处置中", "需人工确定"), ("en", "In handling", "to decide"),
])  # fmt: skip
def test_plan_page_hands_its_script_the_status_names(
    live_server: str, tokens: dict[str, str], lang: str, status: str, action: str
) -> None:
    """/plan gives its script the event status names of its language (the impact list shows
    them instead of in_handling …), and the script's own table names the actions."""
    import html
    import json
    import re

    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['planner']}"},
        timeout=300,
    ) as planner:  # fmt: skip
        page = planner.get("/plan", params={"lang": lang})
        src = re.search(r'<script src="([^"]*gridgis-plan\.js[^"]*)"', page.text)
        assert src, page.text[:500]
        script = planner.get(html.unescape(src.group(1)))
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'data-statuses="([^"]*)"', page.text)
    assert found, page.text[:500]
    names = json.loads(html.unescape(found.group(1)))
    assert names["in_handling"] == status
    assert script.status_code == 200
    assert f'action_decide: "{action}"' in script.text
