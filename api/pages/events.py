"""``/events/map``: the dispatcher's event map and list (login required).

The page carries no event and no geometry: its script reads the events from
``/api/v1/event-map/points`` and ``/rows`` (api/routes/event_map.py) with the filter of the
page's URL (``status``, ``class``, ``town``, ``overdue``, ``source``, ``from``, ``to``,
``page``), refreshes them every 15 s, and draws the town outlines from the vector tiles. The
page itself holds the filter's choices (the towns of the caller's scope, the event dictionary
in the page's language).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, current_principal
from api.pages.home import city_bounds
from api.pages.map import basemap_from_settings, login_redirect
from api.pages.scripts import page_response
from gis.codes import LEVEL_CODE_LENGTH
from layers import accounts
from layers.errors import AuthError
from layers.events.dictionary import list_dictionary
from layers.events.listing import DUE_SOON_H
from layers.grids import active_generation, resolve_generation
from layers.models import Grid
from maps.events_map import build_events_map
from maps.styles import resolve_lang

router = APIRouter(tags=["pages"])


@router.get("/events/map", response_class=HTMLResponse, include_in_schema=False)
def events_map_page(
    request: Request,
    session: SessionDep,
    lang: Annotated[str, Query()] = "zh",
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
) -> Response:
    """``days``: without a ``from`` date, open cases and those reported in the last ``days``
    days (read by the page script from the URL; checked here so a bad one is an error page)."""
    try:
        principal = current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = resolve_lang(lang)
    towns = scope_towns(session, accounts.scope_codes(session=session, identity=principal.identity))
    folium_map = build_events_map(
        lang=lang,
        towns=towns,
        classes=list_dictionary(session=session, lang=lang),
        basemap=basemap_from_settings(request.app.state.settings.map, lang),
        due_soon_h=DUE_SOON_H,
        bounds=city_bounds(request, session, resolve_generation(session=session).id),
    )
    return page_response(request, folium_map.get_root().render())


def scope_towns(session: Session, codes: tuple[str, ...] | None) -> list[dict[str, str]]:
    """``{"code", "name"}`` of the active generation's towns (level 1) holding part of the scope
    ``codes`` (grid-code prefixes of :func:`layers.accounts.scope_codes`; None: the whole city,
    every town; empty: none), by code."""
    where = [Grid.generation_id == active_generation(session=session).id, Grid.level == 1]
    if codes is not None:
        where.append(Grid.code.in_(sorted({c[: LEVEL_CODE_LENGTH[1]] for c in codes})))
    return [
        {"code": code, "name": name}
        for code, name in session.execute(
            select(Grid.code, Grid.name).where(*where).order_by(Grid.code)
        )
    ]
