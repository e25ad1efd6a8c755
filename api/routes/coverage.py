"""Patrol coverage (巡查覆盖率): compute a run, grid ranking per level, one grid's blind spots,
who covered it and their tracks, an area's trend over days, duty compliance per person; CSV
(with BOM) and XLSX exports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.city_wide import require_city_wide
from api.deps import (
    Reader,
    SessionDep,
    parse_day,
    parse_level,
    parse_resolution,
    parse_shift,
)
from api.errors import InvalidParameter
from api.exports import TableFormat, table_response
from api.schemas.common import table_responses
from api.schemas.tracks import (
    CoverageGrid,
    CoverageRunPublic,
    CoverageTable,
    CoverageTracks,
    CoverageTrend,
)
from gis.coverage import CoverageParams, RasterTooLarge
from gis.hexgrid import MAX_RESOLUTION, MIN_RESOLUTION
from layers import accounts
from layers.coverage import (
    COMPLIANCE_COLUMNS,
    DUTY_HOURS,
    GRID_COLUMNS,
    SHANGHAI,
    CoverageRun,
    compliance_rows,
    compute_coverage_run,
    find_run,
    grid_detail,
    grid_rows,
)
from layers.coverage_reports import (
    COMPLIANCE_THRESHOLD,
    MAX_TREND_DAYS,
    TREND_COLUMNS,
    coverage_trend,
    grid_tracks,
)
from layers.errors import Forbidden
from layers.models import Role

router = APIRouter(prefix="/api/v1/coverage", tags=["coverage"])

DateQ = Annotated[str, Query(alias="date", description="YYYY-MM-DD, Asia/Shanghai")]
ShiftQ = Annotated[str | None, Query(description="HH:MM-HH:MM; omitted = the whole day")]
ResQ = Annotated[
    int | None,
    Query(ge=MIN_RESOLUTION, le=MAX_RESOLUTION, description="H3 resolution (10 or 11 typical)"),
]
CityPlanner = Annotated[
    Any,
    Depends(require_city_wide(Role.PLANNER, what="a coverage run", what_zh="覆盖率计算")),
]
"""A run covers every grid of the city and replaces the day's figures for every town, so only
a city-scoped planner or an admin starts one (api/city_wide.py); towns read their part."""


def _run(session: Any, day: str, shift: str | None, resolution: int | None) -> CoverageRun:
    return find_run(
        session=session, day=parse_day(day), shift=parse_shift(shift),
        resolution=parse_resolution(resolution),
    )  # fmt: skip


def _run_meta(run: CoverageRun) -> dict[str, Any]:
    return {
        "run": run.id,
        "date": run.day.isoformat(),
        "shift": run.shift or None,
        "from": run.window_start.isoformat(),
        "to": run.window_end.isoformat(),
        "generation": run.generation_id,
        "params": run.params(),
        "computed_at": run.computed_at.isoformat() if run.computed_at else None,
    }


@router.post(
    "/runs",
    summary="Compute (or recompute) coverage for a day or shift",
    response_model=CoverageRunPublic,
)
def create_coverage_run(
    request: Request,
    session: SessionDep,
    _: CityPlanner,
    date_: DateQ,
    shift: ShiftQ = None,
    resolution: ResQ = 10,
    distance_m: Annotated[float, Query(gt=0, le=1000)] = 30.0,
    max_gap_s: Annotated[float, Query(gt=0, le=86400)] = 300.0,
    pixel_m: Annotated[
        float, Query(ge=0.5, le=50, description="raster pixel of the buffer method (m)")
    ] = 5.0,
) -> dict[str, Any]:
    params = CoverageParams(
        resolution=parse_resolution(resolution) or 10,
        distance_m=distance_m,
        max_gap_s=max_gap_s,
        pixel_m=pixel_m,
        metric_srid=request.app.state.settings.geo.metric_srid,
    )
    try:
        run = compute_coverage_run(
            session=session, day=parse_day(date_), shift=parse_shift(shift), params=params
        )
    except RasterTooLarge as exc:  # a raster that would not fit in memory: 422, never a crash
        raise InvalidParameter(str(exc), field="pixel_m") from None
    session.refresh(run)
    return _run_meta(run)


@router.get(
    "",
    summary="Coverage per grid of a level, ranked (H3 and buffer methods)",
    response_model=CoverageTable,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_coverage(
    session: SessionDep,
    principal: Reader,
    date_: DateQ,
    shift: ShiftQ = None,
    resolution: ResQ = None,
    level: Annotated[int, Query(description="1 town, 2 village, 3 unit grid")] = 3,
    parent: Annotated[str | None, Query(description="only grids under this code")] = None,
    format: TableFormat = "json",
) -> Any:
    run = _run(session, date_, shift, resolution)
    rows = grid_rows(session=session, run=run, level=parse_level(level) or 3)
    scope = accounts.scope_codes(session=session, identity=principal.identity)
    rows = [r for r in rows if accounts.in_codes(r["code"], scope)]  # the caller's area only
    if parent:
        rows = [r for r in rows if r["code"].startswith(parent) and r["code"] != parent]
    if format == "json":
        return {**_run_meta(run), "level": level, "data": rows, "count": len(rows)}
    return table_response(
        rows, name=f"coverage-{run.day.isoformat()}-l{level}", fmt=format, columns=GRID_COLUMNS
    )


@router.get(
    "/grids/{code}",
    summary="One unit grid: who covered it and its blind spots",
    response_model=CoverageGrid,
)
def read_grid_coverage(
    session: SessionDep,
    principal: Reader,
    code: str,
    date_: DateQ,
    shift: ShiftQ = None,
    resolution: ResQ = None,
) -> dict[str, Any]:
    accounts.require_in_scope(
        session=session, identity=principal.identity, grid_code=code, what=f"grid {code}"
    )
    run = _run(session, date_, shift, resolution)
    return {**_run_meta(run), **grid_detail(session=session, run=run, code=code)}


@router.get(
    "/grids/{code}/tracks",
    summary="The tracks that covered one unit grid (GeoJSON)",
    response_model=CoverageTracks,
)
def read_grid_tracks(
    session: SessionDep,
    principal: Reader,
    code: str,
    date_: DateQ,
    shift: ShiftQ = None,
    resolution: ResQ = None,
) -> dict[str, Any]:
    """One MultiLineString per device that visited the grid in the run, from its usable fixes
    in the run window (split at silences over the run's max gap), clipped to the grid's
    bounding box grown by 200 m; properties device, name, minutes, metres, colour index."""
    accounts.require_in_scope(
        session=session, identity=principal.identity, grid_code=code, what=f"grid {code}"
    )
    run = _run(session, date_, shift, resolution)
    return {**_run_meta(run), **grid_tracks(session=session, run=run, code=code)}


def trend_code(session: Any, principal: Any, code: str | None) -> str | None:
    """The area of a trend inside the caller's scope: ``code`` if it lies inside (403
    otherwise); without a code, the city for a city-wide caller, the scope's one area for a
    town or village, and a 422 asking for a code when the scope is several grids."""
    scope = accounts.scope_codes(session=session, identity=principal.identity)
    if code is not None:
        accounts.require_in_scope(
            session=session, identity=principal.identity, grid_code=code, what=f"area {code}"
        )
        return code
    if scope is None:
        return None
    if len(scope) == 1:
        return scope[0]
    if not scope:
        raise Forbidden(
            f"your scope ({principal.scope}) holds no grid today; ask an administrator",
            field="scope",
        )
    raise InvalidParameter(
        f"your scope ({principal.scope}) is {len(scope)} areas; ask for one of them with "
        f"code= ({', '.join(scope[:5])}{', …' if len(scope) > 5 else ''})",
        field="code",
    )


@router.get(
    "/trend",
    summary="Coverage of an area (or the whole city) per day with a run",
    response_model=CoverageTrend,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_coverage_trend(
    session: SessionDep,
    principal: Reader,
    from_: Annotated[
        str | None, Query(alias="from", description="YYYY-MM-DD; default to-13")
    ] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD (inclusive); default today")] = None,
    code: Annotated[str | None, Query(description="grid code of any level; omitted = city")] = None,
    shift: ShiftQ = None,
    resolution: ResQ = None,
    format: TableFormat = "json",
) -> Any:
    end = parse_day(to, "to") if to else datetime.now(SHANGHAI).date()
    start = parse_day(from_, "from") if from_ else end - timedelta(days=13)
    if start > end:
        raise InvalidParameter(
            f"from {start.isoformat()} is after to {end.isoformat()}; swap them", field="from"
        )
    if (end - start).days + 1 > MAX_TREND_DAYS:
        raise InvalidParameter(
            f"{start.isoformat()}..{end.isoformat()} spans {(end - start).days + 1} days; "
            f"ask for at most {MAX_TREND_DAYS} days at a time",
            field="from",
        )
    code = trend_code(session, principal, code or None)
    trend = coverage_trend(
        session=session, start=start, end=end, shift=parse_shift(shift),
        resolution=parse_resolution(resolution), code=code,
    )  # fmt: skip
    if format == "json":
        return trend
    name = f"coverage-trend-{code or 'city'}-{start.isoformat()}-{end.isoformat()}"
    return table_response(trend["data"], name=name, fmt=format, columns=TREND_COLUMNS)


@router.get(
    "/compliance",
    summary="Duty compliance per person: time inside own grids",
    response_model=CoverageRunPublic,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_compliance(
    session: SessionDep,
    principal: Reader,
    date_: DateQ,
    shift: ShiftQ = None,
    resolution: ResQ = None,
    threshold: Annotated[
        float, Query(ge=0, le=1, description="share of the window")
    ] = COMPLIANCE_THRESHOLD,
    below_only: Annotated[bool, Query(description="only those below the threshold")] = False,
    present_only: Annotated[
        bool, Query(description="leave out people whose devices sent no fix in the window")
    ] = False,
    duty_hours: Annotated[
        float, Query(gt=0, le=24, description="duty time that a whole-day run is judged by")
    ] = DUTY_HOURS,
    format: TableFormat = "json",
) -> Any:
    run = _run(session, date_, shift, resolution)
    rows = compliance_rows(session=session, run=run, threshold=threshold, duty_hours=duty_hours)
    people = accounts.people_in_scope(
        session=session, codes=accounts.scope_codes(session=session, identity=principal.identity)
    )
    if people is not None:
        rows = [r for r in rows if r["person_id"] in people]
    absent = sum(1 for r in rows if r["absent"] and (r["below"] or not below_only))
    if below_only:
        rows = [r for r in rows if r["below"]]
    if present_only:
        rows = [r for r in rows if not r["absent"]]
    if format == "json":
        return {**_run_meta(run), "threshold": threshold, "duty_hours": duty_hours,
                "absent": absent, "data": rows, "count": len(rows)}  # fmt: skip
    return table_response(
        rows, name=f"compliance-{run.day.isoformat()}", fmt=format, columns=COMPLIANCE_COLUMNS
    )
