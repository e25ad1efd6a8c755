"""The figures of an officer's patrol day (mileage, patrol/moving/stop time, stops, silences,
time per unit grid) computed from the stored fixes, whole or continued after new fixes.

A day's usable fixes (Asia/Shanghai day, none of :data:`gis.tracks.UNUSABLE`) are split into
segments at silences longer than the splitter's gap (:class:`gis.tracks.GapSplitter`); stops
are found per segment (:class:`gis.tracks.StopDetector`). The figures are a fold over the
segments, left to right: each segment's sums are added to what came before, and the silence
before a segment is added before it. So the figures of a day equal *the figures before its last
segment* ("closed", which fixes arriving later cannot change) continued with the fixes from
the last segment's start on: :func:`continue_figures` does that for fixes appended after the
last one (a phone sending live), with the same additions in the same order as the whole fold,
so both give the same floating-point numbers, bit for bit.

Used by ``GET /api/v1/patrol/daily`` through ``layers.device_daily`` (stored figures) and by
:func:`compute_daily_stats` (everything computed now: the reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy.orm import Session

from gis.crs import SRID_METRIC_DEFAULT, to_metric
from gis.tracks import UNUSABLE, GapSplitter, Stop, StopDetector
from layers.copyio import copy_rows
from layers.devices import assigned_grid_codes_all, list_devices
from layers.tracks import _iso, _own_mask, _runs, day_bounds

DAY_FIELDS = (("device", ">i4"), ("t", ">f8"), ("lon", ">f8"), ("lat", ">f8"), ("grid", ">i8"))
"""One fix as read for the daily figures: device, epoch seconds, CGCS2000 lon/lat, L3 code as
an integer (-1 for none)."""
DAILY_CHUNK_DEVICES = 500


@dataclass(frozen=True)
class DayFigures:
    """What one device's usable fixes of one day amount to, unrounded (units in the names;
    times as epoch seconds). ``grid_time_s[code]`` is the time between consecutive fixes inside
    a segment spent in that unit grid (15-digit integer code; the grid of the first fix of each
    pair): the own-grid time of any assignment is a sum over it."""

    fixes: int = 0
    mileage_m: float = 0.0
    patrol_time_s: float = 0.0
    moving_time_s: float = 0.0
    stops: int = 0
    stop_time_s: float = 0.0
    silences: int = 0
    silence_time_s: float = 0.0
    first_fix_s: float | None = None
    last_fix_s: float | None = None
    grid_time_s: dict[int, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """As JSON (floats round-trip exactly; grid codes as [code, seconds] pairs)."""
        out = {k: v for k, v in self.__dict__.items() if k != "grid_time_s"}
        return out | {"grid_time_s": [[c, s] for c, s in self.grid_time_s.items()]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DayFigures:
        grid = {int(c): float(s) for c, s in data.get("grid_time_s", [])}
        kinds = {"fixes": int, "stops": int, "silences": int}
        values: dict[str, Any] = {
            k: None if v is None else kinds.get(k, float)(v)
            for k, v in data.items()
            if k != "grid_time_s"
        }
        return cls(**values, grid_time_s=grid)


NO_FIXES = DayFigures()


class DayFold(NamedTuple):
    """The figures of a device's day, those before its last segment, and that segment's start
    (epoch s; None without fixes)."""

    figures: DayFigures
    closed: DayFigures
    open_from_s: float | None


def _grid_seconds(
    seed: dict[int, float], codes: np.ndarray, seconds: np.ndarray
) -> dict[int, float]:
    """``seed`` plus ``seconds`` per code, each code's sum taken in time order (sequentially,
    so that continuing a sum later gives the same float as taking it at once)."""
    out = dict(seed)
    if len(codes) == 0:
        return out
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    for lo, hi in zip(starts.tolist(), np.r_[starts[1:], len(order)].tolist(), strict=True):
        code = int(sorted_codes[lo])
        if code >= 0:
            run = np.r_[out.get(code, 0.0), seconds[order[lo:hi]]]
            out[code] = float(np.add.accumulate(run)[-1])
    return out


def _restart_index(
    t: np.ndarray, segment_start: int, stops: list[Stop], detector: StopDetector
) -> int:
    """An index of the last segment from which the stop detector, run on the fixes from there
    on (these and any appended later), finds the same stops after it as the detector run on
    the whole segment, and the stops before it stay as they are.

    The greedy scan (:meth:`gis.tracks.StopDetector.detect`) decides at each index it visits
    whether a stay starts there, looking at the fixes up to the end of the window. After the
    segment's last stop (which ends at ``e``), every visited index ``i`` whose minimum-duration
    window ends inside the data (``reach[i] < n``) was decided "no stay" on fixes before the
    end (a window reaching the end would have been a stay): appended fixes cannot change that.
    The first index whose window reaches the end is the restart; if that is ``e`` itself (or the
    last stop reaches the end), a stay starting there could merge with the last stop, so the
    restart is that stop's start (or the segment's, if it was itself merged onto the stop
    before it)."""
    n = len(t)
    mine = [s for s in stops if s.start >= segment_start]
    e = mine[-1].stop if mine else segment_start
    local = t[segment_start:]
    reach = np.searchsorted(local, local + detector.min_duration_s, side="left") + segment_start
    late = np.flatnonzero(reach[e - segment_start :] >= n) + e if e < n else np.zeros(0, int)
    k = int(late[0]) if len(late) else n
    if not mine or k > e:
        return k
    last = mine[-1]
    before = mine[-2].stop if len(mine) > 1 else None
    return last.start if before != last.start else segment_start


def fold_fixes(
    fixes: np.ndarray,
    *,
    start: DayFigures = NO_FIXES,
    metric_srid: int = SRID_METRIC_DEFAULT,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> DayFold:
    """``start`` continued with ``fixes`` (rows of :data:`DAY_FIELDS` of one device, sorted by
    time, from the restart fix ``start`` was closed at, see :class:`DayFold`). With ``start``
    empty: the figures of a whole day.

    Every sum is taken sequentially in time order (``np.add.accumulate``, silences adding 0 to
    the in-segment sums), so the figures continued from any restart point equal, bit for bit,
    the figures of the whole day at once.
    """
    n = len(fixes)
    if n == 0:
        return DayFold(start, start, None)
    t = fixes["t"].astype(np.float64)
    x, y = to_metric(fixes["lon"].astype(np.float64), fixes["lat"].astype(np.float64), metric_srid)
    grid = fixes["grid"].astype(np.int64)
    dt = np.diff(t)
    inside = dt <= splitter.max_gap_s
    step = np.where(inside, np.hypot(np.diff(x), np.diff(y)), 0.0)
    mileage = np.add.accumulate(np.r_[start.mileage_m, step])
    patrol = np.add.accumulate(np.r_[start.patrol_time_s, np.where(inside, dt, 0.0)])
    silence = np.add.accumulate(np.r_[start.silence_time_s, np.where(inside, 0.0, dt)])
    silences = start.silences + np.r_[0, np.cumsum(~inside)]
    segments = splitter.split(t)
    stops: list[Stop] = []
    for a, b in segments:
        stops += [
            Stop(s.start + a, s.stop + a, s.x_m, s.y_m, s.start_s, s.duration_s)
            for s in detector.detect(t[a:b], x[a:b], y[a:b])
        ]
    stop_time = np.add.accumulate(np.r_[start.stop_time_s, [s.duration_s for s in stops]])
    r = _restart_index(t, segments[-1][0], stops, detector)
    before_r = sum(1 for s in stops if s.start < r)

    def at(i: int, stop_count: int, grid_seconds: dict[int, float], whole: bool) -> DayFigures:
        """The figures of the pairs of fixes up to fix ``i`` and of the first stops: of the
        fixes before ``i`` (closed at ``i``), or of all of them (``whole``, ``i`` the last)."""
        first = start.first_fix_s
        return DayFigures(
            fixes=start.fixes + (n if whole else i),
            mileage_m=float(mileage[i]),
            patrol_time_s=float(patrol[i]),
            moving_time_s=float(patrol[i] - stop_time[stop_count]),
            stops=start.stops + stop_count,
            stop_time_s=float(stop_time[stop_count]),
            silences=int(silences[i]),
            silence_time_s=float(silence[i]),
            first_fix_s=float(t[0]) if first is None and (whole or i > 0) else first,
            last_fix_s=float(t[i]) if whole else (float(t[i - 1]) if i else start.last_fix_s),
            grid_time_s=grid_seconds,
        )

    pair_codes, pair_s = grid[:-1][inside], dt[inside]
    cut = int(np.count_nonzero(inside[:r]))  # in-segment pairs before fix r
    closed_grid = _grid_seconds(start.grid_time_s, pair_codes[:cut], pair_s[:cut])
    closed = at(r, before_r, closed_grid, whole=False)
    rest = _grid_seconds(closed_grid, pair_codes[cut:], pair_s[cut:])
    figures = at(n - 1, len(stops), rest, whole=True)
    return DayFold(figures, closed, float(t[r]))


def read_day_fixes(
    session: Session, device_ids: list[int], day: date, since_s: list[float] | None = None
) -> np.ndarray:
    """The usable fixes of ``device_ids`` on ``day`` (Asia/Shanghai), sorted by device and
    time, as rows of :data:`DAY_FIELDS`; only those at or after ``since_s`` (epoch s, one per
    device) when given. One binary COPY."""
    start, end = day_bounds(day)
    columns = (
        "SELECT p.device_id::int4, extract(epoch FROM p.fix_time)::float8, p.lon, p.lat, "
        "coalesce(nullif(p.grid_code, '')::int8, -1) FROM position p "
    )
    order = "ORDER BY p.device_id, p.fix_time"
    if since_s is None:
        where = "WHERE p.device_id = ANY(%s) AND p.fix_time >= %s AND p.fix_time < %s "
        return copy_rows(
            session, f"{columns}{where}AND p.flags & %s = 0 {order}",
            (device_ids, start, end, UNUSABLE), DAY_FIELDS,
        )  # fmt: skip
    # per device from its own time: one index range per device (device_id = ANY, from the
    # earliest time of the chunk, a second early for the float's rounding), then each
    # device's rows cut at its own time on the same float the figures were made of (a join
    # with unnest(ids, times) made PostgreSQL scan the whole day)
    since = np.asarray(since_s, dtype=np.float64)
    floor = datetime.fromtimestamp(float(since.min()), tz=UTC) - timedelta(seconds=1)
    rows = copy_rows(
        session,
        f"{columns}WHERE p.device_id = ANY(%s) AND p.fix_time >= %s AND p.fix_time < %s "
        f"AND p.flags & %s = 0 {order}",
        (device_ids, max(floor, start), end, UNUSABLE),
        DAY_FIELDS,
    )
    ids = np.asarray(device_ids, dtype=np.int64)
    by_id = np.argsort(ids)
    owner = by_id[np.searchsorted(ids, rows["device"].astype(np.int64), sorter=by_id)]
    return rows[rows["t"].astype(np.float64) >= since[owner]]


def figures_of(
    session: Session,
    device_ids: list[int],
    day: date,
    *,
    continued: dict[int, tuple[DayFigures, float]] | None = None,
    metric_srid: int = SRID_METRIC_DEFAULT,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> dict[int, DayFold]:
    """The :class:`DayFold` of each of ``device_ids`` on ``day``: the whole day, or for the
    devices in ``continued`` (closed figures, last segment's start) only the fixes from that
    start on, continued from the closed figures. Fixes are read :data:`DAILY_CHUNK_DEVICES`
    devices a round trip."""
    out: dict[int, DayFold] = {}
    continued = continued or {}
    whole = [d for d in device_ids if d not in continued]
    parts = sorted((d for d in device_ids if d in continued), key=lambda d: continued[d][1])
    for group, since in ((whole, False), (parts, True)):
        for k in range(0, len(group), DAILY_CHUNK_DEVICES):
            chunk = group[k : k + DAILY_CHUNK_DEVICES]
            starts = [continued[d][1] for d in chunk] if since else None
            rows = read_day_fixes(session, chunk, day, starts)
            bounds = {d: (a, b) for d, a, b in _runs(rows["device"].astype(np.int64))}
            for device_id in chunk:
                a, b = bounds.get(device_id, (0, 0))
                out[device_id] = fold_fixes(
                    rows[a:b], start=continued[device_id][0] if since else NO_FIXES,
                    metric_srid=metric_srid, splitter=splitter, detector=detector,
                )  # fmt: skip
    return out


def day_row(
    day: date, device: Any, person: Any, figures: DayFigures, own: tuple[str, ...]
) -> dict[str, Any]:
    """One answer row of ``GET /patrol/daily`` (:data:`layers.tracks.STAT_COLUMNS`): the
    figures rounded, the time in the person's ``own`` grids (codes of any level, by prefix)
    and its share."""
    f = figures
    codes = np.fromiter(f.grid_time_s, dtype=np.int64, count=len(f.grid_time_s))
    seconds = np.fromiter(f.grid_time_s.values(), dtype=np.float64, count=len(codes))
    own_time = float(seconds[_own_mask(codes, own)].sum())
    return {
        "date": day.isoformat(), "device_id": device.id, "device": device.external_id,
        "person_id": person.id, "name": person.name, "fixes": f.fixes,
        "mileage_m": round(f.mileage_m, 1), "patrol_time_s": round(f.patrol_time_s),
        "moving_time_s": round(f.moving_time_s), "stops": f.stops,
        "stop_time_s": round(f.stop_time_s), "own_grid_time_s": round(own_time),
        "own_grid_share": round(own_time / f.patrol_time_s, 3) if f.patrol_time_s else None,
        "silences": f.silences, "silence_time_s": round(f.silence_time_s),
        "first_fix": None if f.first_fix_s is None else _iso(f.first_fix_s),
        "last_fix": None if f.last_fix_s is None else _iso(f.last_fix_s),
    }  # fmt: skip


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
    where fixes changed) must equal row for row. Columns: :data:`layers.tracks.STAT_COLUMNS`."""
    assigned = assigned_grid_codes_all(session=session)  # one query for everyone
    officers = [
        (device, person)
        for device, person in list_devices(session=session)
        if person is not None and (person_id is None or person.id == person_id)
    ]
    folds = figures_of(
        session, [d.id for d, _ in officers], day,
        metric_srid=metric_srid, splitter=splitter, detector=detector,
    )  # fmt: skip
    return [
        day_row(day, device, person, folds[device.id].figures, tuple(assigned.get(person.id, [])))
        for device, person in officers
    ]
