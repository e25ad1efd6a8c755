"""Events for the dispatcher's map and list (``/events/map``): one filter, two shapes.

:class:`EventFilter` holds what the dispatcher chose (status, class, town, overdue, source,
report dates); :func:`event_points` answers every matching event as a compact map row and
:func:`event_rows` one page of the list with readable names. Both use the same WHERE clauses,
so the list and the dots always agree.

Urgency (the colour of a dot and of a cluster): 2 overdue (open for handling, deadline passed:
the rule of :func:`layers.events.workflow.is_overdue`), 1 due soon (open for handling, deadline
within :data:`DUE_SOON_H` hours), 0 otherwise. Points are CGCS2000 (EPSG:4490) degrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from layers.calendar_tables import ensure_loaded
from layers.events.dictionary import display_name, subclass_name_en
from layers.events.models import Event, EventSource, EventStatus, EventSubclass
from layers.events.workflow import OPEN_FOR_DEADLINE, TERMINAL
from layers.workcal import WorkCalendar

DUE_SOON_H = 2.0
"""A case open for handling whose deadline falls within this many hours is "due soon"."""
MAX_POINTS = 20_000
"""At most this many dots per answer (newest first); ``truncated`` says when more matched."""


@dataclass(frozen=True)
class EventFilter:
    """What the dispatcher asked for; None/empty means "any".

    ``since``/``until`` bound ``reported_at`` (UTC, ``until`` exclusive). Without ``since``,
    the window is open cases plus those reported in the last ``days`` days (the map's default).
    ``scope`` are the caller's grid-code prefixes (layers.accounts.scope_codes; None: city) and
    ``person_id`` their staff member: the caller's cases are those of
    :func:`layers.events.access.reach_clause` (the scope's, and those routed to the person).
    """

    statuses: tuple[EventStatus, ...] = ()
    class_code: str | None = None  # 2 digits (a class) or 4 (one subclass)
    town: str | None = None  # a grid-code prefix: town (9), village (12) or grid (15)
    overdue: bool | None = None
    sources: tuple[EventSource, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    days: int = 30
    scope: tuple[str, ...] | None = None
    person_id: int | None = None


def urgency_clause(now: datetime) -> Any:
    """2 overdue, 1 due soon, 0 normal, as a SQL expression over ``event``."""
    handling = Event.status.in_(list(OPEN_FOR_DEADLINE)) & Event.deadline_at.is_not(None)
    return case(
        (handling & (Event.deadline_at < now), 2),
        (handling & (Event.deadline_at < now + timedelta(hours=DUE_SOON_H)), 1),
        else_=0,
    )


def _where(stmt: Select[Any], f: EventFilter, now: datetime, session: Session) -> Select[Any]:
    from layers.events.access import reach_clause
    from layers.events.town_guests import filed_towns

    if f.statuses:
        stmt = stmt.where(Event.status.in_(list(f.statuses)))
    if f.class_code:
        stmt = stmt.where(Event.subclass_code.startswith(f.class_code, autoescape=True))
    if f.town:
        stmt = stmt.where(Event.grid_code.startswith(f.town, autoescape=True))
        # on Citus: only the shards of the towns these cases were filed in
        if (towns := filed_towns(session, f.town)) is not None:
            stmt = stmt.where(Event.filed_town_code.in_(towns))
    if f.sources:
        stmt = stmt.where(Event.source.in_(list(f.sources)))
    if f.overdue is not None:
        late = Event.status.in_(list(OPEN_FOR_DEADLINE)) & (Event.deadline_at < now)
        stmt = stmt.where(late if f.overdue else ~late)
    if f.since is not None:
        stmt = stmt.where(Event.reported_at >= f.since)
    else:  # the default window: what is still open, and what came in lately
        recent = Event.reported_at >= now - timedelta(days=f.days)
        stmt = stmt.where(recent | Event.status.not_in(list(TERMINAL)))
    if f.until is not None:
        stmt = stmt.where(Event.reported_at < f.until)
    scope = reach_clause(session=session, person_id=f.person_id, codes=f.scope)
    return stmt if scope is None else stmt.where(scope)


def event_points(
    *, session: Session, f: EventFilter, now: datetime, limit: int = MAX_POINTS
) -> dict[str, Any]:
    """Every matching event (newest first, at most ``limit``) as
    ``[id, lon, lat, status, urgency, subclass_code]`` rows; ``count`` is all that matched."""
    urgency = urgency_clause(now)
    stmt = _where(
        select(
            Event.id,
            func.ST_X(Event.geom),
            func.ST_Y(Event.geom),
            Event.status,
            urgency,
            Event.subclass_code,
        ),
        f,
        now,
        session,
    )
    rows = session.execute(stmt.order_by(Event.id.desc()).limit(limit + 1)).all()
    data = [
        [i, round(x, 7), round(y, 7), str(getattr(s, "value", s)), int(u), code]
        for i, x, y, s, u, code in rows[:limit]
    ]
    return {
        "now": now.isoformat(),
        "columns": ["id", "lon", "lat", "status", "urgency", "subclass_code"],
        "data": data,
        "truncated": len(rows) > limit,
        "due_soon_h": DUE_SOON_H,
    }


def event_rows(
    *, session: Session, f: EventFilter, now: datetime, lang: str, limit: int, offset: int
) -> dict[str, Any]:
    """One page of the list, newest report first: id, status, urgency, subclass code and name
    (in ``lang``), source, grid code, address, description, reported/deadline (UTC ISO), and
    ``calendar_unconfirmed`` (``_years``) as on the case (the holiday tables re-checked against
    the database first, so the flag follows a calendar import at once in every worker)."""
    ensure_loaded(session, check=True)
    urgency = urgency_clause(now)
    base = _where(select(Event.id), f, now, session)
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = _where(
        select(
            Event.id,
            Event.status,
            urgency.label("urgency"),
            Event.subclass_code,
            EventSubclass.name,
            subclass_name_en().label("name_en"),
            Event.source,
            Event.grid_code,
            Event.address,
            Event.description,
            Event.reported_at,
            Event.dispatched_at,
            Event.deadline_at,
        ).join(EventSubclass, EventSubclass.code == Event.subclass_code),
        f,
        now,
        session,
    )
    rows = session.execute(
        stmt.order_by(Event.reported_at.desc(), Event.id.desc()).limit(limit).offset(offset)
    ).all()
    data = [
        {
            "id": r.id,
            "status": str(getattr(r.status, "value", r.status)),
            "urgency": int(r.urgency),
            "subclass_code": r.subclass_code,
            "subclass": display_name(r.name, r.name_en, lang),
            "source": str(getattr(r.source, "value", r.source)),
            "grid_code": r.grid_code,
            "address": r.address,
            "description": r.description,
            "reported_at": r.reported_at.isoformat(),
            "deadline_at": r.deadline_at.isoformat() if r.deadline_at else None,
            # the case's rule (layers.deadlines.unconfirmed_years_of), on the tables as stored
            "calendar_unconfirmed_years": (
                WorkCalendar.unconfirmed_years(r.dispatched_at or r.deadline_at, r.deadline_at)
                if r.deadline_at
                else []
            ),
        }
        for r in rows
    ]
    for row in data:
        row["calendar_unconfirmed"] = bool(row["calendar_unconfirmed_years"])
    return {"data": data, "count": count, "limit": limit, "offset": offset}
