"""``/calendar``: the working calendar as stored, a year at a time (login required).

Shows each stored year's holidays and make-up working days (调休上班) with its source, and the
years that open deadlines depend on but that have no table yet (their deadlines are computed
Monday-Friday and marked unconfirmed). Loading a year is an admin's API call or CLI command.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep, current_principal
from api.pages.map import login_redirect
from api.pages.templating import render_page
from layers.calendar_tables import day_name, ensure_loaded, stored_years, year_table
from layers.deadlines import open_unconfirmed_years
from layers.errors import AuthError
from maps.styles import resolve_lang

router = APIRouter(tags=["pages"])
LABELS = {
    "zh": {
        "title": "工作日历", "year": "年份", "source": "来源", "loaded_at": "载入时间",
        "holidays": "法定节假日", "workdays": "调休上班", "date": "日期", "kind": "类型",
        "name": "名称", "weekday": "星期", "holiday": "放假", "workday": "上班",
        "unconfirmed": "以下年份尚无节假日安排，相关期限按周一至周五计算，标记为“日历待确认”：",
        "none_unconfirmed": "所有未结案件的期限均已按节假日安排计算。",
        "no_table": "该年份尚无节假日安排。",
        "how_to_load": "管理员载入国务院办公厅节假日安排通知：gridgis calendar import 文件.csv，"
        "或 PUT /api/v1/calendar/{年份}（每行：日期, 类型 holiday/workday, 名称）。",
        "weekdays": ["一", "二", "三", "四", "五", "六", "日"],
    },
    "en": {
        "title": "Working calendar", "year": "Year", "source": "Source", "loaded_at": "Loaded",
        "holidays": "Public holidays", "workdays": "Make-up working days", "date": "Date",
        "kind": "Kind", "name": "Name", "weekday": "Weekday", "holiday": "Holiday",
        "workday": "Working day",
        "unconfirmed": "These years have no holiday table; deadlines in them are computed "
        "Monday-Friday and marked calendar unconfirmed:",
        "none_unconfirmed": "Every open deadline is computed on a loaded holiday table.",
        "no_table": "No holiday table for this year.",
        "how_to_load": "An admin loads the State Council notice: gridgis calendar import "
        "FILE.csv, or PUT /api/v1/calendar/{year} (a row per day: date, kind holiday/workday, "
        "name).",
        "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    },
}  # fmt: skip


@router.get("/calendar", response_class=HTMLResponse, include_in_schema=False)
def calendar_page(
    request: Request,
    session: SessionDep,
    lang: Annotated[str, Query()] = "zh",
    year: Annotated[int | None, Query(ge=1949, le=2200)] = None,
) -> Response:
    """The page in the shared frame (``base.html``: the navigation bar and its language
    switch); holiday names in the page's language (layers.calendar_tables.day_name)."""
    try:
        request.state.principal = current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = resolve_lang(lang)
    ensure_loaded(session)
    years = stored_years(session=session)
    chosen = year or date.today().year
    table = year_table(session=session, year=chosen)
    if table is not None:
        for d in table["days"]:
            d["name"] = day_name(d["name"], lang)
    html = render_page(
        request,
        "calendar.html",
        t=LABELS[lang],
        years=years,
        year=chosen,
        table=table,
        unconfirmed=open_unconfirmed_years(session=session),
    )
    return HTMLResponse(html)
