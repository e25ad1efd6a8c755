"""The Chinese working calendar: office hours on working days, statutory holidays and 调休.

Working days come from the holiday tables stored per year in the database (State Council
notices: statutory holidays, and the weekend days that are made working days; see
:mod:`layers.calendar_tables`, which loads them into this process with :func:`set_tables`).
Before the tables are loaded (a bare computation without a database) the ``chinese_calendar``
package is used. For a year without a table, Monday to Friday are taken as working days and
``covered`` says so: such deadlines are *unconfirmed* (:meth:`WorkCalendar.unconfirmed_years`).

Times are Asia/Shanghai wall-clock; every function takes and returns aware datetimes.
Office hours default to 08:30-12:00 and 13:30-17:30 (7.5 work-hours a day) and are configurable.

Deadline rules (used by the event workflow):

- ``add_work_hours(start, h)``: the instant at which ``h`` office hours have elapsed since
  ``start``; a start outside office hours begins at the next office period. The result is
  always inside (or at the end of) an office period.
- ``add_work_days(start, n)``: the end of office hours of the n-th working day after the day of
  ``start`` (a report on Friday with 1 work-day is due at Monday 17:30, or later over holidays).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = (
    (time(8, 30), time(12, 0)),
    (time(13, 30), time(17, 30)),
)
MAX_SCAN_DAYS = 3660  # ten years: a guard against a limit that never ends


@dataclass(frozen=True)
class CalendarTables:
    """The stored years and their listed days (``True`` a make-up workday, ``False`` a holiday)."""

    years: frozenset[int]
    days: dict[date, bool]


_TABLES: list[CalendarTables | None] = [None]


def set_tables(tables: CalendarTables | None) -> None:
    """Make ``tables`` this process's calendar (``None``: fall back to the package)."""
    _TABLES[0] = tables


def current_tables() -> CalendarTables | None:
    return _TABLES[0]


def _covered(day: date) -> bool:
    tables = _TABLES[0]
    if tables is not None:
        return day.year in tables.years
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class WorkCalendar:
    """Office periods per working day, in Asia/Shanghai wall-clock time."""

    periods: Sequence[tuple[time, time]] = field(default=DEFAULT_PERIODS)

    def __post_init__(self) -> None:
        last = time(0)
        for start, end in self.periods:
            if not (last <= start < end):
                raise ValueError(
                    f"office periods must be ordered and not overlap: {self.periods}; "
                    "give e.g. [(08:30, 12:00), (13:30, 17:30)]"
                )
            last = end

    @property
    def hours_per_day(self) -> float:
        return sum(_seconds(s, e) for s, e in self.periods) / 3600.0

    @staticmethod
    def is_working_day(day: date) -> bool:
        """A working day: by the State Council calendar, or Monday-Friday for uncovered years."""
        tables = _TABLES[0]
        if tables is not None:
            if day.year in tables.years:
                return tables.days.get(day, day.weekday() < 5)
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    @staticmethod
    def covered(day: date) -> bool:
        """Whether ``day``'s year is in the official calendar (else Mon-Fri is assumed)."""
        return _covered(day)

    @staticmethod
    def unconfirmed_years(start: datetime | date, end: datetime | date) -> list[int]:
        """Years from ``start`` to ``end`` (Asia/Shanghai) without a holiday table: a deadline
        over them was computed Monday-Friday and is ``calendar_unconfirmed``."""
        a = _day(start)
        b = _day(end)
        if b < a:
            a, b = b, a
        return [y for y in range(a.year, b.year + 1) if not _covered(date(y, 1, 1))]

    def _periods_of(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [
            (datetime.combine(day, s, SHANGHAI), datetime.combine(day, e, SHANGHAI))
            for s, e in self.periods
        ]

    def _periods_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = start.astimezone(SHANGHAI).date()
        for _ in range(MAX_SCAN_DAYS):
            for a, b in self._periods_of(day):
                if b > start:
                    yield max(a, start), b
            day += timedelta(days=1)
        raise ValueError("no working time within ten years; check the office periods")

    def is_working_time(self, at: datetime) -> bool:
        """Inside an office period (ends included: a deadline at 17:30 is working time)."""
        local = _aware(at).astimezone(SHANGHAI)
        return any(a <= local <= b for a, b in self._periods_of(local.date()))

    def add_work_hours(self, start: datetime, hours: float) -> datetime:
        """The instant ``hours`` office hours after ``start`` (Asia/Shanghai)."""
        if hours < 0:
            raise ValueError(f"hours must be >= 0, got {hours}")
        remaining = timedelta(hours=hours)
        start = _aware(start).astimezone(SHANGHAI)
        for a, b in self._periods_from(start):
            if b - a >= remaining:
                return a + remaining
            remaining -= b - a
        raise AssertionError("unreachable")

    def add_work_days(self, start: datetime, days: int) -> datetime:
        """End of office hours of the ``days``-th working day after ``start``'s day."""
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        day = _aware(start).astimezone(SHANGHAI).date()
        counted = 0
        for _ in range(MAX_SCAN_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return datetime.combine(day, self.periods[-1][1], SHANGHAI)
        raise ValueError("no working day within ten years")

    def work_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours elapsed from ``start`` to ``end`` (0 if ``end`` <= ``start``)."""
        start, end = _aware(start), _aware(end)
        if end <= start:
            return 0.0
        total = 0.0
        for a, b in self._periods_from(start.astimezone(SHANGHAI)):
            if a >= end:
                break
            total += (min(b, end) - a).total_seconds()
        return total / 3600.0

    def deadline(self, start: datetime, limit: float, unit: str) -> datetime:
        """Deadline for a limit in ``work_hours`` or ``work_days`` (returned in UTC)."""
        if unit == "work_hours":
            return self.add_work_hours(start, float(limit)).astimezone(UTC)
        if unit == "work_days":
            return self.add_work_days(start, int(limit)).astimezone(UTC)
        raise ValueError(f"unit {unit!r} is not known; use work_hours or work_days")


def _seconds(a: time, b: time) -> float:
    return (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds()


def _day(value: datetime | date) -> date:
    return _aware(value).astimezone(SHANGHAI).date() if isinstance(value, datetime) else value


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=SHANGHAI)


def parse_periods(value: str) -> tuple[tuple[time, time], ...]:
    """``"08:30-12:00,13:30-17:30"`` -> periods (for settings)."""
    out = []
    for part in value.split(","):
        a, b = part.strip().split("-")
        out.append((time.fromisoformat(a.strip()), time.fromisoformat(b.strip())))
    return tuple(out)
