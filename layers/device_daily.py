"""Per-device daily patrol statistics, stored and recomputed only where fixes changed.

``GET /api/v1/patrol/daily`` answers from ``device_daily``: per (Asia/Shanghai day, device) the
unrounded figures of :class:`layers.tracks.DayFigures` (mileage, patrol/moving/stop time, stops,
silences, first/last fix, time per unit grid). Who the officer is and which grids are theirs
are read when answering (they change without any fix changing), so the own-grid time is summed
from the stored time per grid then.

Freshness (migration 0023): a statement trigger on ``position`` raises the counter of
``device_day_change`` for every (day, device) whose fixes were inserted, moved or deleted, by
any ingest path; a stored row keeps the counter it was computed from (``changes_seen``). Before
answering, :func:`refresh_day` recomputes the pairs whose counter moved on (late fixes, a fix
moved to another day, today's new fixes), so an answer is never stale. When every change since
was an append (the trigger's rewrite counter did not move: today's live fixes), the figures are
continued from the stored restart point (``closed``, ``open_from_s``; see
:mod:`layers.daily_figures`) reading only the fixes from there on, a few minutes of each phone;
otherwise the device's whole day is read again. The counter is read
before the fixes: a fix committed in between is read and also counted later, which only costs
one more recomputation, never a missed one. The reader takes no lock an ingest waits for.

A day never computed (``device_daily_day`` has no row, or other parameters) is computed in full
once; fixes stored before migration 0023 have no counter and are covered by that computation.
Archived days (docs/retention.md): a day whose month is (partly) in a GeoParquet file keeps
the figures it had; late fixes of such a day leave their change counters unread, so the day's
changed devices are recomputed after ``gridgis positions restore``. A day never computed is
computed once from the archive file and the database together (:func:`archived_day_fixes`,
each (device, time) once).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, Session, mapped_column

from gis.crs import SRID_METRIC_DEFAULT
from gis.tracks import UNUSABLE, GapSplitter, StopDetector
from layers.archive import PositionArchive, archived_overlap, check_file
from layers.daily_figures import (
    DAILY_CHUNK_DEVICES,
    DAY_FIELDS,
    NO_FIXES,
    DayFigures,
    DayFold,
    compute_daily_stats,
    day_row,
    figures_of,
    fold_fixes,
    read_day_fixes,
)
from layers.db import Base
from layers.devices import assigned_grid_codes_all, list_devices
from layers.tracks import _runs, day_bounds

DAILY_LOCK_KEY = 0x6461_696C  # advisory lock class of refresh_day ('dail'), the day as the key


class DeviceDayChange(Base):
    """A counter per (day, device), raised by the position trigger at every change."""

    __tablename__ = "device_day_change"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, server_default="1")
    rewrites: Mapped[int] = mapped_column(BigInteger, server_default="1")
    last_fix: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    change_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeviceDailyDay(Base):
    """A day computed in full once, and the parameters its stored rows were computed with."""

    __tablename__ = "device_daily_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric_srid: Mapped[int] = mapped_column(Integer)
    max_gap_s: Mapped[float] = mapped_column(Float)
    stop_radius_m: Mapped[float] = mapped_column(Float)
    stop_min_s: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DeviceDaily(Base):
    """The figures of one device's day (:class:`layers.tracks.DayFigures`, unrounded)."""

    __tablename__ = "device_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    changes_seen: Mapped[int] = mapped_column(BigInteger)
    rewrites_seen: Mapped[int] = mapped_column(BigInteger)
    fixes: Mapped[int] = mapped_column(Integer)
    mileage_m: Mapped[float] = mapped_column(Float)
    patrol_time_s: Mapped[float] = mapped_column(Float)
    moving_time_s: Mapped[float] = mapped_column(Float)
    stops: Mapped[int] = mapped_column(Integer)
    stop_time_s: Mapped[float] = mapped_column(Float)
    silences: Mapped[int] = mapped_column(Integer)
    silence_time_s: Mapped[float] = mapped_column(Float)
    first_fix_s: Mapped[float | None] = mapped_column(Float)
    last_fix_s: Mapped[float | None] = mapped_column(Float)
    grid_codes: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    grid_time_s: Mapped[list[float]] = mapped_column(ARRAY(Float))
    open_from_s: Mapped[float | None] = mapped_column(Float)
    closed: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


_FIGURES = ("fixes", "mileage_m", "patrol_time_s", "moving_time_s", "stops", "stop_time_s",
            "silences", "silence_time_s", "first_fix_s", "last_fix_s")  # fmt: skip


def _params(metric_srid: int, splitter: GapSplitter, detector: StopDetector) -> dict[str, Any]:
    return {
        "metric_srid": metric_srid,
        "max_gap_s": float(splitter.max_gap_s),
        "stop_radius_m": float(detector.max_radius_m),
        "stop_min_s": float(detector.min_duration_s),
    }


def _lock_day(session: Session, day: date) -> None:
    """One refresh of a day at a time across processes (two would write the same rows)."""
    key = int.from_bytes(hashlib.blake2b(day.isoformat().encode(), digest_size=4).digest())
    session.execute(
        text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": DAILY_LOCK_KEY, "k": key - 2**31}
    )


def refresh_day(
    *,
    session: Session,
    day: date,
    metric_srid: int = SRID_METRIC_DEFAULT,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> dict[str, Any]:
    """Bring the stored rows of ``day`` up to date: every device of a day never computed (or
    computed with other parameters), else the devices whose change counter moved on — from
    their last segment's start when every change since was an append, else their whole day.

    Returns ``{"day", "full", "devices", "continued"}`` (devices recomputed, of which
    continued). Within the caller's transaction; waits for another refresh of the same day.
    """
    _lock_day(session, day)
    params = _params(metric_srid, splitter, detector)
    known = session.execute(
        select(DeviceDailyDay)
        .where(DeviceDailyDay.day == day)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    full = known is None or any(getattr(known, k) != v for k, v in params.items())
    start, end = day_bounds(day)
    archived = archived_overlap(session=session, start=start, end=end)
    if archived and not full:
        # the stored figures stay as they were; changes wait for a restore (see the docstring)
        return {"day": day.isoformat(), "full": False, "devices": 0, "continued": 0,
                "archived": True}  # fmt: skip
    continued: dict[int, tuple[DayFigures, float]] = {}
    if full:
        counters = {
            int(d): (int(c), int(r))
            for d, c, r in session.execute(
                text("SELECT device_id, changes, rewrites FROM device_day_change WHERE day = :d"),
                {"d": day},
            )
        }
        every = session.execute(text("SELECT id FROM device")).scalars()
        device_ids = sorted(set(every) | set(counters))
    else:
        counters = {}
        for d, c, r, seen, closed, open_from in session.execute(
            text(
                "SELECT c.device_id, c.changes, c.rewrites, s.rewrites_seen, s.closed, "
                "s.open_from_s FROM device_day_change c "
                "LEFT JOIN device_daily s ON s.day = c.day AND s.device_id = c.device_id "
                "WHERE c.day = :d AND (s.device_id IS NULL OR s.changes_seen < c.changes)"
            ),
            {"d": day},
        ):
            counters[int(d)] = (int(c), int(r))
            if seen == r and closed is not None and open_from is not None:
                continued[int(d)] = (DayFigures.from_json(closed), float(open_from))
        device_ids = sorted(counters)
    if not full and not device_ids:
        return {"day": day.isoformat(), "full": False, "devices": 0, "continued": 0}
    # counters were read before the fixes (see the module docstring)
    if archived:  # a day never computed: its archived fixes and the stored ones together
        folds = _folds_with_archive(
            session, device_ids, day,
            metric_srid=metric_srid, splitter=splitter, detector=detector,
        )  # fmt: skip
    else:
        folds = figures_of(
            session, device_ids, day, continued=continued,
            metric_srid=metric_srid, splitter=splitter, detector=detector,
        )  # fmt: skip
    if full:
        session.execute(text("DELETE FROM device_daily WHERE day = :d"), {"d": day})
    present = set(
        session.execute(
            text("SELECT id FROM device WHERE id = ANY(:ids)"), {"ids": device_ids}
        ).scalars()
    )
    gone = [d for d in device_ids if d not in present]
    if gone:  # a counter outlives its device (no foreign key: the trigger must stay cheap)
        session.execute(
            text("DELETE FROM device_day_change WHERE day = :d AND device_id = ANY(:ids)"),
            {"d": day, "ids": gone},
        )
    rows = [
        _stored(day, d, counters.get(d, (0, 0)), folds[d])
        for d in device_ids
        if d in present and (folds[d].figures.fixes or d in counters)
    ]
    _upsert(session, rows)
    if full:
        # a value, not now(): Citus refuses functions in DO UPDATE SET of distributed tables
        now = datetime.now(UTC)
        stmt = insert(DeviceDailyDay).values(day=day, computed_at=now, **params)
        session.execute(
            stmt.on_conflict_do_update(index_elements=["day"], set_={**params, "computed_at": now})
        )
    session.flush()
    return {"day": day.isoformat(), "full": full, "devices": len(device_ids),
            "continued": len(continued)}  # fmt: skip


def archived_day_fixes(session: Session, day: date) -> np.ndarray:
    """The usable archived fixes of ``day`` (Asia/Shanghai) of every device, as rows of
    :data:`layers.daily_figures.DAY_FIELDS` (unsorted), read from the GeoParquet files of the
    archived months that overlap the day (one columnar read per file, filtered on fix_time).
    Raises layers.archive.ArchiveFileError if a recorded file is missing."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    start, end = day_bounds(day)
    archives = session.scalars(
        select(PositionArchive).where(
            PositionArchive.month_start < end, PositionArchive.month_end > start,
            PositionArchive.rows > 0,
        )
    ).all()  # fmt: skip
    out = np.empty(0, dtype=list(DAY_FIELDS))
    parts = []
    for archive in archives:
        if not Path(archive.path).exists():
            check_file(archive, Path(archive.path))  # raises, naming the month and the fix
        parts.append(
            pq.read_table(
                archive.path, columns=["device_id", "fix_time", "lon", "lat", "grid_code", "flags"],
                filters=[("fix_time", ">=", start), ("fix_time", "<", end)],
            )
        )  # fmt: skip
    if not parts:
        return out
    table = pa.concat_tables(parts)
    flags = np.asarray(table["flags"].to_numpy(zero_copy_only=False), dtype=np.int64)
    keep = (flags & UNUSABLE) == 0
    micros = pc.cast(table["fix_time"], pa.int64()).to_numpy()
    codes = [-1 if not c else int(c) for c in table["grid_code"].to_pylist()]
    out = np.empty(int(keep.sum()), dtype=list(DAY_FIELDS))
    out["device"] = np.asarray(table["device_id"].to_numpy(), dtype=np.int64)[keep]
    out["t"] = micros.astype(np.float64)[keep] / 1e6  # the same float as extract(epoch)
    out["lon"] = np.asarray(table["lon"].to_numpy(), dtype=np.float64)[keep]
    out["lat"] = np.asarray(table["lat"].to_numpy(), dtype=np.float64)[keep]
    out["grid"] = np.asarray(codes, dtype=np.int64)[keep]
    return out


def _folds_with_archive(
    session: Session,
    device_ids: list[int],
    day: date,
    *,
    metric_srid: int,
    splitter: GapSplitter,
    detector: StopDetector,
) -> dict[int, DayFold]:
    """:func:`layers.daily_figures.figures_of` (whole days) over the archived fixes of ``day``
    and the stored ones together, each (device, time) once (a fix resent after the archive)."""
    archived = archived_day_fixes(session, day)
    out: dict[int, DayFold] = {}
    for k in range(0, len(device_ids), DAILY_CHUNK_DEVICES):
        chunk = device_ids[k : k + DAILY_CHUNK_DEVICES]
        stored = read_day_fixes(session, chunk, day)
        mine = archived[np.isin(archived["device"].astype(np.int64), chunk)]
        plain = np.empty(len(stored), dtype=mine.dtype)  # the COPY rows carry length fields
        for name, _ in DAY_FIELDS:
            plain[name] = stored[name]
        rows = np.concatenate([plain, mine])
        rows = rows[np.lexsort((rows["t"], rows["device"]))]
        twin = np.zeros(len(rows), dtype=bool)  # (empty when the chunk has no fix at all)
        twin[1:] = (rows["device"][1:] == rows["device"][:-1]) & (rows["t"][1:] == rows["t"][:-1])
        rows = rows[~twin]
        bounds = {d: (a, b) for d, a, b in _runs(rows["device"].astype(np.int64))}
        for device_id in chunk:
            a, b = bounds.get(device_id, (0, 0))
            out[device_id] = fold_fixes(rows[a:b], metric_srid=metric_srid, splitter=splitter,
                                        detector=detector)  # fmt: skip
    return out


def _stored(day: date, device_id: int, counter: tuple[int, int], fold: DayFold) -> dict[str, Any]:
    f = fold.figures
    row: dict[str, Any] = {"day": day, "device_id": device_id, "changes_seen": counter[0],
                           "rewrites_seen": counter[1]}  # fmt: skip
    row.update({name: getattr(f, name) for name in _FIGURES})
    row["grid_codes"] = list(f.grid_time_s)
    row["grid_time_s"] = list(f.grid_time_s.values())
    row["open_from_s"] = fold.open_from_s
    row["closed"] = None if fold.open_from_s is None else fold.closed.to_json()
    return row


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or replace stored rows: one statement compiled once and sent in batches
    (executemany; a multi-row VALUES built per call cost more to compile than to run)."""
    if not rows:
        return
    now = datetime.now(UTC)  # Citus refuses now() in DO UPDATE SET of a distributed table
    stmt = insert(DeviceDaily.__table__)  # type: ignore[arg-type]  # (a Table: core executemany)
    columns = [c for c in [*rows[0], "computed_at"] if c not in ("day", "device_id")]
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "device_id"], set_={c: stmt.excluded[c] for c in columns}
    )
    session.connection().execute(stmt, [{**r, "computed_at": now} for r in rows])


def stored_figures(*, session: Session, day: date) -> dict[int, DayFigures]:
    """The stored figures of ``day`` by device id (as they are: see :func:`refresh_day`)."""
    out: dict[int, DayFigures] = {}
    columns = [getattr(DeviceDaily, name) for name in _FIGURES]
    query = select(DeviceDaily.device_id, DeviceDaily.grid_codes, DeviceDaily.grid_time_s, *columns)
    for r in session.execute(query.where(DeviceDaily.day == day)):  # not the restart state
        values = dict(zip(_FIGURES, r[3:], strict=True))
        out[r[0]] = DayFigures(**values, grid_time_s=dict(zip(r[1], r[2], strict=True)))
    return out


def daily_stats(
    *,
    session: Session,
    day: date,
    metric_srid: int = SRID_METRIC_DEFAULT,
    person_id: int | None = None,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> list[dict[str, Any]]:
    """Per officer's device for one day (Asia/Shanghai): mileage, patrol time, stops, time in
    their own grids (assigned codes of any level, by prefix), GPS silences — the rows of
    ``GET /api/v1/patrol/daily`` (:data:`layers.tracks.STAT_COLUMNS`), from the stored figures
    after :func:`refresh_day`; equal to :func:`layers.daily_figures.compute_daily_stats`."""
    try:
        with session.begin_nested():
            refresh_day(session=session, day=day, metric_srid=metric_srid, splitter=splitter,
                        detector=detector)  # fmt: skip
    except DBAPIError as exc:
        if not isinstance(exc.orig, psycopg.errors.ReadOnlySqlTransaction):
            raise
        # a read-only database (a standby, or read-only while its disk is full): computed now
        return compute_daily_stats(
            session=session, day=day, metric_srid=metric_srid, person_id=person_id,
            splitter=splitter, detector=detector,
        )  # fmt: skip
    figures = stored_figures(session=session, day=day)
    assigned = assigned_grid_codes_all(session=session)
    return [
        day_row(day, device, person, figures.get(device.id, NO_FIXES),
                tuple(assigned.get(person.id, [])))
        for device, person in list_devices(session=session)
        if person is not None and (person_id is None or person.id == person_id)
    ]  # fmt: skip
