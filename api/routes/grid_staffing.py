"""Grids a publication left without their people (issue 10): list and decide.

``GET /api/v1/generations/{id}/grids-to-staff`` lists the new grids of the active generation
with no assignment in force for a role their lineage sources had (the candidates: the people
of those sources); ``POST …/grids-to-staff`` with ``{"grid_code", "role", "decision": "move" |
"add" | "vacant", "person_id", "reason"}`` decides one (recorded in the review log with who,
when, why). A retired generation answers 410. See ``layers.planning.staffing``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Planner, Reader, SessionDep
from api.errors import STATUS
from api.routes.generations import actor_of
from api.schemas.common import Answer
from layers import accounts
from layers.planning import scope
from layers.planning.staffing import GenerationSuperseded, grids_to_staff, staff_grid

STATUS.setdefault(GenerationSuperseded, (410, "Generation superseded"))
router = APIRouter(prefix="/api/v1/generations", tags=["generations"])


class GridsToStaff(Answer):
    """``data``: ``[{kind: "grid_role", grid_code, role, sources: [old code …],
    candidates: [{person_id, name, from_grid, grid_now}]}]``."""

    generation: int
    status: str
    count: int
    data: list[dict[str, Any]]


class StaffDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grid_code: str = Field(min_length=1, max_length=15, description="a grid of the list")
    role: str = Field(min_length=1, max_length=20, description="the role it lacks")
    decision: str = Field(description="move, add or vacant", pattern="^(move|add|vacant)$")
    person_id: int | None = Field(default=None, description="a candidate (move/add)")
    reason: str = Field(min_length=1, max_length=10_000)


class StaffDecided(Answer):
    """The decision (``step``, ``item``, ``decision``, ``grid_code``, ``role``, ``person_id``)
    and the grids still to staff (``remaining``)."""

    decision: str
    item: dict[str, Any]
    remaining: list[dict[str, Any]]


@router.get(
    "/{generation_id}/grids-to-staff",
    summary="Grids a publication left without a role their predecessors had",
    response_model=GridsToStaff,
)
def read_grids_to_staff(
    generation_id: int, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    items = [
        i
        for i in grids_to_staff(session=session, generation_id=generation_id)
        if accounts.in_codes(i["grid_code"], codes)
    ]
    return {"generation": generation_id, "status": "active", "count": len(items), "data": items}


@router.post(
    "/{generation_id}/grids-to-staff",
    summary="Decide who staffs a grid: move or add a candidate, or leave the role vacant",
    response_model=StaffDecided,
)
def decide_grid_staff(
    generation_id: int, body: StaffDecision, session: SessionDep, principal: Planner
) -> dict[str, Any]:
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    if scope.bounded(principal.identity.role, codes):
        accounts.require_in_scope(
            session=session, identity=principal.identity, grid_code=body.grid_code,
            what=f"grid {body.grid_code}",
        )  # fmt: skip
    return staff_grid(
        session=session,
        generation_id=generation_id,
        grid_code=body.grid_code,
        role=body.role,
        decision=body.decision,
        person_id=body.person_id,
        actor=actor_of(principal),
        reason=body.reason,
    )
