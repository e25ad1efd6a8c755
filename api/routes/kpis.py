"""Assessment indicators (docs/kpis.md): JSON, CSV or XLSX; rankings of grids and towns."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Reader, SessionDep, parse_at
from api.errors import InvalidParameter
from api.routes.events import rows_to_csv
from layers.events import kpis

router = APIRouter(prefix="/api/v1/kpis", tags=["kpis"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    a, b = parse_at(start, "from"), parse_at(end, "to")
    if a is None or b is None:
        raise InvalidParameter(
            "give the period as from=YYYY-MM-DD&to=YYYY-MM-DD (to is exclusive)",
            field="from" if a is None else "to",
        )
    return a, b


def _rows(
    session: Any, by: str, start: str | None, end: str | None, bucket: str | None, now: str | None
) -> list[dict[str, Any]]:
    a, b = _period(start, end)
    rows = kpis.compute(
        session=session,
        query=kpis.KpiQuery(by, a, b, bucket or None, parse_at(now, "now") or datetime.now(UTC)),
    )
    names = kpis.unit_names(session=session, dimension=by, keys=[str(r["key"]) for r in rows])
    for r in rows:
        r["name"] = names.get(str(r["key"]), str(r["key"]))
        if "bucket" in r and r["bucket"] is not None:
            r["bucket"] = r["bucket"].isoformat()
    return rows


def _render(rows: list[dict[str, Any]], fmt: str, stem: str) -> Response | dict[str, Any]:
    if fmt == "json":
        return {"data": rows, "count": len(rows)}
    if fmt == "csv":
        return Response(
            rows_to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    if fmt == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        if rows:
            sheet.append(list(rows[0]))
            for r in rows:
                sheet.append([v for v in r.values()])
        buf = io.BytesIO()
        book.save(buf)
        return Response(
            buf.getvalue(),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
        )
    raise InvalidParameter(f"format {fmt!r}: use json, csv or xlsx", field="format")


@router.get("", summary="Indicators per unit over a period")
def read_kpis(
    session: SessionDep,
    _: Reader,
    by: Annotated[str, Query(description="grid|village|town|department|person|reporter")] = "town",
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    bucket: Annotated[str | None, Query(description="day|week|month")] = None,
    now: Annotated[str | None, Query(description="judge overdue at (default: now)")] = None,
    format: Annotated[str, Query()] = "json",
) -> Any:
    rows = _rows(session, by, start, end, bucket, now)
    return _render(rows, format, f"kpis-{by}")


@router.get("/ranking", summary="Grids or towns ranked by an indicator")
def read_ranking(
    session: SessionDep,
    _: Reader,
    by: Annotated[str, Query(description="grid|village|town|department|person|reporter")] = "town",
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    indicator: Annotated[str, Query()] = "proper_handling_rate",
    now: Annotated[str | None, Query()] = None,
    format: Annotated[str, Query()] = "json",
) -> Any:
    if indicator not in kpis.RATES:
        raise InvalidParameter(
            f"indicator {indicator!r}: use one of {', '.join(kpis.RATES)}", field="indicator"
        )
    rows = kpis.rank(_rows(session, by, start, end, None, now), indicator)
    return _render(rows, format, f"ranking-{by}")
