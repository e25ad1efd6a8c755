"""The impact report names every kind left to decide (issue 10, second re-trial): the XLSX has a
row per grid role to staff (the JSON had them, the table did not), and the totals count every
kind in one ``to_decide`` and by kind. Hand-made split of a staffed grid on a copy of the demo
city against PostGIS, in a rolled-back transaction."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.routes.drafts import impact_rows, impact_table
from layers.planning.impact import impact_report
from tests.layers.test_impact import copy_draft
from tests.layers.test_staffing import ROLES, listed, split, staff


def test_grid_roles_to_staff_are_rows_and_every_kind_is_counted(
    db_session: Session, people_demo: dict[str, Any]
) -> None:
    city = people_demo["generation"]
    draft = copy_draft(db_session, city)
    code = db_session.execute(
        text(
            "SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
            "ORDER BY area_m2 DESC, code LIMIT 1 OFFSET 9"
        ),
        {"g": draft},
    ).scalar_one()
    people = staff(db_session, code)
    halves = split(db_session, draft, code, 0.5)
    report = impact_report(session=db_session, draft_id=draft, against_id=city)
    items = report["grids_to_staff"]["items"]
    assert {(h, r) for h in halves for r in ROLES} <= listed(items)
    totals = report["totals"]
    kinds = ("to_decide_assignments", "to_decide_grid_roles", "to_decide_zone_members",
             "to_decide_earlier")  # fmt: skip
    assert totals["to_decide"] == sum(totals[k] for k in kinds)
    assert totals["to_decide_grid_roles"] == len(items)
    assert totals["to_decide_assignments"] == sum(
        1 for a in report["assignments"]["items"] if a["action"] == "decide"
    )
    zone_members = sum(
        1 for z in report["zones"]["items"] for m in z["members_removed"] if m["ambiguous"]
    )
    assert totals["to_decide_zone_members"] == zone_members
    assert totals["to_decide"] >= 2 * len(ROLES)

    for lang, kind, action in (("en", "grid role to staff", "to decide"),
                               ("zh", "待配人员的网格岗位", "需人工确定")):  # fmt: skip
        rows = [r for r in impact_rows(report, lang) if r["kind"] == kind]
        assert {r["id"] for r in rows} >= set(halves)
        assert len(rows) == len(items) and all(r["action"] == action for r in rows)
        body = impact_table(report, name="impact", fmt="xlsx", lang=lang).body
        sheet = load_workbook(BytesIO(bytes(body)))["impact"]
        cells = [[c.value for c in row] for row in sheet.iter_rows()]
        staffed = [r for r in cells if kind in r]
        assert len(staffed) == len(items), cells[:3]
        worker = next(r for r in staffed if str(people["grid_worker"]) in str(r))
        assert code in worker and any(h in worker for h in halves)
