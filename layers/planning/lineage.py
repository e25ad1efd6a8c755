"""What a draft changes against another generation: the diff (added / removed / reshaped
grids with their area change) and the lineage (old code -> new code by area overlap).

Lineage kinds (DOMAIN.md section 1: a moved boundary keeps its code; split parts, merged grids
and re-parented grids get new codes; the rules and the clear-successor share are in
``gis.lineage``):

- ``same``: the code is in both generations with the same geometry;
- ``reshaped``: the code is in both, its boundary moved;
- ``split_from``: a new code that took its area from a retired code that went to several new
  codes (row: old = the split grid, new = one part);
- ``merged_into``: a retired code whose area went to a new code that took area from several
  retired codes (row: old = one merged grid, new = the merged grid), or a piece of a retired
  code that went to a grid continuing another one (an edge moved);
- ``recoded_from``: a retired code whose outline a new code has unchanged (within the shape
  tolerance): a recode, or a re-parent that kept the outline;
- ``moved_from``: a retired code continued by a new code, each holding at least two thirds of
  the other, the outline changed (a recode or re-parent with a moved edge);
- ``removed`` / ``added``: a retired code with no successor, a new code with no predecessor.
Slivers (overlaps under 5 % of both grids, ``gis.lineage.MIN_SHARE``, or within the shape
tolerance of the old grid: the grids only touch) are no links.

Areas are m² in ``metric_srid`` (EPSG:4549): the stored EPSG:4490 geometries are transformed
in the query (only the few changed grids are intersected; identical grids are matched by code
and ``ST_OrderingEquals`` first, which needs no overlay).

Tolerance (:class:`ShapeTolerance`): a grid whose geometry differs from the old one by no more
than ``hausdorff_m`` of (vertex) Hausdorff distance AND ``area_m2_per_km`` of symmetric-difference
area per km of its boundary (at least ``area_m2_per_km`` in all), both measured in
``metric_srid``, is the same shape: coordinates round-tripped through EPSG:4549 (or a GIS that
rounds them), and a neighbour that only gained a vertex on its shared edge when a grid was
split, are not "reshaped". The area allowance grows with the boundary because a town's 20 km
boundary rounded to the millimetre differs by ~10 m² in all. Defaults 0.05 m and 5 m²/km (a mean
offset of 5 mm); the API and the CLI take them from ``GRIDGIS_PLANNING_SAME_HAUSDORFF_M`` and
``GRIDGIS_PLANNING_SAME_AREA_M2_PER_KM``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    delete,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from gis.crs import SRID_METRIC_DEFAULT
from gis.lineage import (
    CLEAR_MAJORITY,
    DEFAULT_TOLERANCE,
    Overlap,
    ShapeTolerance,
    is_link,
    link_kinds,
)
from layers.db import Base

LINK_KINDS = ("recoded_from", "split_from", "merged_into", "moved_from")
"""Kinds of a link from a retired code to a new one (``gis.lineage.link_kinds``)."""


class GridLineage(Base):
    """One old -> new link between the grids of two generations (see the module docstring)."""

    __tablename__ = "grid_lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    new_generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id", ondelete="CASCADE"))
    old_generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(SmallInteger)
    old_code: Mapped[str | None] = mapped_column(String(15))
    new_code: Mapped[str | None] = mapped_column(String(15))
    kind: Mapped[str] = mapped_column(String(12))
    overlap_m2: Mapped[float] = mapped_column(Double)
    share_of_old: Mapped[float] = mapped_column(Double)
    share_of_new: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('same', 'reshaped', 'split_from', 'merged_into', 'moved_from', "
            "'recoded_from', 'added', 'removed')",
            name="grid_lineage_kind_valid",
        ),
        Index("grid_lineage_generations", "new_generation_id", "old_generation_id"),
        Index("grid_lineage_old_code", "old_code"),
        Index("grid_lineage_new_code", "new_code"),
    )


@dataclass
class ChangeSet:
    """Codes of one level that differ between two generations (sorted lists)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reshaped: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)

    @property
    def new_codes(self) -> list[str]:
        """Codes of the new generation whose area changed (added or reshaped)."""
        return sorted({*self.added, *self.reshaped})

    @property
    def old_codes(self) -> list[str]:
        """Codes of the old generation whose area changed (removed or reshaped)."""
        return sorted({*self.removed, *self.reshaped})


# Full outer join on code: a grid is added, removed, reshaped (geometry differs beyond the
# tolerance) or renamed (same shape, other name); a parent re-derived from its children with
# its vertices in another order, or a grid whose coordinates moved less than the tolerance, is
# neither and is not listed. ST_OrderingEquals is a cheap byte comparison; ST_Equals runs where
# the coordinates differ; the tolerance test (an overlay in the metric CRS, :srid) only where
# both fail. ST_HausdorffDistance is the discrete (vertex) distance: a vertex added on an edge
# is at distance 0 from it.
_SAME_SHAPE = """(ST_OrderingEquals(o.geom, n.geom) OR ST_Equals(o.geom, n.geom)
     OR (ST_HausdorffDistance(ST_Transform(o.geom, :srid), ST_Transform(n.geom, :srid))
             <= :tol_hausdorff_m
         AND ST_Area(ST_Transform(ST_SymDifference(o.geom, n.geom), :srid))
             <= :tol_area_m2_per_km * greatest(1.0, ST_Perimeter(ST_Transform(o.geom, :srid))
                                                    / 1000.0)))"""
_DIFF_SQL = """
SELECT coalesce(n.code, o.code) AS code, coalesce(n.level, o.level) AS level,
       coalesce(n.name, o.name) AS name, coalesce(n.parent_code, o.parent_code) AS parent_code,
       o.area_m2 AS area_before, n.area_m2 AS area_after,
       CASE WHEN o.code IS NULL THEN 'added' WHEN n.code IS NULL THEN 'removed'
            WHEN NOT same THEN 'reshaped'
            ELSE 'renamed' END AS change
       {geom}
FROM (SELECT * FROM grid WHERE generation_id = :old {level}) o
FULL JOIN (SELECT * FROM grid WHERE generation_id = :new {level}) n ON n.code = o.code
CROSS JOIN LATERAL (SELECT o.code IS NOT NULL AND n.code IS NOT NULL AND {same} AS same) s
WHERE o.code IS NULL OR n.code IS NULL OR o.name <> n.name OR NOT same
ORDER BY level, code
"""


def _tolerance_params(tolerance: ShapeTolerance, metric_srid: int) -> dict[str, Any]:
    return {
        "srid": metric_srid,
        "tol_area_m2_per_km": tolerance.area_m2_per_km,
        "tol_hausdorff_m": tolerance.hausdorff_m,
    }


def changed_codes(
    *,
    session: Session,
    old_generation_id: int,
    new_generation_id: int,
    level: int = 3,
    metric_srid: int = SRID_METRIC_DEFAULT,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> ChangeSet:
    """The codes of ``level`` added, removed, reshaped (beyond ``tolerance``) or renamed from
    old to new."""
    sql = _DIFF_SQL.format(geom="", level="AND level = :level", same=_SAME_SHAPE)
    out = ChangeSet()
    params = {"old": old_generation_id, "new": new_generation_id, "level": level}
    params.update(_tolerance_params(tolerance, metric_srid))
    for row in session.execute(text(sql), params):
        getattr(out, row.change).append(row.code)
    return out


def diff_features(
    *,
    session: Session,
    old_generation_id: int,
    new_generation_id: int,
    metric_srid: int = SRID_METRIC_DEFAULT,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """The diff as a GeoJSON FeatureCollection (EPSG:4490, CRS84 axis order).

    One feature per grid (any level) that is added, removed, reshaped or renamed: properties
    ``code, level, name, parent_code, change, area_before_m2, area_after_m2, area_change_m2``
    (m², ``metric_srid`` of the load); the geometry is the new one (the old one if removed).
    A grid within ``tolerance`` of its old shape is not reshaped.
    """
    sql = _DIFF_SQL.format(
        geom=", ST_AsGeoJSON(coalesce(n.geom, o.geom), 7, 0) AS gj", level="", same=_SAME_SHAPE
    )
    features = []
    counts: dict[str, int] = {}
    params: dict[str, Any] = {"old": old_generation_id, "new": new_generation_id}
    params.update(_tolerance_params(tolerance, metric_srid))
    for r in session.execute(text(sql), params):
        before = None if r.area_before is None else round(r.area_before, 1)
        after = None if r.area_after is None else round(r.area_after, 1)
        change = round((r.area_after or 0.0) - (r.area_before or 0.0), 1)
        counts[r.change] = counts.get(r.change, 0) + 1
        features.append(
            {
                "type": "Feature",
                "id": f"{r.change}:{r.code}",
                "geometry": orjson.loads(r.gj),
                "properties": {
                    "code": r.code,
                    "level": r.level,
                    "name": r.name,
                    "parent_code": r.parent_code,
                    "change": r.change,
                    "area_before_m2": before,
                    "area_after_m2": after,
                    "area_change_m2": change,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "old_generation": old_generation_id,
        "new_generation": new_generation_id,
        "counts": counts,
        "tolerance": tolerance.to_dict(),
        "features": features,
    }


# Overlaps of the grids whose area changed (removed or reshaped old x added or reshaped new),
# areas measured in the metric CRS. The && test uses the GiST index on grid.geom.
_OVERLAP_SQL = """
SELECT o.code AS old_code, n.code AS new_code, o.level,
       ST_Area(ST_Transform(ST_Intersection(o.geom, n.geom), :srid)) AS overlap_m2,
       o.area_m2 AS old_area, n.area_m2 AS new_area,
       ST_Perimeter(ST_Transform(o.geom, :srid)) AS old_perimeter_m
FROM grid o JOIN grid n
  ON n.generation_id = :new AND n.level = o.level AND n.code = ANY(:new_codes)
 AND n.geom && o.geom AND ST_Intersects(o.geom, n.geom)
WHERE o.generation_id = :old AND o.code = ANY(:old_codes)
"""


def lineage_pairs(
    *,
    session: Session,
    old_generation_id: int,
    new_generation_id: int,
    metric_srid: int = SRID_METRIC_DEFAULT,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> list[dict[str, Any]]:
    """The lineage rows (dicts with the columns of ``GridLineage``, no ids) of every level;
    ``same`` grids are not listed (every code in both generations not otherwise listed)."""
    rows: list[dict[str, Any]] = []
    for level in (1, 2, 3):
        cs = changed_codes(
            session=session,
            old_generation_id=old_generation_id,
            new_generation_id=new_generation_id,
            level=level,
            metric_srid=metric_srid,
            tolerance=tolerance,
        )
        if not (cs.added or cs.removed or cs.reshaped):
            continue
        overlaps = session.execute(
            text(_OVERLAP_SQL),
            {
                "srid": metric_srid,
                "old": old_generation_id,
                "new": new_generation_id,
                "old_codes": cs.old_codes,
                "new_codes": cs.new_codes,
            },
        ).all()
        removed, added = set(cs.removed), set(cs.added)
        links = [
            o
            for o in (
                Overlap(
                    r.old_code,
                    r.new_code,
                    float(r.overlap_m2),
                    float(r.old_area),
                    float(r.new_area),
                    float(r.old_perimeter_m),
                )
                for r in overlaps
            )
            if is_link(o, tolerance)
        ]
        # Only retired -> new codes carry lineage; a reshaped grid keeps its code.
        retired = [o for o in links if o.old_code in removed and o.new_code in added]
        succ = {o.old_code for o in retired}
        pred = {o.new_code for o in retired}

        def row(o: Overlap, kind: str, level: int = level) -> dict[str, Any]:
            return {
                "level": level,
                "old_code": o.old_code,
                "new_code": o.new_code,
                "kind": kind,
                "overlap_m2": o.overlap_m2,
                "share_of_old": o.share_of_old,
                "share_of_new": o.share_of_new,
            }

        rows += [row(o, "reshaped") for o in links if o.old_code == o.new_code]
        rows += [row(o, kind) for o, kind in link_kinds(retired, tolerance=tolerance)]
        empty = {"overlap_m2": 0.0, "share_of_old": 0.0, "share_of_new": 0.0}
        for code in sorted(removed - succ):
            rows.append({"level": level, "old_code": code, "new_code": None, "kind": "removed",
                         **empty})  # fmt: skip
        for code in sorted(added - pred):
            rows.append({"level": level, "old_code": None, "new_code": code, "kind": "added",
                         **empty})  # fmt: skip
    rows.sort(key=lambda r: (r["level"], r["old_code"] or "", r["new_code"] or ""))
    return rows


def compute_lineage(
    *,
    session: Session,
    old_generation_id: int,
    new_generation_id: int,
    metric_srid: int = SRID_METRIC_DEFAULT,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> list[dict[str, Any]]:
    """Compute the lineage of ``new`` from ``old`` and store it (replacing an earlier one of
    the same pair) in ``grid_lineage``; returns the rows (see ``lineage_pairs``)."""
    rows = lineage_pairs(
        session=session,
        old_generation_id=old_generation_id,
        new_generation_id=new_generation_id,
        metric_srid=metric_srid,
        tolerance=tolerance,
    )
    session.execute(
        delete(GridLineage).where(
            GridLineage.new_generation_id == new_generation_id,
            GridLineage.old_generation_id == old_generation_id,
        )
    )
    session.add_all(
        GridLineage(new_generation_id=new_generation_id, old_generation_id=old_generation_id, **r)
        for r in rows
    )
    session.flush()
    return rows


def successors(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Lineage rows of retired codes by old code (``recoded_from``, ``split_from``,
    ``merged_into``, ``moved_from``, ``removed``)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["old_code"] and r["kind"] in (*LINK_KINDS, "removed"):
            out.setdefault(r["old_code"], []).append(r)
    return out


def clear_successor(links: list[dict[str, Any]]) -> str | None:
    """The new code an old grid's staff follow: the one of its lineage rows (from
    ``successors``) holding at least ``gis.lineage.CLEAR_MAJORITY`` of its area; None when
    there is none (a real split, a grid removed: a person decides)."""
    for r in links:
        if r["new_code"] and r["share_of_old"] >= CLEAR_MAJORITY:
            return str(r["new_code"])
    return None


__all__ = [
    "DEFAULT_TOLERANCE",
    "ChangeSet",
    "GridLineage",
    "ShapeTolerance",
    "changed_codes",
    "clear_successor",
    "compute_lineage",
    "diff_features",
    "lineage_pairs",
    "successors",
]
