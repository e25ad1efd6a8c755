"""Intake, routing and the state machine on real PostGIS (each test rolled back)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy.exc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from layers.errors import Forbidden, InvalidGeometry, InvalidState
from layers.events import intake
from layers.events.dictionary import InvalidEventInput, SubclassNotFound
from layers.events.models import Event, EventLog, EventSource, EventStatus
from layers.events.workflow import TRANSITIONS, Actor, apply_action, list_overdue
from layers.models import Role
from layers.people import GridAssignment, Person, StaffRole
from layers.workcal import WorkCalendar

CAL = WorkCalendar()
ADMIN = Actor(None, None, Role.ADMIN, "test admin")
ROLES = {r: Actor(None, None, r, f"test {r.value}") for r in Role}


@pytest.fixture(scope="module")
def inside(demo_grids):  # type: ignore[no-untyped-def]
    """(code, lon, lat) of a point inside the first unit grid of the demo city."""
    row = demo_grids[demo_grids.level == 3].iloc[0]
    p = row.geometry.representative_point()
    return row.code, p.x, p.y


def _handling_photo(session, event) -> list[int]:  # type: ignore[no-untyped-def]
    """A photo after handling stored on ``event`` (its id), as the API stores one."""
    import io

    from PIL import Image

    jpeg = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 140, 90)).save(jpeg, "JPEG")
    photo = intake.Photo("after.jpg", jpeg.getvalue())
    return intake.store_photos(session=session, event_id=event.id, photos=[photo])


def test_handled_needs_a_note_and_the_photo_the_close_rule_asks_for(
    db_session, demo_generation, inside
) -> None:
    """处理反馈: a note always; a photo when the subclass's closing rule asks for one
    (0101 暴露垃圾 "…有处置后照片"), not otherwise (0401 占道经营); refused on the field, in
    English and Chinese."""
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    o = ROLES[Role.OFFICER]
    for subclass, photo_needed in (("0101", True), ("0401", False)):
        event = _report(db_session, inside, at=t0, subclass=subclass)
        for k, action in enumerate(("accept", "dispatch", "start")):
            actor = o if action == "start" else ADMIN
            apply_action(session=db_session, event=event, action=action, actor=actor,
                         calendar=CAL, at=t0 + timedelta(minutes=k + 1))  # fmt: skip
        at = t0 + timedelta(minutes=10)
        for note in (None, "  "):
            with pytest.raises(InvalidEventInput, match="needs a note") as refused:
                apply_action(session=db_session, event=event, action="handle", actor=o,
                             calendar=CAL, at=at, note=note)  # fmt: skip
            assert refused.value.field == "note" and "处置说明" in refused.value.detail_zh
        if photo_needed:
            with pytest.raises(InvalidEventInput, match="needs a photo") as refused:
                apply_action(session=db_session, event=event, action="handle", actor=o,
                             calendar=CAL, at=at, note="已清理")  # fmt: skip
            assert refused.value.field == "photos" and "处置后照片" in refused.value.detail_zh
        assert event.status is EventStatus.IN_HANDLING
        photos = _handling_photo(db_session, event) if photo_needed else None
        apply_action(session=db_session, event=event, action="handle", actor=o, calendar=CAL,
                     at=at, note="已清理", attachments=photos)  # fmt: skip
        assert event.status is EventStatus.HANDLED


def _report(session, inside, at=None, subclass="0101", **kw):  # type: ignore[no-untyped-def]
    _code, lon, lat = inside
    return intake.create_event(
        session=session,
        actor=ROLES[Role.OFFICER],
        lon=lon,
        lat=lat,
        subclass_code=subclass,
        description="暴露垃圾一堆",
        source=EventSource.PATROL,
        reported_at=at or datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
        ignore_duplicates=True,
        **kw,
    )


def test_report_routes_to_grid_team_and_department(db_session, demo_generation, inside) -> None:
    code, _, _ = inside
    # the demo roster may be loaded in this database: clear this grid's team (rolled back)
    db_session.execute(
        text("DELETE FROM grid_assignment WHERE grid_code IN (:a, :b, :c)"),
        {"a": code, "b": code[:12], "c": code[:9]},
    )
    chief = Person(name="张网格长")
    worker = Person(name="李网格员")
    db_session.add_all([chief, worker])
    db_session.flush()
    db_session.add_all(
        [
            GridAssignment(
                person_id=chief.id,
                grid_code=code[:12],
                role=StaffRole.GRID_CHIEF,
                valid_from=date(2025, 1, 1),
            ),
            GridAssignment(
                person_id=worker.id,
                grid_code=code,
                role=StaffRole.GRID_WORKER,
                valid_from=date(2025, 1, 1),
            ),
        ]
    )
    db_session.flush()
    event = _report(db_session, inside)
    assert (event.grid_code, event.village_code, event.town_code) == (code, code[:12], code[:9])
    assert event.generation_id == demo_generation
    assert event.chief_person_id == chief.id  # from the village: most specific holder wins
    assert event.worker_person_id == worker.id
    assert event.department == "镇街环卫所"
    assert event.status is EventStatus.REPORTED
    log = db_session.scalars(select(EventLog).where(EventLog.event_id == event.id)).all()
    assert [e.action for e in log] == ["report"]


def test_bad_reports(db_session, demo_generation, inside) -> None:
    with pytest.raises(SubclassNotFound):
        _report(db_session, inside, subclass="9999")
    with pytest.raises(InvalidGeometry, match="outside the city"):
        intake.create_event(
            session=db_session,
            actor=ADMIN,
            lon=116.4,
            lat=39.9,
            subclass_code="0101",
            description="x",
            source=EventSource.PATROL,
        )
    with pytest.raises(InvalidEventInput, match="future"):
        _report(db_session, inside, at=datetime.now(UTC) + timedelta(days=1))


def test_full_loop_deadline_and_closure_time(db_session, demo_generation, inside) -> None:
    # Monday 2 March 2026 09:00 Shanghai
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    event = _report(db_session, inside, at=t0)
    d, o = ROLES[Role.DISPATCHER], ROLES[Role.OFFICER]
    steps = [
        ("accept", d, 0),
        ("dispatch", d, 10),
        ("start", o, 30),
        ("handle", o, 120),
        ("verify", d, 180),
        ("close", d, 200),
    ]
    for action, actor, minutes in steps:
        handled = action == "handle"  # 0101: a note and a photo after handling (its close rule)
        apply_action(
            session=db_session,
            event=event,
            action=action,
            actor=actor,
            calendar=CAL,
            at=t0 + timedelta(minutes=minutes),
            note="垃圾已清运" if handled else None,
            attachments=_handling_photo(db_session, event) if handled else None,
        )
    # 4 work-hours from 09:10 -> 14:40 (lunch 12:00-13:30)
    assert event.deadline_at == datetime(2026, 3, 2, 6, 40, tzinfo=UTC)
    assert event.status is EventStatus.CLOSED
    # 09:00 -> 12:20: the 20 minutes of lunch break (12:00-13:30) are not work time
    assert event.closure_work_h == pytest.approx(3.0)
    log = db_session.scalars(
        select(EventLog).where(EventLog.event_id == event.id).order_by(EventLog.id)
    ).all()
    assert [(e.from_status, e.to_status) for e in log][1:] == [
        ("reported", "accepted"),
        ("accepted", "dispatched"),
        ("dispatched", "in_handling"),
        ("in_handling", "handled"),
        ("handled", "verified"),
        ("verified", "closed"),
    ]


def test_illegal_transition_and_wrong_role(db_session, demo_generation, inside) -> None:
    event = _report(db_session, inside)
    with pytest.raises(InvalidState, match="close needs it to be verified"):
        apply_action(session=db_session, event=event, action="close", actor=ADMIN, calendar=CAL)
    with pytest.raises(Forbidden, match="viewer may not accept"):
        apply_action(
            session=db_session, event=event, action="accept", actor=ROLES[Role.VIEWER], calendar=CAL
        )
    with pytest.raises(InvalidEventInput, match="needs a note"):
        apply_action(
            session=db_session,
            event=event,
            action="reject",
            actor=ROLES[Role.DISPATCHER],
            calendar=CAL,
        )
    assert event.status is EventStatus.REPORTED


def test_log_is_append_only_in_the_database(db_session, demo_generation, inside) -> None:
    event = _report(db_session, inside)
    for sql in (
        "UPDATE event_log SET note = 'forged' WHERE event_id = :e",
        "DELETE FROM event_log WHERE event_id = :e",
    ):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):  # noqa: SIM117
            with db_session.begin_nested():  # (the savepoint must unwind inside the raises)
                db_session.execute(text(sql), {"e": event.id})


def test_overdue_listing(db_session, demo_generation, inside) -> None:
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    event = _report(db_session, inside, at=t0)
    for action in ("accept", "dispatch"):
        apply_action(
            session=db_session,
            event=event,
            action=action,
            actor=ADMIN,
            calendar=CAL,
            at=t0 + timedelta(minutes=5),
        )
    assert event in list_overdue(session=db_session, now=datetime(2026, 3, 3, tzinfo=UTC))
    assert event not in list_overdue(session=db_session, now=datetime(2026, 3, 2, 2, tzinfo=UTC))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(sorted(TRANSITIONS)), st.sampled_from(list(Role))), max_size=25
    )
)
def test_no_sequence_reaches_an_illegal_state(db_session, demo_generation, inside, steps) -> None:
    with db_session.begin_nested() as nested:
        t = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        event = _report(db_session, inside, at=t)
        done = 1
        for action, role in steps:
            t += timedelta(minutes=7)
            before = event.status
            transition = TRANSITIONS[action]
            try:
                apply_action(
                    session=db_session,
                    event=event,
                    action=action,
                    actor=ROLES[role],
                    calendar=CAL,
                    at=t,
                    note="理由",
                    attachments=[0] if action == "handle" else None,  # a photo (0101's rule)
                )
            except (InvalidState, Forbidden):
                assert event.status is before
                assert role not in transition.roles or before not in transition.sources
                continue
            assert role in transition.roles and before in transition.sources
            assert event.status is transition.target
            done += 1
            # the invariants the database also enforces
            assert (event.status is EventStatus.CLOSED) == (event.closed_at is not None)
            if event.status in (EventStatus.HANDLED, EventStatus.VERIFIED, EventStatus.CLOSED):
                assert event.handled_at is not None and event.accepted_at is not None
            if event.status in (EventStatus.DISPATCHED, EventStatus.IN_HANDLING):
                assert event.deadline_at is not None
        logs = db_session.scalars(
            select(EventLog).where(EventLog.event_id == event.id).order_by(EventLog.id)
        ).all()
        assert len(logs) == done
        for a, b in itertools.pairwise(logs):
            assert b.from_status == a.to_status  # an unbroken chain of states
        assert logs[-1].to_status == event.status.value
        assert db_session.scalar(
            select(func.count()).select_from(Event).where(Event.id == event.id)
        )
        nested.rollback()


def test_zone_squad_routing_when_the_zones_layer_is_there(db_session, demo_generation, inside):  # type: ignore[no-untyped-def]
    zones = pytest.importorskip("layers.zones")
    from layers.people import Team, TeamKind

    code, _, _ = inside
    # the demo zones may cover this grid already: take it out of them (rolled back)
    db_session.execute(
        text(
            "DELETE FROM zone_member WHERE zone_id IN "
            "(SELECT id FROM enforcement_zone WHERE town_code = :t)"
        ),
        {"t": code[:9]},
    )
    squad = Team(name="测试中队", kind=TeamKind.TOWN_SQUAD, town_code=code[:9])
    db_session.add(squad)
    db_session.flush()
    zone = zones.EnforcementZone(
        code=f"{code[:9]}-ZT", name="测试片区", town_code=code[:9], squad_id=squad.id
    )
    db_session.add(zone)
    db_session.flush()
    db_session.add(zones.ZoneMember(zone_id=zone.id, grid_code=code[:12]))  # the whole village
    db_session.flush()
    event = _report(db_session, inside)
    assert (event.zone_id, event.squad_team_id) == (zone.id, squad.id)
