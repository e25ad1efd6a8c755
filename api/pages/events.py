"""``/events/map``: the events layer (login required). Shows open cases and those reported in
the last ``days`` days (at most ``MAX_EVENTS``, newest first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import text

from api.deps import SessionDep, current_principal
from api.pages.map import basemap_from_settings, grid_levels, login_redirect
from api.pages.scripts import page_response
from layers.errors import AuthError
from layers.grids import resolve_generation
from maps.events_map import build_events_map

router = APIRouter(tags=["pages"])
MAX_EVENTS = 50_000

# One row per event: open ones always, others if reported within the window. Overdue is judged
# here, at page time, with the same rule as the API (open for handling, deadline passed).
_ROWS = """
SELECT e.id, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.status::text AS status,
       (e.status IN ('dispatched','in_handling','extension_requested','rework')
        AND e.deadline_at < :now) AS overdue,
       s.name AS subclass, e.reported_at
FROM event e JOIN event_subclass s ON s.code = e.subclass_code
WHERE e.reported_at >= :since OR e.status NOT IN ('closed', 'rejected')
ORDER BY e.reported_at DESC
LIMIT :limit
"""


@router.get("/events/map", response_class=HTMLResponse, include_in_schema=False)
def events_map_page(
    request: Request,
    session: SessionDep,
    lang: Annotated[str, Query()] = "zh",
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
) -> Response:
    try:
        current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = "en" if lang == "en" else "zh"
    now = datetime.now(UTC)
    rows = [
        {**r, "reported_at": r["reported_at"].isoformat()}
        for r in session.execute(
            text(_ROWS), {"now": now, "since": now - timedelta(days=days), "limit": MAX_EVENTS}
        ).mappings()
    ]
    gen = resolve_generation(session=session, generation_id=None)
    towns = grid_levels(request, session, gen.id)[1]  # cached per generation
    folium_map = build_events_map(
        rows, towns, lang=lang, basemap=basemap_from_settings(request.app.state.settings.map, lang)
    )
    return page_response(request, folium_map.get_root().render())
