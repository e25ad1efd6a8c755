"""``/live`` and ``/playback``: the patrol pages (login required), grids underneath."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, current_principal, parse_at, parse_day
from api.pages.map import basemap_from_settings, grid_map_source, login_redirect
from api.pages.scripts import cached_page, page_response
from layers.errors import AuthError
from layers.grids import resolve_generation
from maps.grid_map import GridMapSource
from maps.live_map import build_live_map
from maps.playback_map import build_playback_map
from maps.styles import resolve_lang

router = APIRouter(tags=["pages"])


def _source(request: Request, session: Session) -> tuple[tuple[int, int], GridMapSource]:
    """The page-cache key part of the generation in force, and what the page needs of it."""
    gen = resolve_generation(session=session)
    return (gen.id, gen.content_version), grid_map_source(request, session, gen)


@router.get("/live", response_class=HTMLResponse, include_in_schema=False)
def live_page(
    request: Request, session: SessionDep, lang: Annotated[str, Query()] = "zh"
) -> Response:
    try:
        current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = resolve_lang(lang)
    key, source = _source(request, session)

    def render() -> str:
        settings = request.app.state.settings.map
        basemap = basemap_from_settings(settings, lang)
        return str(build_live_map(source, lang=lang, basemap=basemap).get_root().render())

    return page_response(request, cached_page(request, ("live_map", *key, lang), render))


@router.get("/playback", response_class=HTMLResponse, include_in_schema=False)
def playback_page(
    request: Request,
    session: SessionDep,
    device: Annotated[str | None, Query()] = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Annotated[str | None, Query()] = None,
    lang: Annotated[str, Query()] = "zh",
    date_: Annotated[str | None, Query(alias="date")] = None,
) -> Response:
    """One page for every device: it reads ``device``/``date``/``from``/``to`` from its own
    address and says on the page (not as JSON) when the device is missing, wrong or unknown.
    A day that is no day (``date=2026-13-45``, ``from=bogus``) is a 422 (the error page of
    api/pages/error_pages.py, as every page's bad date), never a title of a day that does not
    exist."""
    try:
        current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    if date_:
        parse_day(date_)
    parse_at(from_, "from")
    parse_at(to, "to")
    del device  # read by the page itself from its address
    lang = resolve_lang(lang)
    key, source = _source(request, session)

    def render() -> str:
        settings = request.app.state.settings.map
        basemap = basemap_from_settings(settings, lang)
        return str(build_playback_map(source, lang=lang, basemap=basemap).get_root().render())

    return page_response(request, cached_page(request, ("playback_map", *key, lang), render))
