"""Assessment indicators (docs/kpis.md): JSON, CSV or XLSX; rankings of grids and towns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Reader, SessionDep, parse_at
from api.errors import InvalidParameter
from api.exports import TableFormat, table_response
from api.schemas.common import table_responses
from api.schemas.tracks import KpiTable
from layers import accounts
from layers.events import kpis

router = APIRouter(prefix="/api/v1/kpis", tags=["kpis"])


def _period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    a, b = parse_at(start, "from"), parse_at(end, "to")
    if a is None or b is None:
        raise InvalidParameter(
            "give the period as from=YYYY-MM-DD&to=YYYY-MM-DD (to is exclusive)",
            field="from" if a is None else "to",
        )
    return a, b


PERIOD_FROM = "start of the period (YYYY-MM-DD or ISO 8601), inclusive; required"
PERIOD_TO = "end of the period (YYYY-MM-DD or ISO 8601), exclusive; required"

EPSILON = timedelta(microseconds=1)
"""The period's last instant is its exclusive end less this."""

NO_PERSON = {"zh": "未关联人员", "en": "no staff member"}
"""The unit name of cases whose reporter (or worker) is no staff member."""


def _lang(fmt: str) -> str:
    return getattr(fmt, "lang", "zh")  # the TableFormat's lang (zh default, en)


def _rows(
    session: Any,
    principal: Any,
    by: str,
    start: str | None,
    end: str | None,
    bucket: str | None,
    now: str | None,
    lang: str = "zh",
) -> list[dict[str, Any]]:
    """KPI rows of the events inside the caller's scope (layers.accounts.scope_codes).

    ``name`` is the unit's name; a case without a person (``by=person|reporter``: reported by
    a user or token without a staff member, or no worker) is named :data:`NO_PERSON` in
    ``lang`` (zh/en), never "None"."""
    a, b = _period(start, end)
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    at = parse_at(now, "now") or datetime.now(UTC)
    rows = kpis.compute(
        session=session, query=kpis.KpiQuery(by, a, b, bucket or None, at, codes=codes)
    )
    # names in force at the period's end (or now): a past period keeps its own names
    names = kpis.unit_names(
        session=session, dimension=by, keys=[str(r["key"]) for r in rows], at=min(b - EPSILON, at)
    )
    for r in rows:
        if r["key"] is None and by in ("person", "reporter"):
            r["name"] = NO_PERSON.get(lang, NO_PERSON["zh"])
        else:
            r["name"] = names.get(str(r["key"]), str(r["key"]))
        if "bucket" in r and r["bucket"] is not None:
            r["bucket"] = r["bucket"].isoformat()
    return rows


def _render(rows: list[dict[str, Any]], fmt: str, stem: str) -> Response | dict[str, Any]:
    if fmt == "json":
        return {"data": rows, "count": len(rows)}
    return table_response(rows, name=stem, fmt=fmt)


@router.get(
    "",
    summary="Indicators per unit over a period",
    response_model=KpiTable,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_kpis(
    session: SessionDep,
    principal: Reader,
    start: Annotated[str, Query(alias="from", description=PERIOD_FROM)],
    end: Annotated[str, Query(alias="to", description=PERIOD_TO)],
    by: Annotated[str, Query(description="grid|village|town|department|person|reporter")] = "town",
    bucket: Annotated[str | None, Query(description="day|week|month")] = None,
    now: Annotated[str | None, Query(description="judge overdue at (default: now)")] = None,
    format: TableFormat = "json",
) -> Any:
    rows = _rows(session, principal, by, start, end, bucket, now, _lang(format))
    return _render(rows, format, f"kpis-{by}")


@router.get(
    "/ranking",
    summary="Grids or towns ranked by an indicator",
    response_model=KpiTable,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_ranking(
    session: SessionDep,
    principal: Reader,
    start: Annotated[str, Query(alias="from", description=PERIOD_FROM)],
    end: Annotated[str, Query(alias="to", description=PERIOD_TO)],
    by: Annotated[str, Query(description="grid|village|town|department|person|reporter")] = "town",
    indicator: Annotated[str, Query()] = "proper_handling_rate",
    now: Annotated[str | None, Query()] = None,
    format: TableFormat = "json",
) -> Any:
    if indicator not in kpis.RATES:
        raise InvalidParameter(
            f"indicator {indicator!r}: use one of {', '.join(kpis.RATES)}", field="indicator"
        )
    rows = kpis.rank(_rows(session, principal, by, start, end, None, now, _lang(format)), indicator)
    return _render(rows, format, f"ranking-{by}")
