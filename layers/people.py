"""Staff (一长五员), teams and devices: the shared core other layers anchor people to.

People are assigned to grids by *code* (codes outlive generations) and by role, with the dates
the assignment holds. Devices (phones) belong to a person and authenticate with their own
secret (only its SHA-256 is stored, as for API tokens).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    func,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column

from layers.db import Base


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class StaffRole(enum.StrEnum):
    """The roles of a grid's team (DOMAIN.md section 2)."""

    GRID_CHIEF = "grid_chief"  # 网格长
    GRID_WORKER = "grid_worker"  # 网格员
    PATROLLER = "patroller"  # 巡查员
    SUPERVISOR = "supervisor"  # 督查员
    INFORMANT = "informant"  # 信息员
    LIAISON = "liaison"  # 联络员


class TeamKind(enum.StrEnum):
    CITY_TEAM = "city_team"  # one of the 7 city-level comprehensive enforcement teams
    TOWN_SQUAD = "town_squad"  # a town enforcement bureau's squad (中队), serving one zone


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    town_code: Mapped[str | None] = mapped_column(String(9))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GridAssignment(Base):
    """A person holds ``role`` in the grid ``grid_code`` from ``valid_from`` to ``valid_to``."""

    __tablename__ = "grid_assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole, "staff_role"))
    valid_from: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("person_id", "grid_code", "role", "valid_from", name="assignment_unique"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="assignment_dates"),
        CheckConstraint("grid_code ~ '^[0-9]{9}([0-9]{3}){0,2}$'", name="assignment_code_form"),
    )


def assignment_in_force(on: Any) -> ColumnElement[bool]:
    """The one rule of "an assignment in force on day ``on``" (a date, or an SQL date
    expression such as ``func.current_date()``): it began on or before that day and has not
    ended before it (``valid_to`` is the last day held, inclusive; NULL: open-ended)."""
    return and_(
        GridAssignment.valid_from <= on,
        or_(GridAssignment.valid_to.is_(None), GridAssignment.valid_to >= on),
    )


def assignment_in_force_sql(alias: str = "a", on: str = ":on") -> str:
    """:func:`assignment_in_force` for hand-written SQL: the condition on the table alias
    ``alias`` for the day ``on`` (a bind parameter such as ``:on``, or ``current_date``)."""
    a = alias
    return f"({a}.valid_from <= {on} AND ({a}.valid_to IS NULL OR {a}.valid_to >= {on}))"


CURRENT_ASSIGNMENT_JOIN = (
    "LEFT JOIN LATERAL (\n"
    "    SELECT a.role::text AS role, a.grid_code FROM grid_assignment a\n"
    f"    WHERE a.person_id = p.id AND {assignment_in_force_sql('a', 'current_date')}\n"
    "    ORDER BY a.valid_from, a.grid_code LIMIT 1\n"
    ") ga ON TRUE\n"
    "LEFT JOIN grid g ON g.generation_id = :gen AND g.code = ga.grid_code"
)
"""SQL joins for a person ``p``: ``ga`` (role, grid_code) their first assignment in force today
(the earliest begun, then the lowest code) and ``g`` that grid in generation ``:gen`` (both
NULL when none): the role and grid a person is shown with in searches and pickers."""


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[TeamKind] = mapped_column(_enum(TeamKind, "team_kind"))
    town_code: Mapped[str | None] = mapped_column(String(9))

    __table_args__ = (
        CheckConstraint(
            "(kind = 'town_squad') = (town_code IS NOT NULL)", name="team_squad_has_town"
        ),
    )


class TeamMember(Base):
    __tablename__ = "team_member"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    leader: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Device(Base):
    """A phone (or other tracker) that sends fixes; ``external_id`` is what the client sends
    (Traccar's ``id``, OwnTracks' user/device), the secret authenticates it."""

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    label: Mapped[str | None] = mapped_column(String(200))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # unit of the OsmAnd-protocol ``speed`` this device sends: kn | mps | kmh (migration 0008)
    speed_unit: Mapped[str] = mapped_column(String(4), default="kn", server_default="kn")

    __table_args__ = (Index("device_person_active", "person_id", "active"),)
