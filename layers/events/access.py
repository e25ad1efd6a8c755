"""Which cases a caller reaches: the one rule for the events API, its photos and the phone routes.

A caller (a token or page session; ``person_id`` their staff member, ``codes`` the grid-code
prefixes of their scope from :func:`layers.accounts.scope_codes`, None for the city) reaches a
case when

- the case lies inside the scope (by its unit grid's code), or
- the case is routed *personally* to the caller's staff member — its grid chief or worker, or a
  member of its squad, which is what a dispatcher sets with ``POST /api/v1/events/{id}/routing``
  — and that person lies inside the caller's scope (:func:`layers.accounts.people_in_scope`).
  A case a dispatcher reroutes to an officer of a few grids (``--scope grids``) is theirs to see
  and act on wherever it is; an account scoped to another area than its person still reaches
  nothing of the person's area.

Reading also allows what the caller's person reported (:func:`may_read`). Every list of cases
(``/events``, ``/events/overdue``, ``/events/duplicates`` and the duplicate suggestion of a
report, ``/event-map/points`` and ``rows``, ``/me/grid``, ``/me/tasks``, Open311 with a key, the
overdue escalation) filters with the SQL forms :func:`reach_clause` / :func:`read_clause` of the
same rule, so a case rerouted into the caller's scope or to their person appears in every list
and one rerouted out of it (another grid, another person outside) disappears from every list.
Whether an officer may *act* is narrower still (:func:`layers.events.workflow.check_may_act`:
routed to them, by person, squad or assigned grid). Errors: none here; callers raise
``Forbidden`` with their own field.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from layers.accounts import in_codes, people_in_scope, prefix_clause
from layers.events.models import Event


def _teams_of(person_id: int) -> Any:
    from layers.people import TeamMember

    return select(TeamMember.team_id).where(TeamMember.person_id == person_id)


def personally_routed(*, session: Session, event: Event, person_id: int) -> bool:
    """Is ``person_id`` the case's grid chief or worker, or a member of its squad."""
    if person_id in (event.chief_person_id, event.worker_person_id):
        return True
    if event.squad_team_id is None:
        return False
    teams = session.scalars(_teams_of(person_id)).all()
    return event.squad_team_id in teams


def personally_routed_clause(person_id: int) -> Any:
    """SQL form of :func:`personally_routed` (a WHERE clause on ``Event``)."""
    return or_(
        Event.chief_person_id == person_id,
        Event.worker_person_id == person_id,
        Event.squad_team_id.in_(_teams_of(person_id)),
    )


def person_in_scope(*, session: Session, person_id: int, codes: tuple[str, ...] | None) -> bool:
    """Does the staff member lie inside the scope ``codes`` (None: the city, always)."""
    allowed = people_in_scope(session=session, codes=codes)
    return allowed is None or person_id in allowed


def may_reach(
    *, session: Session, event: Event, person_id: int | None, codes: tuple[str, ...] | None
) -> bool:
    """The rule of this module for one case (see the module docstring)."""
    if in_codes(event.grid_code, codes):
        return True
    return (
        person_id is not None
        and personally_routed(session=session, event=event, person_id=person_id)
        and person_in_scope(session=session, person_id=person_id, codes=codes)
    )


def may_read(
    *, session: Session, event: Event, person_id: int | None, codes: tuple[str, ...] | None
) -> bool:
    """:func:`may_reach`, or the caller's person reported the case (a patroller follows what
    they reported, wherever it was)."""
    if person_id is not None and event.reporter_person_id == person_id:
        return True
    return may_reach(session=session, event=event, person_id=person_id, codes=codes)


def reach_clause(*, session: Session, person_id: int | None, codes: tuple[str, ...] | None) -> Any:
    """SQL form of :func:`may_reach` (a WHERE clause on ``Event``); None for the city (no
    clause)."""
    inside = prefix_clause(Event.grid_code, codes)
    if inside is None:
        return None
    if person_id is None or not person_in_scope(session=session, person_id=person_id, codes=codes):
        return inside
    return or_(inside, personally_routed_clause(person_id))


def read_clause(*, session: Session, person_id: int | None, codes: tuple[str, ...] | None) -> Any:
    """SQL form of :func:`may_read` (a WHERE clause on ``Event``); None for the city."""
    reach = reach_clause(session=session, person_id=person_id, codes=codes)
    if reach is None or person_id is None:
        return reach
    return or_(reach, Event.reporter_person_id == person_id)
