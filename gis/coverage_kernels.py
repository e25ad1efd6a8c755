"""Compiled inner loops of the coverage engine (numba); plain arrays in, plain arrays out.

Everything here is in a metric CRS (metres). A *segment* is (ax, ay) -> (bx, by); a point is a
segment with a == b. Its *capsule* is every point within distance ``d`` of it. Spatial lookups
use a uniform bin grid (origin ``ox, oy``, square bins of ``size`` metres, ``nx`` x ``ny``) in
CSR form: the items of bin ``b`` are ``items[starts[b]:starts[b + 1]]``.

The callers in :mod:`gis.coverage` own the meaning; these functions only loop. They are compiled
on first use and cached next to this file (``cache=True``), and release the GIL while they run
(``nogil=True``) so a reader thread can fetch the next chunk meanwhile.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

njit: Any = numba.njit  # typed as Any: mypy cannot see through numba's dispatchers


@njit(cache=True, nogil=True)
def _bin_range(lo: float, hi: float, origin: float, size: float, n: int) -> tuple[int, int]:
    a = math.floor((lo - origin) / size)
    b = math.floor((hi - origin) / size)
    return max(a, 0), min(b, n - 1)


@njit(cache=True, nogil=True)
def bin_boxes(x0, y0, x1, y1, ox, oy, size, nx, ny):
    """CSR bins of boxes (x0, y0, x1, y1): every bin a box overlaps lists the box's index."""
    n = len(x0)
    counts = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        bx0, bx1 = _bin_range(x0[i], x1[i], ox, size, nx)
        by0, by1 = _bin_range(y0[i], y1[i], oy, size, ny)
        for by in range(by0, by1 + 1):
            for bx in range(bx0, bx1 + 1):
                counts[by * nx + bx + 1] += 1
    starts = np.cumsum(counts)
    fill = starts[:-1].copy()
    items = np.empty(starts[-1], np.int64)
    for i in range(n):
        bx0, bx1 = _bin_range(x0[i], x1[i], ox, size, nx)
        by0, by1 = _bin_range(y0[i], y1[i], oy, size, ny)
        for by in range(by0, by1 + 1):
            for bx in range(bx0, bx1 + 1):
                b = by * nx + bx
                items[fill[b]] = i
                fill[b] += 1
    return starts, items


@njit(cache=True, nogil=True)
def cover_cells(
    ax, ay, bx, by, dev, d, ox, oy, size, nx, ny, starts, items, cx, cy,
    covered, last_dev, out_cell, out_dev,
):  # fmt: skip
    """Mark every centre (cx, cy) within ``d`` of a segment as covered.

    Also lists each (cell, device) pair once: ``last_dev[c]`` remembers the last device that
    reached cell ``c`` (segments must come grouped by device). Returns the number of pairs
    written to ``out_cell``/``out_dev``, or -1 if they did not fit (the caller grows the buffers,
    forgets the chunk's devices in ``last_dev`` and calls again; ``covered`` only ever gains).
    """
    d2 = d * d
    k = 0
    cap = len(out_cell)
    for s in range(len(ax)):
        x0, y0 = ax[s], ay[s]
        vx, vy = bx[s] - x0, by[s] - y0
        l2 = vx * vx + vy * vy
        bx0, bx1 = _bin_range(min(x0, bx[s]) - d, max(x0, bx[s]) + d, ox, size, nx)
        by0, by1 = _bin_range(min(y0, by[s]) - d, max(y0, by[s]) + d, oy, size, ny)
        for yb in range(by0, by1 + 1):
            for xb in range(bx0, bx1 + 1):
                b = yb * nx + xb
                for j in range(starts[b], starts[b + 1]):
                    c = items[j]
                    px, py = cx[c] - x0, cy[c] - y0
                    u = 0.0
                    if l2 > 0.0:
                        u = (px * vx + py * vy) / l2
                        u = min(max(u, 0.0), 1.0)
                    qx, qy = px - u * vx, py - u * vy
                    if qx * qx + qy * qy <= d2:
                        covered[c] = True
                        if last_dev[c] != dev[s]:
                            if k >= cap:
                                return -1
                            last_dev[c] = dev[s]
                            out_cell[k] = c
                            out_dev[k] = dev[s]
                            k += 1
    return k


@njit(cache=True, nogil=True)
def _slab(k: float, m: float, c1: float, c2: float) -> tuple[float, float]:
    """The x with c1 <= k * x + m <= c2 as an interval (empty: lo > hi)."""
    if abs(k) < 1e-12:
        if c1 <= m <= c2:
            return -np.inf, np.inf
        return np.inf, -np.inf
    a, b = (c1 - m) / k, (c2 - m) / k
    return (a, b) if a <= b else (b, a)


@njit(cache=True, nogil=True)
def paint_capsules(ax, ay, bx, by, d, ox, oy, p, bitmap):
    """Set every pixel whose centre lies within ``d`` of a segment.

    Pixel (i, j) of ``bitmap`` (rows south to north) has its centre at
    ``(ox + (j + 0.5) p, oy + (i + 0.5) p)``. A capsule is convex, so each pixel row meets it in
    one interval: the union of the row's intervals through the two end disks and the rectangle
    between them.
    """
    h, w = bitmap.shape
    d2 = d * d
    for s in range(len(ax)):
        x0, y0, x1, y1 = ax[s], ay[s], bx[s], by[s]
        i0 = max(math.ceil((min(y0, y1) - d - oy) / p - 0.5), 0)
        i1 = min(math.floor((max(y0, y1) + d - oy) / p - 0.5), h - 1)
        vx, vy = x1 - x0, y1 - y0
        length = math.sqrt(vx * vx + vy * vy)
        for i in range(i0, i1 + 1):
            yc = oy + (i + 0.5) * p
            lo, hi = np.inf, -np.inf
            dy = yc - y0
            if dy * dy <= d2:
                r = math.sqrt(d2 - dy * dy)
                lo, hi = min(lo, x0 - r), max(hi, x0 + r)
            dy = yc - y1
            if dy * dy <= d2:
                r = math.sqrt(d2 - dy * dy)
                lo, hi = min(lo, x1 - r), max(hi, x1 + r)
            if length > 0.0:
                ux, uy = vx / length, vy / length
                # along the segment within [0, length]; across it within [-d, d]
                a_lo, a_hi = _slab(ux, -x0 * ux + (yc - y0) * uy, 0.0, length)
                c_lo, c_hi = _slab(-uy, x0 * uy + (yc - y0) * ux, -d, d)
                r_lo, r_hi = max(a_lo, c_lo), min(a_hi, c_hi)
                if r_lo <= r_hi:
                    lo, hi = min(lo, r_lo), max(hi, r_hi)
            if lo <= hi:
                j0 = max(math.ceil((lo - ox) / p - 0.5), 0)
                j1 = min(math.floor((hi - ox) / p - 0.5), w - 1)
                for j in range(j0, j1 + 1):
                    bitmap[i, j] = 1


@njit(cache=True, nogil=True)
def rasterize_polygons(
    ex0, ey0, ex1, ey1, poly_start, ox, oy, p, labels
):  # fmt: skip
    """Write polygon index ``k`` into every pixel whose centre is inside polygon ``k``.

    Polygon ``k``'s ring edges (exterior and holes, any orientation) are
    ``poly_start[k]:poly_start[k + 1]``; the even-odd rule decides inside, per pixel row.
    """
    h, w = labels.shape
    n_poly = len(poly_start) - 1
    xs = np.empty(256, np.float64)
    for k in range(n_poly):
        e0, e1 = poly_start[k], poly_start[k + 1]
        if e1 <= e0:
            continue
        ymin = min(ey0[e0:e1].min(), ey1[e0:e1].min())
        ymax = max(ey0[e0:e1].max(), ey1[e0:e1].max())
        i0 = max(math.ceil((ymin - oy) / p - 0.5), 0)
        i1 = min(math.floor((ymax - oy) / p - 0.5), h - 1)
        for i in range(i0, i1 + 1):
            yc = oy + (i + 0.5) * p
            n = 0
            for e in range(e0, e1):
                ya, yb = ey0[e], ey1[e]
                if (ya <= yc < yb) or (yb <= yc < ya):
                    if n >= len(xs):
                        grown = np.empty(2 * len(xs), np.float64)
                        grown[:n] = xs[:n]
                        xs = grown
                    xs[n] = ex0[e] + (yc - ya) * (ex1[e] - ex0[e]) / (yb - ya)
                    n += 1
            row = np.sort(xs[:n])
            for q in range(0, n - 1, 2):
                j0 = max(math.ceil((row[q] - ox) / p - 0.5), 0)
                j1 = min(math.floor((row[q + 1] - ox) / p - 0.5), w - 1)
                for j in range(j0, j1 + 1):
                    labels[i, j] = k


@njit(cache=True, nogil=True)
def crossings(
    ax, ay, bx, by, ex0, ey0, ex1, ey1, ox, oy, size, nx, ny, starts, items, out_seg, out_t
):  # fmt: skip
    """Where each segment crosses a boundary edge: (segment index, parameter t in (0, 1)).

    Returns the number written, or -1 if ``out_seg`` is too small. An edge listed in several
    bins, or shared by two grids, may give the same t twice (harmless: a zero-length piece).
    """
    k = 0
    cap = len(out_seg)
    for s in range(len(ax)):
        x0, y0 = ax[s], ay[s]
        rx, ry = bx[s] - x0, by[s] - y0
        bx0, bx1 = _bin_range(min(x0, bx[s]), max(x0, bx[s]), ox, size, nx)
        by0, by1 = _bin_range(min(y0, by[s]), max(y0, by[s]), oy, size, ny)
        for yb in range(by0, by1 + 1):
            for xb in range(bx0, bx1 + 1):
                b = yb * nx + xb
                for j in range(starts[b], starts[b + 1]):
                    e = items[j]
                    qx, qy = ex0[e], ey0[e]
                    sx, sy = ex1[e] - qx, ey1[e] - qy
                    den = rx * sy - ry * sx
                    if den == 0.0:
                        continue  # parallel: touching along an edge does not change the grid
                    wx, wy = qx - x0, qy - y0
                    t = (wx * sy - wy * sx) / den
                    u = (wx * ry - wy * rx) / den
                    if 0.0 < t < 1.0 and 0.0 <= u <= 1.0:
                        if k >= cap:
                            return -1
                        out_seg[k] = s
                        out_t[k] = t
                        k += 1
    return k
