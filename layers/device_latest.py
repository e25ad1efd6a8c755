"""The latest usable fix of each device, kept by the database at every insert.

A statement trigger on ``position`` (migration 0023, every ingest path) upserts the newest fix
of each device without an unusable flag (:data:`gis.tracks.UNUSABLE`) when it is newer than the
stored one: a late fix (a phone's backlog) never replaces it; a fix corrected or deleted makes
the device's row looked up again. Latest positions (``layers.positions.latest_fixes``), the
dashboard's patrols panel and the single-fix ingest's jump check read one row per device here
instead of probing ``position`` per device with ``LATERAL … LIMIT 1`` (which Citus cannot run;
on Citus this table is distributed by device, co-located with ``position``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import REAL, DateTime, Double, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from layers.db import Base

LATEST_UNUSABLE = 38
"""The flags the trigger leaves out (written as a number in its SQL); equals
``gis.tracks.UNUSABLE`` (a test checks it)."""


class DeviceLatest(Base):
    """A device's latest usable fix (CGCS2000 ``lon``/``lat``, as in ``position``)."""

    __tablename__ = "device_latest"

    device_id: Mapped[int] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    fix_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    server_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lon: Mapped[float] = mapped_column(Double)
    lat: Mapped[float] = mapped_column(Double)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    speed_mps: Mapped[float | None] = mapped_column(REAL)
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    battery_pct: Mapped[float | None] = mapped_column(REAL)
    flags: Mapped[int] = mapped_column(SmallInteger)
