"""Households (一户一档): counts per grid or H3 cell for everyone; records with personal data
masked unless the caller's token speaks for a grid chief/worker of that grid (then audited)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StrictBool, StrictInt
from sqlalchemy import select

from api.coords import client_crs, point_to_cgcs2000
from api.deps import (
    Admin,
    BboxDep,
    CrsDep,
    Principal,
    Reader,
    RequestBody,
    SessionDep,
    parse_level,
    require,
)
from api.errors import STATUS, InvalidParameter
from api.schemas.common import Listing
from api.schemas.people import HouseholdCounts, HouseholdCreated, HouseholdPublic
from gis.hexgrid import MAX_RESOLUTION, MIN_RESOLUTION
from gis.masking import id_number_problem, mobile_problem
from layers import accounts
from layers.errors import CodeConflict, Forbidden
from layers.grids import active_generation
from layers.households import (
    FLAGS,
    H3_RESOLUTION,
    Household,
    HouseholdNotFound,
    access_log,
    counts_by_grid,
    counts_by_h3,
    get_household,
    households_in_grid,
    insert_household,
    read_households,
)
from layers.households import (
    Reader as HouseholdReader,
)
from layers.models import Role
from layers.people import StaffRole
from layers.roster import person_grid_codes

# Our errors in the one error table (registered here so parallel work never edits it).
STATUS.setdefault(HouseholdNotFound, (404, "Household not found"))

router = APIRouter(prefix="/api/v1/households", tags=["households"])

# Personal data is shown to these API roles, and only in the grids their person holds one of
# ENTITLED_STAFF_ROLES in (a village-level chief covers the village's unit grids).
ENTITLED_API_ROLES = {Role.OFFICER, Role.DISPATCHER, Role.ADMIN}
ENTITLED_STAFF_ROLES = (StaffRole.GRID_CHIEF, StaffRole.GRID_WORKER)
Registrar = Annotated[Principal, Depends(require(Role.OFFICER, Role.DISPATCHER))]


def household_reader(session: SessionDep, principal: Principal) -> HouseholdReader:
    """The caller's person (their user's staff member) sees their own grids unmasked, narrowed
    to their scope (a user scoped to a village sees only that village's part)."""
    person_id = principal.person_id
    codes: tuple[str, ...] = ()
    if person_id is not None and principal.role in ENTITLED_API_ROLES:
        codes = principal.scope.narrow(
            person_grid_codes(session=session, person_id=person_id, roles=ENTITLED_STAFF_ROLES)
        )
    return HouseholdReader(token_id=principal.token_id, person_id=person_id, grid_codes=codes)


@router.get(
    "/counts",
    summary="Household counts per grid (level 1-3) or per H3 cell",
    response_model=HouseholdCounts,
)
def read_counts(
    session: SessionDep,
    principal: Reader,
    bbox: BboxDep,
    by: Annotated[str, Query(description="grid or h3")] = "grid",
    level: Annotated[int, Query()] = 3,
    resolution: Annotated[int, Query()] = 8,
) -> dict[str, Any]:
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    if by == "grid":
        parse_level(level)
        data = counts_by_grid(session=session, level=level, codes=codes)
        return {"by": "grid", "level": level, "data": data, "count": len(data)}
    if by == "h3":
        if not MIN_RESOLUTION <= resolution <= H3_RESOLUTION:
            raise InvalidParameter(
                f"resolution {resolution} is outside {MIN_RESOLUTION}..{H3_RESOLUTION} (the "
                f"finest stored; h3 goes to {MAX_RESOLUTION}); use 7-9 for the city",
                field="resolution",
            )
        data = counts_by_h3(session=session, resolution=resolution, bbox=bbox, codes=codes)
        return {"by": "h3", "resolution": resolution, "data": data, "count": len(data)}
    raise InvalidParameter(f"by {by!r} is unknown; use grid or h3", field="by")


@router.get("", summary="Households of a grid (masked unless entitled)", response_model=Listing)
def list_households(
    session: SessionDep,
    principal: Reader,
    grid: Annotated[str, Query(description="a grid code (any level)")],
    flag: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = 50,
    offset: Annotated[int, Query()] = 0,
) -> dict[str, Any]:
    if not grid.isdigit() or len(grid) not in (9, 12, 15):
        raise InvalidParameter(
            f"grid {grid!r} is not a grid code; give 9, 12 or 15 digits", field="grid"
        )
    if flag is not None and flag not in FLAGS:
        raise InvalidParameter(f"flag {flag!r} is unknown; use {', '.join(FLAGS)}", field="flag")
    if not 1 <= limit <= 500:
        raise InvalidParameter(f"limit {limit} is out of range; use 1..500", field="limit")
    if offset < 0:
        raise InvalidParameter(f"offset {offset} is negative", field="offset")
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    if not accounts.in_codes(grid, codes):
        raise Forbidden(
            f"grid {grid} is not inside your area; ask for {' or '.join(codes or ('a grid'))} "
            "or a grid inside it",
            field="grid",
        )
    total, rows = households_in_grid(
        session=session, grid_code=grid, flag=flag, limit=limit, offset=offset
    )
    reader = household_reader(session, principal)
    data = read_households(session=session, households=rows, reader=reader, purpose="list")
    return {"data": data, "count": total}


@router.get("/access-log", summary="Audit of unmasked reads (admin)", response_model=Listing)
def read_access_log(
    session: SessionDep,
    _: Admin,
    household_id: Annotated[int | None, Query()] = None,
) -> dict[str, Any]:
    data = access_log(session=session, household_id=household_id)
    return {"data": data, "count": len(data)}


@router.get(
    "/{household_id}",
    summary="One household (masked unless entitled)",
    response_model=HouseholdPublic,
)
def read_household(household_id: int, session: SessionDep, principal: Reader) -> dict[str, Any]:
    household = get_household(session=session, household_id=household_id)
    accounts.require_in_scope(
        session=session,
        identity=principal.identity,
        grid_code=household.grid_code or "",
        what=f"household {household_id}",
    )
    reader = household_reader(session, principal)
    return read_households(
        session=session, households=[household], reader=reader, purpose="detail"
    )[0]


class MemberIn(RequestBody):
    name: str = Field(min_length=1, max_length=100)
    relation: str = Field(min_length=1, max_length=20)
    birth_year: StrictInt | None = Field(default=None, ge=1890, le=2100)


class HouseholdIn(RequestBody):
    code: str = Field(min_length=1, max_length=32)
    address: str = Field(min_length=1, max_length=300)
    lon: float
    lat: float
    crs: str | None = Field(default=None, description="cgcs2000|wgs84|gcj02|bd09 (of lon/lat)")
    head_name: str = Field(min_length=1, max_length=100)
    head_id_number: str | None = Field(default=None, max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    members: list[MemberIn] = Field(default_factory=list, max_length=30)
    low_income: StrictBool = False
    extreme_poverty: StrictBool = False
    disability: StrictBool = False
    elderly_alone: StrictBool = False
    last_visit: date | None = None


@router.post(
    "",
    status_code=201,
    summary="Register one household (grid found from its point)",
    response_model=HouseholdCreated,
)
def create_household(
    body: HouseholdIn,
    request: Request,
    session: SessionDep,
    principal: Registrar,
    crs: CrsDep,
) -> dict[str, Any]:
    """``lon``/``lat`` in ``crs`` (body field or query parameter; default CGCS2000), converted
    to CGCS2000 before the unit grid is found (Amap/Gaode coordinates are GCJ-02). Only inside
    the caller's scope: a household of another area is 403 (``scope``) and nothing is stored."""
    lon, lat = point_to_cgcs2000(
        body.lon, body.lat, client_crs(request.query_params.get("crs"), body.crs)
    )
    if body.head_id_number and (p := id_number_problem(body.head_id_number)):
        raise InvalidParameter(f"head_id_number: {p}", field="head_id_number")
    if body.phone and (p := mobile_problem(body.phone)):
        raise InvalidParameter(f"phone: {p}", field="phone")
    if session.scalar(select(Household.id).where(Household.code == body.code)) is not None:
        raise CodeConflict(
            f"household {body.code} is already registered; update it or use a new code",
            field="code",
        )
    generation = active_generation(session=session)
    city = request.app.state.locators.get(session=session, generation_id=generation.id)
    values = body.model_dump() | {"lon": lon, "lat": lat}
    values["members"] = [m.model_dump() for m in body.members]
    household = insert_household(
        session=session, values=values, locator=city.locator, generation_id=generation.id
    )
    accounts.require_in_scope(  # raises before the commit: the request's transaction rolls back
        session=session, identity=principal.identity, grid_code=household.grid_code or "",
        what=f"household {household.code}",
    )  # fmt: skip
    return {"id": household.id, "code": household.code, "grid_code": household.grid_code}
