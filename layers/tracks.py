"""Tracks and patrol statistics read from stored fixes (GeoJSON and per-officer rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from gis.codes import LEVEL_CODE_LENGTH
from gis.crs import SRID_METRIC_DEFAULT, from_metric, to_metric
from gis.tracks import UNUSABLE, GapSplitter, StopDetector, simplify_indices, summarize_track
from layers.copyio import copy_rows
from layers.devices import assigned_grid_codes_all, list_devices
from layers.positions import read_track
from layers.workcal import SHANGHAI


def _iso(t_s: float) -> str:
    return datetime.fromtimestamp(t_s, tz=UTC).isoformat().replace("+00:00", "Z")


def device_track(
    *,
    session: Session,
    device_id: int,
    start: datetime,
    end: datetime,
    simplify_m: float = 0.0,
    metric_srid: int = SRID_METRIC_DEFAULT,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> dict[str, Any]:
    """A device's track as a GeoJSON FeatureCollection (EPSG:4490 lon/lat).

    One ``LineString`` feature per segment (split at silences longer than the splitter's gap)
    with ``times`` (epoch ms per vertex), one ``Point`` feature per stop (``start``, ``end``,
    ``duration_s``), and a ``summary`` member: ``mileage_m``, ``patrol_time_s``,
    ``moving_time_s``, ``stops``, ``fixes``. Simplification (metres) keeps each vertex's time
    and never changes the statistics, which are computed on every usable fix.
    """
    fixes = read_track(
        session=session, device_id=device_id, start=start, end=end, exclude_flags=UNUSABLE
    )
    features: list[dict[str, Any]] = []
    summary: dict[str, Any] = {
        "fixes": len(fixes.t_s),
        "mileage_m": 0.0,
        "patrol_time_s": 0.0,
        "moving_time_s": 0.0,
        "stops": 0,
        "segments": 0,
        "silences": [],
    }
    if len(fixes.t_s):
        x, y = to_metric(fixes.lon, fixes.lat, metric_srid)
        track = summarize_track(fixes.t_s, x, y, splitter=splitter, detector=detector)
        for n, (a, b) in enumerate(track.segments):
            keep = simplify_indices(x[a:b], y[a:b], simplify_m) + a
            coords = np.column_stack((fixes.lon[keep], fixes.lat[keep])).round(7).tolist()
            if len(coords) == 1:
                coords = coords * 2  # a one-fix segment: a valid, zero-length LineString
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": coords},
                    "properties": {
                        "kind": "segment",
                        "segment": n,
                        "start": _iso(fixes.t_s[a]),
                        "end": _iso(fixes.t_s[b - 1]),
                        "times": (fixes.t_s[keep] * 1000).round().astype(np.int64).tolist()
                        if len(keep) > 1
                        else [int(fixes.t_s[a] * 1000)] * 2,
                        "grids": [fixes.grid_code[int(i)] for i in keep],
                    },
                }
            )
        if track.stops:
            slon, slat = from_metric(
                np.array([s.x_m for s in track.stops]),
                np.array([s.y_m for s in track.stops]),
                metric_srid,
            )
            for k, s in enumerate(track.stops):
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(float(slon[k]), 7), round(float(slat[k]), 7)],
                        },
                        "properties": {
                            "kind": "stop",
                            "start": _iso(s.start_s),
                            "end": _iso(s.start_s + s.duration_s),
                            "duration_s": round(s.duration_s),
                            "grid": fixes.grid_code[s.start],
                        },
                    }
                )
        summary.update(
            mileage_m=round(track.mileage_m, 1),
            patrol_time_s=round(track.patrol_time_s),
            moving_time_s=round(track.moving_time_s),
            stops=len(track.stops),
            segments=len(track.segments),
            silences=[{"start": _iso(a), "duration_s": round(d)} for a, d in track.silences],
        )
    return {
        "type": "FeatureCollection",
        "device": device_id,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "summary": summary,
        "features": features,
    }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A calendar day in Asia/Shanghai as a UTC half-open range."""
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


STAT_COLUMNS = (
    "date", "device_id", "device", "person_id", "name", "fixes", "mileage_m", "patrol_time_s",
    "moving_time_s", "stops", "stop_time_s", "own_grid_time_s", "own_grid_share",
    "silences", "silence_time_s", "first_fix", "last_fix",
)  # fmt: skip


_DAY_FIELDS = (("device", ">i4"), ("t", ">f8"), ("lon", ">f8"), ("lat", ">f8"), ("grid", ">i8"))
DAILY_CHUNK_DEVICES = 500


def _own_mask(grid: np.ndarray, own: tuple[str, ...]) -> np.ndarray:
    """True where the L3 code ``grid`` (15-digit integers, -1 for none) lies in one of the
    ``own`` codes of any level (an L1/L2 code covers its descendants: a prefix match)."""
    inside = np.zeros(len(grid), dtype=bool)
    for code in own:
        if code.isdigit() and len(code) <= LEVEL_CODE_LENGTH[3]:
            scale = 10 ** (LEVEL_CODE_LENGTH[3] - len(code))
            inside |= (grid >= 0) & (grid // scale == int(code))
    return inside


@dataclass(frozen=True)
class DayFigures:
    """What one device's usable fixes of one day amount to, unrounded (units in the names;
    times as epoch seconds). ``grid_time_s[k]`` is the time between consecutive fixes inside a
    segment spent in the unit grid ``grid_codes[k]`` (15-digit integers; the grid of the first
    fix of each pair): the own-grid time of any assignment is a sum over it."""

    fixes: int
    mileage_m: float
    patrol_time_s: float
    moving_time_s: float
    stops: int
    stop_time_s: float
    silences: int
    silence_time_s: float
    first_fix_s: float | None
    last_fix_s: float | None
    grid_codes: np.ndarray
    grid_time_s: np.ndarray


NO_FIXES = DayFigures(0, 0.0, 0.0, 0.0, 0, 0.0, 0, 0.0, None, None,
                      np.zeros(0, np.int64), np.zeros(0, np.float64))  # fmt: skip


def day_figures(
    fixes: np.ndarray,
    *,
    metric_srid: int = SRID_METRIC_DEFAULT,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> DayFigures:
    """The figures of one device's day from its fixes (rows of :data:`_DAY_FIELDS`, sorted by
    time, unusable ones left out). The one computation behind stored and recomputed rows."""
    if len(fixes) == 0:
        return NO_FIXES
    t_s = fixes["t"].astype(np.float64)
    x, y = to_metric(fixes["lon"].astype(np.float64), fixes["lat"].astype(np.float64), metric_srid)
    track = summarize_track(t_s, x, y, splitter=splitter, detector=detector)
    dt = np.diff(t_s)
    in_segment = dt <= splitter.max_gap_s
    grid = fixes["grid"].astype(np.int64)[:-1][in_segment]
    codes, inverse = np.unique(grid, return_inverse=True)
    seconds = np.bincount(inverse.ravel(), weights=dt[in_segment], minlength=len(codes))
    located = codes >= 0
    return DayFigures(
        fixes=len(fixes),
        mileage_m=float(track.mileage_m),
        patrol_time_s=float(track.patrol_time_s),
        moving_time_s=float(track.moving_time_s),
        stops=len(track.stops),
        stop_time_s=float(sum(s.duration_s for s in track.stops)),
        silences=len(track.silences),
        silence_time_s=float(sum(d for _, d in track.silences)),
        first_fix_s=float(t_s[0]),
        last_fix_s=float(t_s[-1]),
        grid_codes=codes[located],
        grid_time_s=seconds[located].astype(np.float64),
    )


def read_day_fixes(session: Session, device_ids: list[int], day: date) -> np.ndarray:
    """The usable fixes of ``device_ids`` on ``day`` (Asia/Shanghai), sorted by device and
    time, as rows of :data:`_DAY_FIELDS` (grid -1 where none); one binary COPY."""
    start, end = day_bounds(day)
    return copy_rows(
        session,
        "SELECT device_id::int4, extract(epoch FROM fix_time)::float8, lon, lat, "
        "coalesce(nullif(grid_code, '')::int8, -1) FROM position "
        "WHERE device_id = ANY(%s) AND fix_time >= %s AND fix_time < %s AND flags & %s = 0 "
        "ORDER BY device_id, fix_time",
        (device_ids, start, end, UNUSABLE),
        _DAY_FIELDS,
    )


def figures_of(
    session: Session,
    device_ids: list[int],
    day: date,
    *,
    metric_srid: int = SRID_METRIC_DEFAULT,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> dict[int, DayFigures]:
    """:func:`day_figures` of each of ``device_ids`` on ``day`` (:data:`NO_FIXES` for a device
    without usable fixes); fixes read :data:`DAILY_CHUNK_DEVICES` devices a round trip."""
    out: dict[int, DayFigures] = {}
    for k in range(0, len(device_ids), DAILY_CHUNK_DEVICES):
        chunk = device_ids[k : k + DAILY_CHUNK_DEVICES]
        rows = read_day_fixes(session, chunk, day)
        bounds = {d: (a, b) for d, a, b in _runs(rows["device"].astype(np.int64))}
        for device_id in chunk:
            a, b = bounds.get(device_id, (0, 0))
            out[device_id] = day_figures(
                rows[a:b], metric_srid=metric_srid, splitter=splitter, detector=detector
            )
    return out


def compute_daily_stats(
    *,
    session: Session,
    day: date,
    metric_srid: int = SRID_METRIC_DEFAULT,
    person_id: int | None = None,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> list[dict[str, Any]]:
    """Per officer's device for one day, every figure computed now from the fixes (nothing
    stored): the reference that ``layers.device_daily.daily_stats`` (stored, recomputed only
    where fixes changed) must equal row for row. Columns: :data:`STAT_COLUMNS`."""
    assigned = assigned_grid_codes_all(session=session)  # one query for everyone
    officers = [
        (device, person)
        for device, person in list_devices(session=session)
        if person is not None and (person_id is None or person.id == person_id)
    ]
    figures = figures_of(
        session, [d.id for d, _ in officers], day,
        metric_srid=metric_srid, splitter=splitter, detector=detector,
    )  # fmt: skip
    return [
        day_row(day, device, person, figures[device.id], tuple(assigned.get(person.id, [])))
        for device, person in officers
    ]


def _runs(ids: np.ndarray) -> list[tuple[int, int, int]]:
    """(value, start, end) of each run of equal values in a sorted array."""
    if len(ids) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return [(int(ids[a]), int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def day_row(
    day: date, device: Any, person: Any, figures: DayFigures, own: tuple[str, ...]
) -> dict[str, Any]:
    """One answer row of ``GET /patrol/daily`` (:data:`STAT_COLUMNS`): the figures rounded,
    the time in the person's ``own`` grids (codes of any level, by prefix) and its share."""
    f = figures
    own_time = float(f.grid_time_s[_own_mask(f.grid_codes, own)].sum())
    return {
        "date": day.isoformat(), "device_id": device.id, "device": device.external_id,
        "person_id": person.id, "name": person.name, "fixes": f.fixes,
        "mileage_m": round(f.mileage_m, 1), "patrol_time_s": round(f.patrol_time_s),
        "moving_time_s": round(f.moving_time_s), "stops": f.stops,
        "stop_time_s": round(f.stop_time_s),
        "own_grid_time_s": round(own_time) if f.fixes else 0,
        "own_grid_share": round(own_time / f.patrol_time_s, 3) if f.patrol_time_s else None,
        "silences": f.silences, "silence_time_s": round(f.silence_time_s),
        "first_fix": None if f.first_fix_s is None else _iso(f.first_fix_s),
        "last_fix": None if f.last_fix_s is None else _iso(f.last_fix_s),
    }  # fmt: skip
