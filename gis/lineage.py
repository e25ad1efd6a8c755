"""Lineage of grids between two generations, pure: which new grid continues an old one, and
the kind of each old -> new link. No database: the overlaps come from
``layers.planning.lineage`` (areas in m², EPSG:4549).

Rules (DOMAIN.md section 1: a moved boundary keeps its code; split parts, merged grids and
re-parented or recoded grids get new codes):

- A link is an overlap of a retired (old) code and a new code. An overlap below
  :data:`MIN_SHARE` (5 %) of BOTH grids' areas, or no larger than the shape tolerance of the
  old grid (:meth:`ShapeTolerance.allowed_m2`: what rounding or a vertex added on a shared
  edge can move), or under :data:`MIN_OVERLAP_M2`, is a sliver: the two grids only *touch*
  (a piece a moved edge passed on), and it is no lineage link (not stored, no staff follow
  it; households are re-anchored by location all the same). Why 5 %: an edge moved by a road
  or a river passes a strip of a few percent of a grid; a planner's split or merge moves at
  least a fifth of one of the two grids; 5 % of both keeps every real split and merge (even
  a tiny grid merged into a big one is 100 % of the tiny one) and drops the strips.
- The *clear successor* of an old grid is the new grid that holds at least
  :data:`CLEAR_MAJORITY` (two thirds) of the old grid's area; the *clear predecessor* of a new
  grid is the old grid that gave at least two thirds of its area. At most one exists (more
  than half). Why two thirds and not "more than half": a grid cut near the middle (55/45) is a
  real split whose worker could go to either part, a choice for a person; a grid that keeps
  two thirds or more of its ground (a moved edge, a recode, a re-parent: 95 %, 99.87 %) is the
  same beat under a new code, and its staff follow it. This is the "best fit" idea of the
  statistical offices' lookups between boundary sets (ONS: an old area goes wholly to the new
  area that holds most of it), taken at a qualified majority so that a near-even split is
  never guessed; it is a local choice (one constant, :data:`CLEAR_MAJORITY`).
- Kind of a link old -> new, first rule that holds:
  ``recoded_from`` when the two are the same shape (their symmetric difference, old + new -
  2 x overlap, within the shape tolerance: a recode, or a re-parent that kept the outline);
  ``merged_into`` when the new grid is the clear successor of several old grids (a merge);
  ``split_from`` when the old grid is the clear predecessor of several new grids (a split);
  ``moved_from`` when each is the other's clear successor / predecessor (recode, re-parent
  with a moved edge);
  ``merged_into`` when the new grid has other links (a piece of the old grid went to a grid
  that continues another one: an edge moved);
  ``split_from`` when the old grid has other links; ``moved_from`` otherwise (one link).

Staff assignments follow the clear successor (a recode's new code is one;
``layers.planning.impact``); an old grid without one (a real split, a grid removed) is left
for a person to decide, and so is a new grid left without a role its sources had
(``layers.planning.staffing``). Households are re-anchored by location, not by lineage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CLEAR_MAJORITY = 2.0 / 3.0
"""Share of an old grid's area (of a new grid's area) a successor (predecessor) must hold to
be the clear one (see the module docstring)."""

MIN_OVERLAP_M2 = 1.0  # overlaps smaller than this are noise of a moved edge, not lineage
MIN_SHARE = 0.05
"""An overlap under this share of both grids' areas is a sliver, no link (module docstring)."""


@dataclass(frozen=True)
class ShapeTolerance:
    """Two geometries of one code are the same shape when their Hausdorff distance is at most
    ``hausdorff_m`` (m) and their symmetric difference at most ``area_m2_per_km`` (m²) per km
    of the old boundary (and at least ``area_m2_per_km``), both in the metric CRS (EPSG:4549
    by default). The same allowance bounds a sliver (an overlap that is no lineage link)."""

    hausdorff_m: float = 0.05
    area_m2_per_km: float = 5.0

    def allowed_m2(self, perimeter_m: float) -> float:
        """The area (m²) two shapes of a grid with this boundary length (m) may differ by."""
        return self.area_m2_per_km * max(1.0, perimeter_m / 1000.0)

    def allows(self, *, hausdorff_m: float, sym_diff_m2: float, perimeter_m: float) -> bool:
        """Whether two shapes so far apart (metric units) are the same."""
        return hausdorff_m <= self.hausdorff_m and sym_diff_m2 <= self.allowed_m2(perimeter_m)

    def to_dict(self) -> dict[str, float]:
        return {"hausdorff_m": self.hausdorff_m, "area_m2_per_km": self.area_m2_per_km}


DEFAULT_TOLERANCE = ShapeTolerance()


@dataclass(frozen=True)
class Overlap:
    """The overlap of an old grid and a new grid: areas in m², ``old_perimeter_m`` in m, all
    in one metric CRS."""

    old_code: str
    new_code: str
    overlap_m2: float
    old_area_m2: float
    new_area_m2: float
    old_perimeter_m: float = 0.0

    @property
    def share_of_old(self) -> float:
        return self.overlap_m2 / self.old_area_m2 if self.old_area_m2 else 0.0

    @property
    def share_of_new(self) -> float:
        return self.overlap_m2 / self.new_area_m2 if self.new_area_m2 else 0.0

    def same_shape(self, tolerance: ShapeTolerance = DEFAULT_TOLERANCE) -> bool:
        """Whether old and new are one outline: their symmetric difference (m²) is within
        ``tolerance`` for the old boundary (a recode)."""
        sym_diff_m2 = self.old_area_m2 + self.new_area_m2 - 2.0 * self.overlap_m2
        return sym_diff_m2 <= tolerance.allowed_m2(self.old_perimeter_m)


def is_link(o: Overlap, tolerance: ShapeTolerance = DEFAULT_TOLERANCE) -> bool:
    """Whether an overlap is a lineage link, not a sliver (see the module docstring)."""
    if o.old_code == o.new_code:
        return o.overlap_m2 >= MIN_OVERLAP_M2
    return (
        o.overlap_m2 >= MIN_OVERLAP_M2
        and o.overlap_m2 >= MIN_SHARE * min(o.old_area_m2, o.new_area_m2)
        and o.overlap_m2 > tolerance.allowed_m2(o.old_perimeter_m)
    )


def clear_successors(links: Iterable[Overlap], majority: float = CLEAR_MAJORITY) -> dict[str, str]:
    """old code -> the new code holding at least ``majority`` of its area (links only)."""
    return {o.old_code: o.new_code for o in links if o.share_of_old >= majority}


def clear_predecessors(
    links: Iterable[Overlap], majority: float = CLEAR_MAJORITY
) -> dict[str, str]:
    """new code -> the old code that gave at least ``majority`` of its area (links only)."""
    return {o.new_code: o.old_code for o in links if o.share_of_new >= majority}


def link_kinds(
    links: list[Overlap],
    majority: float = CLEAR_MAJORITY,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> list[tuple[Overlap, str]]:
    """The kind (``recoded_from``, ``merged_into``, ``split_from``, ``moved_from``) of each
    link between a retired and a new code (pass only those), by the rules of the module
    docstring."""
    succ, pred = clear_successors(links, majority), clear_predecessors(links, majority)
    n_out: dict[str, int] = {}
    n_in: dict[str, int] = {}
    for o in links:
        n_out[o.old_code] = n_out.get(o.old_code, 0) + 1
        n_in[o.new_code] = n_in.get(o.new_code, 0) + 1
    merged_into = {n for n in succ.values() if list(succ.values()).count(n) > 1}
    split = {o for o in pred.values() if list(pred.values()).count(o) > 1}
    out = []
    for o in links:
        if o.same_shape(tolerance):
            kind = "recoded_from"
        elif o.new_code in merged_into:
            kind = "merged_into"
        elif o.old_code in split:
            kind = "split_from"
        elif succ.get(o.old_code) == o.new_code and pred.get(o.new_code) == o.old_code:
            kind = "moved_from"
        elif n_in[o.new_code] > 1:
            kind = "merged_into"
        elif n_out[o.old_code] > 1:
            kind = "split_from"
        else:
            kind = "moved_from"
        out.append((o, kind))
    return out


__all__ = [
    "CLEAR_MAJORITY",
    "DEFAULT_TOLERANCE",
    "MIN_OVERLAP_M2",
    "MIN_SHARE",
    "Overlap",
    "ShapeTolerance",
    "clear_predecessors",
    "clear_successors",
    "is_link",
    "link_kinds",
]
