"""Unit-grid seeds: density-weighted sampling and a few Lloyd steps, in metres."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPoint, Polygon

FloatArray = NDArray[np.float64]
DensityFn = Callable[[FloatArray, FloatArray], FloatArray]
"""Grid density (grids per km²) at metric points given in metres."""

SAMPLE_STEP_M = 100.0


def sample_seeds(
    outline_m: Polygon, n: int, density: DensityFn, rng: np.random.Generator
) -> FloatArray:
    """Draw ``n`` distinct points inside ``outline_m`` with probability ∝ ``density``.

    Points are drawn from a 100 m raster (without replacement) and jittered inside their
    raster cell; returns an (n, 2) array of metric coordinates (m).
    """
    west, south, east, north = outline_m.bounds
    xs = np.arange(west + SAMPLE_STEP_M / 2, east, SAMPLE_STEP_M)
    ys = np.arange(south + SAMPLE_STEP_M / 2, north, SAMPLE_STEP_M)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    inside = shapely.contains_xy(outline_m, gx, gy)
    gx, gy = gx[inside], gy[inside]
    weight = density(gx, gy)
    pick = rng.choice(gx.size, size=n, replace=False, p=weight / weight.sum())
    jitter = rng.uniform(-0.45, 0.45, size=(n, 2)) * SAMPLE_STEP_M
    pts = np.column_stack([gx[pick], gy[pick]]) + jitter
    outside = ~shapely.contains_xy(outline_m, pts[:, 0], pts[:, 1])
    pts[outside] = np.column_stack([gx[pick], gy[pick]])[outside]
    return pts


def voronoi_cells(points: FloatArray, outline_m: Polygon) -> NDArray[np.object_]:
    """Voronoi cells of ``points`` clipped to ``outline_m``, in the order of the points."""
    envelope = shapely.buffer(shapely.envelope(outline_m), 20_000.0)
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=envelope, ordered=True)
    cells = shapely.get_parts(diagram)
    shapely.prepare(outline_m)
    return np.asarray(shapely.intersection(cells, outline_m))


def lloyd(
    points: FloatArray, outline_m: Polygon, density: DensityFn, steps: int, move: float = 1.0
) -> FloatArray:
    """Move each point toward the density²-weighted centroid of its clipped Voronoi cell.

    Weighting by density² keeps the point density about proportional to ``density`` (a
    centroidal Voronoi tessellation spaces points as the square root of its weight).
    ``move`` is the fraction of the way to go each step (1 = plain Lloyd).
    """
    pts = points.copy()
    for _ in range(steps):
        cells = voronoi_cells(pts, outline_m)
        tris = shapely.constrained_delaunay_triangles(cells)
        parts, owner = shapely.get_parts(tris, return_index=True)
        centre = shapely.get_coordinates(shapely.centroid(parts))
        weight = shapely.area(parts) * density(centre[:, 0], centre[:, 1]) ** 2
        total = np.bincount(owner, weights=weight, minlength=len(pts))
        cx = np.bincount(owner, weights=weight * centre[:, 0], minlength=len(pts)) / total
        cy = np.bincount(owner, weights=weight * centre[:, 1], minlength=len(pts)) / total
        target = np.column_stack([cx, cy])
        bad = ~np.isfinite(target).all(axis=1)
        target[bad] = pts[bad]
        inside = shapely.contains_xy(cells, target[:, 0], target[:, 1])
        fallback = shapely.get_coordinates(shapely.point_on_surface(cells[~inside]))
        target[~inside] = fallback
        pts = pts + move * (target - pts)
    return pts
