"""``/coverage``: patrol coverage (巡查覆盖率) per grid level with drill-down (login required).

``?date=YYYY-MM-DD`` (default: the day of the latest run, with its shift and resolution),
``&shift=HH:MM-HH:MM`` (empty = whole day), ``&resolution=10|11`` (empty = the latest run),
``&threshold=0.8`` (share of the window inside one's own grids under which a person is listed
in the compliance panel), ``&lang=en``. Without a stored run the page says how to compute one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.deps import (
    SessionDep,
    current_principal,
    parse_day,
    parse_resolution,
    parse_shift,
)
from api.errors import InvalidParameter
from api.pages.map import basemap_from_settings, grid_levels, login_redirect
from api.pages.scripts import page_response
from layers.coverage import (
    SHANGHAI,
    CoverageNotComputed,
    CoverageRun,
    find_run,
    grid_rows,
)
from layers.coverage_reports import COMPLIANCE_THRESHOLD
from layers.errors import AuthError
from layers.grids import resolve_generation
from maps.coverage_map import build_coverage_map

router = APIRouter(tags=["pages"])


def _threshold(value: str | None) -> float:
    if not value:
        return COMPLIANCE_THRESHOLD
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise InvalidParameter(
            f"threshold {value!r} is not a share between 0 and 1; e.g. 0.8 for 80 %",
            field="threshold",
        )
    return share


def _query(day: str | None, shift: str | None, resolution: str | None) -> dict[str, Any]:
    return {
        "date": parse_day(day) if day else None,
        "shift": parse_shift(shift),
        "resolution": parse_resolution(resolution),
    }


def _run_meta(run: CoverageRun) -> dict[str, Any]:
    return {
        "date": run.day.isoformat(),
        "shift": run.shift or None,
        "params": run.params(),
        "computed_at": run.computed_at.isoformat() if run.computed_at else None,
    }


@router.get("/coverage", response_class=HTMLResponse, include_in_schema=False)
def coverage_page(
    request: Request,
    session: SessionDep,
    lang: Annotated[str, Query()] = "zh",
    date_: Annotated[str | None, Query(alias="date")] = None,
    shift: Annotated[str | None, Query()] = None,
    resolution: Annotated[str | None, Query()] = None,
    threshold: Annotated[str | None, Query()] = None,
) -> Response:
    try:
        current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = "en" if lang == "en" else "zh"
    q = _query(date_, shift, resolution)
    share = _threshold(threshold)
    run: CoverageRun | None = None
    if q["date"] is None:  # no date asked: the latest run, whatever its window
        run = session.scalars(
            select(CoverageRun).order_by(CoverageRun.computed_at.desc(), CoverageRun.id.desc())
        ).first()
        q["date"] = run.day if run else datetime.now(SHANGHAI).date()
        q["shift"] = parse_shift(run.shift) if run else None
    else:
        try:
            run = find_run(
                session=session, day=q["date"], shift=q["shift"], resolution=q["resolution"]
            )
        except CoverageNotComputed:
            run = None
    shown = {
        "date": q["date"].isoformat(),
        "shift": f"{q['shift'][0]:%H:%M}-{q['shift'][1]:%H:%M}" if q["shift"] else None,
        "resolution": q["resolution"],
        "threshold": share,
    }
    if run is None:
        gen_id = resolve_generation(session=session, generation_id=None).id
        figures = None
    else:
        gen_id = run.generation_id
        figures = {n: grid_rows(session=session, run=run, level=n) for n in (1, 2, 3)}
    folium_map = build_coverage_map(
        grid_levels(request, session, gen_id),
        figures,
        run=_run_meta(run) if run else None,
        query=shown,
        lang=lang,
        basemap=basemap_from_settings(request.app.state.settings.map, lang),
    )
    return page_response(request, folium_map.get_root().render())
