"""The officer's own view for the phone app (``/m``): who I am, my tasks, my grid.

``/api/v1/me/tasks`` lists the open cases routed to the caller's staff member, as the workflow
decides it (:func:`layers.events.workflow.routed_to`: their grid chief/worker fields, their
squad, or a grid, village or town they are assigned to today), narrowed to the caller's scope:
exactly the cases they may act on. Each carries its deadline and the work hours left on the
working calendar (computed here, the phone never recomputes the calendar). Coordinates are
CGCS2000 longitude/latitude, which agree with WGS 84 to a few centimetres (map display).

Names people read (``subclass_name``) are in the request's language (``?lang=`` or
``Accept-Language``, api/lang.py) by the dictionary's one rule
(:func:`layers.events.dictionary.display_name`). ``/api/v1/me/tasks`` also carries
``transitions``: for the caller's role, ``{status: {action: status after it}}`` (from
:data:`layers.events.workflow.TRANSITIONS`), so the phone can show a case as it will be once its
queued actions are sent (offline: start queued, then handled offered).

Errors: 403 for a case that is not routed to the caller (``field`` ``id``), 404 for none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from api.deps import Reader, SessionDep
from api.errors import STATUS
from api.lang import LangDep
from api.routes.events import (
    CALENDAR,
    actor_of,
    event_public,
    get_event,
    log_public,
)
from api.schemas.events import MePublic, MyGrid, MyTask, MyTasks
from layers import accounts
from layers.errors import Forbidden
from layers.events import access
from layers.events.dictionary import display_name, subclass_name, subclass_name_en
from layers.events.models import Event, EventSubclass, case_log, case_photo_rows
from layers.events.workflow import (
    OPEN_FOR_DEADLINE,
    TRANSITIONS,
    Actor,
    allowed_actions,
    close_rule_asks_photo,
    routed_to,
)
from layers.grids import active_generation
from layers.households import Household
from layers.idempotency import IdempotencyKeyReused, InvalidIdempotencyKey
from layers.models import Grid, Role
from layers.people import GridAssignment, Person, StaffRole
from layers.roster import person_grid_codes

router = APIRouter(prefix="/api/v1/me", tags=["officer app"])
STATUS.setdefault(IdempotencyKeyReused, (422, "Idempotency key reused"))
STATUS.setdefault(InvalidIdempotencyKey, (422, "Invalid parameter"))
TASK_LIMIT = 200


def my_grid_codes(session: Session, person_id: int | None) -> list[str]:
    """The grids, villages or towns the person is assigned to today (any staff role)."""
    if person_id is None:
        return []
    codes = person_grid_codes(session=session, person_id=person_id, roles=tuple(StaffRole))
    return sorted(set(codes))


def my_grids_in_scope(session: Session, principal: Any) -> list[str]:
    """:func:`my_grid_codes` inside the user's scope: a user scoped to another area than their
    person's assignments sees none of them (the scope bounds everything the user reads)."""
    scope = accounts.scope_codes(session=session, identity=principal.identity)
    return [c for c in my_grid_codes(session, principal.person_id) if accounts.in_codes(c, scope)]


def routed_condition(session: Session, actor: Actor) -> Any:
    """SQL form of :func:`routed_to` and of the reach check of ``check_may_act``
    (:func:`layers.events.access.reach_clause`): the cases this officer may act on (false when
    the user speaks for no staff member)."""
    if actor.person_id is None:
        return false()
    pid = actor.person_id
    codes = my_grid_codes(session, pid)
    cond = or_(
        access.personally_routed_clause(pid),
        Event.grid_code.in_(codes),
        Event.village_code.in_(codes),
        Event.town_code.in_(codes),
    )
    reach = access.reach_clause(session=session, person_id=pid, codes=actor.scope_codes)
    return cond if reach is None else cond & reach


def work_hours_left(event: Event, now: datetime) -> float | None:
    """Work hours from now to the deadline on the working calendar (negative when overdue)."""
    if event.deadline_at is None:
        return None
    if event.deadline_at >= now:
        return round(CALENDAR.work_hours_between(now, event.deadline_at), 2)
    return -round(CALENDAR.work_hours_between(event.deadline_at, now), 2)


def role_transitions(role: Role) -> dict[str, dict[str, str]]:
    """The workflow as the role sees it: ``{status: {action: status after it}}`` (every status
    with at least one action of the role's)."""
    out: dict[str, dict[str, str]] = {}
    for t in TRANSITIONS.values():
        if role in t.roles:
            for source in sorted(t.sources, key=str):
                out.setdefault(source.value, {})[t.action] = t.target.value
    return out


def task_public(
    event: Event,
    *,
    role: Any,
    now: datetime,
    lonlat: tuple[float, float],
    name: str | None,
    close_rule: str | None = None,
) -> dict[str, Any]:
    """One task; ``handling_photo_required``: handling it needs a photo (the subclass's closing
    rule asks for one, :func:`layers.events.workflow.check_handled`; a note always)."""
    return event_public(event, now=now) | {
        "lon": lonlat[0],
        "lat": lonlat[1],
        "subclass_name": name,
        "handling_photo_required": close_rule_asks_photo(close_rule),
        "work_hours_left": work_hours_left(event, now),
        "allowed_actions": allowed_actions(event.status, role),
    }


@router.get("", summary="Who I am: user, role, staff member, grids", response_model=MePublic)
def read_me(session: SessionDep, principal: Reader) -> dict[str, Any]:
    person = session.get(Person, principal.person_id) if principal.person_id else None
    codes = my_grids_in_scope(session, principal)
    return {
        "name": principal.name,
        "role": principal.role.value,
        "scope": str(principal.scope),
        "person_id": principal.person_id,
        "person_name": person.name if person else None,
        "grids": codes,
    }


@router.get(
    "/tasks", summary="Open cases routed to me or my grids, by deadline", response_model=MyTasks
)
def read_my_tasks(session: SessionDep, principal: Reader, lang: LangDep) -> dict[str, Any]:
    actor = actor_of(session, principal)
    now = datetime.now(UTC)
    rows = session.execute(
        select(
            Event,
            func.ST_X(Event.geom),
            func.ST_Y(Event.geom),
            EventSubclass.name,
            subclass_name_en(),
            EventSubclass.close_rule,
        )
        .join(EventSubclass, EventSubclass.code == Event.subclass_code)
        .where(Event.status.in_(list(OPEN_FOR_DEADLINE)), routed_condition(session, actor))
        .order_by(Event.deadline_at.asc().nulls_last(), Event.id)
        .limit(TASK_LIMIT)
    ).all()
    data = [
        task_public(
            e,
            role=principal.role,
            now=now,
            lonlat=(x, y),
            name=display_name(n, en, lang),
            close_rule=rule,
        )
        for e, x, y, n, en, rule in rows
    ]
    return {
        "data": data,
        "count": len(data),
        "now": now.isoformat(),
        "transitions": role_transitions(principal.role),
    }


@router.get(
    "/tasks/{event_id}",
    summary="One of my cases with its timeline and photos",
    response_model=MyTask,
)
def read_my_task(
    session: SessionDep, principal: Reader, event_id: int, lang: LangDep
) -> dict[str, Any]:
    event = get_event(session, event_id)
    actor = actor_of(session, principal)
    mine = actor.person_id is not None and routed_to(
        session=session, event=event, person_id=actor.person_id
    )
    if not (mine and access.may_reach(session=session, event=event, person_id=actor.person_id,
                                      codes=actor.scope_codes)):  # fmt: skip
        raise Forbidden(
            f"event {event_id} is not routed to you or your grids; ask a dispatcher to reroute "
            "it to you if it is yours",
            field="id",
        )
    # on Citus each read names the case's filed town: routed to its shard
    x, y = session.execute(select(func.ST_X(Event.geom), func.ST_Y(Event.geom)).where(
        Event.id == event_id, Event.filed_town_code == event.filed_town_code)).one()  # fmt: skip
    subclass = session.get(EventSubclass, event.subclass_code)
    logs = case_log(session, event)
    photos = case_photo_rows(session, event)
    now = datetime.now(UTC)
    return task_public(
        event,
        role=principal.role,
        now=now,
        lonlat=(x, y),
        name=subclass_name(subclass, lang) if subclass else None,
        close_rule=subclass.close_rule if subclass else None,
    ) | {
        "timeline": [log_public(e, lang) for e in logs],
        "photos": [
            {"id": p.id, "filename": p.filename, "url": f"/api/v1/events/{event_id}/photos/{p.id}"}
            for p in photos
        ],
    }


@router.get(
    "/grid",
    summary="My grids: codes, names, households, open events (GeoJSON points)",
    response_model=MyGrid,
)
def read_my_grid(session: SessionDep, principal: Reader, lang: LangDep) -> dict[str, Any]:
    """Boundaries are read per grid from ``/api/v1/grids/{code}``; patrol time from
    ``/api/v1/patrol/daily?person=``; coverage from ``/api/v1/coverage/grids/{code}``.

    ``open_events`` counts the open cases inside my grids (their grid, village or town is one
    of mine); ``open_events_rerouted`` the open cases rerouted to me personally that lie
    outside them; each event says which (``properties.in_grid``)."""
    codes = my_grids_in_scope(session, principal)
    if not codes and principal.person_id is None:
        return {"grids": [], "events": {"type": "FeatureCollection", "features": []}}
    generation = active_generation(session=session)
    names = dict(
        session.execute(
            select(Grid.code, Grid.name).where(
                Grid.generation_id == generation.id, Grid.code.in_(codes)
            )
        ).all()
    )
    inside = or_(false(), *[Household.grid_code.startswith(c, autoescape=True) for c in codes])
    households = session.scalar(select(func.count()).select_from(Household).where(inside))
    per_grid = {
        c: session.scalar(
            select(func.count())
            .select_from(Household)
            .where(Household.grid_code.startswith(c, autoescape=True))
        )
        for c in codes
    }
    # the open cases of my grids and those routed to me, as /me/tasks (one rule of reach)
    mine = routed_condition(session, actor_of(session, principal))
    rows = session.execute(
        select(Event.id, Event.status, Event.subclass_code, EventSubclass.name,
               subclass_name_en(), func.ST_X(Event.geom), func.ST_Y(Event.geom),
               Event.grid_code)
        .join(EventSubclass, EventSubclass.code == Event.subclass_code)
        .where(mine, Event.status.notin_(["closed", "rejected"]))
        .order_by(Event.id.desc()).limit(500)
    ).all()  # fmt: skip
    roles = dict(
        session.execute(
            select(GridAssignment.grid_code, GridAssignment.role).where(
                GridAssignment.person_id == principal.person_id, GridAssignment.grid_code.in_(codes)
            )
        ).all()
    )
    inside_mine = {i: any(g.startswith(c) for c in codes) for i, *_, g in rows}
    own = sum(inside_mine.values())
    return {
        "grids": [
            {
                "code": c,
                "name": names.get(c),
                "role": str(roles.get(c, "")),
                "households": per_grid[c],
            }
            for c in codes
        ],
        "households": households,
        "open_events": own,
        "open_events_rerouted": len(rows) - own,
        "events": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                    "properties": {
                        "id": i,
                        "status": s.value,
                        "subclass": sc,
                        "subclass_name": display_name(n, en, lang),
                        "in_grid": inside_mine[i],
                    },
                }
                for i, s, sc, n, en, x, y, _g in rows
            ],
        },
    }
