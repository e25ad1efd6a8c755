"""Patrol tracks as arrays: quality flags, splitting at silences, stops, mileage, simplifying.

Every function is pure numpy on one device's fixes sorted by time. Positions are metric
coordinates ``x_m, y_m`` (EPSG:4549 for Jiangyin, see :func:`gis.crs.to_metric`); times are
seconds since the epoch (``t_s``, float). Small named units in the movingpandas manner:
``FixFlag`` (what is wrong with a fix), ``GapSplitter``, ``StopDetector``, ``track_mileage_m``,
``moving_time_s``, ``simplify_indices``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class FixFlag(enum.IntFlag):
    """Why a fix is doubtful. Flagged fixes are stored, never dropped; tracks skip ``UNUSABLE``."""

    POOR_ACCURACY = 1  # reported accuracy worse than the limit
    IMPOSSIBLE_JUMP = 2  # implied speed from the previous fix beyond what a patrol can do
    FUTURE_TIME = 4  # fix time ahead of the server clock
    FAR_PAST_TIME = 8  # fix time long before it reached the server
    OUTSIDE_CITY = 16  # in no unit grid of the city
    CLIENT_INVALID = 32  # the client itself said the fix is not valid (OsmAnd ``valid=false``)
    REPEATED_POSITION = 64  # exactly the previous fix's coordinates again (a stale cached fix)


UNUSABLE = FixFlag.IMPOSSIBLE_JUMP | FixFlag.FUTURE_TIME | FixFlag.CLIENT_INVALID
"""Fixes with any of these flags are left out of tracks, statistics and live positions."""


def flag_names(flags: int) -> list[str]:
    """The names of the flags set in ``flags`` (lower case, e.g. ``["poor_accuracy"]``)."""
    return [f.name.lower() for f in FixFlag if f.name and flags & f]


@dataclass(frozen=True)
class FlagLimits:
    """Thresholds of :func:`flag_fixes` (units in the names)."""

    max_accuracy_m: float = 100.0
    max_speed_mps: float = 50.0  # 180 km/h: no walking or e-bike patrol, nor a car in town
    min_jump_m: float = 200.0  # below this a fast step is GPS noise, not a jump
    future_tolerance_s: float = 300.0
    far_past_s: float = 7 * 86400.0


def step_distances_m(x_m: FloatArray, y_m: FloatArray) -> FloatArray:
    """Distance (m) from each fix to the next; length ``n - 1``."""
    return np.hypot(np.diff(x_m), np.diff(y_m))


def flag_fixes(
    t_s: FloatArray,
    x_m: FloatArray,
    y_m: FloatArray,
    accuracy_m: FloatArray,
    received_s: float,
    *,
    inside_city: NDArray[np.bool_],
    client_valid: NDArray[np.bool_],
    previous: tuple[float, float, float] | None = None,
    limits: FlagLimits = FlagLimits(),
) -> NDArray[np.int16]:
    """Quality flags of one device's fixes (sorted by ``t_s``) as :class:`FixFlag` bits.

    Parameters
    ----------
    t_s, x_m, y_m, accuracy_m
        Fix times (epoch s), metric position (m) and reported accuracy (m, NaN if unknown).
    received_s
        Server time (epoch s) the fixes arrived.
    inside_city, client_valid
        Per fix: in a unit grid of the city; the client's own validity flag.
    previous
        ``(t_s, x_m, y_m)`` of the last usable stored fix before the first one, if any.
    """
    n = len(t_s)
    flags = _fix_flags(t_s, accuracy_m, received_s, inside_city, client_valid, limits)
    if n == 0:
        return flags
    # Jumps: compare each fix with the last one not itself a jump (a single wild fix must not
    # make the good fix after it look like a jump back). Sequential by nature, but until the
    # first jump "the last one" is simply the previous checked fix: that part is vectorised,
    # and only what follows a jump (rare) is walked fix by fix.
    checked = np.flatnonzero((flags & (FixFlag.FUTURE_TIME | FixFlag.CLIENT_INVALID)) == 0)
    if checked.size == 0:
        return flags
    tc, xc, yc = t_s[checked], x_m[checked], y_m[checked]
    if previous is not None:
        tp = np.concatenate(([previous[0]], tc[:-1]))
        xp = np.concatenate(([previous[1]], xc[:-1]))
        yp = np.concatenate(([previous[2]], yc[:-1]))
        first = 0
    else:
        tp, xp, yp = tc[:-1], xc[:-1], yc[:-1]
        first = 1  # the very first fix has nothing to be compared with
    dist = np.hypot(xc[first:] - xp, yc[first:] - yp)
    jump = _is_jump(dist, tc[first:] - tp, limits)
    hits = np.flatnonzero(jump)
    upto = int(hits[0]) if hits.size else dist.size  # comparisons valid before the first jump
    repeated = checked[first : first + upto][dist[:upto] == 0.0]
    flags[repeated] |= FixFlag.REPEATED_POSITION
    if upto == dist.size:
        return flags
    k = first + upto  # the first jump, as an index into ``checked``
    flags[checked[k]] |= FixFlag.IMPOSSIBLE_JUMP
    last = (float(tp[upto]), float(xp[upto]), float(yp[upto]))
    for j, t, x, y in zip(
        checked[k + 1 :].tolist(), tc[k + 1 :].tolist(), xc[k + 1 :].tolist(),
        yc[k + 1 :].tolist(), strict=True,
    ):  # fmt: skip
        d = float(np.hypot(x - last[1], y - last[2]))
        if d == 0.0:
            flags[j] |= FixFlag.REPEATED_POSITION
        elif d > limits.min_jump_m and d > limits.max_speed_mps * max(t - last[0], 1.0):
            flags[j] |= FixFlag.IMPOSSIBLE_JUMP
            continue
        last = (t, x, y)
    return flags


def _fix_flags(
    t_s: FloatArray,
    accuracy_m: FloatArray,
    received_s: float,
    inside_city: NDArray[np.bool_],
    client_valid: NDArray[np.bool_],
    limits: FlagLimits,
) -> NDArray[np.int16]:
    """The flags each fix earns on its own (no comparison with another fix)."""
    flags = np.zeros(len(t_s), dtype=np.int16)
    flags[np.nan_to_num(accuracy_m, nan=0.0) > limits.max_accuracy_m] |= FixFlag.POOR_ACCURACY
    flags[t_s > received_s + limits.future_tolerance_s] |= FixFlag.FUTURE_TIME
    flags[t_s < received_s - limits.far_past_s] |= FixFlag.FAR_PAST_TIME
    flags[~inside_city] |= FixFlag.OUTSIDE_CITY
    flags[~client_valid] |= FixFlag.CLIENT_INVALID
    return flags


def _is_jump(dist_m: FloatArray, dt_s: FloatArray, limits: FlagLimits) -> NDArray[np.bool_]:
    """A step of ``dist_m`` metres in ``dt_s`` seconds no patrol can make."""
    return (dist_m > limits.min_jump_m) & (dist_m > limits.max_speed_mps * np.maximum(dt_s, 1.0))


def flag_next_fixes(
    t_s: FloatArray,
    x_m: FloatArray,
    y_m: FloatArray,
    accuracy_m: FloatArray,
    received_s: float,
    *,
    inside_city: NDArray[np.bool_],
    client_valid: NDArray[np.bool_],
    previous_t_s: FloatArray,
    previous_x_m: FloatArray,
    previous_y_m: FloatArray,
    limits: FlagLimits = FlagLimits(),
) -> NDArray[np.int16]:
    """:func:`flag_fixes` of many one-fix tracks at once (each fix of its own device, as
    concurrent single-fix requests bring them): fix ``i`` compared with its own previous usable
    fix ``(previous_t_s[i], previous_x_m[i], previous_y_m[i])`` (NaN time: none). Element ``i``
    equals ``flag_fixes`` of fix ``i`` alone with that ``previous``."""
    flags = _fix_flags(t_s, accuracy_m, received_s, inside_city, client_valid, limits)
    checked = ((flags & (FixFlag.FUTURE_TIME | FixFlag.CLIENT_INVALID)) == 0) & ~np.isnan(
        previous_t_s
    )
    dist = np.hypot(x_m - previous_x_m, y_m - previous_y_m)
    jump = checked & _is_jump(dist, t_s - previous_t_s, limits)
    flags[jump] |= FixFlag.IMPOSSIBLE_JUMP
    flags[checked & ~jump & (dist == 0.0)] |= FixFlag.REPEATED_POSITION
    return flags


@dataclass(frozen=True)
class GapSplitter:
    """Split a track where no fix came for more than ``max_gap_s`` (a GPS silence)."""

    max_gap_s: float = 300.0

    def split(self, t_s: FloatArray) -> list[tuple[int, int]]:
        """Half-open index ranges ``[start, stop)`` of the segments, in time order."""
        if len(t_s) == 0:
            return []
        breaks = np.flatnonzero(np.diff(t_s) > self.max_gap_s) + 1
        starts = np.concatenate(([0], breaks))
        stops = np.concatenate((breaks, [len(t_s)]))
        return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]

    def silences(self, t_s: FloatArray) -> list[tuple[float, float]]:
        """``(start_s, duration_s)`` of every gap longer than ``max_gap_s``."""
        gaps = np.diff(t_s)
        where = np.flatnonzero(gaps > self.max_gap_s)
        return [(float(t_s[i]), float(gaps[i])) for i in where]


@dataclass(frozen=True)
class Stop:
    """A stay: fixes ``start``..``stop - 1`` within ``radius_m`` of their centre."""

    start: int
    stop: int
    x_m: float
    y_m: float
    start_s: float
    duration_s: float


@dataclass(frozen=True)
class StopDetector:
    """A stop is a stay of at least ``min_duration_s`` within ``max_radius_m`` (movingpandas'
    ``TrajectoryStopDetector`` rule, greedy and linear in time)."""

    max_radius_m: float = 30.0
    min_duration_s: float = 120.0

    def detect(self, t_s: FloatArray, x_m: FloatArray, y_m: FloatArray) -> list[Stop]:
        stops: list[Stop] = []
        n = len(t_s)
        # A stay starting at i covers at least [i, reach[i]] (the minimum duration), and all of
        # its fixes lie within the radius of one centroid, so within 2 radii of fix i: a cheap
        # exact test that skips the window growing for fixes on the move.
        reach = np.searchsorted(t_s, t_s + self.min_duration_s, side="left")
        limit = (2 * self.max_radius_m) ** 2
        i = 0
        while i < n:
            r = int(reach[i])
            if r >= n:
                break  # too little time left for a stay
            dx = x_m[i : r + 1] - x_m[i]
            dy = y_m[i : r + 1] - y_m[i]
            if float((dx * dx + dy * dy).max()) > limit:
                i += 1
                continue
            # grow the window while every fix stays within the radius of the window's centroid
            j = i + 1
            sx, sy = float(x_m[i]), float(y_m[i])
            while j < n:
                cx, cy = (sx + x_m[j]) / (j - i + 1), (sy + y_m[j]) / (j - i + 1)
                if np.hypot(x_m[i : j + 1] - cx, y_m[i : j + 1] - cy).max() > self.max_radius_m:
                    break
                sx += float(x_m[j])
                sy += float(y_m[j])
                j += 1
            duration = float(t_s[j - 1] - t_s[i])
            if duration >= self.min_duration_s:
                count = j - i
                found = Stop(i, j, sx / count, sy / count, float(t_s[i]), duration)
                last = stops[-1] if stops else None
                if (
                    last is not None
                    and last.stop == i
                    and np.hypot(last.x_m - found.x_m, last.y_m - found.y_m) <= self.max_radius_m
                ):
                    # the greedy window broke on noise: the two halves are one stay
                    n_last, n_new = last.stop - last.start, count
                    found = Stop(
                        last.start,
                        j,
                        (last.x_m * n_last + found.x_m * n_new) / (n_last + n_new),
                        (last.y_m * n_last + found.y_m * n_new) / (n_last + n_new),
                        last.start_s,
                        float(t_s[j - 1]) - last.start_s,
                    )
                    stops[-1] = found
                else:
                    stops.append(found)
                i = j
            else:
                i += 1
        return stops


def track_mileage_m(x_m: FloatArray, y_m: FloatArray, segments: list[tuple[int, int]]) -> float:
    """Distance travelled (m) inside the segments; the straight line across a gap is not counted."""
    return float(sum(step_distances_m(x_m[a:b], y_m[a:b]).sum() for a, b in segments))


def moving_time_s(
    t_s: FloatArray, segments: list[tuple[int, int]], stops: list[Stop]
) -> tuple[float, float]:
    """``(patrol_time_s, moving_time_s)``: time inside segments, and that time minus stops."""
    patrol = float(sum(t_s[b - 1] - t_s[a] for a, b in segments))
    return patrol, patrol - float(sum(s.duration_s for s in stops))


def simplify_indices(x_m: FloatArray, y_m: FloatArray, tolerance_m: float) -> IntArray:
    """Indices kept by Douglas-Peucker at ``tolerance_m`` (m); the ends are always kept.

    Indices rather than a shapely geometry, so each kept vertex keeps its time.
    """
    n = len(x_m)
    if n <= 2 or tolerance_m <= 0:
        return np.arange(n, dtype=np.int64)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        px, py = x_m[a + 1 : b], y_m[a + 1 : b]
        dx, dy = x_m[b] - x_m[a], y_m[b] - y_m[a]
        length = np.hypot(dx, dy)
        if length == 0:
            dist = np.hypot(px - x_m[a], py - y_m[a])
        else:
            dist = np.abs(dy * (px - x_m[a]) - dx * (py - y_m[a])) / length
        k = int(np.argmax(dist))
        if dist[k] > tolerance_m:
            mid = a + 1 + k
            keep[mid] = True
            stack.extend(((a, mid), (mid, b)))
    return np.flatnonzero(keep).astype(np.int64)


@dataclass(frozen=True)
class TrackSummary:
    """What a track amounts to (units in the names)."""

    segments: list[tuple[int, int]]
    stops: list[Stop]
    mileage_m: float
    patrol_time_s: float
    moving_time_s: float
    silences: list[tuple[float, float]]


def summarize_track(
    t_s: FloatArray,
    x_m: FloatArray,
    y_m: FloatArray,
    *,
    splitter: GapSplitter = GapSplitter(),
    detector: StopDetector = StopDetector(),
) -> TrackSummary:
    """Segments, stops (per segment), mileage and times of one device's usable fixes."""
    segments = splitter.split(t_s)
    stops: list[Stop] = []
    for a, b in segments:
        for s in detector.detect(t_s[a:b], x_m[a:b], y_m[a:b]):
            stops.append(Stop(s.start + a, s.stop + a, s.x_m, s.y_m, s.start_s, s.duration_s))
    patrol, moving = moving_time_s(t_s, segments, stops)
    return TrackSummary(
        segments=segments,
        stops=stops,
        mileage_m=track_mileage_m(x_m, y_m, segments),
        patrol_time_s=patrol,
        moving_time_s=moving,
        silences=splitter.silences(t_s),
    )
