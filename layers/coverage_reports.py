"""Reports on stored coverage runs (巡查覆盖率): the tracks that covered one unit grid, and the
trend of an area's coverage over days.

Read only; every figure comes from the runs stored by :mod:`layers.coverage` (and, for the
tracks, from the ``position`` table in the run's window), so what the page draws is what the
run measured.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.crs import from_metric, to_metric
from gis.tracks import UNUSABLE, GapSplitter
from layers.coverage import (
    CoverageGrid,
    CoverageNotComputed,
    CoverageRun,
    CoverageVisit,
    not_in_run,
    rollup,
    shift_text,
)
from layers.devices import list_devices
from layers.grids import get_grid
from layers.models import Grid
from layers.positions import read_track

TRACK_MARGIN_M = 200.0
"""Tracks are clipped to the grid's bounding box grown by this much (m): local context."""
MAX_TREND_DAYS = 366
COMPLIANCE_THRESHOLD = 0.8
"""Default share of the window a person should spend inside their own grids."""

TREND_COLUMNS = (
    "date", "run", "h3_share", "buffer_share", "officers", "cells", "covered_cells",
    "area_m2", "covered_area_m2", "minutes", "metres",
)  # fmt: skip


# --- tracks that covered a grid --------------------------------------------------------------


def _run_grid(session: Session, run: CoverageRun, code: str) -> None:
    # Only the key: blind_cells (an array of hex ids) is not needed here.
    found = session.scalar(
        select(CoverageGrid.grid_code).where(
            CoverageGrid.run_id == run.id, CoverageGrid.grid_code == code
        )
    )
    if found is None:
        raise not_in_run(code)


def _metric_bbox(
    session: Session, generation_id: int, code: str, srid: int
) -> tuple[float, float, float, float]:
    """The grid's bounding box in ``srid`` metres (west, south, east, north)."""
    box = func.Box2D(func.ST_Transform(Grid.geom, srid))  # one row: transforming it is cheap
    row = session.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)).where(
            Grid.generation_id == generation_id, Grid.code == code
        )
    ).one()
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def _clipped_lines(
    x: np.ndarray, y: np.ndarray, segments: list[tuple[int, int]], box: tuple[float, ...]
) -> list[np.ndarray]:
    """Metric (n, 2) vertex arrays of the segments' parts inside ``box``; a lone fix inside
    the box becomes a zero-length line (drawn as a dot)."""
    west, south, east, north = box
    parts: list[np.ndarray] = []
    for a, b in segments:
        if b - a == 1:
            if west <= x[a] <= east and south <= y[a] <= north:
                parts.append(np.array([[x[a], y[a]], [x[a], y[a]]]))
            continue
        xs, ys = x[a:b], y[a:b]
        if xs.max() < west or xs.min() > east or ys.max() < south or ys.min() > north:
            continue
        clipped = shapely.clip_by_rect(LineString(np.column_stack((xs, ys))), *box)
        for part in shapely.get_parts(clipped):
            if isinstance(part, LineString) and not part.is_empty:
                parts.append(np.asarray(part.coords)[:, :2])
    return parts


def grid_tracks(
    *, session: Session, run: CoverageRun, code: str, margin_m: float = TRACK_MARGIN_M
) -> dict[str, Any]:
    """The tracks of every device that visited unit grid ``code`` in ``run``, as a GeoJSON
    FeatureCollection (EPSG:4490 lon/lat): one ``MultiLineString`` per device, built from its
    usable fixes in the run window, split at silences over the run's ``max_gap_s`` and clipped
    to the grid's bounding box grown by ``margin_m`` (in the run's metric CRS).

    Properties: ``device_id``, ``device``, ``person_id``, ``name``, ``minutes`` and ``metres``
    inside the grid (as the run measured them), ``colour`` (0, 1, … in the order of
    :func:`layers.coverage.grid_detail`'s ``covered_by``: most minutes first). A grid nobody
    visited gives an empty collection; a code not in the run raises :class:`GridNotFound`.
    """
    _run_grid(session, run, code)
    west, south, east, north = _metric_bbox(session, run.generation_id, code, run.metric_srid)
    box = (west - margin_m, south - margin_m, east + margin_m, north + margin_m)
    corners_lon, corners_lat = from_metric(
        [box[0], box[2], box[0], box[2]], [box[1], box[1], box[3], box[3]], run.metric_srid
    )
    visits = session.scalars(
        select(CoverageVisit)
        .where(CoverageVisit.run_id == run.id, CoverageVisit.grid_code == code)
        .order_by(CoverageVisit.minutes.desc(), CoverageVisit.device_id)
    ).all()
    people = {d.id: (d, p) for d, p in list_devices(session=session)} if visits else {}
    splitter = GapSplitter(max_gap_s=run.max_gap_s)
    features = []
    for colour, v in enumerate(visits):
        fixes = read_track(
            session=session, device_id=v.device_id, start=run.window_start,
            end=run.window_end, exclude_flags=UNUSABLE,
        )  # fmt: skip
        lines: list[list[list[float]]] = []
        if len(fixes.t_s):
            x, y = to_metric(fixes.lon, fixes.lat, run.metric_srid)
            parts = _clipped_lines(x, y, splitter.split(fixes.t_s), box)
            if parts:
                allxy = np.concatenate(parts)
                lon, lat = from_metric(allxy[:, 0], allxy[:, 1], run.metric_srid)
                lonlat = np.column_stack((lon, lat)).round(7)
                ends = np.cumsum([len(p) for p in parts])[:-1]
                lines = [c.tolist() for c in np.split(lonlat, ends)]
        device, person = people.get(v.device_id, (None, None))
        features.append({
            "type": "Feature",
            "id": device.external_id if device else str(v.device_id),
            "geometry": {"type": "MultiLineString", "coordinates": lines},
            "properties": {
                "device_id": v.device_id, "device": device.external_id if device else None,
                "person_id": person.id if person else None,
                "name": person.name if person else None,
                "minutes": round(v.minutes, 1), "metres": round(v.metres, 1),
                "colour": colour,
            },
        })  # fmt: skip
    return {
        "type": "FeatureCollection",
        "code": code,
        "margin_m": margin_m,
        "bbox": [
            round(float(v), 7)
            for v in (corners_lon.min(), corners_lat.min(), corners_lon.max(), corners_lat.max())
        ],
        "features": features,
    }


# --- trend over days -------------------------------------------------------------------------


def runs_by_day(
    *,
    session: Session,
    start: date,
    end: date,
    shift: tuple[time, time] | None,
    resolution: int | None,
) -> list[CoverageRun]:
    """Per day in ``start..end`` (inclusive) that has a run for the window, the latest run
    (as :func:`layers.coverage.find_run` picks it), in day order."""
    q = select(CoverageRun).where(
        CoverageRun.day >= start, CoverageRun.day <= end, CoverageRun.shift == shift_text(shift)
    )
    if resolution is not None:
        q = q.where(CoverageRun.resolution == resolution)
    q = q.order_by(CoverageRun.day, CoverageRun.computed_at.desc(), CoverageRun.id.desc())
    latest: dict[date, CoverageRun] = {}
    for run in session.scalars(q):
        latest.setdefault(run.day, run)
    return list(latest.values())


def _area(session: Session, generation_id: int, code: str | None) -> dict[str, Any]:
    if code is None:
        return {"code": None, "level": 0, "name": None}
    grid = get_grid(session=session, generation_id=generation_id, code=code)
    return {"code": grid.code, "level": grid.level, "name": grid.name}


def coverage_trend(
    *,
    session: Session,
    start: date,
    end: date,
    shift: tuple[time, time] | None = None,
    resolution: int | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Per day with a run in ``start..end``: the coverage of grid ``code`` (any level) or,
    without a code, of the whole city.

    Figures are those of :func:`layers.coverage.grid_rows` for that code and day: an L3 grid
    directly, L2/L1 (and the city) area-weighted, ``h3_share = Σ share·area / Σ area`` over
    the unit grids with cells; ``officers`` counts distinct devices that visited any of them.
    Raises :class:`CoverageNotComputed` (field ``from``) when no day of the range has a run and
    :class:`GridNotFound` (field ``code``) for a code not in the runs' grid generation.
    """
    runs = runs_by_day(session=session, start=start, end=end, shift=shift, resolution=resolution)
    if not runs:
        what = f"{start.isoformat()}..{end.isoformat()} {shift_text(shift) or '(whole day)'}"
        raise CoverageNotComputed(
            f"no coverage computed for any day of {what}; run `gridgis coverage --date "
            f"{end.isoformat()}" + (f" --shift {shift_text(shift)}" if shift else "")
            + "` for each day or POST /api/v1/coverage/runs",
            field="from",
        )  # fmt: skip
    area = _area(session, runs[-1].generation_id, code)
    ids = [r.id for r in runs]
    grid_q = select(
        CoverageGrid.run_id, CoverageGrid.cells, CoverageGrid.covered_cells,
        CoverageGrid.area_m2, CoverageGrid.covered_area_m2,
    ).where(CoverageGrid.run_id.in_(ids))  # fmt: skip
    visit_q = select(
        CoverageVisit.run_id, CoverageVisit.device_id, CoverageVisit.minutes, CoverageVisit.metres
    ).where(CoverageVisit.run_id.in_(ids))
    if code is not None:  # the code's unit grids are those whose code it prefixes
        grid_q = grid_q.where(CoverageGrid.grid_code.startswith(code, autoescape=True))
        visit_q = visit_q.where(CoverageVisit.grid_code.startswith(code, autoescape=True))
    figures = rollup(session.execute(grid_q), session.execute(visit_q), keys=ids)
    rows = [{"date": r.day.isoformat(), "run": r.id, **figures[r.id]} for r in runs]
    return {
        **area,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "shift": shift_text(shift) or None,
        "resolution": resolution,
        "data": rows,
        "count": len(rows),
    }
