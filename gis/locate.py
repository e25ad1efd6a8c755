"""Exact batch point-in-grid location: lon/lat arrays (EPSG:4490) -> L3, L2 and L1 grid codes.

Semantics
---------
A point belongs to the L3 grid that COVERS it (interior or boundary, as PostGIS ``ST_Covers``).
A point on a shared edge or vertex is covered by several grids; the tie rule is **the grid with
the smallest code among those that cover the point**. The PostGIS equivalent is::

    SELECT code FROM grid WHERE level = 3 AND ST_Covers(geom, pt) ORDER BY code LIMIT 1

A point covered by no grid, outside the grids' bounding box, or with a NaN/infinite coordinate
gets index -1 / code None (the API layer validates coordinates earlier). L2 and L1 codes are the
first 12 and 9 digits of the L3 code, since the hierarchy nests exactly.

Floating point: why the answers equal PostGIS bit for bit
---------------------------------------------------------
PostGIS (3.3: ``covers`` -> ``pip_short_circuit`` -> ``point_in_polygon``/``point_in_multipolygon``
or the cached ``point_in_multipolygon_rtree``; 3.5+: ``itree_point_in_multipolygon``) does not ask
GEOS for a point-in-polygon test. It runs Dan Sunday's winding number in plain ``double``::

    side = (x2 - x1) * (py - y1) - (px - x1) * (y2 - y1)
    boundary if side == 0.0 and p lies in the segment's bounding box (closed)
    wn += 1 if y1 <= py < y2 and side > 0;  wn -= 1 if y2 <= py < y1 and side < 0

per ring (zero-length segments skipped); a part covers p if p is on its exterior ring, or inside
it and, at the first hole that is not "outside", on that hole's boundary (or no such hole).
GEOS (shapely) uses exact orientation predicates instead, so the two engines can disagree for
points within ~1e-16 degrees of an edge: 3 of 30,000 points placed on and 1-2 ulp off random
edges, and 384 of 1,133 doubles constructed ~1e-20 degrees off shared edges (tests), where the
double ``side`` is often 0 and PostGIS reports "on the edge". Vertices, and midpoints of
axis-aligned edges, are on the boundary for both. This module reproduces the PostGIS arithmetic,
not GEOS: numpy float64 ``*`` and ``-`` are correctly rounded IEEE operations, evaluated in the
same order and without fused multiply-add (as in PostGIS's x86-64/arm64 builds), so ``side`` is
the very same double.

The lookup raster (cells ~30 m) is made exact with a margin ``m = 1e-9`` degrees (0.1 mm). A
segment's ``side`` matters only when ``py`` is in its y-range; then its exact value is
``(y2 - y1) * (xc - px)`` (``xc``: where it crosses ``y = py``), at least ``|y2 - y1| * d`` if the
segment is ``d`` away from ``p``, while the rounding error is below
``3u * |y2 - y1| * (|x2 - x1| + |px - x1|) < 2.4e-13 * |y2 - y1|`` (``u = 2**-53``, lon/lat
ranges). So segments farther than ``m`` give the exact sign and never report a boundary. Hence:

* a cell that no segment approaches within ``2m`` ("pure") lies in one face of the arrangement
  and PostGIS's answer for any point mapped to it is the exact one, which GEOS gives at the
  cell centre (a run of pure cells along a row is one face: one GEOS test per run);
* for a "boundary" cell the candidates are the polygons whose boundary passes within ``2m`` of
  it or that contain its centre (others are exactly outside); per candidate, only segments whose
  y-range meets the cell's row widened by ``2m`` can change ``wn`` or report a boundary, and
  exactly those are evaluated with the PostGIS arithmetic, vectorised over (point, segment).

The result equals PostGIS for every input, provided the polygons have the same vertex order as
in the database (WKB round trips preserve it; a re-orientation such as ``ST_ForcePolygonCCW``
changes which endpoint anchors ``side``). Edges shorter than 1e-12 degrees are rejected: PostGIS
3.3's cached and uncached code paths treat them differently. Tested against PostGIS 3.3.2 in
``tests/gis/test_locate_postgis.py``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

__all__ = ["GridLocator", "LocateResult"]

MARGIN_DEG = 1e-9
"""Distance (degrees) beyond which a segment cannot change PostGIS's answer for a point."""
_MAX_CELLS = 1 << 26
_DEFAULT_MAX_CELLS = 1 << 23
_PAIRS_PER_CHUNK = 1 << 22
_L3_CODE = re.compile(r"^[0-9]{15}$")


@dataclass(frozen=True)
class LocateResult:
    """Grid codes per point (object arrays of str, None where no grid covers the point)."""

    l3: NDArray[np.object_]
    l2: NDArray[np.object_]
    l1: NDArray[np.object_]


def _expand(starts: NDArray[np.int64], counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Concatenate ``arange(s, s + c)`` for every (s, c): the ranges of a CSR array."""
    total = int(counts.sum())
    offsets = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(offsets - starts, counts)


def _unique(a: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sorted unique values (np.unique hashes int64 and is ~50x slower in numpy 2.4)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


class GridLocator:
    """Exact, vectorised point-in-L3-grid lookup agreeing with PostGIS ``ST_Covers``.

    Build with :meth:`from_frame`; see the module docstring for the tie rule and the
    floating-point argument. Coordinates are lon/lat in EPSG:4490 degrees.
    """

    codes: NDArray[np.object_]
    """Sorted L3 codes; a grid's index in this array is what :meth:`locate_index` returns."""

    def __init__(
        self, codes: ArrayLike, geometries: ArrayLike, *, cell_size_deg: float | None = None
    ) -> None:
        codes_arr = np.asarray(codes, dtype=object)
        geoms = np.asarray(geometries, dtype=object)
        if codes_arr.ndim != 1 or codes_arr.shape != geoms.shape or len(codes_arr) == 0:
            raise ValueError("need one geometry per code and at least one L3 grid")
        bad = [c for c in codes_arr if not isinstance(c, str) or not _L3_CODE.match(c)]
        if bad:
            raise ValueError(f"L3 grid codes must be 15-digit strings, got {bad[:3]!r}")
        order = np.argsort(codes_arr.astype(str), kind="stable")
        self.codes = codes_arr[order]
        if len(set(self.codes.tolist())) != len(self.codes):
            raise ValueError("L3 grid codes must be unique; fix the duplicated codes")
        self._geoms = geoms[order]
        types = shapely.get_type_id(self._geoms)
        if not np.isin(types, (3, 6)).all() or shapely.is_empty(self._geoms).any():
            raise ValueError("every L3 geometry must be a non-empty Polygon or MultiPolygon")
        self._build(cell_size_deg)
        ext = [*self.codes.tolist(), None]  # index -1 picks the trailing None
        self._l3 = np.array(ext, dtype=object)
        self._l2 = np.array([c[:12] if c else None for c in ext], dtype=object)
        self._l1 = np.array([c[:9] if c else None for c in ext], dtype=object)

    @classmethod
    def from_frame(cls, grids: object, *, cell_size_deg: float | None = None) -> GridLocator:
        """Build from a grid frame (columns code, level, geometry; EPSG:4490); uses level 3.

        Parameters
        ----------
        grids : geopandas.GeoDataFrame
            The grid frame; only rows with ``level == 3`` are used.
        cell_size_deg : float, optional
            Side of the lookup raster's cells in degrees (default: about 1/40 of the mean
            grid's width, ~0.00027 deg = 26 x 30 m for Jiangyin; at most 8 M cells).

        Raises
        ------
        ValueError
            If columns are missing, the CRS is not EPSG:4490, there is no L3 row, or codes or
            geometries are invalid.
        """
        missing = {"code", "level", "geometry"} - set(getattr(grids, "columns", ()))
        if missing:
            raise ValueError(f"grid frame lacks column(s) {sorted(missing)}; see docs/HELPERS.md")
        crs = getattr(grids, "crs", None)
        if crs is None or crs.to_epsg() != 4490:
            raise ValueError(f"grid frame CRS must be EPSG:4490 (CGCS2000), got {crs}; reproject")
        l3 = grids[grids["level"] == 3]  # type: ignore[index]
        if len(l3) == 0:
            raise ValueError("grid frame has no level-3 rows to locate points in")
        return cls(
            l3["code"].to_numpy(dtype=object),
            l3.geometry.to_numpy(dtype=object),
            cell_size_deg=cell_size_deg,
        )

    def __len__(self) -> int:
        return len(self.codes)

    # ------------------------------------------------------------------ build
    def _build(self, cell_size_deg: float | None) -> None:
        m = MARGIN_DEG
        parts, part_poly = shapely.get_parts(self._geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_idx = np.arange(len(rings))
        self._ring_part = ring_part.astype(np.int64)
        self._ring_hole = ring_idx != np.searchsorted(ring_part, ring_part, side="left")
        xy, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same = coord_ring[:-1] == coord_ring[1:]
        x1, y1, x2, y2 = xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same]
        seg_ring = coord_ring[:-1][same]
        if not np.isfinite(xy).all():
            raise ValueError("grid geometries contain NaN or infinite coordinates")
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        if ((length2 > 0) & (length2 < 1e-24)).any():
            raise ValueError("a grid edge is shorter than 1e-12 degrees; remove repeated points")
        keep = length2 > 0
        x1, y1, x2, y2, dx, dy = x1[keep], y1[keep], x2[keep], y2[keep], dx[keep], dy[keep]
        self._seg = np.stack([x1, y1, x2, y2])
        self._seg_ring = seg_ring[keep].astype(np.int64)
        seg_poly = part_poly[ring_part[self._seg_ring]].astype(np.int64)
        n_poly, n_seg = len(self.codes), len(x1)

        x0, y0, xmax, ymax = (float(v) for v in shapely.total_bounds(self._geoms))
        cs = self._cell_size(cell_size_deg, xmax - x0, ymax - y0, n_poly)
        nx, ny = int((xmax - x0) / cs) + 1, int((ymax - y0) / cs) + 1
        self._x0, self._y0, self._cs, self._nx, self._ny = x0, y0, cs, nx, ny

        # 1. Cells whose box, widened by 2m, meets a segment: split segments into pieces of at
        #    most cs/2 per axis, so each widened piece box touches at most 2 x 2 cells.
        k = np.maximum(1, np.ceil(np.maximum(abs(dx), abs(dy)) / (cs / 2))).astype(np.int64)
        ps = np.repeat(np.arange(n_seg), k)
        kk = np.repeat(k, k)
        t0 = _expand(np.zeros(n_seg, np.int64), k) / kk
        t1 = t0 + 1.0 / kk
        pxa, pxb = x1[ps] + t0 * dx[ps], x1[ps] + t1 * dx[ps]
        pya, pyb = y1[ps] + t0 * dy[ps], y1[ps] + t1 * dy[ps]

        def idx(v: NDArray[np.float64], origin: float, n: int) -> NDArray[np.int64]:
            return np.clip(np.floor((v - origin) / cs), 0, n - 1).astype(np.int64)

        i0, i1 = (
            idx(np.minimum(pxa, pxb) - 2 * m, x0, nx),
            idx(np.maximum(pxa, pxb) + 2 * m, x0, nx),
        )
        j0, j1 = (
            idx(np.minimum(pya, pyb) - 2 * m, y0, ny),
            idx(np.maximum(pya, pyb) + 2 * m, y0, ny),
        )
        pp, di, dj = seg_poly[ps], i1 != i0, j1 != j0
        near = _unique(
            np.concatenate(
                [
                    (j0 * nx + i0) * n_poly + pp,
                    ((j0 * nx + i1) * n_poly + pp)[di],
                    ((j1 * nx + i0) * n_poly + pp)[dj],
                    ((j1 * nx + i1) * n_poly + pp)[di & dj],
                ]
            )
        )
        bcells = _unique(near // n_poly)

        # 2. Pure cells: one GEOS test per run of pure cells along a row; boundary cells: add
        #    polygons containing the cell centre (only matters for overlapping polygons).
        grid = np.zeros(nx * ny, dtype=np.int32)
        grid[bcells] = -2 - np.arange(len(bcells), dtype=np.int32)
        pure = grid == 0
        prev = np.empty_like(pure)
        prev[0] = False
        prev[1:] = pure[:-1]
        prev[::nx] = False
        run_start = np.flatnonzero(pure & ~prev)
        probe = np.concatenate([run_start, bcells])
        centres = shapely.points(x0 + (probe % nx + 0.5) * cs, y0 + (probe // nx + 0.5) * cs)
        hit_in, hit_poly = shapely.STRtree(self._geoms).query(centres, predicate="intersects")
        first = np.full(len(probe), n_poly, dtype=np.int64)
        np.minimum.at(first, hit_in, hit_poly)
        run_val = np.where(first[: len(run_start)] < n_poly, first[: len(run_start)], -1)
        grid[pure] = run_val[np.cumsum(pure & ~prev)[pure] - 1].astype(np.int32)
        self._grid = grid

        # 3. Boundary cell -> candidate polygons -> their segments meeting the cell's row.
        in_b = hit_in >= len(run_start)
        cand = _unique(np.concatenate([near, probe[hit_in[in_b]] * n_poly + hit_poly[in_b]]))
        c_cell, c_poly = cand // n_poly, cand % n_poly
        jlo = idx(np.minimum(y1, y2) - 2 * m, y0, ny)
        nrow = idx(np.maximum(y1, y2) + 2 * m, y0, ny) - jlo + 1
        rs = np.repeat(np.arange(n_seg), nrow)
        rkey = seg_poly[rs] * ny + _expand(jlo, nrow)
        o = np.lexsort((rs, rkey))
        rkey, rseg = rkey[o], rs[o]
        ckey = c_poly * ny + c_cell // nx
        lo = np.searchsorted(rkey, ckey, side="left")
        cnt = np.searchsorted(rkey, ckey, side="right") - lo
        b_of_cand = np.searchsorted(bcells, c_cell)
        self._bptr = np.zeros(len(bcells) + 1, dtype=np.int64)
        per_cell = np.bincount(b_of_cand, weights=cnt, minlength=len(bcells)).astype(np.int64)
        np.cumsum(per_cell, out=self._bptr[1:])
        self._bseg = rseg[_expand(lo, cnt)].astype(np.int32)
        self._part_poly = part_poly.astype(np.int32)

    @staticmethod
    def _cell_size(cell_size_deg: float | None, width: float, height: float, n: int) -> float:
        if cell_size_deg is None:  # ~40 cells across a mean grid, at most 8 M cells
            cs = math.sqrt(width * height / n) / 40
            return max(cs, math.sqrt(width * height / _DEFAULT_MAX_CELLS), 1e-5)
        cs = float(cell_size_deg)
        if not (math.isfinite(cs) and cs >= 1e-6):
            raise ValueError(f"cell_size_deg must be a finite number >= 1e-6, got {cell_size_deg}")
        if (width / cs + 1) * (height / cs + 1) > _MAX_CELLS:
            raise ValueError(
                f"cell_size_deg={cs} makes more than {_MAX_CELLS} cells; use larger cells"
            )
        return cs

    # ----------------------------------------------------------------- locate
    def locate_index(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.int32]:
        """Index into :attr:`codes` of the grid covering each point, -1 where none does.

        Parameters
        ----------
        lon, lat : array_like of float
            Longitudes and latitudes in EPSG:4490 degrees, same shape.

        Returns
        -------
        numpy.ndarray of int32, same shape as ``lon``.

        Raises
        ------
        ValueError
            If ``lon`` and ``lat`` differ in shape.
        """
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        if x.shape != y.shape:
            raise ValueError(f"lon and lat must have the same shape, got {x.shape} and {y.shape}")
        shape = x.shape
        x, y = x.ravel(), y.ravel()
        out = np.full(x.shape, -1, dtype=np.int32)
        with np.errstate(invalid="ignore"):
            fx = (x - self._x0) / self._cs
            fy = (y - self._y0) / self._cs
            ok = np.flatnonzero((fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny))
        cell = fy[ok].astype(np.int64) * self._nx + fx[ok].astype(np.int64)
        val = self._grid[cell]
        out[ok] = np.maximum(val, -1)
        hard = val <= -2
        pts, b = ok[hard], -2 - val[hard].astype(np.int64)
        # chunks of about _PAIRS_PER_CHUNK (point, segment) pairs bound the memory used
        pairs = np.cumsum(self._bptr[b + 1] - self._bptr[b])
        total = int(pairs[-1]) if len(pairs) else 0
        cuts = np.searchsorted(pairs, np.arange(_PAIRS_PER_CHUNK, total, _PAIRS_PER_CHUNK))
        for sel in np.split(np.arange(len(pts)), cuts):
            if len(sel):
                out[pts[sel]] = self._exact(x[pts[sel]], y[pts[sel]], b[sel])
        return out.reshape(shape)

    def _exact(
        self, px: NDArray[np.float64], py: NDArray[np.float64], b: NDArray[np.int64]
    ) -> NDArray[np.int32]:
        """PostGIS's winding-number covers test for points in boundary cells, then the tie rule."""
        result = np.full(len(px), -1, dtype=np.int32)
        cnt = self._bptr[b + 1] - self._bptr[b]
        pair_pt = np.repeat(np.arange(len(px)), cnt)
        seg = self._bseg[_expand(self._bptr[b], cnt)]
        if len(seg) == 0:
            return result
        x1, y1, x2, y2 = (self._seg[r][seg] for r in range(4))
        qx, qy = px[pair_pt], py[pair_pt]
        side = (x2 - x1) * (qy - y1) - (qx - x1) * (y2 - y1)
        on = (
            (side == 0.0)
            & (qx >= np.minimum(x1, x2))
            & (qx <= np.maximum(x1, x2))
            & (qy >= np.minimum(y1, y2))
            & (qy <= np.maximum(y1, y2))
        )
        wn = ((y1 <= qy) & (qy < y2) & (side > 0)).astype(np.int32)
        wn -= (y2 <= qy) & (qy < y1) & (side < 0)
        # (point, ring) groups are contiguous: a cell's segments are sorted by polygon, ring.
        ring = self._seg_ring[seg]
        g0 = np.flatnonzero(np.r_[True, (pair_pt[1:] != pair_pt[:-1]) | (ring[1:] != ring[:-1])])
        g_on = np.logical_or.reduceat(on, g0)
        g_status = np.where(g_on, 0, np.where(np.add.reduceat(wn, g0) != 0, 1, -1))
        g_pt, g_ring = pair_pt[g0], ring[g0]
        g_part, g_hole = self._ring_part[g_ring], self._ring_hole[g_ring]
        # (point, part) blocks: exterior status, then the first hole not "outside" decides.
        b0 = np.flatnonzero(np.r_[True, (g_pt[1:] != g_pt[:-1]) | (g_part[1:] != g_part[:-1])])
        ext = np.where(g_hole[b0], -1, g_status[b0])
        pos = np.arange(len(g0))
        decisive = np.where(g_hole & (g_status != -1), pos, len(g0))
        first_hole = np.minimum.reduceat(decisive, b0)
        hole_status = np.r_[g_status, -1][first_hole]
        covered = (ext == 0) | ((ext == 1) & (hole_status != 1))
        blk_pt = g_pt[b0][covered]
        if blk_pt.size == 0:  # no candidate covers any of these points
            return result
        poly = self._part_poly[g_part[b0][covered]]
        # blocks are in ascending polygon order within a point: the first covered is the min code
        first = np.r_[True, blk_pt[1:] != blk_pt[:-1]]
        result[blk_pt[first]] = poly[first]
        return result

    def locate(self, lon: ArrayLike, lat: ArrayLike) -> LocateResult:
        """L3, L2 and L1 codes of the grid covering each point (None where none does).

        Parameters
        ----------
        lon, lat : array_like of float
            Longitudes and latitudes in EPSG:4490 degrees, same shape.
        """
        i = self.locate_index(lon, lat)
        return LocateResult(l3=self._l3[i], l2=self._l2[i], l1=self._l1[i])
