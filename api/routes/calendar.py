"""The working calendar's holiday tables: read a year, load a year (admin).

``PUT /api/v1/calendar/{year}`` takes the State Council's annual notice as rows
``date, kind, name`` (kind ``holiday`` or ``workday``: a worked weekend day), sent as JSON
``{"days": [{"date", "kind", "name"}], "source"}``, or as the raw CSV/XLSX file (``text/csv`` or
the XLSX media type). It replaces the year's table and recomputes the open cases' deadlines in
that year (``recomputed`` in the answer). A year without a table is computed Monday-Friday and
its deadlines are ``calendar_unconfirmed``.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, Reader, SessionDep
from api.errors import STATUS
from api.schemas.bodies import refuse_unknown
from api.schemas.calendar import (
    CALENDAR_DAYS_BODY,
    CalendarYearLoaded,
    CalendarYearPublic,
    CalendarYearsPublic,
)
from api.schemas.common import BINARY, XLSX_MEDIA_TYPE
from api.uploads import Upload, read_upload
from layers.calendar_tables import (
    CalendarTableError,
    DayRow,
    ensure_loaded,
    parse_table,
    rows_from_records,
    store_year,
    stored_years,
    year_table,
)
from layers.deadlines import open_unconfirmed_years
from layers.errors import NotFound

STATUS.setdefault(CalendarTableError, (422, "Invalid calendar table"))
router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
Year = Annotated[int, Path(ge=1949, le=2200, description="the calendar year, e.g. 2027")]


class CalendarYearNotLoaded(NotFound):
    """No holiday table for the year (404 "Calendar year not loaded")."""


STATUS.setdefault(CalendarYearNotLoaded, (404, "Calendar year not loaded"))


@router.get(
    "",
    summary="Years with a holiday table, and years open deadlines lack",
    response_model=CalendarYearsPublic,
)
def list_calendar_years(session: SessionDep, _: Reader) -> dict[str, Any]:
    ensure_loaded(session)
    years = stored_years(session=session)
    return {"data": years, "count": len(years),
            "unconfirmed_years": open_unconfirmed_years(session=session)}  # fmt: skip


@router.get(
    "/{year}",
    summary="A year's holidays and make-up working days",
    response_model=CalendarYearPublic,
)
def read_calendar_year(session: SessionDep, _: Reader, year: Year) -> dict[str, Any]:
    ensure_loaded(session)
    table = year_table(session=session, year=year)
    if table is None:
        raise CalendarYearNotLoaded(
            f"{year} has no holiday table: deadlines in it are computed Monday-Friday and "
            f"marked calendar_unconfirmed; load the State Council notice with "
            f"PUT /api/v1/calendar/{year} or `gridgis calendar import FILE --commit`",
            field="year",
        )
    return table


def _rows_from_json(body: Any) -> tuple[list[DayRow], str | None]:
    if isinstance(body, dict):
        refuse_unknown(body, ("days", "source"))
    if not isinstance(body, dict) or not isinstance(body.get("days"), list):
        raise CalendarTableError(
            'send {"days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}, …]}',
            field="days",
        )
    records: list[list[Any]] = [["date", "kind", "name"]]
    for i, item in enumerate(body["days"]):
        if not isinstance(item, dict):
            raise CalendarTableError(f"days[{i}] is not an object", field=f"days/{i}")
        refuse_unknown(item, ("date", "kind", "name"), at=f"days/{i}")
        records.append([item.get("date"), item.get("kind"), item.get("name")])
    source = body.get("source")
    return rows_from_records(records), str(source)[:200] if source else None


@router.put(
    "/{year}",
    summary="Load a year's holiday table (admin); recomputes open deadlines in it",
    response_model=CalendarYearLoaded,
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": CALENDAR_DAYS_BODY},
        "text/csv": {"schema": {"type": "string"}},
        XLSX_MEDIA_TYPE: {"schema": BINARY},
    }}},
)  # fmt: skip
async def put_calendar_year(
    request: Request, session: SessionDep, principal: Admin, year: Year
) -> dict[str, Any]:
    """The body (at most 1 MiB, enforced while it arrives: api/limits.py) is read by the one
    upload helper; parsing and the database work run in a worker thread."""
    upload = await read_upload(request)
    return await run_in_threadpool(_load_year, session, upload, year, principal.name)


def _load_year(session: Session, upload: Upload, year: int, loaded_by: str) -> dict[str, Any]:
    kind = upload.media_type
    source = None
    if kind in ("", "application/json"):
        try:
            body = orjson.loads(upload.content)
        except orjson.JSONDecodeError:
            raise CalendarTableError("the body is not JSON", field="body") from None
        rows, source = _rows_from_json(body)
    else:
        name = upload.filename or ("upload.xlsx" if "sheet" in kind else "upload.csv")
        rows = parse_table(upload.content, name, charset=upload.charset)
    ensure_loaded(session)
    return store_year(session=session, rows=rows, year=year,
                      source=source or f"import via API ({kind or 'json'})",
                      loaded_by=loaded_by)  # fmt: skip
