"""``GET /api/v1/people/search``: staff by name (or, for the roles that see staff phone numbers,
by phone number) inside the caller's scope, whether or not they carry a device (the front
page's person search: the 网格长 shown in a grid panel is found)."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from api.deps import Reader, SessionDep
from api.ingest.pipeline import active_generation_id
from api.routes.staff import PHONE_ROLES
from api.schemas.common import Answer
from layers import accounts
from layers.people_shown import people_shown

router = APIRouter(prefix="/api/v1/people", tags=["staff"])

# active people whose name contains the needle (or whose phone contains the digits), a name
# starting with it first; LIKE wildcards in the needle are literal (strpos)
_MATCH = """p.active AND (strpos(lower(p.name), :needle) > 0
                OR (:digits <> '' AND strpos(regexp_replace(coalesce(p.phone, ''), '\\D', '', 'g'),
                                             :digits) > 0))"""
_ORDER = """strpos(lower(p.name), :needle) = 0, strpos(lower(p.name), :needle) > 1,
         length(p.name), p.name, p.id"""


class StaffMember(Answer):
    """A person of the staff: name, first current assignment (role, grid)."""

    person_id: int
    name: str
    role: str | None = Field(description="staff role (layers.people.StaffRole)")
    role_name: str | None = Field(description="the role in the asked language")
    grid: str | None = Field(description="grid code of the assignment")
    grid_name: str | None


class StaffFound(Answer):
    people: list[StaffMember]
    count: int


@router.get("/search", summary="Staff by name inside your scope", response_model=StaffFound)
def search_people(
    request: Request,
    session: SessionDep,
    principal: Reader,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            description="part of a name, or 4 or more digits of a phone number (roles that "
            "see staff phones: dispatcher, officer, planner, admin)",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    lang: Annotated[str, Query(description="zh or en: the language of role_name")] = "zh",
) -> dict[str, Any]:
    """``{"people": [{person_id, name, role, role_name, grid, grid_name}], "count"}``: active
    people whose name contains ``q`` (case-insensitive; a name starting with it first), inside
    the caller's scope (layers.accounts.people_in_scope), at most ``limit``. For the roles that
    see staff phone numbers (``api.routes.staff.PHONE_ROLES``), ``q`` of 4 or more digits
    (spaces, dashes and a leading +86 ignored) also finds people whose phone contains them
    (name matches first)."""
    if not q.strip():
        return {"people": [], "count": 0}
    gen = active_generation_id(request.app.state, session)
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    allowed = accounts.people_in_scope(session=session, codes=codes)
    digits = _phone_digits(q) if principal.role in PHONE_ROLES else ""
    rows = people_shown(
        session=session, generation_id=gen, lang=lang, allowed=allowed,
        columns="p.id AS person_id, p.name", source="person p", where=_MATCH, order=_ORDER,
        params={"needle": q.strip().lower(), "digits": digits},
    )  # fmt: skip
    found = list(islice(rows, limit))
    return {"people": found, "count": len(found)}


def _phone_digits(q: str) -> str:
    """The digits of ``q`` when it reads as (part of) a phone number: only digits once spaces,
    dashes and a leading +86 are taken away, at least 4 of them; else ''."""
    bare = q.strip().replace(" ", "").replace("-", "")
    if bare.startswith("+86"):
        bare = bare[3:]
    return bare if len(bare) >= 4 and bare.isdigit() else ""
