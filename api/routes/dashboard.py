"""The command centre's front page (``/``) asks these, one call per panel (layers/dashboard.py).

``scope`` is a grid code prefix: empty for the city, a town (9 digits), a village (12) or a
unit grid (15); every panel counts only what lies in it. Times are UTC ISO 8601; the page
shows them in Asia/Shanghai.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import Reader, SessionDep
from api.errors import InvalidParameter
from api.routes.staff import _answer as responsible_answer
from layers.dashboard import (
    KPI_PERIODS,
    SCOPE_LENGTHS,
    event_panel,
    event_points,
    grid_panel,
    kpi_panel,
    patrol_panel,
)
from layers.grids import active_generation

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

ScopeQuery = Annotated[
    str,
    Query(
        max_length=15,
        description="grid code prefix: '' (city), town (9 digits), village (12), grid (15)",
    ),
]


def parse_scope(value: str, field: str = "scope") -> str:
    """A code prefix of 0, 9, 12 or 15 digits (a whole town, village or unit grid code)."""
    value = value.strip()
    if value and not (value.isascii() and value.isdigit()):
        raise InvalidParameter(
            f"{field} {value!r} is not a grid code; give a town (9 digits), village (12) or "
            "unit grid (15) code, or leave it empty for the whole city",
            field=field,
        )
    if len(value) not in SCOPE_LENGTHS:
        raise InvalidParameter(
            f"{field} {value!r} has {len(value)} digits; a town code has 9, a village 12 and "
            "a unit grid 15 (or leave it empty for the whole city)",
            field=field,
        )
    return value


@router.get("/events", summary="Events panel: today / this week, overdue list, newest")
def dashboard_events(session: SessionDep, _: Reader, scope: ScopeQuery = "") -> dict[str, Any]:
    return event_panel(session=session, scope=parse_scope(scope))


@router.get("/events/points", summary="Open events of the scope as compact map points")
def dashboard_event_points(
    session: SessionDep, _: Reader, scope: ScopeQuery = ""
) -> dict[str, Any]:
    return event_points(session=session, scope=parse_scope(scope))


@router.get("/patrols", summary="Patrols panel: officers online/offline, coverage today")
def dashboard_patrols(
    session: SessionDep,
    _: Reader,
    scope: ScopeQuery = "",
    online_s: Annotated[
        int, Query(ge=10, le=86400, description="online if the last fix is at most this old")
    ] = 300,
    offline_min: Annotated[
        int, Query(ge=1, le=10080, description="list officers silent for longer (minutes)")
    ] = 30,
) -> dict[str, Any]:
    return patrol_panel(
        session=session, scope=parse_scope(scope), online_s=online_s, offline_min=offline_min
    )


@router.get("/kpis", summary="KPIs panel: the period's indicators and the ranking")
def dashboard_kpis(
    session: SessionDep,
    _: Reader,
    scope: ScopeQuery = "",
    period: Annotated[str, Query(description="day, week, month or year (Asia/Shanghai)")] = (
        "month"
    ),
) -> dict[str, Any]:
    if period not in KPI_PERIODS:
        raise InvalidParameter(
            f"period {period!r} is unknown; use {', '.join(KPI_PERIODS)}", field="period"
        )
    return kpi_panel(session=session, scope=parse_scope(scope), period=period)


@router.get("/grid/{code}", summary="One grid: people, zone and squad, households, events")
def dashboard_grid(
    session: SessionDep, principal: Reader, code: Annotated[str, Path(max_length=15)]
) -> dict[str, Any]:
    """A town, village or unit grid: who is responsible (一长五员; phones in full only for
    entitled roles, as ``GET /api/v1/grids/{code}/responsible``), its zone and squad (unit
    grids), households count, events and coverage."""
    code = parse_scope(code, "code")
    if not code:
        raise InvalidParameter("give a grid code (9, 12 or 15 digits)", field="code")
    people = responsible_answer(session, principal, code)  # 404 for an unknown code
    generation_id = active_generation(session=session).id
    return {**people, **grid_panel(session=session, code=code, generation_id=generation_id)}
