"""Tables of the event workflow. Points are CGCS2000 (EPSG:4490).

The log (``event_log``) is append-only: a trigger created by migration 0003_events refuses
UPDATE, DELETE and TRUNCATE on it, so even a buggy or malicious caller cannot rewrite history.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Connection,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from gis.crs import SRID_CGCS2000
from layers import models as _models  # noqa: F401  (events reference generation)
from layers import people as _people  # noqa: F401  (events reference person and team)
from layers.db import Base
from layers.events.event_town import EventTown


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class LimitUnit(enum.StrEnum):
    WORK_HOURS = "work_hours"
    WORK_DAYS = "work_days"


class EventSource(enum.StrEnum):
    PATROL = "patrol"  # grid worker / patroller on patrol (the main source)
    INFORMANT = "informant"  # 信息员
    HOTLINE = "hotline"  # 12345
    PUBLIC = "public"  # citizens (Open311 apps)
    CENTRE = "centre"  # the command centre itself (video, supervision)


class EventStatus(enum.StrEnum):
    REPORTED = "reported"
    ACCEPTED = "accepted"  # 立案
    REJECTED = "rejected"  # 不予立案
    DISPATCHED = "dispatched"
    IN_HANDLING = "in_handling"
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请
    HANDLED = "handled"  # 处理反馈
    VERIFIED = "verified"
    CLOSED = "closed"
    RETURNED = "returned"  # 回退 to the centre
    PARKED = "parked"  # 挂账
    REWORK = "rework"  # 返工


class EventClass(Base):
    __tablename__ = "event_class"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))  # migration 0022
    kind: Mapped[str] = mapped_column(String(20), server_default="event")  # event | component
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{2}$'", name="event_class_code_form"),)


class EventSubclass(Base):
    __tablename__ = "event_subclass"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    class_code: Mapped[str] = mapped_column(
        ForeignKey("event_class.code", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))  # migration 0022
    accept_rule: Mapped[str] = mapped_column(Text)
    limit_value: Mapped[float] = mapped_column(Double)
    limit_unit: Mapped[LimitUnit] = mapped_column(_enum(LimitUnit, "limit_unit"))
    close_rule: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(server_default="true")

    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{4}$'", name="event_subclass_code_form"),
        CheckConstraint("left(code, 2) = class_code", name="event_subclass_in_class"),
        CheckConstraint("limit_value > 0", name="event_subclass_limit_positive"),
    )


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[EventSource] = mapped_column(_enum(EventSource, "event_source"))
    subclass_code: Mapped[str] = mapped_column(ForeignKey("event_subclass.code"), index=True)
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID_CGCS2000, spatial_index=False))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reporter_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    # The device's position accuracy (m, 68 % radius) when the point came from its GPS; NULL when
    # picked on a map or not given (migration 0021)
    location_accuracy_m: Mapped[float | None] = mapped_column(Double)
    # Routing (stored; a dispatcher may change it with a logged reason)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id"))
    grid_code: Mapped[str] = mapped_column(String(15))
    village_code: Mapped[str] = mapped_column(String(12))
    town_code: Mapped[str] = mapped_column(String(9))
    # The town of the grid the case was filed in; never changes (a reroute changes town_code).
    # The case's log, photos and Open311 request carry it too: on Citus the four tables are
    # distributed by it (migration 0026, layers/citus.py). Set from town_code when not given.
    filed_town_code: Mapped[str] = mapped_column(String(9))
    chief_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    worker_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    zone_id: Mapped[int | None] = mapped_column(Integer)
    squad_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    department: Mapped[str] = mapped_column(String(100))
    # Workflow
    status: Mapped[EventStatus] = mapped_column(_enum(EventStatus, "event_status"))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rework_count: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    extension_count: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closure_work_h: Mapped[float | None] = mapped_column(Double)
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __table_args__ = (
        Index("event_geom_gist", "geom", postgresql_using="gist"),
        Index("event_reported_at", "reported_at"),
        Index("event_grid_reported", "grid_code", "reported_at"),
        Index(
            "event_open_deadline",
            "deadline_at",
            postgresql_where=text(
                "status IN ('dispatched','in_handling','extension_requested','rework')"
            ),
        ),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="event_closed_iff"),
        CheckConstraint(
            "location_accuracy_m IS NULL OR location_accuracy_m >= 0",
            name="event_location_accuracy_m_positive",
        ),
        CheckConstraint(
            "closed_at IS NULL OR (handled_at IS NOT NULL AND accepted_at IS NOT NULL)",
            name="event_closed_after_handling",
        ),
        CheckConstraint(
            "status IN ('reported','rejected') OR accepted_at IS NOT NULL",
            name="event_accepted_before_work",
        ),
    )
    # The ORM knows a case by (id, filed town): its UPDATEs and DELETEs name the filed town,
    # which routes them to the case's shard on Citus (layers/citus.py). The table's primary
    # key stays ``id`` (single-node; Citus's holds both). Read a case by id with
    # :func:`event_by_id`, not ``session.get(Event, id)``.
    __mapper_args__ = {"primary_key": [id, filed_town_code]}  # noqa: RUF012


class EventLog(Base):
    """One row per transition (or routing change, escalation): append-only."""

    __tablename__ = "event_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor_token_id: Mapped[int | None] = mapped_column(Integer)
    actor_person_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[int]] = mapped_column(JSONB, server_default="[]")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    filed_town_code: Mapped[str] = mapped_column(String(9))  # the event's (migration 0026)


class EventPhoto(Base):
    """A photo stored in the database, so it is written in the same transaction as its event."""

    __tablename__ = "event_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="RESTRICT"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width_px: Mapped[int] = mapped_column(Integer)
    height_px: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    filed_town_code: Mapped[str] = mapped_column(String(9))  # the event's (migration 0026)


def _event_town(row: Any, connection: Connection) -> str | None:
    """The filed town of ``row.event_id``'s case: from the row's session when it holds the case
    (no query), else read from ``event_town`` (on Citus a query routed to one shard) or, for a
    case written without its lookup row, from ``event``."""
    session = object_session(row)
    if session is not None:
        for held in session.identity_map.values():
            if isinstance(held, Event) and held.id == row.event_id and held.filed_town_code:
                return str(held.filed_town_code)
    value = connection.scalar(
        select(EventTown.filed_town_code).where(EventTown.event_id == row.event_id)
    )
    if value is None:
        value = connection.scalar(select(Event.filed_town_code).where(Event.id == row.event_id))
    return None if value is None else str(value)


@listens_for(Event, "before_insert")
def _filed_town_of_event(_mapper: Any, _connection: Connection, event: Event) -> None:
    """A new case lives with the town it is filed in (its ``town_code``) unless told otherwise."""
    if not event.filed_town_code:
        event.filed_town_code = event.town_code


def _filed_town_of_row(_mapper: Any, connection: Connection, row: Any) -> None:
    """A case's log entry, photo or Open311 request carries the case's filed town, so that
    every writer (workflow, intake, Open311, tests) need not pass it."""
    if not row.filed_town_code:
        row.filed_town_code = _event_town(row, connection)


def fill_filed_town(cls: type) -> None:
    """Give ``cls`` (a table with ``event_id`` and ``filed_town_code``) its case's filed town
    on insert through the ORM."""
    listens_for(cls, "before_insert")(_filed_town_of_row)


fill_filed_town(EventLog)
fill_filed_town(EventPhoto)


@listens_for(Event, "after_insert")
def _remember_filed_town(_mapper: Any, connection: Connection, event: Event) -> None:
    """Every new case gets its ``event_town`` row (id → filed town), in the same transaction."""
    connection.execute(
        insert(EventTown).values(event_id=event.id, filed_town_code=event.filed_town_code)
    )


def filed_town_of(session: Session, event_id: int) -> str | None:
    """The filed town of case ``event_id`` (None: no such case), from ``event_town``: on Citus
    a query routed to one shard. A case written without the ORM and without its lookup row is
    found by asking ``event`` itself (on Citus every shard)."""
    town = session.scalar(select(EventTown.filed_town_code).where(EventTown.event_id == event_id))
    if town is None:
        town = session.scalar(select(Event.filed_town_code).where(Event.id == event_id))
    return None if town is None else str(town)


def event_by_id(session: Session, event_id: int, *, lock: bool = False) -> Event | None:
    """Case ``event_id`` (None if there is none), read by id and filed town: on Citus two
    queries routed to one shard each (the ``event_town`` lookup, then the case on its shard).

    ``lock``: ``SELECT … FOR UPDATE``; Citus locks rows only in a query routed to one shard,
    which naming the filed town makes it. On single-node PostGIS the extra condition changes
    nothing.
    """
    town = filed_town_of(session, event_id)
    if town is None:
        return None
    stmt = select(Event).where(Event.id == event_id, Event.filed_town_code == town)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def locked_event(session: Session, event_id: int) -> Event | None:
    """Case ``event_id`` locked for update (``SELECT … FOR UPDATE``), None if there is none:
    :func:`event_by_id` with ``lock``."""
    return event_by_id(session, event_id, lock=True)


def case_log(session: Session, event: Event) -> list[EventLog]:
    """The log of ``event`` in order (its timeline), read on the case's shard."""
    return list(
        session.scalars(
            select(EventLog)
            .where(
                EventLog.event_id == event.id,
                EventLog.filed_town_code == event.filed_town_code,
            )
            .order_by(EventLog.id)
        )
    )


def case_photo_rows(session: Session, event: Event) -> list[Any]:
    """Id, filename, media type and size (bytes) of the photos of ``event`` in order, read on
    the case's shard (no image bytes)."""
    return list(
        session.execute(
            select(EventPhoto.id, EventPhoto.filename, EventPhoto.media_type, EventPhoto.size_bytes)
            .where(
                EventPhoto.event_id == event.id,
                EventPhoto.filed_town_code == event.filed_town_code,
            )
            .order_by(EventPhoto.id)
        )
    )


def case_photo(session: Session, event: Event, photo_id: int) -> EventPhoto | None:
    """Photo ``photo_id`` of ``event`` (None if it is not one of its photos), read on the
    case's shard."""
    return session.scalar(
        select(EventPhoto).where(
            EventPhoto.id == photo_id,
            EventPhoto.event_id == event.id,
            EventPhoto.filed_town_code == event.filed_town_code,
        )
    )


# the cases' town → filed towns list, kept by listeners on Event (needs Event defined above)
from layers.events import town_guests as _town_guests  # noqa: E402, F401
