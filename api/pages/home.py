"""``/``: the command centre's front page (指挥中心首页), login required.

One screen for the operator at 1920×1080: a Leaflet map of the city drawn from the vector tiles
(``/tiles/…``, maps/static/gridgis-tiles.js) over the configured basemap, and panels filled by
``/api/v1/dashboard/…`` (api/routes/dashboard.py). The page is a Jinja2 template
(``templates/home.html``) with its script and styles in ``maps/static/gridgis-home.{js,css}``;
no inline script. What the script needs from the server (language, basemap tiles, the city's
extent, the selection) is in the ``data-config`` attribute of ``#home`` as JSON.

Query: ``lang`` (zh default, en), ``sel`` (a town, village or grid code: the drill-down state,
kept by the script in the URL), ``screen=big`` (dark full-screen mode, auto-refreshing),
``date`` (YYYY-MM-DD: the KPI panel as at the end of that day; a frozen date for tests).
A malformed ``date`` or ``screen`` is answered as the other pages answer a bad parameter
(api/pages/error_pages.py: an HTML page naming the parameter and the accepted form, 422); a
``sel`` that is no grid of the city shows the city with a visible warning naming ``sel`` and
the accepted codes (the script's ``bad_sel``, as ``/map`` does).
"""

from __future__ import annotations

from datetime import date as date_type
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import SessionDep, current_principal, parse_day
from api.errors import InvalidParameter
from api.pages.coverage import default_run, page_run_meta
from api.pages.map import basemap_from_settings, login_redirect
from api.pages.templating import STATIC_URL, page_lang, render_page
from layers import accounts
from layers.coverage import CoverageRun, grid_rows
from layers.errors import AuthError
from layers.events.dictionary import list_dictionary
from layers.grids import resolve_generation
from layers.models import Grid
from layers.workcal import SHANGHAI
from maps.assets import ASSETS, ASSETS_DIR, static_mounts
from maps.coverage_map import (
    NO_CELLS,
    NOT_PATROLLED,
    class_palette,
    class_rows,
    run_text_of,
    share_breaks,
)
from maps.events_map import NOTE_ACTIONS
from maps.events_map import words as case_words
from maps.status_names import event_status_names
from maps.styles import ROLE_NAMES, label, resolve_lang

router = APIRouter(tags=["pages"])

VENDOR_URL = next(u for u, d in static_mounts("/static").items() if d == ASSETS_DIR)

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "指挥中心",
        "search": "搜索网格编码（或其开头、结尾几位）或名称、人员、事件编号、地名、坐标"
        "（如 120.28,31.91 gcj02 或 40540000,3530000）",
        "search_button": "搜索", "big": "大屏模式", "exit_big": "退出大屏", "city": "全市",
        "events": "事件", "patrols": "巡查", "kpis": "考核指标", "selection": "当前范围",
        "overdue_list": "超时事件（按期限）", "live": "最新事件", "layers": "图层",
        "time_note": "时间均为北京时间（UTC+8）", "loading": "加载中…", "map": "城市地图",
        "today": "今日", "week": "本周", "close": "关闭",
    },
    "en": {
        "title": "Command centre",
        "search": "Search a grid code (or its first or last digits) or name, a person, an event "
        "number, a place, a coordinate (e.g. 120.28,31.91 gcj02 or 40540000,3530000)",
        "search_button": "Search", "big": "Big screen", "exit_big": "Leave big screen",
        "city": "City", "events": "Events", "patrols": "Patrols", "kpis": "KPIs",
        "selection": "Selection", "overdue_list": "Overdue events (by deadline)",
        "live": "Newest events", "layers": "Layers",
        "time_note": "All times in Asia/Shanghai (UTC+8)", "loading": "Loading…",
        "map": "City map", "today": "Today", "week": "This week", "close": "Close",
    },
}  # fmt: skip


def city_bounds(request: Request, session: Session, generation_id: int) -> list[list[float]]:
    """``[[south, west], [north, east]]`` (EPSG:4490 degrees) of the generation's towns, kept
    per generation in the page cache (a loaded generation never changes shape)."""
    cache = request.app.state.page_cache
    key = ("home_bounds", generation_id)
    if key not in cache:
        extent = select(func.ST_Extent(Grid.geom).label("e")).where(
            Grid.generation_id == generation_id, Grid.level == 1
        )
        w, s, e, n = session.execute(
            select(
                func.ST_XMin(extent.scalar_subquery()),
                func.ST_YMin(extent.scalar_subquery()),
                func.ST_XMax(extent.scalar_subquery()),
                func.ST_YMax(extent.scalar_subquery()),
            )
        ).one()
        cache[key] = [[s, w], [n, e]] if w is not None else [[31.6, 120.0], [32.05, 120.6]]
    return list(cache[key])


def coverage_layer(
    session: Session, scope: tuple[str, ...] | None, lang: str
) -> dict[str, Any] | None:
    """The coverage layer of the map as /coverage opens it (api.pages.coverage.default_run:
    yesterday's whole day, else the latest earlier run, else today's partial one): its day
    (``date``, the ``?date=`` of the coverage tiles), ``label`` ("2026-11-30 全天 · 计算于 …"),
    and the classes fitted to the caller's unit grids (maps.coverage_map.share_breaks, the one
    rule of /coverage): ``breaks`` (upper limits, shares in (0, 1]), ``colours`` (one per
    break), ``legend`` ([colour, "0.3% – 2.1%"]), ``not_patrolled`` / ``no_cells`` fills and
    their legend words (``not_patrolled_label``, ``no_cells_label``: the words of /coverage).
    None when no run was ever computed."""
    now = datetime.now(SHANGHAI)
    run: CoverageRun | None = default_run(session, now.date())
    if run is None:
        return None
    shares = [
        r["h3_share"]
        for r in grid_rows(session=session, run=run, level=3)
        if accounts.in_codes(r["code"], scope)
    ]
    breaks = share_breaks(shares)
    meta = page_run_meta(run, now)
    return {
        "date": meta["date"],
        "label": run_text_of(meta, lang),
        "breaks": breaks,
        "colours": class_palette(len(breaks)),
        "legend": [list(r) for r in class_rows(breaks, shares)],
        "not_patrolled": NOT_PATROLLED,
        "no_cells": NO_CELLS,
        "not_patrolled_label": label("coverage_legend_zero", lang),
        "no_cells_label": label("coverage_legend_nodata", lang),
    }


def _basemap(request: Request, lang: str) -> tuple[list[dict[str, Any]], str]:
    """The basemap's tile layers and its datum (gridgis-datum.js shifts overlays to it)."""
    basemap = basemap_from_settings(request.app.state.settings.map, lang)  # type: ignore[arg-type]
    if basemap is None:
        return [], "wgs84"
    return basemap.tile_config(), basemap.datum


BAD_PARAMETER = {
    "zh": {
        "date": "地址参数 date=“{v}” 不是日期；请写成 年-月-日（YYYY-MM-DD），如 2026-03-03",
        "screen": "地址参数 screen=“{v}” 不是显示模式；大屏请写 screen=big，否则不写",
    },
    "en": {
        "date": "the address parameter date={v!r} is not a date; write it as YYYY-MM-DD, "
        "e.g. 2026-03-03",
        "screen": "the address parameter screen={v!r} is not a mode; write screen=big (big "
        "screen) or leave it out",
    },
}
"""A bad address parameter of the front page, said in the page's language."""


def _bad(lang: str, field: str, value: str) -> InvalidParameter:
    return InvalidParameter(BAD_PARAMETER[lang][field].format(v=value[:40]), field=field)


def _day(value: str | None, lang: str) -> date_type | None:
    """``?date=``: a YYYY-MM-DD day (years 1970..2100, api.deps.parse_day), None when absent;
    else 422 naming ``date`` in the page's language (a browser gets the error page)."""
    if not value:
        return None
    try:
        return parse_day(value)
    except InvalidParameter:
        raise _bad(lang, "date", value) from None


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home_page(
    request: Request,
    session: SessionDep,
    sel: Annotated[str | None, Query(max_length=40)] = None,
    screen: Annotated[str | None, Query(max_length=10)] = None,
    date: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    try:
        principal = current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = page_lang(request)
    scope = accounts.scope_codes(session=session, identity=principal.identity)
    day = _day(date, lang)
    if screen not in (None, "", "big"):
        raise _bad(lang, "screen", screen)
    gen = resolve_generation(session=session)
    tiles, datum = _basemap(request, lang)
    # A malformed ?sel= is not an error page: the script says so and shows the city.
    config = {
        "lang": lang,
        "sel": sel or "",
        "big": screen == "big",
        "generation": gen.id,
        "bounds": city_bounds(request, session, gen.id),
        "basemap": tiles,
        "datum": datum,
        "today": datetime.now(SHANGHAI).date().isoformat(),
        # ?date=YYYY-MM-DD: the KPI panel as at the end of that day
        "date": day.isoformat() if day else None,
        "roles": ROLE_NAMES[resolve_lang(lang)],
        "status_names": event_status_names(lang),
        "coverage": coverage_layer(session, scope, lang),
        # an event's popup on the map: the case module of /events/map (gridgis-events-case.js)
        "case": {
            "words": case_words(lang),
            "note_actions": list(NOTE_ACTIONS),
            "subclasses": {
                s["code"]: s["name"]
                for c in list_dictionary(session=session, lang=lang)
                for s in c.get("subclasses", [])
            },
        },
    }
    html = render_page(
        request,
        "home.html",
        t=TEXT[lang],
        config=config,
        big=config["big"],
        vendor=VENDOR_URL,
        leaflet_js=f"{VENDOR_URL}/{ASSETS['leaflet'].path}",
        leaflet_css=f"{VENDOR_URL}/{ASSETS['leaflet_css'].path}",
        vectorgrid_js=f"{VENDOR_URL}/{ASSETS['leaflet_vectorgrid'].path}",
        static_url=STATIC_URL,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
