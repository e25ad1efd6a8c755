"""Assignments a publication left "to decide" (a split grid): listed, decided (moved to a
successor or ended) with who and when, and then found by the routing of new events. Each test
works on its own draft made active inside a rolled-back transaction."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import InvalidState
from layers.events.intake import _person_for
from layers.people import StaffRole
from layers.planning.decisions import assignments_to_decide, decide
from layers.planning.drafts import Actor
from layers.planning.edits import apply_edit
from layers.planning.impact import impact_report, reanchor
from layers.planning.review import ReviewInputInvalid, ReviewRefused, review_log
from tests.layers.test_impact import copy_draft, geom, neighbours

PLANNER = Actor(name="decider", role="planner")


@pytest.fixture
def split_city(db_session: Session, people_demo: dict[str, Any]) -> dict[str, Any]:
    """A draft with one unit grid split in two, published (made active, re-anchored) over the
    demo city; two fresh assignments sat on the split grid."""
    old = people_demo["generation"]
    draft = copy_draft(db_session, old)
    c, _ = neighbours(db_session, draft, same_village=True)
    minx, miny, maxx, maxy = geom(db_session, draft, c).bounds
    apply_edit(
        session=db_session, draft_id=draft, op="split",
        params={"code": c, "line": [[minx - 0.01, (miny + maxy) / 2],
                                    [maxx + 0.01, (miny + maxy) / 2]]},
        reason="split", actor="test planner",
    )  # fmt: skip
    people = db_session.execute(text("SELECT id FROM person ORDER BY id LIMIT 2")).scalars().all()
    ids = [
        db_session.execute(
            text(
                "INSERT INTO grid_assignment (person_id, grid_code, role, valid_from) "
                "VALUES (:p, :c, :r, DATE '2020-01-01') RETURNING id"
            ),
            {"p": p, "c": c, "r": role},
        ).scalar_one()
        for p, role in zip(people, ("grid_worker", "grid_chief"), strict=True)
    ]
    summary = reanchor(session=db_session, from_generation_id=old, to_generation_id=draft)
    assert {a["id"] for a in summary["ambiguous"] if a["kind"] == "assignment"} >= set(ids)
    db_session.execute(
        text("UPDATE generation SET status = 'retired', retired_at = now() WHERE status = 'active'")
    )
    db_session.execute(
        text("UPDATE generation SET status = 'active', activated_at = now() WHERE id = :d"),
        {"d": draft},
    )
    db_session.expire_all()
    return {"generation": draft, "code": c, "ids": ids, "people": people}


def test_listed_then_moved_and_routing_finds_the_worker(
    db_session: Session, split_city: dict[str, Any]
) -> None:
    gen, c = split_city["generation"], split_city["code"]
    worker_id, chief_id = split_city["ids"]
    pending = {a["id"]: a for a in assignments_to_decide(session=db_session, generation_id=gen)}
    assert {worker_id, chief_id} <= set(pending)
    candidates = pending[worker_id]["candidates"]
    assert len(candidates) == 2 and c not in candidates
    # a later impact report lists them until decided
    later = copy_draft(db_session, gen)
    report = impact_report(session=db_session, draft_id=later, against_id=gen)
    assert {worker_id, chief_id} <= {a["id"] for a in report["assignments_to_decide"]}

    today = date.today()
    assert _person_for(db_session, [candidates[0]], StaffRole.GRID_WORKER, today) is None
    answer = decide(
        session=db_session, generation_id=gen, assignment_id=worker_id, decision="move",
        grid_code=candidates[0], actor=PLANNER, reason="the worker lives in the north half",
    )  # fmt: skip
    assert answer["grid_code"] == candidates[0]
    assert worker_id not in {a["id"] for a in answer["remaining"]}
    found = _person_for(db_session, [candidates[0]], StaffRole.GRID_WORKER, today)
    assert found == split_city["people"][0]
    step = review_log(session=db_session, generation_id=gen)[-1]
    assert step["details"]["step"] == "decide_assignment" and step["actor"] == "decider"
    assert step["at"] and step["details"]["grid_code"] == candidates[0]

    decide(
        session=db_session, generation_id=gen, assignment_id=chief_id, decision="end",
        actor=PLANNER, reason="retires",
    )  # fmt: skip
    left = {a["id"] for a in assignments_to_decide(session=db_session, generation_id=gen)}
    assert not {worker_id, chief_id} & left
    report = impact_report(session=db_session, draft_id=later, against_id=gen)
    assert not {worker_id, chief_id} & {a["id"] for a in report.get("assignments_to_decide", [])}


def test_bad_decisions_are_refused(db_session: Session, split_city: dict[str, Any]) -> None:
    gen, c = split_city["generation"], split_city["code"]
    worker_id = split_city["ids"][0]
    with pytest.raises(ReviewInputInvalid) as bad:
        decide(
            session=db_session, generation_id=gen, assignment_id=worker_id, decision="move",
            grid_code=c, actor=PLANNER, reason="r",
        )  # fmt: skip
    assert bad.value.field == "grid_code" and "choose grid_code among" in bad.value.detail
    with pytest.raises(ReviewInputInvalid) as bad:
        decide(
            session=db_session, generation_id=gen, assignment_id=worker_id, decision="keep",
            actor=PLANNER, reason="r",
        )  # fmt: skip
    assert bad.value.field == "decision"
    with pytest.raises(ReviewInputInvalid):
        decide(
            session=db_session, generation_id=gen, assignment_id=worker_id, decision="end",
            actor=PLANNER, reason=" ",
        )  # fmt: skip
    with pytest.raises(ReviewRefused):
        decide(
            session=db_session, generation_id=gen, assignment_id=worker_id, decision="end",
            actor=Actor(name="w", role="grid_worker"), reason="r",
        )  # fmt: skip
    with pytest.raises(InvalidState) as state:
        decide(
            session=db_session, generation_id=gen, assignment_id=-1, decision="end",
            actor=PLANNER, reason="r",
        )  # fmt: skip
    assert state.value.field == "assignment"
