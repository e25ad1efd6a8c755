"""Issue 10 (F10.2): a case filed in a grid with no worker of its own (a new grid whose staffing
is still to decide after a publication) goes to its village's worker, else its town's, else stays
in the town's dispatch queue — and the report's log says so, naming the grid. (The page-level
case, a real split published with its staffing undecided, is in
tests/e2e/test_plan_to_decide_more.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from layers.events import intake
from layers.events.models import EventLog, EventSource
from layers.events.workflow import Actor
from layers.models import Role
from layers.people import GridAssignment, Person, StaffRole

OFFICER = Actor(None, None, Role.OFFICER, "test officer")


@pytest.fixture(scope="module")
def inside(demo_grids):  # type: ignore[no-untyped-def]
    """(code, lon, lat) of a point inside the last unit grid of the demo city."""
    row = demo_grids[demo_grids.level == 3].iloc[-1]
    p = row.geometry.representative_point()
    return row.code, p.x, p.y


def _file(session, inside):  # type: ignore[no-untyped-def]
    _code, lon, lat = inside
    event = intake.create_event(
        session=session, actor=OFFICER, lon=lon, lat=lat, subclass_code="0101",
        description="无人网格测试", source=EventSource.PATROL,
        reported_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC), ignore_duplicates=True,
    )  # fmt: skip
    log = session.scalars(
        select(EventLog).where(EventLog.event_id == event.id, EventLog.action == "report")
    ).one()
    return event, log


@pytest.mark.parametrize("holder", ["grid", "village", "town", "town_dispatch"])
def test_a_grid_without_a_worker_routes_up_and_says_so(  # type: ignore[no-untyped-def]
    db_session, demo_generation, inside, holder
) -> None:
    code, _, _ = inside
    db_session.execute(  # this grid, its village and town without a worker (rolled back)
        text("DELETE FROM grid_assignment WHERE grid_code IN (:a, :b, :c) "
             "AND role = 'grid_worker'"),
        {"a": code, "b": code[:12], "c": code[:9]},
    )  # fmt: skip
    worker = None
    if holder != "town_dispatch":
        worker = Person(name="王网格员")
        db_session.add(worker)
        db_session.flush()
        on = {"grid": code, "village": code[:12], "town": code[:9]}[holder]
        held = GridAssignment(
            person_id=worker.id, grid_code=on, role=StaffRole.GRID_WORKER,
            valid_from=date(2025, 1, 1),
        )  # fmt: skip
        db_session.add(held)
        db_session.flush()
    event, log = _file(db_session, inside)
    assert event.grid_code == code and event.town_code == code[:9]
    assert event.worker_person_id == (worker.id if worker else None)
    assert log.data["worker_from"] == holder
    if holder == "grid":
        assert log.note is None
    else:
        # a system note: Chinese in the note, English beside it (layers/events/notes.py)
        assert code in log.note and "无网格员" in log.note, log.note
        assert code in log.data["note_en"] and "no worker" in log.data["note_en"], log.data
        place = {"village": code[:12], "town": code[:9], "town_dispatch": code[:9]}[holder]
        assert place in log.note
    if holder == "town_dispatch":
        assert "dispatch queue" in log.data["note_en"] and "待派遣队列" in log.note
