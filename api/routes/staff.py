"""Staff roster (一长五员): import, teams, and who is responsible for a grid or a point."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api import roster_import
from api.deps import CrsDep, Planner, Reader, SessionDep, check_lonlat
from api.errors import STATUS, InvalidParameter, UnsupportedMediaType, database_problem
from api.exports import XLSX
from api.schemas.common import TABLE_BODY, Listing
from api.schemas.people import Responsible, StaffImportReport
from api.uploads import read_upload
from gis.crs import to_cgcs2000
from gis.masking import mask_phone
from layers import accounts
from layers.errors import Forbidden, NotFound
from layers.grids import active_generation, get_grid
from layers.models import Role
from layers.people import Team, TeamKind
from layers.roster import (
    RosterFormatError,
    RosterInvalid,
    list_teams,
    responsible_for,
    team_members,
)
from layers.tables import run_isolated, table_kind
from layers.zones import zone_of_grid

# Our errors in the one error table (registered here so parallel work never edits it).
STATUS.setdefault(RosterInvalid, (422, "Invalid roster rows"))
STATUS.setdefault(RosterFormatError, (422, "Unreadable roster"))

router = APIRouter(prefix="/api/v1", tags=["staff"])

# Roles that read a city team's members (they call the city teams out); a team's own members
# read their team too.
CITY_TEAM_ROLES = {Role.DISPATCHER, Role.PLANNER, Role.ADMIN}


class TeamNotFound(NotFound):
    """No team with that id (404 "Team not found")."""


STATUS.setdefault(TeamNotFound, (404, "Team not found"))

# Roles that see staff phone numbers in full (they call people out); others see them masked.
PHONE_ROLES = {Role.DISPATCHER, Role.OFFICER, Role.PLANNER, Role.ADMIN}


@router.post(
    "/staff/import",
    summary="Import a roster (CSV or XLSX) with a validation report",
    response_model=StaffImportReport,
    openapi_extra=TABLE_BODY,
)
async def import_staff(
    request: Request,
    session: SessionDep,
    principal: Planner,
    on_error: Annotated[str, Query(description="keep: store the good rows; refuse: none")] = "keep",
    dry_run: Annotated[bool, Query()] = False,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    """The raw file as the body (``text/csv[; charset=…]`` or XLSX); its rows are read and
    imported in a worker thread (other requests are answered meanwhile)."""
    if on_error not in ("keep", "refuse"):
        raise InvalidParameter(
            f"on_error {on_error!r} is unknown; use keep (store the good rows) or refuse "
            "(store nothing if any row is bad)",
            field="on_error",
        )
    upload = await read_upload(request)
    kind = table_kind(upload.media_type, upload.filename)
    if kind is None:
        raise UnsupportedMediaType(
            f"a roster is sent as text/csv or {XLSX} (the raw file as the body), not "
            f"{upload.media_type or '-'}",
            field="Content-Type",
        )

    codes = await run_in_threadpool(
        lambda: accounts.scope_codes(session=session, identity=principal.identity)
    )
    url = request.app.state.engine.url.render_as_string(hide_password=False)

    def work() -> Response:
        try:  # read, checked, stored and reported in a child process (api/roster_import.py)
            body = run_isolated(
                roster_import.import_file, url, upload.content, kind, upload.charset, codes,
                str(principal.scope), on_error, dry_run,
            )  # fmt: skip
        except roster_import.ChildDatabaseFault as exc:
            return database_problem(exc.fault(), request)
        except RosterInvalid as exc:
            title = STATUS[RosterInvalid][1]
            return roster_import.refusal(exc, title=title, instance=request.url.path)
        return Response(body, media_type="application/json")

    return await run_in_threadpool(work)


def _people(rows: list[dict[str, Any]], role: Role) -> list[dict[str, Any]]:
    if role in PHONE_ROLES:
        return rows
    return [{**r, "phone": mask_phone(r["phone"])} for r in rows]


def _answer(session: SessionDep, principal: Reader, code: str) -> dict[str, Any]:
    generation = active_generation(session=session)
    grid = get_grid(session=session, generation_id=generation.id, code=code)
    # the people of a grid are read inside the caller's scope only (a town's staff for a
    # grid-scoped officer's own grid included)
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    if not accounts.touches_codes(code, codes):
        raise Forbidden(
            f"grid {code} is outside your scope ({principal.scope}); ask a dispatcher of that area",
            field="scope",
        )
    staff = _people(responsible_for(session=session, grid_code=code), principal.role)
    zone = zone_of_grid(session=session, grid_code=code) if grid.level == 3 else None
    squad = session.get(Team, zone.squad_id) if zone and zone.squad_id else None
    by_role: dict[str, list[dict[str, Any]]] = {}
    for s in staff:
        by_role.setdefault(s["role"], []).append(s)
    return {
        "grid": {"code": grid.code, "name": grid.name, "level": grid.level},
        "staff": staff,
        "by_role": by_role,
        "zone": None if zone is None else {"code": zone.code, "name": zone.name},
        "squad": None if squad is None else {"id": squad.id, "name": squad.name},
    }


@router.get(
    "/grids/{code}/responsible",
    summary="Who is responsible for this grid",
    response_model=Responsible,
)
def grid_responsible(code: str, session: SessionDep, principal: Reader) -> dict[str, Any]:
    return _answer(session, principal, code)


@router.get("/responsible", summary="Who is responsible for this point", response_model=Responsible)
def point_responsible(
    request: Request,
    session: SessionDep,
    principal: Reader,
    crs: CrsDep,
    lon: Annotated[float, Query()],
    lat: Annotated[float, Query()],
) -> dict[str, Any]:
    check_lonlat(lon, lat)
    xs, ys = to_cgcs2000(np.array([lon]), np.array([lat]), crs)
    x, y = float(xs[0]), float(ys[0])
    generation = active_generation(session=session)
    city = request.app.state.locators.get(session=session, generation_id=generation.id)
    code = city.locator.locate([x], [y]).l3[0]
    if code is None:
        raise InvalidParameter(
            f"point ({lon}, {lat}) is outside the city's grids; check the coordinates (lon "
            "first) and the crs parameter",
            field="lon",
        )
    return {"point": [x, y], **_answer(session, principal, str(code))}


@router.get("/teams", summary="The 7 city teams and every town's squads", response_model=Listing)
def read_teams(
    session: SessionDep, _: Reader, kind: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    try:
        team_kind = TeamKind(kind) if kind else None
    except ValueError:
        raise InvalidParameter(
            f"kind {kind!r} is unknown; use city_team or town_squad", field="kind"
        ) from None
    data = list_teams(session=session, kind=team_kind)
    return {"data": data, "count": len(data)}


def _require_team_readable(session: Any, principal: Any, team: Team) -> None:
    """Forbidden unless the caller may read the team's members: a town's squad by users of that
    town (or of a place inside it); a city team (no town) by city-wide users of the roles that
    call the city teams out (:data:`CITY_TEAM_ROLES`). A team's own members always may."""
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    town = team.town_code
    if town is None:
        if codes is None and principal.role in CITY_TEAM_ROLES:
            return
        raise Forbidden(
            f"team {team.id} is a city team; its members are read by city-wide "
            f"{', '.join(sorted(r.value for r in CITY_TEAM_ROLES))} users (you are "
            f"{principal.role.value}, scope {principal.scope})",
            field="team_id",
        )
    if accounts.touches_codes(town, codes):
        return
    raise Forbidden(
        f"squad {team.id} is of town {town}, outside your scope ({principal.scope}); "
        "ask a dispatcher of that town",
        field="team_id",
    )


@router.get("/teams/{team_id}/members", response_model=Listing)
def read_team_members(team_id: int, session: SessionDep, principal: Reader) -> dict[str, Any]:
    team = session.get(Team, team_id)
    if team is None:
        raise TeamNotFound(f"no team {team_id}; list teams at /api/v1/teams", field="team_id")
    members = team_members(session=session, team_id=team_id)
    own = principal.person_id is not None and any(
        m["person_id"] == principal.person_id for m in members
    )
    if not own:
        _require_team_readable(session, principal, team)
    data = _people(members, principal.role)
    return {"data": data, "count": len(data)}
