"""The working calendar: deadlines never fall on non-working time; holidays and 调休 count."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.workcal import SHANGHAI, WorkCalendar, parse_periods

CAL = WorkCalendar()
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)


def test_national_day_2026_is_skipped_and_makeup_saturday_counts() -> None:
    start = datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI)
    # 1.5 h on 30 Sep, holiday 1-7 Oct, 2.5 h on Thursday 8 Oct.
    assert CAL.add_work_hours(start, 4) == datetime(2026, 10, 8, 11, 0, tzinfo=SHANGHAI)
    assert CAL.add_work_days(start, 1) == datetime(2026, 10, 8, 17, 30, tzinfo=SHANGHAI)
    # Saturday 10 Oct 2026 is a make-up working day (调休).
    assert CAL.is_working_day(datetime(2026, 10, 10).date())
    assert CAL.add_work_days(datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI), 1) == datetime(
        2026, 10, 10, 17, 30, tzinfo=SHANGHAI
    )


def test_lunch_break_and_evening_are_not_working_time() -> None:
    friday_11 = datetime(2026, 5, 15, 11, 0, tzinfo=SHANGHAI)
    assert CAL.add_work_hours(friday_11, 2) == datetime(2026, 5, 15, 14, 30, tzinfo=SHANGHAI)
    evening = datetime(2026, 5, 15, 20, 0, tzinfo=SHANGHAI)  # Friday night -> Monday
    assert CAL.add_work_hours(evening, 1) == datetime(2026, 5, 18, 9, 30, tzinfo=SHANGHAI)
    assert CAL.hours_per_day == 7.5


def test_configurable_office_hours_and_bad_periods() -> None:
    cal = WorkCalendar(parse_periods("09:00-17:00"))
    assert cal.add_work_hours(datetime(2026, 5, 15, 16, 0, tzinfo=SHANGHAI), 2) == datetime(
        2026, 5, 18, 10, 0, tzinfo=SHANGHAI
    )
    with pytest.raises(ValueError, match="ordered"):
        WorkCalendar(((time(13), time(12)),))


@settings(max_examples=300, deadline=None)
@given(start=instants, hours=st.floats(min_value=0.01, max_value=200))
def test_work_hours_deadline_is_working_time_and_consistent(start: datetime, hours: float) -> None:
    due = CAL.add_work_hours(start, hours)
    assert CAL.is_working_time(due)
    assert due > start
    assert CAL.work_hours_between(start, due) == pytest.approx(hours, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(start=instants, days=st.integers(min_value=1, max_value=25))
def test_work_days_deadline_is_end_of_a_working_day(start: datetime, days: int) -> None:
    due = CAL.deadline(start, days, "work_days").astimezone(SHANGHAI)
    assert CAL.is_working_time(due) and due.time() == time(17, 30)
    assert CAL.is_working_day(due.date())
    # exactly `days` working days after the start day
    d, n = start.astimezone(SHANGHAI).date(), 0
    while d < due.date():
        d += timedelta(days=1)
        n += CAL.is_working_day(d)
    assert n == days
