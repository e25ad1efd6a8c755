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

import struct
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import orjson
import psycopg
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
from layers.people import assignment_in_force_sql

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

# -- binary COPY, built column-wise with numpy ---------------------------------------------------
# PostgreSQL's binary COPY: a header, then per row an int16 field count and per field an int32
# length (-1 for NULL) and the value in network byte order; a trailer of int16 -1. Rows that
# share a "shape" (which fields are NULL, the text lengths) have one fixed layout, so each shape
# is one numpy structured array filled column by column: no per-row Python for a batch.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC, in microseconds since 1970
REAL_COLUMNS = ("accuracy_m", "speed_mps", "course_deg", "altitude_m", "battery_pct")


def _epoch_us(t: datetime) -> int:
    return (t - _UNIX_EPOCH) // _ONE_US


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def _row_binary(rows: FixRows, i: int, t_us: int, received_us: int) -> bytes:
    """One row in binary COPY format (rows with attributes, or any row the fast path skips)."""
    out = [struct.pack("!hiiiqiq", len(COLUMNS), 4, int(rows.device_id[i]), 8,
                       t_us - PG_EPOCH_US, 8, received_us - PG_EPOCH_US)]  # fmt: skip
    out.append(struct.pack("!idididid", 8, float(rows.lon[i]), 8, float(rows.lat[i]),
                           8, float(rows.raw_lon[i]), 8, float(rows.raw_lat[i])))  # fmt: skip

    def text_field(value: str | None) -> None:
        if value is None:
            out.append(b"\xff\xff\xff\xff")
        else:
            data = value.encode("utf-8")
            out.append(struct.pack("!i", len(data)) + data)

    text_field(rows.datum[i])
    for name in REAL_COLUMNS:
        v = float(getattr(rows, name)[i])
        out.append(b"\xff\xff\xff\xff" if v != v else struct.pack("!if", 4, v))
    text_field(rows.grid_code[i])
    out.append(struct.pack("!ih", 2, int(rows.flags[i])))
    seq = rows.seq[i]
    out.append(b"\xff\xff\xff\xff" if seq is None else struct.pack("!iq", 8, int(seq)))
    text_field(rows.source)
    attrs = rows.attributes[i]
    if attrs:
        data = b"\x01" + orjson.dumps(attrs)  # jsonb binary: version 1, then the JSON text
        out.append(struct.pack("!i", len(data)) + data)
    else:
        out.append(b"\xff\xff\xff\xff")
    return b"".join(out)


def _field(
    fields: list[tuple[str, str]],
    values: dict[str, Any],
    name: str,
    dtype: str,
    size: int,
    data: Any,
    null: bool = False,
) -> None:
    """One column of a binary COPY block: its int32 length, then the value unless NULL."""
    fields.append((f"l_{name}", ">i4"))
    values[f"l_{name}"] = -1 if null else size
    if not null:
        fields.append((name, dtype))
        values[name] = data


def copy_binary(rows: FixRows, t_us: np.ndarray, received_at: datetime) -> bytes:
    """The rows as a binary COPY stream of :data:`COLUMNS` (NaN becomes NULL)."""
    n = len(rows)
    received_us = _epoch_us(received_at)
    reals = [np.asarray(getattr(rows, name), dtype=np.float64) for name in REAL_COLUMNS]
    null_bits = np.zeros(n, dtype=np.int64)
    for bit, real in enumerate(reals):
        null_bits |= np.isnan(real).astype(np.int64) << bit
    datum_b = [d.encode() for d in rows.datum]
    grid_b = [None if g is None else g.encode() for g in rows.grid_code]
    seq_null = np.fromiter((s is None for s in rows.seq), dtype=bool, count=n)
    odd = np.fromiter((bool(a) for a in rows.attributes), dtype=bool, count=n)
    shape = (
        null_bits
        | (seq_null.astype(np.int64) << 5)
        | (np.fromiter((len(d) for d in datum_b), dtype=np.int64, count=n) << 6)
        | (np.fromiter((-1 if g is None else len(g) for g in grid_b), np.int64, n) + 1) << 16
    )
    source_b = rows.source.encode()
    parts = [COPY_HEADER]
    for i in np.flatnonzero(odd).tolist():
        parts.append(_row_binary(rows, i, int(t_us[i]), received_us))
    keys, inverse = np.unique(shape[~odd], return_inverse=True)
    plain = np.flatnonzero(~odd)
    for k, key in enumerate(keys.tolist()):
        idx = plain[inverse.ravel() == k]
        first = int(idx[0])
        dlen, glen = len(datum_b[first]), (key >> 16) - 1
        fields: list[tuple[str, str]] = [("n", ">i2")]
        values: dict[str, Any] = {"n": len(COLUMNS)}

        col = partial(_field, fields, values)
        col("device_id", ">i4", 4, rows.device_id[idx])
        col("fix_time", ">i8", 8, t_us[idx] - PG_EPOCH_US)
        col("server_time", ">i8", 8, received_us - PG_EPOCH_US)
        col("lon", ">f8", 8, rows.lon[idx])
        col("lat", ">f8", 8, rows.lat[idx])
        col("raw_lon", ">f8", 8, rows.raw_lon[idx])
        col("raw_lat", ">f8", 8, rows.raw_lat[idx])
        col("datum", f"S{dlen}", dlen, [datum_b[i] for i in idx.tolist()])
        for bit, (name, values_f) in enumerate(zip(REAL_COLUMNS, reals, strict=True)):
            col(name, ">f4", 4, values_f[idx], null=bool(key >> bit & 1))
        col("grid_code", f"S{max(glen, 1)}", glen, [grid_b[i] for i in idx.tolist()],
            null=glen < 0)  # fmt: skip
        col("flags", ">i2", 2, rows.flags[idx])
        col("seq", ">i8", 8, [rows.seq[i] for i in idx.tolist()], null=bool(key >> 5 & 1))
        col("source", f"S{len(source_b)}", len(source_b), source_b)
        col("attributes", "V0", -1, None, null=True)
        block = np.empty(len(idx), dtype=np.dtype(fields))
        for name, data in values.items():
            block[name] = data
        parts.append(block.tobytes())
    parts.append(COPY_TRAILER)
    return b"".join(parts)


def fix_times_us(times: Sequence[datetime]) -> np.ndarray:
    """Fix times as integer microseconds since 1970 (exact)."""
    return np.fromiter((_epoch_us(t) for t in times), dtype=np.int64, count=len(times))


def store_fixes(
    *, session: Session, rows: FixRows, received_at: datetime, t_us: np.ndarray | None = None
) -> int:
    """Store fixes; a fix already stored (same device and fix time) is skipped.

    Returns the number of fixes newly stored (the others were duplicates, in the table or
    earlier in ``rows``: the first of equal (device, fix time) is kept). ``t_us`` are the fix
    times in microseconds since 1970 if the caller has them. The caller must have created the
    partitions (:data:`PARTITIONS`) and owns the transaction.
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
            cursor.execute(INSERT_ONE, values)
            return int(cursor.rowcount)
    if t_us is None:
        t_us = fix_times_us(rows.fix_time)
    # Equal (device, fix time) inside the batch: keep the first (the staging order below is by
    # row shape, not input order, so this is decided here).
    pairs = np.rec.fromarrays([np.asarray(rows.device_id, dtype=np.int64), t_us])
    _, first = np.unique(pairs, return_index=True)
    if len(first) != len(rows):
        keep = np.sort(first)
        rows = _take(rows, keep)
        t_us = t_us[keep]
    stream = copy_binary(rows, t_us, received_at)
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(STAGING_DDL)
        with cursor.copy(f"COPY position_staging ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(stream)
        # The primary key decides what is new.
        cursor.execute(
            f"INSERT INTO position ({columns}) SELECT {columns} FROM position_staging "
            "ON CONFLICT (device_id, fix_time) DO NOTHING RETURNING 1"
        )
        # the rows returned are those inserted; without RETURNING, Citus reports the rows it
        # routed to the shards (a repeated batch counted as stored)
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE position_staging")
    return int(inserted)


def _take(rows: FixRows, keep: np.ndarray) -> FixRows:
    ix = keep.tolist()
    return FixRows(
        device_id=np.asarray(rows.device_id)[keep],
        fix_time=[rows.fix_time[i] for i in ix],
        lon=np.asarray(rows.lon)[keep], lat=np.asarray(rows.lat)[keep],
        raw_lon=np.asarray(rows.raw_lon)[keep], raw_lat=np.asarray(rows.raw_lat)[keep],
        datum=[rows.datum[i] for i in ix],
        accuracy_m=np.asarray(rows.accuracy_m)[keep], speed_mps=np.asarray(rows.speed_mps)[keep],
        course_deg=np.asarray(rows.course_deg)[keep],
        altitude_m=np.asarray(rows.altitude_m)[keep],
        battery_pct=np.asarray(rows.battery_pct)[keep],
        grid_code=[rows.grid_code[i] for i in ix],
        flags=np.asarray(rows.flags)[keep],
        seq=[rows.seq[i] for i in ix],
        source=rows.source,
        attributes=[rows.attributes[i] for i in ix],
    )  # fmt: skip


INSERT_ONE = (
    f"INSERT INTO position ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
    "ON CONFLICT (device_id, fix_time) DO NOTHING"
)


@contextmanager
def direct_connection(engine: Engine) -> Iterator[Any]:
    """A pooled psycopg connection in autocommit: each statement is its own transaction,
    committed (WAL flushed, with ``synchronous_commit`` on) before it returns."""
    fairy = engine.raw_connection()
    conn: Any = fairy.driver_connection
    restore = not conn.autocommit
    try:
        if restore:
            conn.autocommit = True
        yield conn
    except psycopg.OperationalError:
        fairy.invalidate()  # a broken connection (server restarted): never reuse it
        raise
    finally:
        if restore and not conn.closed:
            conn.autocommit = False
        fairy.close()


DEVICE_WITH_LATEST = (
    "SELECT d.id, d.secret_hash, d.speed_unit, l.fix_time, l.lon, l.lat FROM device d "
    "LEFT JOIN device_latest l ON l.device_id = d.id "
    "WHERE d.external_id = %(ext)s AND d.active"
)
PREVIOUS_FIX = (
    "SELECT fix_time, lon, lat FROM position WHERE device_id = %(d)s AND fix_time < %(t)s "
    "AND flags & %(bad)s = 0 ORDER BY fix_time DESC LIMIT 1"
)


def device_with_previous_fix(
    conn: Any, *, external_id: str, before: datetime, unusable_flags: int
) -> tuple[int, str | None, tuple[datetime, float, float] | None, str] | None:
    """The active device ``external_id`` (id, secret hash), its last usable fix strictly
    before ``before`` (as :func:`previous_fix`) and its speed unit (``kn``, ``mps``, ``kmh``);
    None if no such device.

    One round trip when the device's latest usable fix (``device_latest``, kept by the
    database) is before ``before``, as for a phone sending live; a fix older than that (a
    backlog) asks ``position`` once more, routed to the device's shard on Citus (the former
    ``LEFT JOIN LATERAL`` from ``device`` ran on PostgreSQL only). ``unusable_flags`` must be
    :data:`layers.device_latest.LATEST_UNUSABLE` for the shortcut to apply.
    """
    from layers.device_latest import LATEST_UNUSABLE

    row = conn.execute(DEVICE_WITH_LATEST, {"ext": external_id}, prepare=True).fetchone()
    if row is None:
        return None
    device_id, secret_hash, unit = int(row[0]), row[1], str(row[2] or "kn")
    if row[3] is None:
        return device_id, secret_hash, None, unit  # never a usable fix
    if row[3] < before and int(unusable_flags) == LATEST_UNUSABLE:
        return device_id, secret_hash, (row[3], float(row[4]), float(row[5])), unit
    found = conn.execute(
        PREVIOUS_FIX, {"d": device_id, "t": before, "bad": int(unusable_flags)}, prepare=True
    ).fetchone()
    prev = None if found is None else (found[0], float(found[1]), float(found[2]))
    return device_id, secret_hash, prev, unit


def fix_values(rows: FixRows, i: int, received_at: datetime) -> tuple[Any, ...]:
    """Fix ``i`` of ``rows`` as the parameters of one row of :data:`COLUMNS` (NaN as NULL)."""
    attrs = rows.attributes[i]
    return (
        int(rows.device_id[i]), rows.fix_time[i], received_at,
        float(rows.lon[i]), float(rows.lat[i]), float(rows.raw_lon[i]), float(rows.raw_lat[i]),
        rows.datum[i], _num(rows.accuracy_m[i]), _num(rows.speed_mps[i]),
        _num(rows.course_deg[i]), _num(rows.altitude_m[i]), _num(rows.battery_pct[i]),
        rows.grid_code[i], int(rows.flags[i]), rows.seq[i], rows.source,
        orjson.dumps(attrs).decode() if attrs else None,
    )  # fmt: skip


def insert_one(conn: Any, *, rows: FixRows, received_at: datetime) -> int:
    """Insert one fix (``rows`` of length 1) on ``conn``; 1 if new, 0 if already stored."""
    values = fix_values(rows, 0, received_at)
    return int(conn.execute(INSERT_ONE, values, prepare=True).rowcount)


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
    """Fixes of ``device_id`` with ``start <= fix_time < end`` and none of ``exclude_flags``,
    from the table and, for archived months, from their GeoParquet files (layers/archive.py)."""
    from layers.archive import read_archived_track

    result = session.execute(
        text(
            "SELECT extract(epoch FROM fix_time)::float8, lon, lat, grid_code, flags, speed_mps "
            "FROM position WHERE device_id = :d AND fix_time >= :a AND fix_time < :b "
            "AND flags & :bad = 0 ORDER BY fix_time"
        ),
        {"d": device_id, "a": start, "b": end, "bad": exclude_flags},
    ).all()
    cols: list[tuple[Any, ...]] = list(zip(*result, strict=True)) if result else [()] * 6
    fixes = TrackFixes(
        t_s=np.asarray(cols[0], dtype=np.float64),
        lon=np.asarray(cols[1], dtype=np.float64),
        lat=np.asarray(cols[2], dtype=np.float64),
        grid_code=list(cols[3]),
        flags=np.asarray(cols[4], dtype=np.int16),
        speed_mps=np.asarray([np.nan if v is None else v for v in cols[5]], dtype=np.float64),
    )
    archived = read_archived_track(session=session, device_id=device_id, start=start, end=end)
    if archived is None:
        return fixes
    keep = (archived["flags"].astype(np.int64) & exclude_flags) == 0
    keep &= ~np.isin(archived["t_s"], fixes.t_s)  # a fix resent after the archive: once
    t_s = np.concatenate([fixes.t_s, archived["t_s"][keep]])
    order = np.argsort(t_s, kind="stable")
    codes = fixes.grid_code + [c for c, k in zip(archived["grid_code"], keep, strict=True) if k]
    return TrackFixes(
        t_s=t_s[order],
        lon=np.concatenate([fixes.lon, archived["lon"][keep]])[order],
        lat=np.concatenate([fixes.lat, archived["lat"][keep]])[order],
        grid_code=[codes[i] for i in order],
        flags=np.concatenate([fixes.flags, archived["flags"][keep]])[order],
        speed_mps=np.concatenate([fixes.speed_mps, archived["speed_mps"][keep]])[order],
    )


def latest_fixes(*, session: Session, exclude_flags: int) -> list[dict[str, Any]]:
    """The last usable fix of every active device, with its person (if any).

    Read from ``device_latest`` (one row per device, kept by the database at every insert;
    the same query on PostgreSQL and Citus), which holds the latest fix without any
    :data:`layers.device_latest.LATEST_UNUSABLE` flag; ``exclude_flags`` may only narrow it.
    """
    rows = session.execute(
        text(
            "SELECT d.id, d.external_id, d.label, d.person_id, p.name, "
            "  (SELECT ga.role::text FROM grid_assignment ga WHERE ga.person_id = p.id "
            f"   AND {assignment_in_force_sql('ga', 'current_date')} "
            "   ORDER BY ga.valid_from LIMIT 1) AS role, "
            "  f.fix_time, f.server_time, f.lon, f.lat, f.grid_code, f.speed_mps, "
            "  f.accuracy_m, f.battery_pct, f.flags "
            "FROM device d LEFT JOIN person p ON p.id = d.person_id "
            "JOIN device_latest f ON f.device_id = d.id "
            "WHERE d.active AND f.flags & :bad = 0 ORDER BY d.id"
        ),
        {"bad": exclude_flags},
    ).mappings()
    return [dict(r) for r in rows]


__all__ = [
    "COLUMNS",
    "PARTITIONS",
    "FixRows",
    "Position",
    "TrackFixes",
    "device_with_previous_fix",
    "direct_connection",
    "fix_times_us",
    "fix_values",
    "insert_one",
    "latest_fixes",
    "previous_fix",
    "read_track",
    "store_fixes",
]
