"""Validation of a three-level grid coverage (DOMAIN.md section 1), as structured problems.

Topology (overlaps, gaps, children outside or not tiling their parent) is computed on the
stored EPSG:4490 coordinates, where the grids' edges are straight and shared vertices and
T-junctions are exact. Projecting first would bend edges: a T-junction on a 1.9 km east-west
edge opens a false 41 m² (4 cm wide) sliver in EPSG:4549, a 10 km edge 5,000 m². Only the
resulting problem areas are projected, once each, to ``metric_srid`` to measure them.

Measures of a problem area (every Problem that has an area):

- ``area_m2``: its planar area in ``metric_srid``.
- ``width_m``: the diameter of its maximum inscribed circle (``shapely.maximum_inscribed_circle``,
  tolerance 1 cm), i.e. the width at its widest point: a 3 m sliver of any length reads 3.0.
- ``location``: (lon, lat) EPSG:4490 of that circle's centre, a point inside the area where it
  is widest, the best place to zoom to. Code problems point at the grid's
  ``point_on_surface``; an invalid geometry at the spot GEOS names (e.g. the self-intersection).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import mapping

from gis.codes import LEVELS, code_problems
from gis.crs import SRID_CGCS2000, SRID_METRIC_DEFAULT, from_metric, to_metric

REQUIRED_COLUMNS = ("code", "level", "parent_code", "name")
_MIC_TOLERANCE_M = 0.01
_TOUCH_DEG = 1e-7  # about 1 cm: a grid this close to a gap borders it


class ProblemKind(StrEnum):
    """What is wrong; the order here is the order problems are listed in."""

    INVALID_GEOMETRY = "invalid_geometry"
    EMPTY_GEOMETRY = "empty_geometry"
    CODE_FORMAT = "code_format"
    CODE_LENGTH = "code_length"
    CODE_PREFIX = "code_prefix"
    DUPLICATE_CODE = "duplicate_code"
    MISSING_PARENT = "missing_parent"
    OVERLAP = "overlap"
    GAP = "gap"
    OUTSIDE_PARENT = "outside_parent"
    NOT_TILING_PARENT = "not_tiling_parent"
    COUNT_MISMATCH = "count_mismatch"


_KIND_ORDER = {kind: i for i, kind in enumerate(ProblemKind)}
_CODE_KINDS = (  # gis.codes.code_problems messages by kind; anything else is CODE_FORMAT
    ("digits; a level", ProblemKind.CODE_LENGTH),
    ("must start with", ProblemKind.CODE_PREFIX),
    ("has no parent", ProblemKind.CODE_PREFIX),
    ("needs a parent", ProblemKind.MISSING_PARENT),
)
_CODE_FIX = {
    ProblemKind.CODE_FORMAT: "correct the code in the attribute table (codes are text of digits)",
    ProblemKind.CODE_LENGTH: "correct the code, or the level column if the level is wrong",
    ProblemKind.CODE_PREFIX: "make code and parent_code agree in the attribute table",
    ProblemKind.MISSING_PARENT: "fill in parent_code",
}


@dataclass(frozen=True)
class Problem:
    """One problem of a grid coverage. Areas in m², widths in m, location (lon, lat) EPSG:4490.

    ``geometry`` (EPSG:4490, for maps) takes no part in equality or hashing.
    """

    kind: ProblemKind
    codes: tuple[str, ...]
    level: int | None
    location: tuple[float, float] | None
    detail: str
    area_m2: float | None = None
    width_m: float | None = None
    geometry: shapely.Geometry | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the geometry as a GeoJSON mapping (or None)."""
        return {
            "kind": self.kind.value,
            "codes": list(self.codes),
            "level": self.level,
            "location": list(self.location) if self.location else None,
            "detail": self.detail,
            "area_m2": None if self.area_m2 is None else round(self.area_m2, 2),
            "width_m": None if self.width_m is None else round(self.width_m, 3),
            "geometry": None if self.geometry is None else mapping(self.geometry),
        }


@dataclass
class HierarchyReport:
    """All problems found and the number of grids per level (keys 1, 2, 3)."""

    problems: list[Problem]
    counts: dict[int, int]

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(p.kind.value for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": dict(self.counts),
            "by_kind": self.by_kind(),
            "problems": [p.to_dict() for p in self.problems],
        }


Loc = tuple[float, float] | None


def _text(value: Any) -> str | None:
    """A cell as text; None for None, NaN and blank strings (how files spell "no parent")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value) if str(value).strip() else None


def _level(value: Any) -> int | None:
    try:
        return int(value) if float(value) == int(value) else None
    except (TypeError, ValueError):
        return None


def _fmt(loc: Loc) -> str:
    return "" if loc is None else f" near ({loc[0]:.6f}, {loc[1]:.6f})"


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    """The polygonal part of a geometry, made valid; None if it has none."""
    if shapely.get_type_id(geom) in (3, 6) and geom.is_valid:
        return None if geom.is_empty else geom
    geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    out = shapely.union_all(parts) if len(parts) > 1 else (parts[0] if parts else None)
    return None if out is None or out.is_empty else out


def _explode(geoms: Any) -> tuple[Any, NDArray[np.intp]]:
    """Polygon parts of each geometry and the index of the geometry each came from."""
    parts, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    keep = shapely.get_type_id(parts) == 3
    return parts[keep], owner[keep]


def _minus(a: Any, b: Any) -> Any:
    """Elementwise a - b, overlaid only where a's interior meets b's exterior (a cheap relate)."""
    out = np.array([shapely.Polygon()] * len(a), dtype=object)
    hit = shapely.relate_pattern(a, b, "**T******")
    out[hit] = shapely.difference(a[hit], b[hit])
    return out


def _check_frame(grids: gpd.GeoDataFrame) -> None:
    if not isinstance(grids, gpd.GeoDataFrame):
        raise ValueError(
            f"expected a GeoDataFrame of grids, got {type(grids).__name__}; "
            "build one with geopandas.GeoDataFrame(df, geometry='geometry', crs=4490)"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in grids]
    missing += [] if grids.active_geometry_name in grids else ["geometry"]
    if missing:
        raise ValueError(
            f"grid frame lacks column(s) {', '.join(missing)}; a grid frame has "
            "columns code, level, parent_code, name, geometry (rename with grids.rename(...))"
        )
    if grids.crs is None:
        raise ValueError(
            "grid frame has no CRS; if its coordinates are CGCS2000 lon/lat call "
            "grids.set_crs(4490), otherwise set the CRS they are in and call grids.to_crs(4490)"
        )
    if grids.crs.to_epsg() != SRID_CGCS2000:
        raise ValueError(
            f"grid frame is in {grids.crs.to_string()}, not EPSG:4490 (CGCS2000 lon/lat); "
            "call grids.to_crs(4490) first"
        )


class _Checker:
    """The state shared by the checks of one frame; each check appends to ``problems``."""

    def __init__(self, grids: gpd.GeoDataFrame, metric_srid: int, min_area_m2: float) -> None:
        self.srid, self.min_area = metric_srid, min_area_m2
        self.n = n = len(grids)
        self.raw_codes = list(grids["code"])
        self.raw_levels = list(grids["level"])
        self.codes = [_text(c) or "" for c in self.raw_codes]
        self.parents = [_text(p) for p in grids["parent_code"]]
        self.names = [_text(v) or "" for v in grids["name"]]
        self.levels = [_level(v) for v in self.raw_levels]
        self.orig = np.asarray(shapely.force_2d(np.asarray(grids.geometry.values, dtype=object)))
        self.usable: list[shapely.Geometry | None] = [None] * n
        self.surface: list[Loc] = [None] * n
        self.parent_row: list[int | None] = [None] * n
        self.problems: list[Problem] = []

    def add(self, kind: ProblemKind, codes: tuple[str, ...], level: int | None, loc: Loc,
            detail: str, area: float | None = None, width: float | None = None,
            geom: shapely.Geometry | None = None) -> None:  # fmt: skip
        area = None if area is None else float(area)
        width = None if width is None else float(width)
        self.problems.append(Problem(kind, codes, level, loc, detail, area, width, geom))

    def label(self, i: int) -> str:
        lvl = f"L{self.levels[i]}" if self.levels[i] else "grid"
        code = self.codes[i] or f"without code (row {i})"
        return f"{lvl} {code}" + (f" ({self.names[i]})" if self.names[i] else "")

    def rows(self, level: int) -> list[int]:
        """Rows of ``level`` whose geometry can take part in topology checks."""
        return [i for i in range(self.n) if self.levels[i] == level and self.usable[i] is not None]

    def measure(
        self, geoms: Any, min_area_m2: float | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[Loc]]:
        """Area (m²) of each EPSG:4490 geometry in ``metric_srid``; width (m) and location
        of those of at least ``min_area_m2`` (NaN and None for the rest)."""
        geoms, srid = np.asarray(geoms, dtype=object), self.srid
        floor = self.min_area if min_area_m2 is None else min_area_m2
        metric = shapely.transform(
            geoms, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], srid))
        )
        area = np.asarray(shapely.area(metric), dtype=np.float64)
        width = np.full(len(geoms), np.nan)
        loc: list[Loc] = [None] * len(geoms)
        big = np.flatnonzero(area >= floor)
        if len(big):
            mic = shapely.maximum_inscribed_circle(metric[big], _MIC_TOLERANCE_M)
            width[big] = 2.0 * shapely.length(mic)
            centre = shapely.get_point(mic, 0)
            lon, lat = from_metric(shapely.get_x(centre), shapely.get_y(centre), srid)
            for k, x, y in zip(big, lon, lat, strict=True):
                loc[k] = (float(x), float(y))
        return area, width, loc

    def geometry(self) -> None:
        """Empty, non-polygonal and invalid geometries; fills ``usable`` (valid polygons)."""
        reasons = shapely.is_valid_reason(self.orig)
        for i, g in enumerate(self.orig):
            who, lvl = (self.codes[i],) if self.codes[i] else (), self.levels[i]
            if g is None or g.is_empty:
                msg = f"{self.label(i)} has no geometry; draw its boundary or delete the row"
                self.add(ProblemKind.EMPTY_GEOMETRY, who, lvl, None, msg)
                continue
            pt = shapely.point_on_surface(g)
            self.surface[i] = loc = (pt.x, pt.y)
            self.usable[i] = _polygonal(g)
            if shapely.get_type_id(g) not in (3, 6):
                why, fix = f"is a {g.geom_type}, not a Polygon or MultiPolygon", "redraw it"
            elif reasons[i] != "Valid Geometry":
                why = f"is invalid: {reasons[i]}"
                fix = "repair it with QGIS 'Fix geometries' or shapely.make_valid, then check it"
                m = re.search(r"\[([-0-9.eE+]+) ([-0-9.eE+]+)", reasons[i])
                loc = (float(m.group(1)), float(m.group(2))) if m else loc
            else:
                continue
            left_out = "" if self.usable[i] else " (it is left out of the topology checks)"
            msg = f"geometry of {self.label(i)} {why}{_fmt(loc)}; {fix}{left_out}"
            self.add(ProblemKind.INVALID_GEOMETRY, who, lvl, loc, msg, geom=g)

    def code_rules(self) -> None:
        """Code format, length and prefix, duplicate codes, parents missing from the frame."""
        rows_of: dict[str, list[int]] = {}
        for i, c in enumerate(self.codes):
            if c:
                rows_of.setdefault(c, []).append(i)
        for i in range(self.n):
            lvl, code, pc = self.levels[i], self.codes[i], self.parents[i]
            if lvl is None:
                msgs = [f"level {self.raw_levels[i]!r} is not 1, 2 or 3"]
            else:
                msgs = code_problems(self.raw_codes[i], lvl, pc)
            for msg in msgs:
                kind = next((k for key, k in _CODE_KINDS if key in msg), ProblemKind.CODE_FORMAT)
                detail = f"{self.label(i)}: {msg}; {_CODE_FIX[kind]}"
                who = tuple(c for c in (code, pc) if c)
                self.add(kind, who, lvl, self.surface[i], detail, geom=self.orig[i])
        for c, rows in rows_of.items():
            if len(rows) > 1:
                detail = (
                    f"code {c} is used by {len(rows)} grids (rows {', '.join(map(str, rows))}: "
                    f"{', '.join(self.names[r] or '?' for r in rows)}); give each grid its own "
                    "code or merge the duplicates"
                )
                geom = shapely.union_all([g for r in rows if (g := self.usable[r]) is not None])
                r0 = rows[0]
                self.add(ProblemKind.DUPLICATE_CODE, (c,), self.levels[r0], self.surface[r0],
                         detail, geom=geom)  # fmt: skip
        for i in range(self.n):
            lvl, pc = self.levels[i], self.parents[i]
            if lvl not in (2, 3) or pc is None:
                continue
            cands = rows_of.get(pc, [])
            at_level = [r for r in cands if self.levels[r] == lvl - 1]
            if at_level:
                self.parent_row[i] = at_level[0]
                continue
            found = f"grid {pc} is level {self.levels[cands[0]]}" if cands else "it is absent"
            detail = (
                f"parent {pc} of {self.label(i)} is missing: {found}, expected a level-{lvl - 1}"
                f" grid; add grid {pc} or correct the parent_code of {self.codes[i]}"
            )
            self.add(ProblemKind.MISSING_PARENT, (self.codes[i], pc), lvl, self.surface[i],
                     detail, geom=self.orig[i])  # fmt: skip

    def overlaps(self, lvl: int) -> None:
        """Pairs of grids of one level whose common area is at least ``min_area_m2``."""
        idx = self.rows(lvl)
        geoms = np.array([self.usable[i] for i in idx], dtype=object)
        a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        code = np.array([self.codes[i] for i in idx], dtype=object)
        keep = (a < b) & (code[a] != code[b])  # a duplicate code is its own problem
        a, b = a[keep], b[keep]
        keep = shapely.relate_pattern(geoms[a], geoms[b], "T********")  # interiors meet
        a, b = a[keep], b[keep]
        inter = [
            _polygonal(g) if g.area > 0 else None for g in shapely.intersection(geoms[a], geoms[b])
        ]
        has = np.array([g is not None for g in inter], dtype=bool)
        a, b, parts = a[has], b[has], np.array(inter, dtype=object)[has]
        area, width, loc = self.measure(parts)
        for k in np.flatnonzero(area >= self.min_area):
            i, j = idx[a[k]], idx[b[k]]
            detail = (
                f"{self.label(i)} and {self.label(j)} overlap by {area[k]:.1f} m² (up to "
                f"{width[k]:.2f} m wide){_fmt(loc[k])}; move the shared boundary so the area "
                "belongs to one grid only (snap both to one edge in QGIS)"
            )
            who = tuple(sorted((self.codes[i], self.codes[j])))
            self.add(ProblemKind.OVERLAP, who, lvl, loc[k], detail, area[k], width[k], parts[k])

    def tiling(self, lvl: int) -> None:
        """Grids of ``lvl`` against their parents: gaps, parts outside, a summary per parent."""
        kids, prow = self.rows(lvl), self.rows(lvl - 1)
        if not kids:
            return
        tree = shapely.STRtree(np.array([self.usable[i] for i in kids], dtype=object))
        by_parent: dict[int, list[int]] = {p: [] for p in prow}
        for i in kids:
            if (p := self.parent_row[i]) in by_parent:
                by_parent[p].append(i)
        pgeom = np.array([self.usable[p] for p in prow], dtype=object)
        union = np.array(
            [shapely.union_all([self.usable[c] for c in by_parent[p]]) for p in prow], dtype=object
        )
        gaps, outs = _minus(pgeom, union), _minus(union, pgeom)
        g_parts, g_owner = _explode(gaps)
        g_area, g_width, g_loc = self.measure(g_parts)
        for k in np.flatnonzero(g_area >= self.min_area):
            p = prow[g_owner[k]]
            near = tree.query(g_parts[k], predicate="dwithin", distance=_TOUCH_DEG)
            sib = sorted(self.codes[kids[t]] for t in near if self.parent_row[kids[t]] == p)
            fix = f"extend {', '.join(sib)} to fill it" if sib else "add a grid covering it"
            detail = (
                f"{g_area[k]:.1f} m² of {self.label(p)} (up to {g_width[k]:.2f} m wide) is in "
                f"none of its level-{lvl} grids{_fmt(g_loc[k])}; {fix}"
            )
            self.add(ProblemKind.GAP, (self.codes[p], *sib), lvl - 1, g_loc[k], detail,
                     g_area[k], g_width[k], g_parts[k])  # fmt: skip
        pairs = [(c, p) for p in prow for c in by_parent[p]]
        outside = _minus(
            np.array([self.usable[c] for c, _ in pairs], dtype=object),
            np.array([self.usable[p] for _, p in pairs], dtype=object),
        )
        o_parts, o_owner = _explode(outside)
        o_area, o_width, o_loc = self.measure(o_parts)
        for k in np.flatnonzero(o_area >= self.min_area):
            c, p = pairs[o_owner[k]]
            detail = (
                f"{o_area[k]:.1f} m² of {self.label(c)} (up to {o_width[k]:.2f} m wide) lies "
                f"outside its parent {self.label(p)}{_fmt(o_loc[k])}; clip {self.codes[c]} to "
                f"{self.codes[p]} or, if it belongs elsewhere, change its parent and code"
            )
            self.add(ProblemKind.OUTSIDE_PARENT, (self.codes[c], self.codes[p]), lvl, o_loc[k],
                     detail, o_area[k], o_width[k], o_parts[k])  # fmt: skip
        slot = {p: k for k, p in enumerate(prow)}
        o_slot = np.array([slot[pairs[o][1]] for o in o_owner], dtype=np.intp)
        gap_total = np.bincount(g_owner, weights=g_area, minlength=len(prow))
        out_total = np.bincount(o_slot, weights=o_area, minlength=len(prow))
        for k in np.flatnonzero(gap_total + out_total >= self.min_area):
            p, sym = prow[k], shapely.union(gaps[k], outs[k])
            parts, _ = _explode([sym])
            where = self.measure([max(parts, key=lambda g: g.area)], 0.0)[2][0]
            n_kids = len(by_parent[p])
            detail = (
                f"the {n_kids} level-{lvl} grids of {self.label(p)} do not tile it: their union "
                f"differs from it by {gap_total[k] + out_total[k]:.1f} m² ({gap_total[k]:.1f} m² "
                f"uncovered, {out_total[k]:.1f} m² outside); fix the GAP and OUTSIDE_PARENT "
                f"problems of {self.codes[p]} and its grids"
                + ("" if n_kids else f" (it has no level-{lvl} grids at all)")
            )
            self.add(ProblemKind.NOT_TILING_PARENT, (self.codes[p],), lvl - 1, where, detail,
                     gap_total[k] + out_total[k], None, sym)  # fmt: skip

    def level1_holes(self) -> None:
        """Holes in the union of the level-1 grids bordered by two or more of them."""
        l1 = self.rows(1)
        tree = shapely.STRtree(np.array([self.usable[i] for i in l1], dtype=object))
        polys = shapely.get_parts(shapely.union_all([self.usable[i] for i in l1]))
        holes = [shapely.Polygon(r) for p in polys if p.geom_type == "Polygon" for r in p.interiors]
        area, width, loc = self.measure(holes)
        for k in np.flatnonzero(area >= self.min_area):
            near = tree.query(holes[k], predicate="dwithin", distance=_TOUCH_DEG)
            around = sorted(self.codes[l1[t]] for t in near)
            if len(around) < 2:
                continue  # a hole of a single grid is part of that grid's shape, not a gap
            detail = (
                f"a {area[k]:.1f} m² hole (up to {width[k]:.2f} m wide) between level-1 grids "
                f"{', '.join(around)} belongs to none of them{_fmt(loc[k])}; extend one of them "
                "to fill it"
            )
            self.add(ProblemKind.GAP, tuple(around), 1, loc[k], detail, area[k], width[k],
                     holes[k])  # fmt: skip


def validate_hierarchy(
    grids: gpd.GeoDataFrame,
    *,
    metric_srid: int = SRID_METRIC_DEFAULT,
    expected_counts: dict[int, int] | None = None,
    min_area_m2: float = 1.0,
) -> HierarchyReport:
    """Check a three-level grid frame against the coding and topology rules.

    Parameters
    ----------
    grids : GeoDataFrame
        Grid frame (code, level, parent_code, name, geometry) in EPSG:4490.
    metric_srid : int
        Projected CRS (metres) in which problem areas are measured; default EPSG:4549.
    expected_counts : dict, optional
        Grids expected per level, e.g. ``{1: 17, 2: 271, 3: 1558}``; a difference is a
        COUNT_MISMATCH problem.
    min_area_m2 : float
        Overlaps, gaps and outside parts smaller than this (m²) are floating noise, ignored.

    Returns
    -------
    HierarchyReport
        Problems ordered by kind, level and codes. Tiling of level-k parents is checked
        only when the frame has grids of level k+1; a grid with unusable geometry or a
        missing parent is reported as such and left out of the topology checks.

    Raises
    ------
    ValueError
        If ``grids`` lacks a column or is not in EPSG:4490.
    """
    _check_frame(grids)
    check = _Checker(grids, metric_srid, min_area_m2)
    check.geometry()
    check.code_rules()
    for lvl in LEVELS:
        if len(check.rows(lvl)) > 1:
            check.overlaps(lvl)
    check.tiling(2)
    check.tiling(3)
    if check.rows(1):
        check.level1_holes()
    counts = {lvl: sum(1 for v in check.levels if v == lvl) for lvl in LEVELS}
    for lvl, want in sorted((expected_counts or {}).items()):
        if (have := counts.get(lvl, 0)) != want:
            diff = f"{want - have} missing" if have < want else f"{have - want} too many"
            detail = (
                f"level {lvl} has {have} grids, expected {want} ({diff}); add or remove grids, "
                "or update the expected counts if the division has changed"
            )
            check.add(ProblemKind.COUNT_MISMATCH, (), lvl, None, detail)
    problems = sorted(check.problems, key=lambda p: (_KIND_ORDER[p.kind], p.level or 0, p.codes))
    return HierarchyReport(problems, counts)
