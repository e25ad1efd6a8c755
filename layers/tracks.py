"""Tracks and patrol statistics read from stored fixes (GeoJSON and per-officer rows)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from gis.codes import LEVEL_CODE_LENGTH
from gis.crs import SRID_METRIC_DEFAULT, from_metric, to_metric
from gis.tracks import UNUSABLE, GapSplitter, StopDetector, simplify_indices, summarize_track
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


def _own_mask(grid: np.ndarray, own: tuple[str, ...]) -> np.ndarray:
    """True where the L3 code ``grid`` (15-digit integers, -1 for none) lies in one of the
    ``own`` codes of any level (an L1/L2 code covers its descendants: a prefix match)."""
    inside = np.zeros(len(grid), dtype=bool)
    for code in own:
        if code.isdigit() and len(code) <= LEVEL_CODE_LENGTH[3]:
            scale = 10 ** (LEVEL_CODE_LENGTH[3] - len(code))
            inside |= (grid >= 0) & (grid // scale == int(code))
    return inside


def _runs(ids: np.ndarray) -> list[tuple[int, int, int]]:
    """(value, start, end) of each run of equal values in a sorted array."""
    if len(ids) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return [(int(ids[a]), int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
