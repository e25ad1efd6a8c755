"""Synthetic patrol paths for the demo and tests: walking or e-bike tours inside a grid.

Everything is metric (``x_m``, ``y_m`` in the caller's projected CRS, e.g. EPSG:4549) and times
are epoch seconds. A tour alternates legs *along* the grid edge (a street at the boundary,
shrunk inward by a margin) and *across* it (a straight line between interior points that stays
inside the grid), with stops (a visit, 2.5-10 min) between legs. Fixes carry correlated GPS
noise of a few metres, a reported accuracy and speed, and a few bad fixes: jumps of kilometres
and poor-accuracy fixes, as real phones produce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

FloatArray = NDArray[np.float64]

GOOD, JUMP, POOR_ACCURACY = 0, 1, 2
"""Values of :attr:`SimTrack.bad`."""


@dataclass(frozen=True)
class Mode:
    """How an officer moves: mean speed and its spread (m/s)."""

    name: str
    speed_mps: float
    speed_sd_mps: float


WALK = Mode("walk", 1.2, 0.15)
EBIKE = Mode("ebike", 5.0, 0.5)


@dataclass(frozen=True)
class SimTrack:
    """Fixes of one simulated tour (equal-length arrays, sorted by time)."""

    t_s: FloatArray
    x_m: FloatArray
    y_m: FloatArray
    accuracy_m: FloatArray
    speed_mps: FloatArray
    course_deg: FloatArray
    bad: NDArray[np.int8]
    stops: list[tuple[float, float]]  # (start_s, duration_s) of every planned stop

    def __len__(self) -> int:
        return len(self.t_s)


def _largest(geom: Polygon | MultiPolygon) -> Polygon:
    if isinstance(geom, MultiPolygon):
        return max(geom.geoms, key=lambda g: g.area)
    return geom


def walkable(region: Polygon | MultiPolygon, margin_m: float = 12.0) -> Polygon:
    """The part of ``region`` a tour keeps to: shrunk by ``margin_m`` (so GPS noise of a few
    metres stays inside), the largest piece if it falls apart."""
    inner = region.buffer(-margin_m)
    if inner.is_empty or inner.area < 0.05 * region.area:
        inner = region.buffer(-min(margin_m, 2.0))
    if inner.is_empty:
        inner = region
    return _largest(inner)


def random_interior_point(area: Polygon, rng: np.random.Generator) -> tuple[float, float]:
    """A uniform random point of ``area`` (rejection sampling in its bounding box)."""
    x0, y0, x1, y1 = area.bounds
    shapely.prepare(area)
    for _ in range(1000):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(area, x, y):
            return float(x), float(y)
    p = area.representative_point()
    return float(p.x), float(p.y)


def _edge_leg(
    area: Polygon, cur: tuple[float, float], rng: np.random.Generator
) -> list[tuple[float, float]]:
    """To the nearest point of the edge, then 150-900 m along it (either way round)."""
    ring = area.exterior
    length = ring.length
    s0 = ring.project(Point(cur))
    along = min(rng.uniform(150.0, 900.0), 0.9 * length)
    direction = 1.0 if rng.random() < 0.5 else -1.0
    steps = np.arange(0.0, along + 1e-9, 8.0)
    pts = [ring.interpolate((s0 + direction * s) % length) for s in steps]
    return [(p.x, p.y) for p in pts]


def _cross_leg(
    area: Polygon, cur: tuple[float, float], rng: np.random.Generator
) -> list[tuple[float, float]] | None:
    """A straight leg to a random interior point 80-900 m away that stays inside, if any."""
    for _ in range(30):
        target = random_interior_point(area, rng)
        dist = math.dist(cur, target)
        if 80.0 <= dist <= 900.0 and area.covers(LineString([cur, target])):
            return [target]
    return None


def patrol_tour(
    region: Polygon | MultiPolygon,
    *,
    rng: np.random.Generator,
    start_s: float,
    duration_s: float,
    interval_s: float = 5.0,
    mode: Mode = WALK,
    noise_m: float = 3.0,
    margin_m: float = 12.0,
    stop_every_s: tuple[float, float] = (600.0, 1800.0),
    stop_duration_s: tuple[float, float] = (150.0, 600.0),
    bad_fix_rate: float = 1 / 300,
) -> SimTrack:
    """One officer's tour inside ``region`` (metric polygon) from ``start_s`` for ``duration_s``.

    Parameters
    ----------
    region
        The officer's grid(s), projected metres.
    interval_s
        Seconds between fixes (a phone's reporting interval).
    noise_m
        Standard deviation (m) of the GPS error, correlated from fix to fix (AR(1), 0.8).
    bad_fix_rate
        Share of fixes replaced by a jump (1.5-4 km off) or a poor-accuracy fix (150-600 m);
        tours of 100 fixes or more get at least one of each.
    """
    area = walkable(region, margin_m)
    shapely.prepare(area)
    n = max(1, int(duration_s // interval_s) + 1)
    t = start_s + np.arange(n, dtype=np.float64) * interval_s
    x = np.empty(n)
    y = np.empty(n)
    cur = random_interior_point(area, rng)
    queue: list[tuple[float, float]] = []
    speed = mode.speed_mps
    next_stop = start_s + rng.uniform(*stop_every_s) / 2
    stay_until = -math.inf
    stops: list[tuple[float, float]] = []
    for i in range(n):
        now = t[i]
        if now < stay_until:
            x[i], y[i] = cur
            continue
        if not queue:
            if now >= next_stop:
                d = float(rng.uniform(*stop_duration_s))
                stops.append((float(now), d))
                stay_until = now + d
                next_stop = now + d + rng.uniform(*stop_every_s)
                x[i], y[i] = cur
                continue
            leg = _cross_leg(area, cur, rng) if rng.random() < 0.5 else None
            queue = leg if leg is not None else _edge_leg(area, cur, rng)
            speed = max(0.3 * mode.speed_mps, rng.normal(mode.speed_mps, mode.speed_sd_mps))
        # move along the queued polyline by this tick's distance
        remaining = speed * interval_s * rng.uniform(0.85, 1.15)
        while queue and remaining > 0:
            tx, ty = queue[0]
            d = math.dist(cur, (tx, ty))
            if d <= remaining:
                cur = (tx, ty)
                queue.pop(0)
                remaining -= d
            else:
                f = remaining / d
                cur = (cur[0] + (tx - cur[0]) * f, cur[1] + (ty - cur[1]) * f)
                remaining = 0.0
        x[i], y[i] = cur
    # reported speed and course from the true motion
    dx = np.diff(x, prepend=x[0])
    dy = np.diff(y, prepend=y[0])
    speed_mps = np.hypot(dx, dy) / interval_s
    course = (np.degrees(np.arctan2(dx, dy)) + 360.0) % 360.0
    # correlated GPS noise
    rho = 0.8
    err = np.zeros((n, 2))
    shocks = rng.normal(0.0, noise_m * math.sqrt(1 - rho**2), (n, 2))
    err[0] = rng.normal(0.0, noise_m, 2)
    for i in range(1, n):
        err[i] = rho * err[i - 1] + shocks[i]
    x = x + err[:, 0]
    y = y + err[:, 1]
    accuracy = rng.uniform(3.0, 12.0, n).round(1)
    bad = np.zeros(n, dtype=np.int8)
    if n >= 20:
        k = max(2 if n >= 100 else 0, round(n * bad_fix_rate))
        # spaced apart, never the first fix (a jump must have a good fix before it)
        candidates = np.arange(2, n - 1, 3)
        picks = rng.choice(candidates, size=min(k, len(candidates)), replace=False)
        for j, idx in enumerate(sorted(int(p) for p in picks)):
            if j % 2 == 0:
                angle = rng.uniform(0, 2 * math.pi)
                dist = rng.uniform(1500.0, 4000.0)
                x[idx] += dist * math.cos(angle)
                y[idx] += dist * math.sin(angle)
                bad[idx] = JUMP
            else:
                x[idx] += rng.normal(0.0, 60.0)
                y[idx] += rng.normal(0.0, 60.0)
                accuracy[idx] = round(float(rng.uniform(150.0, 600.0)), 1)
                bad[idx] = POOR_ACCURACY
    return SimTrack(t, x, y, accuracy, speed_mps.round(2), course.round(1), bad, stops)
