"""Grids a publication left without their people (issue 10): list and decide.

``GET /api/v1/generations/{id}/grids-to-staff`` lists the new grids of the active generation
with no assignment in force for a role their lineage sources had (the candidates: the people
of those sources); ``POST …/grids-to-staff`` with ``{"grid_code", "role", "decision": "move" |
"add" | "vacant", "person_id", "reason"}`` decides one (recorded in the review log with who,
when, why). ``GET …/to-decide`` lists every open decision of the generation (assignments,
grids to staff, zone members on retired codes) and ``POST …/to-decide`` with ``{"kind": …}``
decides any of them (layers.planning.to_decide). A retired generation answers 410.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Planner, Reader, SessionDep
from api.errors import STATUS
from api.routes.decision_requests import (
    decision_object,
    refuse_unknown_fields,
    require_decision_scope,
)
from api.routes.generations import actor_of
from api.schemas.common import Answer, body_schema
from layers import accounts
from layers.planning.staffing import GenerationSuperseded, grids_to_staff, staff_grid
from layers.planning.to_decide import decide_item, to_decide

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
    require_decision_scope(
        session=session, principal=principal, grid_codes=lambda: [body.grid_code]
    )
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


class ToDecide(Answer):
    """Every open decision: ``assignments`` (kind assignment), ``grids_to_staff`` (kind
    grid_role), ``zone_members`` (kind zone_member), the caller's area only."""

    generation: int
    status: str
    count: int
    assignments: list[dict[str, Any]]
    grids_to_staff: list[dict[str, Any]]
    zone_members: list[dict[str, Any]]


@router.get(
    "/{generation_id}/to-decide",
    summary="Everything a publication left to decide: assignments, grids to staff, zone members",
    response_model=ToDecide,
)
def read_to_decide(generation_id: int, session: SessionDep, principal: Reader) -> dict[str, Any]:
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    answer = to_decide(session=session, generation_id=generation_id)
    for key in ("assignments", "grids_to_staff", "zone_members"):
        answer[key] = [i for i in answer[key] if accounts.in_codes(i["grid_code"], codes)]
    answer["count"] = sum(len(answer[k]) for k in ("assignments", "grids_to_staff", "zone_members"))
    return answer


class ItemDecision(BaseModel):
    """One decision (fields by ``kind``: see the route's description)."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="assignment, grid_role or zone_member")
    decision: str = Field(description="by kind: move/end; move/add/vacant; replace/drop")
    reason: str = Field(min_length=1, max_length=10_000)


class ItemDecided(Answer):
    """The decision (``step``, ``decision``, what was decided) and what is still to decide of
    that kind (``remaining``)."""

    decision: str
    remaining: list[dict[str, Any]]


@router.post(
    "/{generation_id}/to-decide",
    summary="Decide one item of the to-decide list (by its kind)",
    response_model=ItemDecided,
    openapi_extra=body_schema(ItemDecision, multipart=False),
)
async def decide_to_decide(
    generation_id: int, request: Request, session: SessionDep, principal: Planner
) -> dict[str, Any]:
    """Body: ``{"kind": "assignment", "id", "decision": "move"|"end", "grid_code", "reason"}``,
    ``{"kind": "grid_role", "grid_code", "role", "decision": "move"|"add"|"vacant",
    "person_id", "reason"}`` or ``{"kind": "zone_member", "zone_id", "grid_code", "decision":
    "replace"|"drop", "grid_codes": [...], "reason"}``."""
    body = await decision_object(request, '{"kind": …, "decision": …, "reason": …}')
    _refuse_unknown_fields(body)
    require_decision_scope(
        session=session, principal=principal, grid_codes=lambda: [body.get("grid_code")]
    )
    return decide_item(
        session=session, generation_id=generation_id, item=body, actor=actor_of(principal)
    )


ITEM_FIELDS = {
    "assignment": {"id", "grid_code"},
    "grid_role": {"grid_code", "role", "person_id"},
    "zone_member": {"zone_id", "grid_code", "grid_codes"},
}
"""The fields of a decision besides ``kind``, ``decision`` and ``reason``, by kind."""


def _refuse_unknown_fields(body: dict[str, Any]) -> None:
    """422 naming the first field no decision has, or one its kind does not have (a typo
    must not pass as a decision without it), as every JSON body of the API."""
    common = {"kind", "decision", "reason"}
    kind = body.get("kind")
    known = common | (
        ITEM_FIELDS[kind] if isinstance(kind, str) and kind in ITEM_FIELDS
        else set().union(*ITEM_FIELDS.values())
    )  # fmt: skip
    what = f"a {kind} decision" if isinstance(kind, str) and kind in ITEM_FIELDS else "a decision"
    refuse_unknown_fields(body, known, what)
