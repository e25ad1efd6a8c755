"""Patrol coverage runs (巡查覆盖率): computed from the position table, stored per L3 grid.

A *run* is one window (an Asia/Shanghai day, or a shift of that day) with one set of method
parameters (:class:`gis.coverage.CoverageParams`) on one grid generation; recomputing the same
window and parameters replaces it. Per L3 grid it keeps both coverage figures and the blind
cells (H3 hex ids), per (grid, device) the visit, per device the tracked time and silences.
L2/L1 figures are area-weighted roll-ups made when read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    ARRAY,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from gis.codes import LEVEL_CODE_LENGTH
from gis.coverage import CoverageAccumulator, CoverageGrids, CoverageParams, CoverageResult
from gis.tracks import UNUSABLE
from layers.archive import archived_overlap
from layers.copyio import copy_rows
from layers.db import Base
from layers.devices import assigned_grid_codes_all, list_devices
from layers.errors import DomainError, GridNotFound
from layers.grids import active_generation, read_grid_frame
from layers.models import Grid
from layers.tracks import day_bounds
from layers.workcal import SHANGHAI

CHUNK_DEVICES = 200
LATE_LOCK_KEY = 0x6C617465  # advisory lock of recompute_late ('late')


class CoverageNotComputed(DomainError):
    """No coverage run for that window and parameters yet."""


class CoverageRun(Base):
    __tablename__ = "coverage_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(11), server_default="")  # "" = the whole day
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id", ondelete="CASCADE"))
    resolution: Mapped[int] = mapped_column(Integer)
    distance_m: Mapped[float] = mapped_column(Float)
    max_gap_s: Mapped[float] = mapped_column(Float)
    metric_srid: Mapped[int] = mapped_column(Integer)
    pixel_m: Mapped[float] = mapped_column(Float, server_default="5")
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint(
            "day", "shift", "generation_id", "resolution", "distance_m", "max_gap_s",
            name="coverage_run_unique",
        ),
    )  # fmt: skip

    def params(self) -> dict[str, Any]:
        return {
            "method_h3": "share of the grid's H3 cells whose centre is within distance_m "
            "of a valid track segment",
            "method_buffer": "share of the grid's area within distance_m of the tracks "
            "(pixel centres of a pixel_m raster)",
            "resolution": self.resolution,
            "distance_m": self.distance_m,
            "max_gap_s": self.max_gap_s,
            "metric_srid": self.metric_srid,
            "pixel_m": self.pixel_m,
        }


class CoverageGrid(Base):
    __tablename__ = "coverage_grid"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("coverage_run.id", ondelete="CASCADE"), primary_key=True
    )
    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    cells: Mapped[int] = mapped_column(Integer)
    covered_cells: Mapped[int] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Float)
    covered_area_m2: Mapped[float] = mapped_column(Float)
    blind_cells: Mapped[list[str]] = mapped_column(ARRAY(String(16)))  # H3 hex ids


class CoverageVisit(Base):
    __tablename__ = "coverage_visit"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("coverage_run.id", ondelete="CASCADE"), primary_key=True
    )
    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metres: Mapped[float] = mapped_column(Float)
    minutes: Mapped[float] = mapped_column(Float)
    cells: Mapped[int] = mapped_column(Integer)


class CoverageDevice(Base):
    __tablename__ = "coverage_device"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("coverage_run.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixes: Mapped[int] = mapped_column(Integer)
    tracked_s: Mapped[float] = mapped_column(Float)
    silences: Mapped[int] = mapped_column(Integer)
    first_fix: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_fix: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- windows ---------------------------------------------------------------------------------


def parse_shift(value: str | None) -> tuple[time, time] | None:
    """``"HH:MM-HH:MM"`` (an end at or before the start runs past midnight); None = all day."""
    if not value:
        return None
    try:
        a, b = value.split("-")
        return time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"shift {value!r} is not HH:MM-HH:MM, e.g. 08:00-17:30") from None


def window(day: date, shift: tuple[time, time] | None) -> tuple[datetime, datetime]:
    """The UTC half-open range of a day or shift in Asia/Shanghai."""
    if shift is None:
        return day_bounds(day)
    start = datetime.combine(day, shift[0], tzinfo=SHANGHAI)
    end = datetime.combine(day, shift[1], tzinfo=SHANGHAI)
    if end <= start:
        end += timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def shift_text(shift: tuple[time, time] | None) -> str:
    return "" if shift is None else f"{shift[0]:%H:%M}-{shift[1]:%H:%M}"


# --- computing -------------------------------------------------------------------------------

_GRIDS: dict[tuple[int, int, int, float], CoverageGrids] = {}


def coverage_grids(
    *, session: Session, generation_id: int, params: CoverageParams
) -> CoverageGrids:
    """The generation's L3 grids prepared for ``params`` (kept in memory: generations of
    published grids never change)."""
    key = (generation_id, params.resolution, params.metric_srid, params.pixel_m)
    if key not in _GRIDS:
        if len(_GRIDS) >= 4:  # a raster is ~230 MB for a county: keep only a few
            _GRIDS.pop(next(iter(_GRIDS)))
        frame = read_grid_frame(session=session, generation_id=generation_id, level=3)
        _GRIDS[key] = CoverageGrids.from_polygons(
            list(frame["code"]), np.asarray(frame.geometry.values, dtype=object), params=params
        )
    return _GRIDS[key]


_FIX_FIELDS = (("device", ">i4"), ("t", ">f8"), ("lon", ">f8"), ("lat", ">f8"), ("flags", ">i2"))


def _read_chunk(session: Session, ids: list[int], start: datetime, end: datetime) -> Any:
    """All fixes of devices ``ids`` in [start, end) as arrays, by binary COPY (one round trip;
    the primary key (device_id, fix_time) serves it)."""
    rows = copy_rows(
        session,
        "SELECT device_id::int4, extract(epoch FROM fix_time)::float8, lon, lat, flags "
        "FROM position WHERE device_id = ANY(%s) AND fix_time >= %s AND fix_time < %s "
        "ORDER BY device_id, fix_time",
        (ids, start, end),
        _FIX_FIELDS,
    )
    if len(rows) == 0:
        return None
    valid = (rows["flags"].astype(np.int64) & UNUSABLE) == 0
    return (rows["device"].astype(np.int64), rows["t"].astype(np.float64),
            rows["lon"].astype(np.float64), rows["lat"].astype(np.float64), valid)  # fmt: skip


def compute_coverage_run(
    *,
    session: Session,
    day: date,
    shift: tuple[time, time] | None = None,
    params: CoverageParams = CoverageParams(),
    progress: Callable[[int, int], None] | None = None,
    chunk_devices: int = CHUNK_DEVICES,
) -> CoverageRun:
    """Compute and store coverage for a day or shift; replaces a run with the same key.

    Reads fixes ``chunk_devices`` devices at a time, one chunk ahead of the computation (memory:
    two chunks); ``progress(done, total)`` after each chunk.
    """
    generation = active_generation(session=session)
    grids = coverage_grids(session=session, generation_id=generation.id, params=params)
    start, end = window(day, shift)
    if shift is None:
        # this run reads every fix committed so far: the day's late-fix notes are answered,
        # unless another run of the day (a shift, other parameters) still needs them
        session.execute(
            text(
                "DELETE FROM coverage_stale WHERE day = :day AND NOT EXISTS ("
                "SELECT 1 FROM coverage_run WHERE day = :day AND (shift <> '' "
                "OR resolution <> :r OR distance_m <> :d OR max_gap_s <> :g))"
            ),
            {"day": day, "r": params.resolution, "d": params.distance_m, "g": params.max_gap_s},
        )
    acc = CoverageAccumulator(grids, params)
    ids = [d.id for d, _ in list_devices(session=session)]
    groups = [ids[k : k + chunk_devices] for k in range(0, len(ids), chunk_devices)]
    # the next chunk is read (the database works on the other core) while this one is computed;
    # only the reader thread touches the session until all chunks are in
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="coverage-read") as reader:
        ahead = reader.submit(_read_chunk, session, groups[0], start, end) if groups else None
        for i in range(len(groups)):
            assert ahead is not None
            chunk = ahead.result()
            ahead = (reader.submit(_read_chunk, session, groups[i + 1], start, end)
                     if i + 1 < len(groups) else None)  # fmt: skip
            if chunk is not None:
                acc.add(*chunk)
            if progress:
                progress(min((i + 1) * chunk_devices, len(ids)), len(ids))
    return store_result(
        session=session, result=acc.result(), day=day, shift=shift,
        generation_id=generation.id, start=start, end=end,
    )  # fmt: skip


def store_result(
    *,
    session: Session,
    result: CoverageResult,
    day: date,
    shift: tuple[time, time] | None,
    generation_id: int,
    start: datetime,
    end: datetime,
) -> CoverageRun:
    p = result.params
    session.execute(
        delete(CoverageRun).where(
            CoverageRun.day == day, CoverageRun.shift == shift_text(shift),
            CoverageRun.generation_id == generation_id, CoverageRun.resolution == p.resolution,
            CoverageRun.distance_m == p.distance_m, CoverageRun.max_gap_s == p.max_gap_s,
        )
    )  # fmt: skip
    run = CoverageRun(
        day=day, shift=shift_text(shift), window_start=start, window_end=end,
        generation_id=generation_id, resolution=p.resolution, distance_m=p.distance_m,
        max_gap_s=p.max_gap_s, metric_srid=p.metric_srid, pixel_m=p.pixel_m,
    )  # fmt: skip
    session.add(run)
    session.flush()
    _add_rows(session, run.id, result)
    session.flush()
    return run


def _add_rows(
    session: Session,
    run_id: int,
    result: CoverageResult,
    codes: set[str] | None = None,
    devices: set[int] | None = None,
) -> None:
    """A run's grid, visit and device rows from ``result`` (only grids in ``codes`` and devices
    in ``devices`` when given)."""
    session.add_all(
        CoverageGrid(
            run_id=run_id, grid_code=g.code, cells=g.cells, covered_cells=g.covered_cells,
            area_m2=g.area_m2, covered_area_m2=g.covered_area_m2,
            blind_cells=[format(c, "x") for c in result.blind_cells(g.code)],
        )
        for g in result.grids
        if codes is None or g.code in codes
    )  # fmt: skip
    session.add_all(
        CoverageVisit(run_id=run_id, grid_code=v.code, device_id=v.device, metres=v.metres,
                      minutes=v.minutes, cells=v.cells)
        for v in result.visits
        if codes is None or v.code in codes
    )  # fmt: skip

    def ts(s: float | None) -> datetime | None:
        return None if s is None else datetime.fromtimestamp(s, tz=UTC)

    session.add_all(
        CoverageDevice(run_id=run_id, device_id=d.device, fixes=d.fixes, tracked_s=d.tracked_s,
                       silences=len(d.silences), first_fix=ts(d.first_s), last_fix=ts(d.last_s))
        for d in result.devices.values()
        if d.fixes and (devices is None or d.device in devices)
    )  # fmt: skip


def _accumulate(
    session: Session, grids: CoverageGrids, params: CoverageParams, ids: list[int],
    start: datetime, end: datetime, chunk_devices: int = CHUNK_DEVICES,
) -> CoverageResult:  # fmt: skip
    acc = CoverageAccumulator(grids, params)
    for k in range(0, len(ids), chunk_devices):
        chunk = _read_chunk(session, ids[k : k + chunk_devices], start, end)
        if chunk is not None:
            acc.add(*chunk)
    return acc.result()


def _grids_near(
    session: Session, generation_id: int, codes: set[str], distance_m: float
) -> set[str]:
    """``codes`` and the unit grids within ``distance_m`` of one of them (geodesic metres; the
    bounding-box test first, with 1 degree taken as 90 km, shorter than any degree here)."""
    if not codes:
        return set()
    found = session.scalars(
        text(
            "SELECT DISTINCT b.code FROM grid a JOIN grid b ON b.generation_id = a.generation_id "
            "AND b.level = 3 AND b.geom && ST_Expand(a.geom, :deg) "
            "AND ST_DWithin(a.geom::geography, b.geom::geography, :d) "
            "WHERE a.generation_id = :g AND a.level = 3 AND a.code = ANY(:codes)"
        ),
        {"g": generation_id, "codes": sorted(codes), "d": distance_m, "deg": distance_m / 90_000},
    ).all()
    return set(codes) | set(found)


def recompute_late(*, session: Session, chunk_devices: int = CHUNK_DEVICES) -> list[dict[str, Any]]:
    """Recompute the stored runs of past days that received late fixes (phones uploading a
    backlog), for the affected devices and grids only; returns one summary per run.

    The database notes (day, device) of every fix older than today in ``coverage_stale``
    (migration 0017). For each stored run of such a day: the *affected grids* are those the
    late devices visited before (stored visits) or visit now (their fixes read again); every
    device that visited an affected grid is read again, so those grids' figures are exact;
    only their grid and visit rows, and the late devices' own rows, are replaced (a grid's
    figures depend only on the devices that came near it). ``computed_at`` says when.
    """
    # one recomputation at a time across processes (two would replace the same rows)
    if not session.execute(
        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LATE_LOCK_KEY}
    ).scalar():
        return []
    stale = session.execute(
        text("DELETE FROM coverage_stale RETURNING day, device_id")
    ).all()  # taken in this transaction: a failure puts them back
    by_day: dict[date, set[int]] = {}
    for day, device in stale:
        by_day.setdefault(day, set()).add(int(device))
    out: list[dict[str, Any]] = []
    for day, late in sorted(by_day.items()):
        runs = session.scalars(select(CoverageRun).where(CoverageRun.day == day)).all()
        if any(archived_overlap(session=session, start=r.window_start, end=r.window_end)
               for r in runs):  # fmt: skip
            # the day's other fixes are in an archive file, not in ``position``: recomputing
            # from the late fixes alone would lower the day's figures. The stored runs are kept
            # and the notes put back, so that ``gridgis positions restore`` then the next
            # recomputation give exact figures (docs/retention.md).
            session.execute(
                text("INSERT INTO coverage_stale (day, device_id) VALUES (:d, :v) "
                     "ON CONFLICT DO NOTHING"),
                [{"d": day, "v": v} for v in sorted(late)],
            )  # fmt: skip
            out.append({"day": day.isoformat(), "late_devices": len(late),
                        "skipped": "archived"})  # fmt: skip
            continue
        for run in runs:
            params = CoverageParams(
                resolution=run.resolution, distance_m=run.distance_m, max_gap_s=run.max_gap_s,
                metric_srid=run.metric_srid, pixel_m=run.pixel_m,
            )  # fmt: skip
            grids = coverage_grids(session=session, generation_id=run.generation_id, params=params)
            start, end = run.window_start, run.window_end
            now_late = _accumulate(session, grids, params, sorted(late), start, end)
            before = session.scalars(
                select(CoverageVisit.grid_code).where(
                    CoverageVisit.run_id == run.id, CoverageVisit.device_id.in_(late)
                )
            ).all()
            # a track covers cells up to distance_m outside the grid it runs in: the late
            # devices' grids and their near neighbours change, and every device that ran in
            # or near one of those may have covered part of them
            visited = set(before) | {v.code for v in now_late.visits}
            affected = _grids_near(session, run.generation_id, visited, run.distance_m)
            around = _grids_near(session, run.generation_id, affected, run.distance_m)
            others = session.scalars(
                select(CoverageVisit.device_id)
                .distinct()
                .where(CoverageVisit.run_id == run.id, CoverageVisit.grid_code.in_(around))
            ).all()
            ids = sorted(late | set(others))
            result = _accumulate(session, grids, params, ids, start, end, chunk_devices)
            for table, column, keys in (
                (CoverageGrid, CoverageGrid.grid_code, affected),
                (CoverageVisit, CoverageVisit.grid_code, affected),
                (CoverageDevice, CoverageDevice.device_id, late),
            ):
                session.execute(delete(table).where(table.run_id == run.id, column.in_(keys)))
            _add_rows(session, run.id, result, codes=affected, devices=late)
            run.computed_at = datetime.now(UTC)
            session.flush()
            out.append({"run": run.id, "day": day.isoformat(), "shift": run.shift,
                        "late_devices": len(late), "devices_read": len(ids),
                        "grids_recomputed": len(affected)})  # fmt: skip
    return out


# --- reading ---------------------------------------------------------------------------------


def find_run(
    *, session: Session, day: date, shift: tuple[time, time] | None, resolution: int | None
) -> CoverageRun:
    """The latest run for the window (any parameters unless ``resolution`` is given)."""
    q = select(CoverageRun).where(CoverageRun.day == day, CoverageRun.shift == shift_text(shift))
    if resolution is not None:
        q = q.where(CoverageRun.resolution == resolution)
    run = session.scalars(q.order_by(CoverageRun.computed_at.desc(), CoverageRun.id.desc())).first()
    if run is None:
        what = f"{day.isoformat()} {shift_text(shift) or '(whole day)'}"
        raise CoverageNotComputed(
            f"no coverage computed for {what}; run `gridgis coverage --date {day.isoformat()}"
            + (f" --shift {shift_text(shift)}" if shift else "")
            + "` or POST /api/v1/coverage/runs",
            field="date",
        )
    return run


GRID_COLUMNS = (
    "rank", "code", "level", "name", "h3_share", "buffer_share", "cells", "covered_cells",
    "area_m2", "covered_area_m2", "officers", "minutes", "metres",
)  # fmt: skip


def rollup(
    grids: Iterable[tuple[Any, int, int, float, float]],
    visits: Iterable[tuple[Any, int, float, float]],
    keys: Iterable[Any] = (),
) -> dict[Any, dict[str, Any]]:
    """Coverage figures per key from unit-grid rows ``(key, cells, covered_cells, area_m2,
    covered_area_m2)`` and visit rows ``(key, device_id, minutes, metres)``: counts and areas
    summed, ``h3_share = Σ share·area / Σ area`` over grids with cells (None without any),
    ``buffer_share = Σ covered area / Σ area``, ``officers`` = distinct devices; ``keys`` get
    figures (zeros) even without rows. One rule for the level roll-ups, the trend and the city
    figure."""
    acc: dict[Any, dict[str, Any]] = {}

    def slot(key: Any) -> dict[str, Any]:
        return acc.setdefault(key, {"cells": 0, "covered_cells": 0, "area_m2": 0.0,
                                    "covered_area_m2": 0.0, "h3_num": 0.0, "h3_area": 0.0,
                                    "officers": set(), "minutes": 0.0, "metres": 0.0})  # fmt: skip

    for key, cells, covered, area_m2, covered_m2 in grids:
        a = slot(key)
        a["cells"] += cells
        a["covered_cells"] += covered
        a["area_m2"] += area_m2
        a["covered_area_m2"] += covered_m2
        if cells:
            a["h3_num"] += covered / cells * area_m2
            a["h3_area"] += area_m2
    for key, device_id, minutes, metres in visits:
        a = slot(key)
        a["officers"].add(device_id)
        a["minutes"] += minutes
        a["metres"] += metres
    for key in keys:
        slot(key)
    return {
        key: {
            "h3_share": round(a["h3_num"] / a["h3_area"], 4) if a["h3_area"] else None,
            "buffer_share": round(a["covered_area_m2"] / a["area_m2"], 4) if a["area_m2"] else 0.0,
            "cells": a["cells"], "covered_cells": a["covered_cells"],
            "area_m2": round(a["area_m2"], 1), "covered_area_m2": round(a["covered_area_m2"], 1),
            "officers": len(a["officers"]), "minutes": round(a["minutes"], 1),
            "metres": round(a["metres"], 1),
        }
        for key, a in acc.items()
    }  # fmt: skip


def grid_rows(*, session: Session, run: CoverageRun, level: int = 3) -> list[dict[str, Any]]:
    """Per grid of ``level``, ranked by H3 share (best first); L2/L1 area-weighted
    (:func:`rollup`)."""
    width = LEVEL_CODE_LENGTH[level]
    named = session.execute(
        select(Grid.code, Grid.name, Grid.level).where(
            Grid.generation_id == run.generation_id, Grid.level == level
        )
    ).all()
    names = {code: (name, lvl) for code, name, lvl in named}
    figures = rollup(
        session.execute(
            select(func.left(CoverageGrid.grid_code, width), CoverageGrid.cells,
                   CoverageGrid.covered_cells, CoverageGrid.area_m2, CoverageGrid.covered_area_m2)
            .where(CoverageGrid.run_id == run.id)
        ),
        session.execute(
            select(func.left(CoverageVisit.grid_code, width), CoverageVisit.device_id,
                   CoverageVisit.minutes, CoverageVisit.metres)
            .where(CoverageVisit.run_id == run.id)
        ),
    )  # fmt: skip
    rows = [
        {"code": code, "level": names.get(code, ("", level))[1],
         "name": names.get(code, ("", level))[0], **f}
        for code, f in figures.items()
    ]  # fmt: skip
    rows.sort(key=lambda r: (-(r["h3_share"] or 0.0), -r["buffer_share"], r["code"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return [{c: r[c] for c in GRID_COLUMNS} for r in rows]


def not_in_run(code: str) -> GridNotFound:
    return GridNotFound(
        f"grid {code!r} is not a unit (L3) grid of this coverage run; "
        "use a 15-digit code from /api/v1/coverage",
        field="code",
    )


def grid_detail(*, session: Session, run: CoverageRun, code: str) -> dict[str, Any]:
    """One L3 grid: figures, who covered it, and its blind cells as GeoJSON hexagons."""
    from gis.coverage import blind_spots_geojson

    g = session.get(CoverageGrid, (run.id, code))
    if g is None:
        raise not_in_run(code)
    people = {d.id: (d, p) for d, p in list_devices(session=session)}
    visits = session.scalars(
        select(CoverageVisit)
        .where(CoverageVisit.run_id == run.id, CoverageVisit.grid_code == code)
        .order_by(CoverageVisit.minutes.desc(), CoverageVisit.device_id)
    ).all()
    who = []
    for v in visits:
        device, person = people.get(v.device_id, (None, None))
        who.append({
            "device_id": v.device_id, "device": device.external_id if device else None,
            "person_id": person.id if person else None, "name": person.name if person else None,
            "minutes": round(v.minutes, 1), "metres": round(v.metres, 1), "cells": v.cells,
        })  # fmt: skip
    blind = blind_spots_geojson([int(c, 16) for c in g.blind_cells])
    return {
        "code": code,
        "cells": g.cells,
        "covered_cells": g.covered_cells,
        "h3_share": round(g.covered_cells / g.cells, 4) if g.cells else None,
        "buffer_share": round(g.covered_area_m2 / g.area_m2, 4) if g.area_m2 else 0.0,
        "covered_by": who,
        "blind_spots": blind,
    }


COMPLIANCE_COLUMNS = (
    "person_id", "name", "devices", "own_grids", "window_s", "duty_s", "tracked_s", "inside_s",
    "outside_s", "silence_s", "silences", "share_inside", "below", "absent",
)  # fmt: skip
DUTY_HOURS = 8.0


def compliance_rows(
    *, session: Session, run: CoverageRun, threshold: float = 0.8, duty_hours: float = DUTY_HOURS
) -> list[dict[str, Any]]:
    """Per person with a device: time inside their own grids (assigned codes of any level match
    by prefix), time tracked outside them, time without GPS and the number of silences.

    The yardstick is the duty time: the shift itself for a shift run; ``duty_hours`` for a
    whole-day run (nobody is on duty 24 h). ``share_inside`` = time inside own grids / duty,
    ``silence_s`` = duty minus tracked time (not below 0); ``below`` marks shares under
    ``threshold``; ``absent`` marks people whose devices sent no valid fix in the window (listed
    after the others)."""
    window_s = (run.window_end - run.window_start).total_seconds()
    duty_s = window_s if run.shift else min(window_s, duty_hours * 3600)
    devs = {d.device_id: d for d in session.scalars(
        select(CoverageDevice).where(CoverageDevice.run_id == run.id))}  # fmt: skip
    minutes: dict[int, list[tuple[str, float]]] = {}
    for v in session.scalars(select(CoverageVisit).where(CoverageVisit.run_id == run.id)):
        minutes.setdefault(v.device_id, []).append((v.grid_code, v.minutes))
    by_person: dict[int, dict[str, Any]] = {}
    assigned = assigned_grid_codes_all(session=session)
    for device, person in list_devices(session=session):
        if person is None:
            continue
        row = by_person.setdefault(person.id, {
            "person_id": person.id, "name": person.name, "devices": [],
            "own_grids": assigned.get(person.id, []),
            "tracked_s": 0.0, "inside_s": 0.0, "silences": 0, "device_ids": [],
        })  # fmt: skip
        row["devices"].append(device.external_id)
        row["device_ids"].append(device.id)
        stats = devs.get(device.id)
        if stats is not None:
            row["tracked_s"] += stats.tracked_s
            row["silences"] += stats.silences
        own = tuple(row["own_grids"])
        row["inside_s"] += sum(
            m * 60 for code, m in minutes.get(device.id, []) if own and code.startswith(own)
        )
    out = []
    for row in by_person.values():
        tracked = min(row["tracked_s"], window_s)
        inside = min(row["inside_s"], tracked)
        share = min(inside / duty_s, 1.0) if duty_s else 0.0
        absent = not any(devs.get(i) and devs[i].fixes for i in row["device_ids"])
        out.append({
            **{k: v for k, v in row.items() if k != "device_ids"},
            "devices": ",".join(row["devices"]), "own_grids": ",".join(row["own_grids"]),
            "window_s": round(window_s), "duty_s": round(duty_s), "tracked_s": round(tracked),
            "inside_s": round(inside), "outside_s": round(tracked - inside),
            "silence_s": round(max(duty_s - tracked, 0.0)), "share_inside": round(share, 4),
            "below": share < threshold, "absent": absent,
        })  # fmt: skip
    out.sort(key=lambda r: (r["absent"], r["share_inside"], r["person_id"]))
    return out
