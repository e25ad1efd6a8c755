"""Deadlines and the calendar tables: which deadlines are unconfirmed, and recomputing them.

A case's deadline is computed on the working calendar at dispatch (and again at an extension,
a rework or an unpark: :mod:`layers.events.workflow`). When a year it runs into has no holiday
table, Monday-Friday is assumed and the deadline is *unconfirmed*; loading the year's table
recomputes it by replaying the case's log (the same steps, the same limits, the new calendar).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, object_session

from layers.calendar_tables import ensure_loaded
from layers.events.models import Event, EventLog, EventSubclass, locked_event
from layers.events.notes import SystemNote
from layers.events.workflow import OPEN_FOR_DEADLINE, Actor, append_log
from layers.models import Role
from layers.workcal import WorkCalendar

SYSTEM = Actor(token_id=None, person_id=None, role=Role.ADMIN, name="工作日历 calendar")
RESTARTS = ("dispatch", "unpark", "verify_fail")


def unconfirmed_years_of(event: Event) -> list[int]:
    """The years without a table between the case's dispatch and its deadline (empty when the
    deadline is confirmed or there is none). The process's copy of the tables is read again
    first when a NOTIFY gridgis_calendar dropped it (without this, a worker answered from the
    old copy, flag beside the new deadline, until something else reloaded it)."""
    if event.deadline_at is None:
        return []
    session = object_session(event)
    if session is not None:
        ensure_loaded(session)  # no query while the copy is current
    start = event.dispatched_at or event.deadline_at
    return WorkCalendar.unconfirmed_years(start, event.deadline_at)


def open_unconfirmed_years(*, session: Session) -> list[int]:
    """Years without a table that open deadlines depend on (for ``/health``)."""
    rows = session.execute(
        text(
            # One row per distinct span of years; open cases only (the deadline still matters).
            "SELECT DISTINCT "
            "extract(year FROM coalesce(dispatched_at, deadline_at) AT TIME ZONE 'Asia/Shanghai'),"
            " extract(year FROM deadline_at AT TIME ZONE 'Asia/Shanghai') "
            "FROM event WHERE deadline_at IS NOT NULL AND status::text = ANY(:open)"
        ),
        {"open": [s.value for s in OPEN_FOR_DEADLINE]},
    ).all()
    years: set[int] = set()
    for a, b in rows:
        years.update(WorkCalendar.unconfirmed_years(date(int(a), 1, 1), date(int(b), 1, 1)))
    return sorted(years)


def replay_deadline(*, session: Session, event: Event, calendar: WorkCalendar) -> datetime | None:
    """The deadline the case's log gives on ``calendar`` (None if it was never dispatched)."""
    subclass = session.get(EventSubclass, event.subclass_code)
    assert subclass is not None
    unit = subclass.limit_unit.value
    deadline: datetime | None = None
    steps = session.execute(
        select(EventLog.action, EventLog.at, EventLog.data)
        .where(EventLog.event_id == event.id)
        .order_by(EventLog.at, EventLog.id)
    ).all()
    for action, at, data in steps:
        if action in RESTARTS:
            deadline = calendar.deadline(at, subclass.limit_value, unit)
        elif action == "grant_extension":
            amount = (data or {}).get("extension", subclass.limit_value)
            base = max(deadline or at, at)
            deadline = calendar.deadline(base, float(amount), unit)
    return deadline


def recompute_deadlines(*, session: Session, year: int, calendar: WorkCalendar) -> int:
    """Recompute the open cases whose deadline runs into ``year``; each change is logged
    (action ``recalendar`` with the old and new deadline). Returns how many changed."""
    status_names = [s.value for s in OPEN_FOR_DEADLINE]
    ids = session.scalars(
        text(
            "SELECT id FROM event WHERE deadline_at IS NOT NULL AND status::text = ANY(:open) "
            "AND extract(year FROM deadline_at AT TIME ZONE 'Asia/Shanghai') >= :year "
            "AND extract(year FROM coalesce(dispatched_at, deadline_at) "
            "    AT TIME ZONE 'Asia/Shanghai') <= :year "
            "ORDER BY id"
        ),
        {"open": status_names, "year": year},
    ).all()
    changed = 0
    now = datetime.now(UTC)
    for event_id in ids:
        # locked one by one in id order (Citus locks rows only within one shard's query), and
        # looked at again under the lock: a step taken meanwhile may have closed the case
        event = locked_event(session, event_id)
        if event is None or event.status not in OPEN_FOR_DEADLINE or event.deadline_at is None:
            continue
        new = replay_deadline(session=session, event=event, calendar=calendar)
        if new is None or new == event.deadline_at:
            continue
        old = event.deadline_at
        event.deadline_at = new
        session.flush()
        data: dict[str, Any] = {
            "deadline_at": new.isoformat(),
            "previous_deadline_at": old.isoformat() if old else None,
            "year": year,
        }
        append_log(session=session, event=event, actor=SYSTEM, action="recalendar",
                   from_status=event.status, at=max(now, _last_at(session, event)),
                   note=SystemNote(f"{year} 年节假日安排已载入，期限重算",
                                   f"holiday table of {year} loaded; deadline recomputed"),
                   data=data)  # fmt: skip
        changed += 1
    return changed


def _last_at(session: Session, event: Event) -> datetime:
    last = session.scalar(
        select(EventLog.at)
        .where(EventLog.event_id == event.id)
        .order_by(EventLog.at.desc())
        .limit(1)
    )
    return last or datetime.now(UTC)
