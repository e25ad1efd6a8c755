"""Deciding the staff assignments a publication left on retired codes (split or merged grids).

``GET /api/v1/generations/{id}/assignments-to-decide`` lists them (with the successor grids to
choose from); ``POST …/assignments-to-decide/{assignment_id}`` with
``{"decision": "move", "grid_code": "…", "reason": "…"}`` or ``{"decision": "end", "reason": …}``
decides one (recorded in the generation's review log with who, when, why). See
``layers.planning.decisions``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Planner, Reader, SessionDep
from api.errors import InvalidParameter
from api.routes.decision_requests import (
    decision_object,
    refuse_unknown_fields,
    require_decision_scope,
)
from api.routes.generations import actor_of
from api.schemas.common import Answer, body_schema
from layers import accounts
from layers.errors import with_zh
from layers.grids import get_generation
from layers.planning.decisions import assignments_to_decide, decide
from layers.planning.staffing import grids_to_staff

router = APIRouter(prefix="/api/v1/generations", tags=["generations"])
_FIELDS = ("decision", "grid_code", "reason")


class AssignmentsToDecide(Answer):
    """``data``: ``[{id, person_id, name, role, grid_code (retired), candidates: [code …]}]``;
    ``grids_to_staff``: the new grids left without a role their predecessors had (decided at
    ``…/grids-to-staff`` or ``…/to-decide``, layers.planning.staffing); ``status``: active."""

    generation: int
    count: int
    data: list[dict[str, Any]]


class AssignmentDecided(Answer):
    """The decision (``step``, ``assignment``, ``decision``, ``grid_code`` for a move) and the
    assignments still to decide (``remaining``)."""

    decision: str
    assignment: dict[str, Any]
    remaining: list[dict[str, Any]]


class AssignmentDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(description="move (with grid_code) or end", pattern="^(move|end)$")
    grid_code: str | None = Field(default=None, description="a successor grid (move only)")
    reason: str = Field(min_length=1, max_length=10_000)


@router.get(
    "/{generation_id}/assignments-to-decide",
    summary="Staff assignments left on retired grids, to move or end",
    response_model=AssignmentsToDecide,
)
def read_assignments_to_decide(
    generation_id: int, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    items = [
        a
        for a in assignments_to_decide(session=session, generation_id=generation_id)
        if accounts.in_codes(a["grid_code"], codes)  # the caller's area only (issue 11)
    ]
    status = get_generation(session=session, generation_id=generation_id).status.value
    staff = [
        i
        for i in (grids_to_staff(session=session, generation_id=generation_id)
                  if status == "active" else [])
        if accounts.in_codes(i["grid_code"], codes)
    ]  # fmt: skip
    return {"generation": generation_id, "status": status, "count": len(items), "data": items,
            "grids_to_staff": staff}  # fmt: skip


@router.post(
    "/{generation_id}/assignments-to-decide/{assignment_id}",
    summary="Decide one assignment: move it to a successor grid, or end it",
    response_model=AssignmentDecided,
    openapi_extra=body_schema(AssignmentDecision, multipart=False),
)
async def decide_assignment(
    generation_id: int,
    assignment_id: int,
    request: Request,
    session: SessionDep,
    principal: Planner,
) -> dict[str, Any]:
    body = await decision_object(request, '{"decision": "move"|"end", "grid_code": …, "reason": …}')
    refuse_unknown_fields(body, _FIELDS, "an assignment decision")
    for key in _FIELDS:
        if body.get(key) is not None and not isinstance(body[key], str):
            raise with_zh(InvalidParameter(f"{key} must be a string", field=key), f"{key} 应为文字")

    def grids() -> list[str | None]:  # a town's planner: its staff only, and where a move goes
        wanted = assignments_to_decide(
            session=session, generation_id=generation_id, assignment_id=assignment_id
        )
        return [a["grid_code"] for a in wanted] + [body.get("grid_code")]

    require_decision_scope(
        session=session, principal=principal, grid_codes=grids,
        what=lambda _grid: f"assignment {assignment_id}",
    )  # fmt: skip
    return decide(
        session=session,
        generation_id=generation_id,
        assignment_id=assignment_id,
        decision=str(body.get("decision") or ""),
        grid_code=body.get("grid_code"),
        actor=actor_of(principal),
        reason=body.get("reason"),
    )
