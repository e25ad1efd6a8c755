"""Which filed towns hold cases that are now in a town: the ``event_town_guest`` table.

On Citus the cases live on the shard of the town they were filed in (``filed_town_code``,
layers/citus.py). A town's own figures (the command centre's KPI panel of a town, a village or
a grid) are over the cases *now* in its grids: those filed there, on the town's shard, and the
few rerouted into it from another town, on that town's shard. This table lists, per town, the
other filed towns that ever had a case in it (a row is written when a case's ``town_code``
differs from its ``filed_town_code``, at insert or at a reroute; never deleted, so it may name
a town whose rerouted case left again: harmless, the grid condition still applies). A town's
query then names its filed towns (:func:`filed_town_sql`), and Citus sends it to those shards
only: one shard (a router query) for a town no case was rerouted into.

A reference table on Citus (layers/citus.py makes every table not listed there one): a row per
(town, filed town) pair, written on the coordinator at the rate of cross-town reroutes.
Migration 0031_event_town_guest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Mapped, Session, mapped_column

from layers.db import Base
from layers.events.models import Event

TOWN_DIGITS = 9


class EventTownGuest(Base):
    """Town ``town_code`` holds (or held) a case filed in town ``filed_town_code``."""

    __tablename__ = "event_town_guest"

    town_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    filed_town_code: Mapped[str] = mapped_column(String(9), primary_key=True)


@listens_for(Event, "after_insert")
@listens_for(Event, "after_update")
def _note_guest(_mapper: Any, connection: Connection, event: Event) -> None:
    """A case in another town than its filed one: remember the pair (same transaction)."""
    if event.town_code and event.filed_town_code and event.town_code != event.filed_town_code:
        connection.execute(
            insert(EventTownGuest)
            .values(town_code=event.town_code, filed_town_code=event.filed_town_code)
            .on_conflict_do_nothing()
        )


def filed_towns(session: Session, scope: str) -> list[str] | None:
    """The filed towns whose shards hold every case now in ``scope`` (a grid-code prefix of a
    town, a village or a grid: 9, 12 or 15 digits), sorted; None for a wider scope (the city,
    a district: every shard)."""
    if len(scope) < TOWN_DIGITS:
        return None
    town = scope[:TOWN_DIGITS]
    guests = session.scalars(
        select(EventTownGuest.filed_town_code).where(EventTownGuest.town_code == town)
    ).all()
    return sorted({town, *guests})


def filed_town_sql(
    session: Session, scope: str | Sequence[str], column: str = "e.filed_town_code"
) -> tuple[str, dict[str, str]]:
    """A SQL condition on ``column`` naming the filed towns of ``scope`` (:func:`filed_towns`;
    several prefixes: every one's), with its parameters (``:filed_town_0``, …); ``("true",
    {})`` when a prefix is wider than a town (or none is given). ``column`` is the caller's
    SQL, never user input."""
    found: set[str] = set()
    for prefix in [scope] if isinstance(scope, str) else scope:
        one = filed_towns(session, prefix)
        if one is None:
            return "true", {}
        found.update(one)
    if not found:
        return "true", {}
    towns = sorted(found)
    params = {f"filed_town_{k}": town for k, town in enumerate(towns)}
    if len(towns) == 1:  # "= :x": the form Citus routes to one shard
        return f"{column} = :filed_town_0", params
    return f"{column} IN ({', '.join(':' + name for name in params)})", params


def filed_towns_of(session: Session, ids: list[int]) -> list[str] | None:
    """The filed towns of cases ``ids`` (sorted, from the ``event_town`` lookup: on Citus a
    query on the shards of those ids only), for a read of several cases by id to name them
    (``Event.filed_town_code.in_(…)``: the shards of those towns only). None when an id has no
    lookup row (an unknown id, or a case written without the ORM): the read then names no town.
    """
    from layers.events.event_town import EventTown

    wanted = set(ids)
    if not wanted:
        return None
    rows = session.execute(
        select(EventTown.event_id, EventTown.filed_town_code).where(
            EventTown.event_id.in_(sorted(wanted))
        )
    ).all()
    if len(rows) < len(wanted):
        return None
    return sorted({town for _id, town in rows})
