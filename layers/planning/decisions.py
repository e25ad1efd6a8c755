"""Staff assignments (一长五员) a person must decide after a publication split or merged grids.

A publication moves an assignment to its grid's clear successor (``gis.lineage``: the new grid
holding at least two thirds of its area); a split grid's assignment is left on the retired
code (``layers.planning.impact.reanchor`` lists it under ``ambiguous``). Until someone
decides, it stays listed here, in every later impact report and publish answer, and routing
cannot find the person for events in the new grids.

``assignments_to_decide``: the assignments in force on ``on`` whose code is not a grid of the
generation, each with ``candidates`` (the successor codes in that generation, from
``grid_lineage``). ``decide``: move one to a candidate (the old row ends the day before, the
same role starts on ``on`` in the new grid) or end it; recorded as a ``decide_assignment`` step
of the generation's review log (action ``edit`` with ``details.step = "decide_assignment"``,
the actions the log's check constraint knows; who, when, why, what).

Errors: GenerationNotFound (404), InvalidState (409: the generation is not active; the
assignment is not one to decide), ReviewInputInvalid (422: bad decision, grid not a candidate,
no reason), ReviewRefused (403: not a planner or admin).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import InvalidState, with_zh
from layers.grids import get_generation
from layers.models import Generation, GenerationStatus
from layers.people import assignment_in_force_sql
from layers.planning.decision_check import close_decision, open_decision, successors_sql
from layers.planning.drafts import Actor
from layers.planning.impact import _move_assignment
from layers.planning.review import ReviewInputInvalid
from layers.planning.staffing import require_active

DECISIONS = ("move", "end")

_PENDING_SQL = (
    """
SELECT a.id, a.person_id, p.name, a.role::text AS role, a.grid_code, a.valid_from,
       """
    + successors_sql("a.grid_code")
    + """ AS candidates
FROM grid_assignment a JOIN person p ON p.id = a.person_id
WHERE """
    + assignment_in_force_sql("a", ":on")
    + """
  AND NOT EXISTS (SELECT 1 FROM grid g WHERE g.generation_id = :g AND g.code = a.grid_code)
  {extra}
ORDER BY a.grid_code, a.id
"""
)


def assignments_to_decide(
    *,
    session: Session,
    generation_id: int,
    on: date | None = None,
    assignment_id: int | None = None,
    superseded_ok: bool = False,
) -> list[dict[str, Any]]:
    """Assignments in force on ``on`` (default today) on codes that are not grids of
    ``generation_id``: ``[{id, person_id, name, role, grid_code, candidates: [code …]}]``.

    A retired generation has nothing left to decide (its candidates are no longer in force):
    GenerationSuperseded (410), or ``[]`` with ``superseded_ok`` (an impact report against an
    earlier generation)."""
    generation = get_generation(session=session, generation_id=generation_id)
    if generation.status is GenerationStatus.RETIRED:
        if superseded_ok:
            return []
        require_active(generation, "list of assignments to decide")
    extra = "AND a.id = :a" if assignment_id is not None else ""
    rows = session.execute(
        text(_PENDING_SQL.format(extra=extra)),
        {"g": generation_id, "on": on or date.today(), "a": assignment_id},
    ).all()
    return [
        {
            "id": r.id,
            "person_id": r.person_id,
            "name": r.name,
            "role": r.role,
            "grid_code": r.grid_code,
            "candidates": list(r.candidates),
        }
        for r in rows
    ]


def decide(
    *,
    session: Session,
    generation_id: int,
    assignment_id: int,
    decision: str,
    actor: Actor,
    reason: str | None,
    grid_code: str | None = None,
    on: date | None = None,
) -> dict[str, Any]:
    """Move an assignment to one of its candidates (``decision="move"``, ``grid_code``) or end
    it (``"end"``), on ``on`` (default today), in the active generation ``generation_id``.
    Returns ``{assignment, decision, grid_code (move only), remaining}``."""
    generation, why = open_decision(
        session=session, generation_id=generation_id, actor=actor, reason=reason,
        decision=decision, decisions=DECISIONS, what="decide an assignment",
        send_en="'move' (with grid_code) or 'end'",
        send_zh="请选择“移到”（move，并给出 grid_code）或“结束”（end）",
        require=_require_active,
    )  # fmt: skip
    day = on or date.today()
    found = assignments_to_decide(
        session=session, generation_id=generation_id, on=day, assignment_id=assignment_id
    )
    if not found:
        raise with_zh(
            InvalidState(
                f"assignment {assignment_id} is not one to decide in generation {generation_id} "
                "(it "
                "is on a grid of this generation, ended, or unknown); list them at "
                f"/api/v1/generations/{generation_id}/assignments-to-decide",
                field="assignment",
            ),
            f"分工 {assignment_id} 不是版本 {generation_id} 中需要人工确定的分工（"
            "它已在本版本的网格上、已结束或不存在）",
        )
    item = found[0]
    details: dict[str, Any] = {
        "step": "decide_assignment",
        "assignment": item,
        "decision": decision,
    }
    if decision == "move":
        if grid_code not in item["candidates"]:
            choices = ", ".join(item["candidates"]) or "none: end it instead"
            raise with_zh(
                ReviewInputInvalid(
                    f"grid {grid_code or '(none)'} is not a successor of {item['grid_code']}; "
                    f"choose grid_code among: {choices}",
                    field="grid_code",
                ),
                f"网格 {grid_code or '（未填）'} 不是 {item['grid_code']} 的后继网格；"
                f"请从以下网格中选择：{choices}",
            )
        _move_assignment(session, assignment_id, str(grid_code), day)
        details["grid_code"] = grid_code
    else:
        _end_assignment(session, assignment_id, day)
    return close_decision(
        session=session, generation=generation, actor=actor, why=why, details=details,
        remaining=lambda: assignments_to_decide(
            session=session, generation_id=generation_id, on=day
        ),
    )  # fmt: skip


def _require_active(generation: Generation) -> None:
    """InvalidState (409) unless ``generation`` is the active one: assignments are decided there."""
    if generation.status is not GenerationStatus.ACTIVE:
        raise with_zh(
            InvalidState(
                f"generation {generation.id} is {generation.status.value}; assignments are decided "
                "in the active generation (GET /api/v1/generations to find it)",
                field="generation",
            ),
            f"版本 {generation.id} 的状态是 {generation.status.value}；"
            "人员分工只能在现行版本中确定",
        )


def _end_assignment(session: Session, assignment_id: int, on: date) -> None:
    """End an assignment the day before ``on``; one that would start on or after ``on`` never
    served and is removed."""
    params = {"i": assignment_id, "on": on, "d": on - timedelta(days=1)}
    session.execute(text("DELETE FROM grid_assignment WHERE id = :i AND valid_from >= :on"), params)
    session.execute(
        text("UPDATE grid_assignment SET valid_to = :d WHERE id = :i AND valid_from < :on"), params
    )
