"""The case workflow as data: which action leads from which states to which, and who may take it.

Every change goes through :func:`apply_action`, which checks the table, updates the event and
appends one row to the append-only log, in the caller's transaction (all or nothing). The
deadline starts at dispatch and runs on the working calendar in the subclass's unit.

Overdue (超时) is not a state but a condition: an open case (dispatched, in handling, extension
requested, rework) whose deadline has passed. :func:`list_overdue` lists them;
:func:`escalate_overdue` logs an ``escalate`` entry once per case (the status is unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from layers.calendar_tables import ensure_loaded as ensure_calendar_loaded
from layers.errors import Forbidden, InvalidState, with_zh
from layers.events.dictionary import InvalidEventInput
from layers.events.models import Event, EventLog, EventStatus, EventSubclass
from layers.events.notes import SystemNote, stored
from layers.models import Role
from layers.people import assignment_in_force
from layers.workcal import WorkCalendar

S = EventStatus
D, OFF, A = Role.DISPATCHER, Role.OFFICER, Role.ADMIN


class UnknownAction(InvalidEventInput):
    """An action name the workflow does not have."""


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[EventStatus]
    target: EventStatus
    roles: frozenset[Role]
    label_zh: str


def _t(
    action: str, sources: set[EventStatus], target: EventStatus, roles: set[Role], zh: str
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles | {A}), zh)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t("accept", {S.REPORTED}, S.ACCEPTED, {D}, "立案"),
        _t("reject", {S.REPORTED, S.RETURNED}, S.REJECTED, {D}, "不予立案"),
        _t("dispatch", {S.ACCEPTED, S.RETURNED}, S.DISPATCHED, {D}, "派遣"),
        _t("start", {S.DISPATCHED, S.REWORK}, S.IN_HANDLING, {OFF}, "开始处置"),
        _t("return", {S.DISPATCHED, S.IN_HANDLING}, S.RETURNED, {OFF}, "回退"),
        _t(
            "request_extension",
            {S.DISPATCHED, S.IN_HANDLING},
            S.EXTENSION_REQUESTED,
            {OFF},
            "申请延期",
        ),
        _t("grant_extension", {S.EXTENSION_REQUESTED}, S.IN_HANDLING, {D}, "同意延期"),
        _t("refuse_extension", {S.EXTENSION_REQUESTED}, S.IN_HANDLING, {D}, "不同意延期"),
        _t("handle", {S.IN_HANDLING}, S.HANDLED, {OFF}, "处理反馈"),
        _t("verify", {S.HANDLED}, S.VERIFIED, {D}, "核查通过"),
        _t("verify_fail", {S.HANDLED}, S.REWORK, {D}, "核查不通过，返工"),
        _t("close", {S.VERIFIED}, S.CLOSED, {D}, "结案"),
        _t("park", {S.ACCEPTED, S.DISPATCHED, S.IN_HANDLING}, S.PARKED, {D}, "挂账"),
        _t("unpark", {S.PARKED}, S.DISPATCHED, {D}, "解除挂账"),
    ]
}
OPEN_FOR_DEADLINE = frozenset({S.DISPATCHED, S.IN_HANDLING, S.EXTENSION_REQUESTED, S.REWORK})
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock a device's time may be (a report's or an action's)."""
OFFLINE_ACTION_MAX_AGE = timedelta(hours=72)
"""How long an action taken on a phone without network may wait before it reaches the server and
still be logged at the phone's time (``acted_at``): three days covers a weekend in a dead zone;
older ones are refused and the phone sends them again with the time of sending."""
TERMINAL = frozenset({S.CLOSED, S.REJECTED})
NOTE_REQUIRED = frozenset({"reject", "return", "request_extension", "verify_fail", "park"})
HANDLING_PHOTO_WORDS = ("照片", "photo")
"""Words of a subclass's closing rule (``close_rule``, the dictionary) that ask for a photo of
the place after handling (e.g. 0101 暴露垃圾: "现场清理干净，有处置后照片")."""


def close_rule_asks_photo(close_rule: str | None) -> bool:
    """Does a closing rule (``event_subclass.close_rule``) ask for a photo after handling?"""
    rule = (close_rule or "").lower()
    return any(word in rule for word in HANDLING_PHOTO_WORDS)


def handling_photo_required(subclass: EventSubclass) -> bool:
    """Does handling a case of this subclass need a photo (its closing rule asks for one)?"""
    return close_rule_asks_photo(subclass.close_rule)


def check_handled(*, subclass: EventSubclass, note: str | None, photos: int) -> None:
    """The one rule of a handling feedback (处理反馈, ``handle``): a note saying what was done,
    always, and at least one photo (sent with the step) when the subclass's closing rule asks
    for one (:func:`handling_photo_required`). Raises :class:`InvalidEventInput` naming the
    field (``note`` or ``photos``) and the fix, in English and Chinese."""
    if not (note and note.strip()):
        raise with_zh(
            InvalidEventInput(
                "handled needs a note saying what was done (e.g. 'rubbish cleared, area swept')",
                field="note",
                extra={"rule": "handling_note"},
            ),
            "处理反馈需要填写处置说明（例如“垃圾已清运，现场已清扫”）",
        )
    if photos < 1 and handling_photo_required(subclass):
        raise with_zh(
            InvalidEventInput(
                f"handled needs a photo of the place after handling: subclass {subclass.code}'s "
                f"closing rule is {subclass.close_rule!r}; send the photo with the step "
                "(multipart field 'photos')",
                field="photos",
                extra={"rule": "handling_photo"},
            ),
            f"处理反馈需要处置后照片：{subclass.code} {subclass.name} 的结案标准是"
            f"“{subclass.close_rule}”；请随本步骤上传现场照片",
        )


@dataclass(frozen=True)
class Actor:
    """Who acts: the API token, the person it speaks for, its role."""

    token_id: int | None
    person_id: int | None
    role: Role
    name: str
    scope_codes: tuple[str, ...] | None = None
    """Grid-code prefixes of the actor's scope (layers.accounts.scope_codes); None: the city."""


def allowed_actions(status: EventStatus, role: Role) -> list[str]:
    return [t.action for t in TRANSITIONS.values() if status in t.sources and role in t.roles]


def routed_to(*, session: Session, event: Event, person_id: int) -> bool:
    """Is the case routed to this person: its grid chief or worker, a member of its squad, or
    assigned (any staff role, today) to its grid or to the village or town containing it."""
    from layers.events.access import personally_routed
    from layers.people import GridAssignment

    if personally_routed(session=session, event=event, person_id=person_id):
        return True
    codes = (event.grid_code, event.grid_code[:12], event.grid_code[:9])
    return (
        session.scalar(
            select(GridAssignment.id)
            .where(
                GridAssignment.person_id == person_id,
                GridAssignment.grid_code.in_(codes),
                assignment_in_force(func.current_date()),
            )
            .limit(1)
        )
        is not None
    )


def check_may_act(*, session: Session, event: Event, actor: Actor, action: str) -> None:
    """Anyone acts only inside their scope (a town's dispatcher on the town's cases); an officer
    who speaks for a staff member only on cases routed to that person or their grids (a
    dispatcher reroutes a case to them with ``POST /api/v1/events/{id}/routing``). Forbidden
    otherwise. A case routed to the actor's own staff member is theirs wherever it is (one rule:
    :func:`layers.events.access.may_reach`)."""
    from layers.events.access import may_reach

    if not may_reach(
        session=session, event=event, person_id=actor.person_id, codes=actor.scope_codes
    ):
        raise Forbidden(
            f"event {event.id} is in grid {event.grid_code}, outside your scope; someone "
            f"responsible for that area must {action} it",
            field="action",
        )
    if (
        actor.role is Role.OFFICER
        and actor.person_id is not None
        and not routed_to(session=session, event=event, person_id=actor.person_id)
    ):
        raise Forbidden(
            f"event {event.id} is not routed to you or your grids; ask a dispatcher to reroute "
            f"it to you (POST /api/v1/events/{event.id}/routing) before you {action} it",
            field="action",
        )


def append_log(
    *,
    session: Session,
    event: Event,
    actor: Actor,
    action: str,
    from_status: EventStatus | None,
    at: datetime,
    note: str | SystemNote | None = None,
    attachments: list[int] | None = None,
    data: dict[str, Any] | None = None,
) -> EventLog:
    """Adds one step to the case's log; a :class:`SystemNote` is stored in both languages
    (layers/events/notes.py)."""
    note, data = stored(note, data)
    entry = EventLog(
        event_id=event.id,
        at=at,
        action=action,
        from_status=from_status.value if from_status else None,
        to_status=event.status.value,
        actor_token_id=actor.token_id,
        actor_person_id=actor.person_id,
        actor_role=actor.role.value,
        actor_name=actor.name,
        note=note,
        attachments=attachments or [],
        data=data or {},
    )
    session.add(entry)
    session.flush()
    return entry


def previous_step_at(*, session: Session, event: Event) -> datetime | None:
    """When the case's latest workflow step happened (a change of status: report, accept, …).
    Notes the system or a dispatcher adds without changing the status (``escalate``,
    ``reroute``, ``recalendar``) do not count: an officer who handled a case offline before
    the overdue escalation was logged still handled it at that time."""
    return session.scalar(
        select(EventLog.at)
        .where(
            EventLog.event_id == event.id,
            EventLog.from_status.is_distinct_from(EventLog.to_status),
        )
        .order_by(EventLog.at.desc())
        .limit(1)
    )


def check_acted_at(acted_at: datetime, *, now: datetime, previous: datetime | None) -> datetime:
    """The phone's time of an action, within bounds (see :func:`apply_action`), in UTC.

    Raises :class:`InvalidEventInput` (``field="acted_at"``) naming the bound and the fix."""
    if acted_at.tzinfo is None:
        raise InvalidEventInput(
            "acted_at needs a time zone (e.g. 2026-11-30T09:15:00+08:00 or …Z)", field="acted_at"
        )
    acted_at = acted_at.astimezone(UTC)
    if acted_at > now + CLOCK_SKEW:
        raise InvalidEventInput(
            f"acted_at {acted_at.isoformat()} is in the future (server time {now.isoformat()}); "
            "check the phone's clock",
            field="acted_at",
        )
    if acted_at < now - OFFLINE_ACTION_MAX_AGE:
        hours = int(OFFLINE_ACTION_MAX_AGE.total_seconds() // 3600)
        raise InvalidEventInput(
            f"acted_at {acted_at.isoformat()} is more than {hours} h ago; an action that waited "
            "that long is logged at the time it is sent: send it again without acted_at",
            field="acted_at",
        )
    if previous is not None and acted_at < previous:
        raise InvalidEventInput(
            f"acted_at {acted_at.isoformat()} is before the case's previous step "
            f"({previous.isoformat()}); check the phone's clock, or send it again without "
            "acted_at",
            field="acted_at",
        )
    return acted_at


def apply_action(
    *,
    session: Session,
    event: Event,
    action: str,
    actor: Actor,
    calendar: WorkCalendar,
    at: datetime | None = None,
    note: str | None = None,
    attachments: list[int] | None = None,
    extension: float | None = None,
    expected_version: int | None = None,
    acted_at: datetime | None = None,
) -> EventLog:
    """Take ``action`` on ``event`` as ``actor``; raises naming the rule that forbids it.

    The step's time (``event_log.at``, and ``handled_at``/``closed_at``/the deadline it sets,
    so every overdue and on-time figure) is, in this order: ``at`` (an admin back-dating a
    step, unbounded), ``acted_at`` (when the officer acted on a phone that was offline: at most
    :data:`CLOCK_SKEW` ahead of the server, at most :data:`OFFLINE_ACTION_MAX_AGE` old, and not
    before the case's previous step; else :class:`InvalidEventInput` on ``acted_at``), or now.
    The receipt time is kept apart in ``event_log.recorded_at``. ``handle`` needs a note and,
    when the subclass's closing rule asks for one, a photo in ``attachments``
    (:func:`check_handled`).
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise UnknownAction(
            f"action {action!r} does not exist; use one of {', '.join(TRANSITIONS)}",
            field="action",
        )
    if actor.role not in transition.roles:
        names = ", ".join(sorted(r.value for r in transition.roles))
        raise Forbidden(
            f"role {actor.role.value} may not {action} an event; it needs one of: {names}",
            field="action",
        )
    check_may_act(session=session, event=event, actor=actor, action=action)
    if event.status not in transition.sources:
        possible = allowed_actions(event.status, actor.role) or ["none"]
        raise InvalidState(
            f"event {event.id} is {event.status.value}; {action} needs it to be "
            f"{' or '.join(sorted(s.value for s in transition.sources))}. "
            f"Possible now for {actor.role.value}: {', '.join(possible)}",
            field="action",
            extra={
                "current_status": event.status.value,
                "allowed": allowed_actions(event.status, actor.role),
            },
        )
    if expected_version is not None and expected_version != event.version:
        raise InvalidState(
            f"event {event.id} changed meanwhile (version {event.version}, you had "
            f"{expected_version}); reload it and try again",
            field="version",
        )
    if action in NOTE_REQUIRED and not (note and note.strip()):
        raise InvalidEventInput(f"{action} needs a note giving the reason", field="note")
    subclass = session.get(EventSubclass, event.subclass_code)
    assert subclass is not None
    if action == "handle":
        check_handled(subclass=subclass, note=note, photos=len(attachments or []))
    now = datetime.now(UTC)
    last = previous_step_at(session=session, event=event)
    if at is not None and acted_at is not None:
        raise InvalidEventInput(
            "give either at (an admin back-dating a step) or acted_at (the phone's time), not both",
            field="acted_at",
        )
    if acted_at is not None:
        at = check_acted_at(acted_at, now=now, previous=last)
    at = (at or now).astimezone(UTC)
    if last is not None and at < last:
        raise InvalidEventInput(
            f"the action time {at.isoformat()} is before the case's last step "
            f"{last.isoformat()}; steps are logged in time order",
            field="at",
        )
    data: dict[str, Any] = {}
    ensure_calendar_loaded(session)  # the stored holiday tables (cheap after the first call)
    if action == "accept":
        event.accepted_at = at
    elif action == "dispatch" or action == "unpark":
        event.dispatched_at = at
        event.deadline_at = calendar.deadline(at, subclass.limit_value, subclass.limit_unit.value)
        data["deadline_at"] = event.deadline_at.isoformat()
    elif action == "grant_extension":
        amount = extension if extension is not None else subclass.limit_value
        if amount <= 0:
            raise InvalidEventInput("extension must be a positive amount", field="extension")
        base = max(event.deadline_at or at, at)
        event.deadline_at = calendar.deadline(base, amount, subclass.limit_unit.value)
        event.extension_count += 1
        data |= {
            "deadline_at": event.deadline_at.isoformat(),
            "extension": amount,
            "unit": subclass.limit_unit.value,
        }
    elif action == "handle":
        event.handled_at = at
    elif action == "verify_fail":
        event.handled_at = None
        event.rework_count += 1
        # Rework gets a fresh limit from now: the handler must redo the work.
        event.deadline_at = calendar.deadline(at, subclass.limit_value, subclass.limit_unit.value)
        data["deadline_at"] = event.deadline_at.isoformat()
    elif action == "close":
        event.closed_at = at
        event.closure_work_h = round(calendar.work_hours_between(event.reported_at, at), 4)
    source = event.status
    event.status = transition.target
    event.version += 1
    session.flush()
    return append_log(
        session=session,
        event=event,
        actor=actor,
        action=action,
        from_status=source,
        at=at,
        note=note,
        attachments=attachments,
        data=data,
    )


def list_overdue(
    *, session: Session, now: datetime | None = None, limit: int = 1000, where: Any = None
) -> list[Event]:
    """Overdue cases, oldest deadline first; ``where`` narrows them (the caller's reach,
    :func:`layers.events.access.reach_clause`; None: all) before the ``limit``."""
    now = now or datetime.now(UTC)
    stmt = select(Event).where(Event.status.in_(list(OPEN_FOR_DEADLINE)), Event.deadline_at < now)
    if where is not None:
        stmt = stmt.where(where)
    return list(session.scalars(stmt.order_by(Event.deadline_at, Event.id).limit(limit)))


def escalate_overdue(*, session: Session, actor: Actor, now: datetime | None = None) -> int:
    """Log an ``escalate`` entry on every overdue case the actor reaches (their scope and the
    cases routed to their person: :func:`layers.events.access.reach_clause`) not yet escalated;
    returns the count. Another area's cases are escalated by its own dispatchers."""
    from layers.events.access import reach_clause

    now = now or datetime.now(UTC)
    count = 0
    reach = reach_clause(session=session, person_id=actor.person_id, codes=actor.scope_codes)
    for event in list_overdue(session=session, now=now, limit=100_000, where=reach):
        if event.escalated_at is not None and event.escalated_at >= (event.deadline_at or now):
            continue
        event.escalated_at = now
        append_log(
            session=session,
            event=event,
            actor=actor,
            action="escalate",
            from_status=event.status,
            at=now,
            note=SystemNote("超时督办", "overdue: escalated"),
            data={"deadline_at": event.deadline_at.isoformat() if event.deadline_at else None},
        )
        count += 1
    return count


def is_overdue(event: Event, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return (
        event.status in OPEN_FOR_DEADLINE
        and event.deadline_at is not None
        and event.deadline_at < now
    )
