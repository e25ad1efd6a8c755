"""``/coverage``: patrol coverage (巡查覆盖率) per grid level with drill-down (login required).

``?date=YYYY-MM-DD`` (default: the last complete day, yesterday in Asia/Shanghai, whole day; if it
has no run, the latest run of an earlier day; only without any such run today's, labelled as
partial "今日（截至 HH:MM）"),
``&shift=HH:MM-HH:MM`` (empty = whole day), ``&resolution=10|11`` (empty = the latest run),
``&threshold=0.8`` (share of the window inside one's own grids under which a person is listed
in the compliance panel), ``&lang=en``, ``&area=<grid code>`` (the drill-down, kept by the page
script). Without a stored run the page says how to compute one. The grids come from the vector
tiles of the run's generation; the page carries only the grid index (layers/grid_index.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import (
    SessionDep,
    current_principal,
    parse_day,
    parse_resolution,
    parse_shift,
)
from api.errors import InvalidParameter
from api.pages.map import basemap_from_settings, login_redirect
from api.pages.scripts import page_response
from layers import accounts
from layers.coverage import (
    SHANGHAI,
    CoverageNotComputed,
    CoverageRun,
    find_run,
    grid_rows,
    window,
)
from layers.coverage_reports import COMPLIANCE_THRESHOLD
from layers.errors import AuthError
from layers.grid_index import grid_index
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


def page_run_meta(run: CoverageRun, now: datetime) -> dict[str, Any]:
    """The run as the page shows it: times in Asia/Shanghai; ``partial_until`` ("HH:MM") when
    it was computed before its window ended (today's run, still growing)."""
    computed = run.computed_at.astimezone(SHANGHAI) if run.computed_at else None
    _, end = window(run.day, parse_shift(run.shift) if run.shift else None)
    partial = computed is not None and computed < end
    return {
        "date": run.day.isoformat(),
        "shift": run.shift or None,
        "params": run.params(),
        "computed_at": f"{computed:%Y-%m-%d %H:%M}" if computed else None,
        "partial_until": f"{computed:%H:%M}" if partial and computed else None,
        "today": run.day == now.date(),
    }


def default_run(session: Session, today: Any) -> CoverageRun | None:
    """The run a page opens on: yesterday's whole day (the last complete day), else the latest
    run of any earlier day, else the latest run at all (today's, shown as partial)."""
    try:
        return find_run(session=session, day=today - timedelta(days=1), shift=None, resolution=None)
    except CoverageNotComputed:
        pass
    latest = select(CoverageRun).order_by(
        CoverageRun.day.desc(), CoverageRun.computed_at.desc(), CoverageRun.id.desc()
    )
    return (
        session.scalars(latest.where(CoverageRun.day < today)).first()
        or session.scalars(latest).first()
    )


def cached_grid_index(request: Request, session: Session, generation_id: int) -> dict[int, Any]:
    """The grid index of a generation, once per process (layers/grid_index.py); like
    api.pages.map.grid_levels, keyed by the generation (its grids never change once published)."""
    cache = request.app.state.page_cache
    key = ("grid_index", generation_id)
    if key not in cache:
        cache[key] = grid_index(session=session, generation_id=generation_id)
    return dict(cache[key])


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
        principal = current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = "en" if lang == "en" else "zh"
    q = _query(date_, shift, resolution)
    share = _threshold(threshold)
    run: CoverageRun | None = None
    now = datetime.now(SHANGHAI)
    if q["date"] is None:  # no date asked: the last complete day (see default_run)
        run = default_run(session, now.date())
        q["date"] = run.day if run else now.date() - timedelta(days=1)
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
        scope = accounts.scope_codes(session=session, identity=principal.identity)
        inside = partial(accounts.in_codes, codes=scope)
        figures = {  # the caller's area only, as /api/v1/coverage
            n: [r for r in grid_rows(session=session, run=run, level=n) if inside(r["code"])]
            for n in (1, 2, 3)
        }
    folium_map = build_coverage_map(
        cached_grid_index(request, session, gen_id),
        figures,
        generation_id=gen_id,
        run=page_run_meta(run, now) if run else None,
        query=shown,
        lang=lang,
        basemap=basemap_from_settings(request.app.state.settings.map, lang),
    )
    return page_response(request, folium_map.get_root().render())
