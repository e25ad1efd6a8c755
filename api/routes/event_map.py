"""The dispatcher's event map and list (``/events/map``) ask these: the matching events as
compact map points, and one page of the list. Both take the same filter and follow the
caller's scope (layers.accounts.scope_codes); acting on an event goes through the workflow API
(``POST /api/v1/events/{id}/actions``, ``…/routing``).

Filter: ``status`` and ``source`` (comma-separated), ``class`` (a 2-digit class or a 4-digit
subclass code), ``town`` (a town, village or grid code), ``overdue`` (true/false), ``from`` /
``to`` (reported; a date means that whole day in Asia/Shanghai, ``to`` inclusive), ``days``
(without ``from``: open cases plus those reported in the last ``days`` days).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import Reader, SessionDep, parse_at
from api.errors import InvalidParameter
from api.lang import LangDep
from layers import accounts
from layers.events.listing import MAX_POINTS, EventFilter, event_points, event_rows
from layers.events.models import EventSource, EventStatus

router = APIRouter(prefix="/api/v1/event-map", tags=["events"])


class EventPoints(BaseModel):
    now: str = Field(description="when the answer was computed (UTC ISO 8601)")
    columns: list[str] = Field(description="id, lon, lat, status, urgency, subclass_code")
    data: list[list[Any]] = Field(description="one row per event, in the order of columns")
    truncated: bool = Field(description="more events matched than were sent")
    due_soon_h: float = Field(description="urgency 1: the deadline within this many hours")


class EventRow(BaseModel):
    id: int
    status: str
    urgency: int = Field(description="2 overdue, 1 due soon, 0 otherwise")
    subclass_code: str
    subclass: str = Field(description="the subclass's name in the request's language")
    source: str
    grid_code: str
    address: str | None
    description: str
    reported_at: str
    deadline_at: str | None
    calendar_unconfirmed: bool = Field(
        description="the deadline runs into a year without a holiday table (computed "
        "Monday-Friday), as on the case"
    )
    calendar_unconfirmed_years: list[int]


class EventRows(BaseModel):
    data: list[EventRow]
    count: int = Field(description="events matching the filter")
    limit: int
    offset: int


def _enum_list(value: str | None, kind: type[Any], field: str) -> tuple[Any, ...]:
    if not value:
        return ()
    out = []
    for part in value.split(","):
        try:
            out.append(kind(part.strip()))
        except ValueError:
            names = ", ".join(m.value for m in kind)
            raise InvalidParameter(
                f"{field} {part.strip()[:40]!r} is not known; use one or more of {names} "
                "(comma-separated)",
                field=field,
            ) from None
    return tuple(out)


def _digits(value: str | None, lengths: tuple[int, ...], field: str, what: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) in lengths):
        raise InvalidParameter(
            f"{field} {value[:40]!r} is not {what}; give "
            + " or ".join(f"{n} digits" for n in lengths),
            field=field,
        )
    return value


def event_filter(
    session: SessionDep,
    principal: Reader,
    status: Annotated[str | None, Query(max_length=300, description="comma-separated")] = None,
    class_code: Annotated[
        str | None, Query(alias="class", max_length=4, description="class (2) or subclass (4)")
    ] = None,
    town: Annotated[
        str | None, Query(max_length=15, description="town (9), village (12) or grid (15)")
    ] = None,
    overdue: Annotated[bool | None, Query()] = None,
    source: Annotated[str | None, Query(max_length=200, description="comma-separated")] = None,
    since: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=40, description="inclusive")] = None,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
) -> EventFilter:
    """The request's filter, checked, with the caller's scope."""
    end = parse_at(until, "to")
    if end is not None and until is not None and len(until) == 10:
        end += timedelta(days=1)  # a date: the whole of that day
    start = parse_at(since, "from")
    if start is not None and end is not None and end <= start:
        raise InvalidParameter(f"to ({until}) is before from ({since}); swap them", field="to")
    return EventFilter(
        statuses=_enum_list(status, EventStatus, "status"),
        class_code=_digits(class_code, (2, 4), "class", "a class or subclass code"),
        town=_digits(town, (9, 12, 15), "town", "a town, village or grid code"),
        overdue=overdue,
        sources=_enum_list(source, EventSource, "source"),
        since=start,
        until=end,
        days=days,
        scope=accounts.scope_codes(session=session, identity=principal.identity),
        person_id=principal.person_id,
    )


FilterDep = Annotated[EventFilter, Depends(event_filter)]


@router.get(
    "/points",
    summary="Matching events as compact map points (newest first)",
    response_model=EventPoints,
)
def read_points(session: SessionDep, f: FilterDep) -> dict[str, Any]:
    """``data`` rows ``[id, lon, lat, status, urgency, subclass_code]`` (EPSG:4490 degrees;
    urgency 2 overdue, 1 due within ``due_soon_h`` hours, 0 otherwise), at most
    ``MAX_POINTS`` (``truncated`` when more matched)."""
    return event_points(session=session, f=f, now=datetime.now(UTC), limit=MAX_POINTS)


@router.get(
    "/rows",
    summary="One page of the matching events, newest report first",
    response_model=EventRows,
)
def read_rows(
    session: SessionDep,
    f: FilterDep,
    lang: LangDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """``data`` with subclass names in the request's language; ``count`` all that matched."""
    return event_rows(
        session=session, f=f, now=datetime.now(UTC), lang=lang, limit=limit, offset=offset
    )
