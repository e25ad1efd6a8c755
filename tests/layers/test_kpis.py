"""The KPI formulas of docs/kpis.md on a hand-made cohort whose every figure is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from geoalchemy2.elements import WKTElement

from layers.events import kpis
from layers.events.models import Event, EventSource, EventStatus

T = datetime(2025, 2, 10, 2, 0, tzinfo=UTC)  # inside the period
NOW = datetime(2025, 3, 1, tzinfo=UTC)
PAST, FUTURE = T + timedelta(hours=4), NOW + timedelta(days=3)
GRID_A, GRID_B = "999999999001001", "999999999001002"

# status, source, accepted, deadline, handled, closed, rework, closure_work_h, reported
CASES = [
    ("reported", "patrol", False, None, False, None, 0, None, T),  # 1 not yet decided
    ("rejected", "hotline", False, None, False, None, 0, None, T),  # 2 不予立案
    ("dispatched", "patrol", True, FUTURE, False, None, 0, None, T),  # 3 not yet due
    ("in_handling", "patrol", True, PAST, False, None, 0, None, T),  # 4 overdue, unhandled
    ("closed", "patrol", True, PAST, True, T + timedelta(hours=2), 0, 2.0, T),  # 5 on time
    ("closed", "patrol", True, PAST, True, T + timedelta(days=2), 0, 10.0, T),  # 6 late
    ("closed", "patrol", True, PAST, True, T + timedelta(hours=3), 1, 6.0, T),  # 7 rework
    ("handled", "patrol", True, FUTURE, True, None, 0, None, T),  # 8 handled, open
    ("parked", "patrol", True, PAST, False, None, 0, None, T),  # 9 挂账: not due
    ("closed", "patrol", True, PAST, True, T, 0, 1.0, T - timedelta(days=30)),  # 10 other period
]


@pytest.fixture
def cohort(db_session, demo_generation):  # type: ignore[no-untyped-def]
    for status, source, accepted, deadline, handled, closed, rework, work_h, rep in CASES:
        db_session.add(
            Event(
                source=EventSource(source),
                subclass_code="0101",
                description="case",
                geom=WKTElement("POINT(120.3 31.9)", srid=4490),
                reported_at=rep,
                generation_id=demo_generation,
                grid_code=GRID_A,
                village_code=GRID_A[:12],
                town_code=GRID_A[:9],
                department="镇街环卫所",
                status=EventStatus(status),
                accepted_at=T if accepted else None,
                deadline_at=deadline,
                handled_at=T + timedelta(hours=1) if handled else None,
                closed_at=closed,
                rework_count=rework,
                extension_count=0,
                closure_work_h=work_h,
                version=1,
            )
        )
    db_session.add(
        Event(
            source=EventSource.PATROL,
            subclass_code="0101",
            description="case B",
            geom=WKTElement("POINT(120.3 31.9)", srid=4490),
            reported_at=T,
            generation_id=demo_generation,
            grid_code=GRID_B,
            village_code=GRID_B[:12],
            town_code=GRID_B[:9],
            department="市城管局",
            status=EventStatus.REPORTED,
            rework_count=0,
            extension_count=0,
            version=1,
        )
    )
    db_session.flush()


def _by(rows, key):  # type: ignore[no-untyped-def]
    return {r["key"]: r for r in rows}[key]


def test_every_figure_of_the_hand_made_cohort(db_session, cohort) -> None:
    query = kpis.KpiQuery("grid", datetime(2025, 2, 1, tzinfo=UTC), NOW, now=NOW)
    a = _by(kpis.compute(session=db_session, query=query), GRID_A)
    assert (a["reported"], a["patrol"], a["accepted"]) == (9, 8, 7)
    assert (a["handled"], a["overdue_unhandled"], a["due"]) == (4, 1, 5)
    assert (a["closed"], a["closed_on_time"], a["rework"], a["proper"]) == (3, 2, 1, 1)
    assert a["acceptance_rate"] == pytest.approx(7 / 9)
    assert a["handling_rate"] == pytest.approx(4 / 5)
    assert a["closure_rate"] == pytest.approx(3 / 5)
    assert a["on_time_closure_rate"] == pytest.approx(2 / 5)
    assert a["rework_rate"] == pytest.approx(1 / 5)
    assert a["proper_handling_rate"] == pytest.approx(1 / 5)
    assert a["closure_h_median"] == pytest.approx(6.0)
    assert a["closure_h_p90"] == pytest.approx(6 + 0.8 * 4)  # linear interpolation, 2/6/10


def test_no_due_cases_gives_none_not_zero(db_session, cohort) -> None:
    query = kpis.KpiQuery("grid", datetime(2025, 2, 1, tzinfo=UTC), NOW, now=NOW)
    b = _by(kpis.compute(session=db_session, query=query), GRID_B)
    assert b["reported"] == 1 and b["acceptance_rate"] == 0.0
    assert b["handling_rate"] is None and b["proper_handling_rate"] is None


def test_overdue_is_judged_at_now(db_session, cohort) -> None:
    # Before case 4's deadline passes it is not yet due: due shrinks to the 4 handled.
    query = kpis.KpiQuery("grid", datetime(2025, 2, 1, tzinfo=UTC), NOW, now=T)
    a = _by(kpis.compute(session=db_session, query=query), GRID_A)
    assert (a["overdue_unhandled"], a["due"]) == (0, 4)


def test_town_and_department_and_buckets_and_ranking(db_session, cohort) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    town = _by(
        kpis.compute(session=db_session, query=kpis.KpiQuery("town", start, NOW, now=NOW)),
        GRID_A[:9],
    )
    assert town["reported"] == 11  # both grids and the January case
    months = [
        r
        for r in kpis.compute(
            session=db_session,
            query=kpis.KpiQuery("department", start, NOW, bucket="month", now=NOW),
        )
        if r["key"] == "镇街环卫所"
    ]
    assert [m["reported"] for m in months] == [1, 9]
    ranked = kpis.rank(
        kpis.compute(session=db_session, query=kpis.KpiQuery("grid", start, NOW, now=NOW))
    )
    by_key = {r["key"]: r for r in ranked}
    assert by_key[GRID_B]["rank"] is None and by_key[GRID_A]["rank"] is not None


@pytest.mark.parametrize(
    "values",
    [[], [4.0], [1.0, 2.0], [2.0, 3.0, 5.0, 7.0, 11.0], [0.1, 0.7, 0.2, 9.9, 3.3, 3.3, 12.25]],
)
def test_percentiles_merged_in_python_equal_postgresql(db_session, values):  # type: ignore[no-untyped-def]
    """``kpis.percentile_cont`` (the closure-time percentiles taken after merging a unit's
    rows of several filed towns, so that Citus pushes the KPI query down) gives PostgreSQL's
    ``percentile_cont`` exactly."""
    from sqlalchemy import text

    for fraction in (0.5, 0.9):
        expected = db_session.execute(
            text(
                "SELECT percentile_cont(:f) WITHIN GROUP (ORDER BY v) "
                "FROM unnest(CAST(:v AS float8[])) AS v"
            ),
            {"f": fraction, "v": values},
        ).scalar()
        assert kpis.percentile_cont(sorted(values), fraction) == expected
