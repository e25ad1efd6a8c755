"""Tables of the grid backbone and of access control.

Geometries are stored in CGCS2000 geographic (EPSG:4490). Areas are computed once, at load
time, in the configured metric CRS (EPSG:4549 by default) and stored in ``area_m2``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gis.crs import SRID_CGCS2000
from layers import people as _people  # noqa: F401  (api_token references person)
from layers.db import Base


class GenerationStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"
    SUBMITTED = "submitted"  # a planner asks for review (layers.planning.review)
    APPROVED = "approved"  # reviewed; published now or at ``effective_at``


class Role(enum.StrEnum):
    VIEWER = "viewer"
    DISPATCHER = "dispatcher"
    OFFICER = "officer"
    PLANNER = "planner"
    ADMIN = "admin"


class Generation(Base):
    """A complete snapshot of all three grid levels. Exactly one is active at a time.

    ``activated_at``/``retired_at`` bound the period in which it was the city's grid, so "which
    grid was this point in on date D" picks the generation with activated_at <= D < retired_at.
    """

    __tablename__ = "generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[GenerationStatus] = mapped_column(
        Enum(
            GenerationStatus,
            name="generation_status",
            values_callable=lambda e: [m.value for m in e],
        ),
        default=GenerationStatus.DRAFT,
    )
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # planners' review (migration 0009_planning_review, layers.planning)
    effective_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When an approved generation takes effect (scheduled publication); None: not scheduled."""
    created_from: Mapped[int | None] = mapped_column(
        ForeignKey("generation.id", ondelete="SET NULL", name="generation_created_from_fk")
    )
    created_by: Mapped[str | None] = mapped_column(String(200))
    owner_scope: Mapped[str | None] = mapped_column(String(40))
    """The scope of the planner who made the draft (migration 0030_draft_scope,
    layers/planning/scope.py): ``city``, ``town:CODE``, ``village:CODE``, ``user:ID``; None:
    the city's."""
    version: Mapped[int] = mapped_column(Integer, server_default="1", default=1)
    """Optimistic locking of a draft's metadata and review state (If-Match / ``version``)."""
    content_version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """Raised by the database on every write to this generation's grids (migration 0012):
    caches of a generation's content (tiles, locators) are keyed by it."""

    __table_args__ = (
        # At most one active generation; the publish operation keeps it exactly one.
        Index(
            "generation_one_active",
            "status",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        CheckConstraint(
            "(status IN ('active', 'retired')) = (activated_at IS NOT NULL)",
            name="generation_activated_iff_published",
        ),
        CheckConstraint(
            "(status = 'retired') = (retired_at IS NOT NULL)",
            name="generation_retired_iff_retired_at",
        ),
    )


class Grid(Base):
    """One grid polygon of one level in one generation."""

    __tablename__ = "grid"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(SmallInteger)
    code: Mapped[str] = mapped_column(String(15))
    parent_code: Mapped[str | None] = mapped_column(String(15))
    name: Mapped[str] = mapped_column(String(200))
    geom: Mapped[object] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID_CGCS2000, spatial_index=False)
    )
    area_m2: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        UniqueConstraint("generation_id", "code", name="grid_code_unique_per_generation"),
        # The parent must exist in the same generation (checked at commit, so load order is free).
        ForeignKeyConstraint(
            ["generation_id", "parent_code"],
            ["grid.generation_id", "grid.code"],
            name="grid_parent_exists",
            deferrable=True,
            initially="DEFERRED",
            ondelete="CASCADE",
        ),
        CheckConstraint("level IN (1, 2, 3)", name="grid_level_valid"),
        CheckConstraint("code ~ '^[0-9]+$'", name="grid_code_digits"),
        CheckConstraint("length(code) = 6 + 3 * level", name="grid_code_length_matches_level"),
        CheckConstraint(
            "(level = 1 AND parent_code IS NULL) OR "
            "(level > 1 AND parent_code = left(code, length(code) - 3))",
            name="grid_code_prefixed_by_parent",
        ),
        CheckConstraint("ST_IsValid(geom)", name="grid_geom_valid"),
        Index("grid_geom_gist", "geom", postgresql_using="gist"),
        Index("grid_generation_level", "generation_id", "level"),
    )


class GridPart(Base):
    """L3 grids cut into small pieces (ST_Subdivide) so that PostGIS point lookups touch few
    vertices; as mapit does. Derived from ``grid`` at load time, never edited."""

    __tablename__ = "grid_part"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(15))
    geom: Mapped[object] = mapped_column(
        Geometry("POLYGON", srid=SRID_CGCS2000, spatial_index=False)
    )

    __table_args__ = (Index("grid_part_geom_gist", "geom", postgresql_using="gist"),)


class ApiToken(Base):
    """An API token. Only its SHA-256 is stored: tokens are 256-bit random strings, so a fast
    hash is safe (no dictionary to attack) and lets every request be checked in microseconds."""

    __tablename__ = "api_token"
    __table_args__ = (Index("api_token_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="api_role", values_callable=lambda e: [m.value for m in e])
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    """The staff member this token speaks for (officers, grid workers); None for services."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The account it belongs to (layers/accounts.py, imported at the end of this module so the
    # foreign key resolves). None: an old token, whose role and person are its own.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Updated at most once a minute (layers.auth.TOUCH_EVERY_S)."""


# api_token.user_id references app_user (layers/accounts.py imports this module for Role and
# ApiToken, which are defined by now)
from layers import accounts as _accounts  # noqa: E402, F401
