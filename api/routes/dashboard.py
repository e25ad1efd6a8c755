"""The command centre's front page (``/``) asks these, one call per panel (layers/dashboard.py).

Answers are reused for ``GRIDGIS_DASHBOARD_CACHE_S`` seconds (5) per process and parameters:
every screen of the centre polls the same panels (:class:`PanelCache`).

``scope`` is a grid code prefix: empty for the city, a town (9 digits), a village (12) or a
unit grid (15); every panel counts only what lies in it. Times are UTC ISO 8601; the page
shows them in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.deps import Reader, SessionDep
from api.errors import InvalidParameter
from api.lang import LangDep
from api.routes.staff import _answer as responsible_answer
from api.schemas.common import Answer
from api.schemas.events import (
    DashboardEvents,
    DashboardGrid,
    DashboardKpis,
    DashboardPatrols,
    DashboardPoints,
)
from layers import accounts
from layers.dashboard import (
    KPI_PERIODS,
    SCOPE_LENGTHS,
    event_panel,
    event_points,
    grid_panel,
    kpi_panel,
    patrol_panel,
    shown_period,
)
from layers.errors import Forbidden
from layers.grids import active_generation
from layers.workcal import SHANGHAI

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])


class DashboardSettings(BaseSettings):
    """``GRIDGIS_DASHBOARD_CACHE_S``: how long (seconds) a process reuses a panel's answer for
    the same parameters (0: never). Every wall screen and operator of the centre asks the same
    panels every 15-60 s; the answers carry ``now``, the time they were computed."""

    model_config = SettingsConfigDict(env_prefix="GRIDGIS_DASHBOARD_", extra="ignore")

    cache_s: float = Field(5.0, ge=0, le=300)


class PanelCache:
    """Answers by key for ``ttl_s`` seconds, at most ``max_entries`` (the oldest go first);
    thread-safe (the routes run in the thread pool). Two requests missing at once both
    compute: no request ever waits for another."""

    def __init__(self, ttl_s: float, max_entries: int = 1024) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if self.ttl_s <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = compute()
        with self._lock:
            self._items[key] = (now + self.ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value


def panel_cache(request: Request) -> PanelCache:
    """This process's cache (made on first use from :class:`DashboardSettings`)."""
    state = request.app.state
    cache = getattr(state, "dashboard_cache", None)
    if cache is None:
        cache = state.dashboard_cache = PanelCache(DashboardSettings().cache_s)
    return cache


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


def within_caller(scope: str, session: Any, principal: Any, field: str = "scope") -> str:
    """``scope`` if it lies inside the caller's own (layers.accounts.scope_codes); an empty
    scope means the caller's whole area when it is one code. Forbidden otherwise."""
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    if codes is None:
        return scope
    if not scope and len(codes) == 1 and len(codes[0]) in SCOPE_LENGTHS:
        return codes[0]
    if scope and scope.startswith(codes):
        return scope
    raise Forbidden(
        f"{field} {scope or '(the whole city)'} is outside your area "
        f"({', '.join(codes) or 'no grid'}); give a code inside it",
        field=field,
    )


@router.get(
    "/events",
    summary="Events panel: today / this week, overdue list, newest",
    response_model=DashboardEvents,
)
def dashboard_events(
    request: Request,
    session: SessionDep,
    principal: Reader,
    lang: LangDep,
    scope: ScopeQuery = "",
) -> dict[str, Any]:
    """The listed events' ``subclass_name`` is in ``lang`` (as the event dictionary names)."""
    scope = within_caller(parse_scope(scope), session, principal)
    return panel_cache(request).get(
        ("events", scope, lang), lambda: event_panel(session=session, scope=scope, lang=lang)
    )


@router.get(
    "/events/points",
    summary="Open events of the scope as compact map points",
    response_model=DashboardPoints,
)
def dashboard_event_points(
    request: Request, session: SessionDep, principal: Reader, scope: ScopeQuery = ""
) -> dict[str, Any]:
    scope = within_caller(parse_scope(scope), session, principal)
    return panel_cache(request).get(
        ("points", scope), lambda: event_points(session=session, scope=scope)
    )


class EventPoint(Answer):
    """One case's place on the map (the front page's search opens it there)."""

    id: int
    lon: float = Field(description="EPSG:4490 degrees")
    lat: float = Field(description="EPSG:4490 degrees")
    status: str
    overdue: bool
    grid_code: str | None


@router.get(
    "/events/{event_id}/point",
    summary="One case's point, status and grid (any status; not cached: a case just reported)",
    response_model=EventPoint,
)
def dashboard_event_point(
    session: SessionDep, principal: Reader, event_id: Annotated[int, Path(ge=1)]
) -> dict[str, Any]:
    """404 (field event_id) for no such case; 403 for a case the caller may not read (the
    rule of ``GET /api/v1/events/{id}``)."""
    from geoalchemy2.shape import to_shape

    from api.routes.events import _require_visible, event_public, get_event

    event = get_event(session, event_id)
    _require_visible(session, principal, event)
    point = to_shape(event.geom)
    public = event_public(event)
    return {"id": event.id, "lon": round(point.x, 7), "lat": round(point.y, 7),
            "status": public["status"], "overdue": public["overdue"],
            "grid_code": event.grid_code}  # fmt: skip


@router.get(
    "/patrols",
    summary="Patrols panel: officers online/offline, coverage today",
    response_model=DashboardPatrols,
)
def dashboard_patrols(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeQuery = "",
    online_s: Annotated[
        int, Query(ge=10, le=86400, description="online if the last fix is at most this old")
    ] = 300,
    offline_min: Annotated[
        int, Query(ge=1, le=10080, description="list officers silent for longer (minutes)")
    ] = 30,
) -> dict[str, Any]:
    scope = within_caller(parse_scope(scope), session, principal)
    return panel_cache(request).get(
        ("patrols", scope, online_s, offline_min),
        lambda: patrol_panel(
            session=session, scope=scope, online_s=online_s, offline_min=offline_min
        ),
    )


@router.get(
    "/kpis",
    summary="KPIs panel: the period's indicators and the ranking",
    response_model=DashboardKpis,
)
def dashboard_kpis(
    request: Request,
    session: SessionDep,
    principal: Reader,
    scope: ScopeQuery = "",
    period: Annotated[str, Query(description="day, week, month or year (Asia/Shanghai)")] = (
        "month"
    ),
    date: Annotated[
        dt.date | None, Query(description="as at the end of this day (Asia/Shanghai)")
    ] = None,
) -> dict[str, Any]:
    """``shown`` is ``current`` (the period up to now) or, on the first day of a week, month
    or year, ``previous``: the whole period before it, with ``current_from`` the start of the
    one just begun (:func:`layers.dashboard.shown_period`: one rule for the city and every
    town, village and grid). ``current_reported`` counts the cases of the scope reported in the
    current period so far. ``date`` (YYYY-MM-DD, Asia/Shanghai) asks as at the end of that day
    (or now, for today)."""
    if period not in KPI_PERIODS:
        raise InvalidParameter(
            f"period {period!r} is unknown; use {', '.join(KPI_PERIODS)}", field="period"
        )
    scope = within_caller(parse_scope(scope), session, principal)
    now = datetime.now(UTC)
    if date is not None:
        end_of_day = datetime.combine(date + timedelta(days=1), dtime(0), tzinfo=SHANGHAI)
        now = min(now, end_of_day.astimezone(UTC))

    def panel() -> dict[str, Any]:
        shown = shown_period(now, period)
        body = kpi_panel(
            session=session, scope=scope, period=period, now=shown["end"], start=shown["start"]
        )
        current = body["kpis"]["reported"]
        if shown["shown"] == "previous":
            current = kpi_panel(
                session=session, scope=scope, period=period, now=now,
                start=shown["current_from"],
            )["kpis"]["reported"]  # fmt: skip
        return body | {"shown": shown["shown"], "current_from": shown["current_from"].isoformat(),
                       "current_reported": current}  # fmt: skip

    key = ("kpis", scope, period, date if date is not None else None)
    return panel_cache(request).get(key, panel)


@router.get(
    "/grid/{code}",
    summary="One grid: people, zone and squad, households, events",
    response_model=DashboardGrid,
)
def dashboard_grid(
    request: Request,
    session: SessionDep,
    principal: Reader,
    code: Annotated[str, Path(max_length=15)],
) -> dict[str, Any]:
    """A town, village or unit grid: who is responsible (一长五员; phones in full only for
    entitled roles, as ``GET /api/v1/grids/{code}/responsible``), its zone and squad (unit
    grids), households count, events and coverage."""
    code = within_caller(parse_scope(code, "code"), session, principal, "code")
    if not code:
        raise InvalidParameter("give a grid code (9, 12 or 15 digits)", field="code")
    # Per request: who may see phones depends on the caller (404 for an unknown code).
    people = responsible_answer(session, principal, code)
    generation_id = active_generation(session=session).id
    figures = panel_cache(request).get(
        ("grid", code, generation_id),
        lambda: grid_panel(session=session, code=code, generation_id=generation_id),
    )
    return {**people, **figures}
