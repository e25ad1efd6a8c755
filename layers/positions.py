"""Fixes (GPS positions) of devices: one row per (device, fix time), partitioned by month.

Writing: a batch is COPYed into a per-connection temporary staging table, then moved with one
``INSERT … SELECT … ON CONFLICT DO NOTHING``; the primary key (device_id, fix_time) makes a
resent fix a no-op, and the row count says how many were new. Monthly partitions are created
on demand before the insert (in their own short transaction, under an advisory lock, so two
requests never race to create the same one).

Reading: by device and time range, which the primary key index of each partition serves.
Coordinates are stored CGCS2000 (``lon``, ``lat``) with the raw values and their datum.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import (
    REAL,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from layers.db import Base

PARTITION_LOCK_KEY = 0x6772_6964_706F  # advisory lock id for partition DDL ("gridpo")

SOURCES = ("osmand", "osmand_json", "owntracks", "batch", "gpx")
DATUM_CODES = {"cgcs2000": 0, "wgs84": 1, "gcj02": 2, "bd09": 3}


class Position(Base):
    """One fix. ``lon``/``lat`` CGCS2000 degrees; ``raw_lon``/``raw_lat`` as sent, in ``datum``."""

    __tablename__ = "position"

    device_id: Mapped[int] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    fix_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    server_time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    lon: Mapped[float] = mapped_column(Double)
    lat: Mapped[float] = mapped_column(Double)
    raw_lon: Mapped[float] = mapped_column(Double)
    raw_lat: Mapped[float] = mapped_column(Double)
    datum: Mapped[str] = mapped_column(String(8))
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    speed_mps: Mapped[float | None] = mapped_column(REAL)
    course_deg: Mapped[float | None] = mapped_column(REAL)
    altitude_m: Mapped[float | None] = mapped_column(REAL)
    battery_pct: Mapped[float | None] = mapped_column(REAL)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    flags: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    seq: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(12))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (
        Index("position_fix_time", "fix_time"),  # live view and time-window scans
        {"postgresql_partition_by": "RANGE (fix_time)"},
    )


COLUMNS = (
    "device_id", "fix_time", "server_time", "lon", "lat", "raw_lon", "raw_lat", "datum",
    "accuracy_m", "speed_mps", "course_deg", "altitude_m", "battery_pct", "grid_code", "flags",
    "seq", "source", "attributes",
)  # fmt: skip


@dataclass
class FixRows:
    """Columns of fixes ready to store (one device or several), all of equal length."""

    device_id: np.ndarray
    fix_time: list[datetime]
    lon: np.ndarray
    lat: np.ndarray
    raw_lon: np.ndarray
    raw_lat: np.ndarray
    datum: list[str]
    accuracy_m: np.ndarray
    speed_mps: np.ndarray
    course_deg: np.ndarray
    altitude_m: np.ndarray
    battery_pct: np.ndarray
    grid_code: Sequence[str | None]
    flags: np.ndarray
    seq: Sequence[int | None]
    source: str
    attributes: Sequence[dict[str, Any] | None]

    def __len__(self) -> int:
        return len(self.fix_time)


def _month_start(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def _next_month(t: datetime) -> datetime:
    return datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"position_y{month.year:04d}m{month.month:02d}"


class PartitionKeeper:
    """Creates monthly partitions on demand and remembers (per process) which exist."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, *, engine: Engine, times: Iterable[datetime]) -> None:
        months = {_month_start(t.astimezone(UTC)) for t in times}
        missing = [m for m in months if partition_name(m) not in self._known]
        if not missing:
            return
        with self._lock, engine.begin() as conn:
            # DDL in its own short transaction, serialised across processes by an advisory
            # lock; the request's own transaction then only inserts.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PARTITION_LOCK_KEY})
            for month in sorted(missing):
                name = partition_name(month)
                # Partition bounds must be literals in DDL; both come from datetimes we built.
                conn.exec_driver_sql(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF position FOR VALUES "
                    f"FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')"
                )
                self._known.add(name)

    def forget(self) -> None:
        """Drop the memory (tests that drop partitions call this)."""
        self._known.clear()


PARTITIONS = PartitionKeeper()
"""The process-wide partition keeper."""


def _num(value: float) -> float | None:
    return None if value != value else float(value)  # NaN -> NULL


STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS position_staging "
    "(LIKE position INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)


def store_fixes(*, session: Session, rows: FixRows, received_at: datetime) -> int:
    """Store fixes; a fix already stored (same device and fix time) is skipped.

    Returns the number of fixes newly stored (the others were duplicates). The caller must
    have created the partitions (:data:`PARTITIONS`) and owns the transaction.
    """
    if len(rows) == 0:
        return 0
    raw = session.connection().connection.driver_connection
    columns = ", ".join(COLUMNS)
    if len(rows) == 1:
        # one fix (a Traccar/OsmAnd request): one statement instead of the staging round trips
        attrs = rows.attributes[0]
        values = (
            int(rows.device_id[0]), rows.fix_time[0], received_at,
            float(rows.lon[0]), float(rows.lat[0]), float(rows.raw_lon[0]), float(rows.raw_lat[0]),
            rows.datum[0], _num(rows.accuracy_m[0]), _num(rows.speed_mps[0]),
            _num(rows.course_deg[0]), _num(rows.altitude_m[0]), _num(rows.battery_pct[0]),
            rows.grid_code[0], int(rows.flags[0]), rows.seq[0], rows.source,
            orjson.dumps(attrs).decode() if attrs else None,
        )  # fmt: skip
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(
                f"INSERT INTO position ({columns}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
                "ON CONFLICT (device_id, fix_time) DO NOTHING",
                values,
            )
            return int(cursor.rowcount)
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(STAGING_DDL)
        with cursor.copy(f"COPY position_staging ({columns}) FROM STDIN") as copy:
            for i in range(len(rows)):
                attrs = rows.attributes[i]
                copy.write_row(
                    (
                        int(rows.device_id[i]), rows.fix_time[i], received_at,
                        float(rows.lon[i]), float(rows.lat[i]),
                        float(rows.raw_lon[i]), float(rows.raw_lat[i]), rows.datum[i],
                        _num(rows.accuracy_m[i]), _num(rows.speed_mps[i]),
                        _num(rows.course_deg[i]), _num(rows.altitude_m[i]),
                        _num(rows.battery_pct[i]), rows.grid_code[i], int(rows.flags[i]),
                        rows.seq[i], rows.source,
                        orjson.dumps(attrs).decode() if attrs else None,
                    )
                )  # fmt: skip
        # The primary key decides what is new; duplicates inside the batch are skipped too.
        cursor.execute(
            f"INSERT INTO position ({columns}) SELECT {columns} FROM position_staging "
            "ON CONFLICT (device_id, fix_time) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE position_staging")
    return int(inserted)


def previous_fix(
    *, session: Session, device_id: int, before: datetime, unusable_flags: int
) -> tuple[datetime, float, float] | None:
    """The last usable stored fix of a device strictly before ``before`` (for jump checks)."""
    row = session.execute(
        text(
            "SELECT fix_time, lon, lat FROM position WHERE device_id = :d AND fix_time < :t "
            "AND flags & :bad = 0 ORDER BY fix_time DESC LIMIT 1"
        ),
        {"d": device_id, "t": before, "bad": unusable_flags},
    ).first()
    return None if row is None else (row[0], float(row[1]), float(row[2]))


@dataclass(frozen=True)
class TrackFixes:
    """A device's fixes in a time range as arrays (sorted by time)."""

    t_s: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    grid_code: list[str | None]
    flags: np.ndarray
    speed_mps: np.ndarray


def read_track(
    *, session: Session, device_id: int, start: datetime, end: datetime, exclude_flags: int
) -> TrackFixes:
    """Fixes of ``device_id`` with ``start <= fix_time < end`` and none of ``exclude_flags``."""
    result = session.execute(
        text(
            "SELECT extract(epoch FROM fix_time)::float8, lon, lat, grid_code, flags, speed_mps "
            "FROM position WHERE device_id = :d AND fix_time >= :a AND fix_time < :b "
            "AND flags & :bad = 0 ORDER BY fix_time"
        ),
        {"d": device_id, "a": start, "b": end, "bad": exclude_flags},
    ).all()
    if not result:
        empty = np.empty(0)
        return TrackFixes(empty, empty, empty, [], np.empty(0, dtype=np.int16), empty)
    cols = list(zip(*result, strict=True))
    return TrackFixes(
        t_s=np.asarray(cols[0], dtype=np.float64),
        lon=np.asarray(cols[1], dtype=np.float64),
        lat=np.asarray(cols[2], dtype=np.float64),
        grid_code=list(cols[3]),
        flags=np.asarray(cols[4], dtype=np.int16),
        speed_mps=np.asarray([np.nan if v is None else v for v in cols[5]], dtype=np.float64),
    )


def latest_fixes(*, session: Session, exclude_flags: int) -> list[dict[str, Any]]:
    """The last usable fix of every active device, with its person (if any)."""
    # LATERAL: one index probe (device_id, fix_time DESC) per device instead of a scan.
    rows = session.execute(
        text(
            "SELECT d.id, d.external_id, d.label, d.person_id, p.name, "
            "  (SELECT ga.role::text FROM grid_assignment ga WHERE ga.person_id = p.id "
            "   AND (ga.valid_to IS NULL OR ga.valid_to >= current_date) "
            "   ORDER BY ga.valid_from LIMIT 1) AS role, "
            "  f.fix_time, f.server_time, f.lon, f.lat, f.grid_code, f.speed_mps, "
            "  f.accuracy_m, f.battery_pct, f.flags "
            "FROM device d LEFT JOIN person p ON p.id = d.person_id "
            "JOIN LATERAL (SELECT * FROM position pos WHERE pos.device_id = d.id "
            "  AND pos.flags & :bad = 0 ORDER BY pos.fix_time DESC LIMIT 1) f ON true "
            "WHERE d.active ORDER BY d.id"
        ),
        {"bad": exclude_flags},
    ).mappings()
    return [dict(r) for r in rows]


def count_fixes(*, session: Session, device_id: int | None = None) -> int:
    sql = "SELECT count(*) FROM position"
    if device_id is not None:
        sql += " WHERE device_id = :d"
    return int(session.execute(text(sql), {"d": device_id}).scalar_one())


__all__ = [
    "COLUMNS",
    "PARTITIONS",
    "FixRows",
    "Position",
    "TrackFixes",
    "count_fixes",
    "latest_fixes",
    "previous_fix",
    "read_track",
    "store_fixes",
]
