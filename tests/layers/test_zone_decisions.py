"""Zone members after a village is re-parented to another town (issue 10): the member on the
retired village code is never left silently -- the publication lists it (re-anchoring
``ambiguous``), the active generation's to-decide list holds it with its lineage successors as
candidates, and a planner replaces or drops it (logged). One list and one way to decide for
assignments, grids to staff and zone members (layers.planning.to_decide). Hand-made edits on
a copy of the demo city in a rolled-back transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.planning.drafts import Actor
from layers.planning.edits import apply_edit
from layers.planning.impact import reanchor
from layers.planning.review import ReviewInputInvalid, review_log
from layers.planning.to_decide import decide_item, to_decide
from tests.layers.test_impact import WHO, copy_draft
from tests.layers.test_staffing import make_active

PLANNER = Actor(name="zoner", role="planner")


def test_zone_member_on_a_re_parented_village_is_listed_and_decided(
    db_session: Session, people_demo: dict[str, Any]
) -> None:
    city = people_demo["generation"]
    draft = copy_draft(db_session, city)
    row = db_session.execute(
        text(
            "SELECT v.code AS village, t.code AS town FROM grid v JOIN grid t ON t.generation_id "
            "= v.generation_id AND t.level = 1 AND t.code <> v.parent_code AND t.geom && v.geom "
            "AND ST_Relate(v.geom, t.geom, 'F***1****') WHERE v.generation_id = :g "
            "AND v.level = 2 ORDER BY v.code LIMIT 1"
        ),
        {"g": draft},
    ).one()
    village, town = row.village, row.town
    sibling = db_session.execute(
        text(
            "SELECT code FROM grid WHERE generation_id = :g AND level = 2 AND parent_code = :t "
            "AND code <> :v ORDER BY code LIMIT 1"
        ),
        {"g": draft, "t": village[:9], "v": village},
    ).scalar_one()
    zone = db_session.execute(
        text(
            "INSERT INTO enforcement_zone (code, name, town_code) "
            "VALUES ('TEST-Z-REPARENT', 'test', :t) RETURNING id"
        ),
        {"t": village[:9]},
    ).scalar_one()
    db_session.execute(
        text("INSERT INTO zone_member (zone_id, grid_code) VALUES (:z, :v), (:z, :s)"),
        {"z": zone, "v": village, "s": sibling},
    )
    answer = apply_edit(
        session=db_session, draft_id=draft, op="reparent",
        params={"code": village, "to_parent": town}, reason="town boundary", actor=WHO,
    )  # fmt: skip
    (new_village,) = [
        f["id"] for f in answer["changed"]["features"]
        if f["properties"]["level"] == 2 and f["id"].startswith(town)
    ]  # fmt: skip
    summary = reanchor(session=db_session, from_generation_id=city, to_generation_id=draft)
    assert any(
        a["kind"] == "zone_member" and a["zone"] == "TEST-Z-REPARENT" and a["code"] == village
        for a in summary["ambiguous"]
    )
    make_active(db_session, draft)
    listing = to_decide(session=db_session, generation_id=draft)
    (item,) = [m for m in listing["zone_members"] if m["zone_id"] == zone]
    assert item["grid_code"] == village and new_village in item["candidates"]
    assert listing["count"] >= 1 and listing["status"] == "active"

    # refusals: a grid of another town, no codes, unknown kind, no reason
    for body, field in (
        ({"decision": "replace", "grid_codes": [new_village]}, "grid_codes"),
        ({"decision": "replace", "grid_codes": []}, "grid_codes"),
        ({"decision": "keep"}, "decision"),
    ):
        with pytest.raises(ReviewInputInvalid) as bad:
            decide_item(
                session=db_session, generation_id=draft, actor=PLANNER,
                item={"kind": "zone_member", "zone_id": zone, "grid_code": village,
                      "reason": "r", **body},
            )  # fmt: skip
        assert bad.value.field == field
    with pytest.raises(ReviewInputInvalid) as bad:
        decide_item(session=db_session, generation_id=draft, actor=PLANNER,
                    item={"kind": "nope", "reason": "r"})  # fmt: skip
    assert bad.value.field == "kind"
    with pytest.raises(ReviewInputInvalid) as bad:
        decide_item(session=db_session, generation_id=draft, actor=PLANNER,
                    item={"kind": "zone_member", "grid_code": village, "reason": "r",
                          "decision": "drop"})  # fmt: skip
    assert bad.value.field == "zone_id"

    # the zone's town keeps the ground it can: replaced by a village of its own town
    other = db_session.execute(
        text(
            "SELECT code FROM grid WHERE generation_id = :g AND level = 2 AND parent_code = :t "
            "AND code <> :s ORDER BY code LIMIT 1"
        ),
        {"g": draft, "t": village[:9], "s": sibling},
    ).scalar_one()
    done = decide_item(
        session=db_session, generation_id=draft, actor=PLANNER,
        item={"kind": "zone_member", "zone_id": zone, "grid_code": village,
              "decision": "replace", "grid_codes": [other], "reason": "the zone keeps its size"},
    )  # fmt: skip
    assert done["grid_codes"] == [other]
    assert not [m for m in done["remaining"] if m["zone_id"] == zone]
    members = set(
        db_session.execute(
            text("SELECT grid_code FROM zone_member WHERE zone_id = :z"), {"z": zone}
        ).scalars()
    )
    assert members == {sibling, other}
    step = review_log(session=db_session, generation_id=draft)[-1]
    assert step["details"]["step"] == "decide_zone_member" and step["actor"] == "zoner"
