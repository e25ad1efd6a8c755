"""Draft generations: a full copy of a stored generation, or a planner's file imported, each
compared with the active generation before it is stored.

Comparison (:func:`compare_frames`), all areas in m² in ``metric_srid`` (EPSG:4549 by
default), distances in m:

- ``counts``: grids per level in the draft and in the active generation, and the difference;
- ``outline``: the city outline of each (union of the L1 grids, else of the coarsest level
  present): areas, the area the draft drops and adds, ``dropped_share`` (dropped / active
  area) and the Hausdorff distance between the two outlines;
- ``codes``: codes added, removed, and changed (same code, a geometry that differs beyond the
  tolerance, with the area of the symmetric difference and the Hausdorff distance).

Tolerance (``layers.planning.lineage.ShapeTolerance``, as the diff and lineage use it): a grid
whose Hausdorff distance from the active one is at most 0.05 m and whose symmetric difference
with it is at most 5 m² per km of boundary (both in ``metric_srid``) is unchanged, so a file
round-tripped through EPSG:4549 or a GIS that rounds coordinates, or a neighbour that gained a
vertex on its shared edge, does not count as changed.

A draft that drops more than ``max_drop_share`` of the city's area (default 1 %), or a whole
level the active generation has, is refused with these numbers unless forced.

Validity: :func:`validate_draft` is ``gis.hierarchy.validate_hierarchy`` plus one problem per
level that has no grids (a city needs all three). Problems that the database cannot store (bad
codes, invalid geometries, duplicates, missing parents) refuse an import outright; the others
(gaps, overlaps, tiling, missing levels) let it be stored as a draft that cannot be submitted
or published until fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.codes import LEVELS
from gis.crs import to_metric
from gis.gridfiles import GridFile, GridFileError, read_grid_file
from gis.hierarchy import HierarchyReport, Problem, ProblemKind, validate_hierarchy
from layers.errors import DomainError, GenerationNotFound, with_zh
from layers.grids import (
    active_generation,
    create_generation,
    get_generation,
    load_grids,
    read_grid_frame,
)
from layers.models import Generation, GenerationStatus, Grid
from layers.planning.copying import (  # noqa: F401 - the copy path, re-exported here
    Actor,
    GridFileInvalid,
    copy_generation,
    generation_counts,
    resolve_source,
)
from layers.planning.lineage import DEFAULT_TOLERANCE, ShapeTolerance

DEFAULT_MAX_DROP_SHARE = 0.01
UNSTORABLE = frozenset(
    {
        ProblemKind.INVALID_GEOMETRY,
        ProblemKind.EMPTY_GEOMETRY,
        ProblemKind.CODE_FORMAT,
        ProblemKind.CODE_LENGTH,
        ProblemKind.CODE_PREFIX,
        ProblemKind.DUPLICATE_CODE,
        ProblemKind.MISSING_PARENT,
    }
)
"""Problems the database refuses (constraints on codes, parents and geometry validity)."""
_LISTED = 20


class DraftRefused(DomainError):
    """An import that drops too much of the city or a whole level, not forced (422);
    ``extra['comparison']`` has the numbers."""


class DraftInvalid(DomainError):
    """A generation with validation problems asked to be submitted or published (422);
    ``extra['problems']`` lists them."""


# -- validation -------------------------------------------------------------------------------
def validate_draft(
    frame: gpd.GeoDataFrame,
    *,
    metric_srid: int,
    reference: gpd.GeoDataFrame | None = None,
    hierarchy: HierarchyReport | None = None,
) -> HierarchyReport:
    """All checks of ``validate_hierarchy``, a COUNT_MISMATCH problem per empty level, and a GAP
    per hole in the city's unit grids that the ``reference`` city (the active generation) does
    not have: parents derived from their children (an L3-only file) carry a missing grid's hole
    along, so the hierarchy checks alone cannot see it. ``reference`` may be ``frame`` itself
    (a copy of the active generation): it has no hole the reference lacks, nothing to look
    for. ``hierarchy``: ``validate_hierarchy``'s report of these grids when it is known
    (:func:`published_report`); it is not changed."""
    report = (
        HierarchyReport(list(hierarchy.problems), dict(hierarchy.counts))
        if hierarchy is not None
        else validate_hierarchy(frame, metric_srid=metric_srid)
    )
    if reference is not frame:
        report.problems.extend(_new_holes(frame, reference, metric_srid))
    for lvl in LEVELS:
        if report.counts.get(lvl, 0) == 0:
            report.problems.append(
                Problem(
                    ProblemKind.COUNT_MISMATCH,
                    (),
                    lvl,
                    None,
                    f"level {lvl} has no grids: a city needs towns (L1), villages (L2) and unit "
                    "grids (L3); import the missing layer (choose it with layer=, or "
                    "layer=all), or a file of the L3 grids alone (parents are derived)",
                )
            )
    return report


def _holes(frame: gpd.GeoDataFrame | None) -> shapely.Geometry:
    """The holes (interior rings) of the union of the unit grids, as one geometry."""
    if frame is None:
        return shapely.Polygon()
    geoms = np.asarray(frame.geometry.values[frame["level"].to_numpy() == 3], dtype=object)
    parts = shapely.get_parts(shapely.union_all(shapely.make_valid(geoms)))
    rings = [shapely.Polygon(r) for p in parts if p.geom_type == "Polygon" for r in p.interiors]
    return shapely.union_all(rings) if rings else shapely.Polygon()


def _new_holes(
    frame: gpd.GeoDataFrame, reference: gpd.GeoDataFrame | None, metric_srid: int
) -> list[Problem]:
    found = shapely.get_parts(shapely.difference(_holes(frame), _holes(reference)))
    units = frame[frame["level"] == 3]
    tree = shapely.STRtree(np.asarray(units.geometry.values, dtype=object))
    out = []
    for hole in found:
        area_m2 = float(_metric(hole, metric_srid).area)
        if area_m2 < 1.0:
            continue
        at = shapely.point_on_surface(hole)
        around = sorted(units["code"].iloc[tree.query(hole, predicate="intersects")])
        out.append(Problem(
            ProblemKind.GAP, tuple(around), 3, (round(at.x, 7), round(at.y, 7)),
            f"a {area_m2:,.1f} m² hole inside the city at {at.x:.6f}, {at.y:.6f} belongs to no "
            f"unit grid (around it: {', '.join(around[:6])}); a grid is missing from the file: "
            "add it back, or extend a neighbour over it",
            area_m2, None, hole,
        ))  # fmt: skip
    return out


def kinds_text(by_kind: dict[str, int]) -> str:
    """Problem counts by kind as words for messages: ``"gap 2, overlap 1"``."""
    return ", ".join(f"{kind} {n}" for kind, n in by_kind.items())


def report_dict(report: HierarchyReport) -> dict[str, Any]:
    """``report.to_dict()`` with each problem's meaningless keys left out (``area_m2``,
    ``width_m``, ``location``, ``geometry`` when a problem has none) instead of nulls."""
    out = report.to_dict()
    out["problems"] = [problem_dict(p.to_dict()) for p in report.problems]
    return out


def problem_dict(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def problems_summary(report: HierarchyReport, limit: int = _LISTED) -> dict[str, Any]:
    """A short JSON form of a report: ok, counts, by kind and the first ``limit`` problems
    (without geometries; keys without a value left out)."""
    listed = []
    for p in report.problems[:limit]:
        item = problem_dict(p.to_dict())
        item.pop("geometry", None)
        listed.append(item)
    return {
        "ok": report.ok,
        "counts": {str(k): v for k, v in sorted(report.counts.items())},
        "by_kind": report.by_kind(),
        "problems": listed,
        "problems_total": len(report.problems),
    }


def validate_stored(*, session: Session, generation_id: int, metric_srid: int) -> HierarchyReport:
    frame = read_grid_frame(session=session, generation_id=generation_id)
    return validate_draft(frame, metric_srid=metric_srid, reference=_active_frame(session))


def _active_frame(session: Session) -> gpd.GeoDataFrame | None:
    try:
        active = active_generation(session=session)
    except GenerationNotFound:
        return None
    return read_grid_frame(session=session, generation_id=active.id)


# -- comparison -------------------------------------------------------------------------------
def _outline(frame: gpd.GeoDataFrame) -> shapely.Geometry:
    for lvl in LEVELS:
        geoms = np.asarray(frame.geometry.values[frame["level"].to_numpy() == lvl], dtype=object)
        if len(geoms):
            return shapely.union_all(shapely.make_valid(geoms))
    return shapely.Polygon()


def _metric(geom: shapely.Geometry, srid: int) -> shapely.Geometry:
    return shapely.transform(geom, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], srid)))


def reshaped(
    before: Mapping[str, shapely.Geometry],
    after: Mapping[str, shapely.Geometry],
    *,
    metric_srid: int,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, dict[str, float]]:
    """The codes present in both maps (code → EPSG:4490 geometry) whose shapes differ beyond
    ``tolerance``: ``{code: {changed_m2, hausdorff_m}}`` (symmetric difference in m² and
    Hausdorff distance in m, in ``metric_srid``), sorted by code. Exact copies are found
    without any metric work."""
    common = sorted(set(before) & set(after))
    left = np.asarray([before[c] for c in common], dtype=object)
    right = np.asarray([after[c] for c in common], dtype=object)
    same = np.zeros(len(common), dtype=bool)
    if len(common):
        same = shapely.equals_exact(shapely.normalize(left), shapely.normalize(right), 1e-10)
        rest = np.flatnonzero(~same)
        if len(rest):
            same[rest] = shapely.equals(left[rest], right[rest])
    out: dict[str, dict[str, float]] = {}
    for k in np.flatnonzero(~same):
        old, new = _metric(left[k], metric_srid), _metric(right[k], metric_srid)
        distance_m = float(shapely.hausdorff_distance(old, new))
        sym_m2 = float(
            shapely.symmetric_difference(shapely.make_valid(old), shapely.make_valid(new)).area
        )
        if tolerance.allows(
            hausdorff_m=distance_m, sym_diff_m2=sym_m2, perimeter_m=float(old.length)
        ):
            continue
        out[common[k]] = {"changed_m2": round(sym_m2, 1), "hausdorff_m": round(distance_m, 3)}
    return out


def compare_frames(
    draft: gpd.GeoDataFrame,
    active: gpd.GeoDataFrame | None,
    *,
    metric_srid: int,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Compare a draft grid frame with the active one (both EPSG:4490); JSON-able dict.

    Keys: ``counts`` {draft, active, difference} per level ("1".."3"); ``outline``
    {draft_area_m2, active_area_m2, dropped_m2, added_m2, dropped_share, hausdorff_m};
    ``levels_dropped`` (levels the active has and the draft lacks); ``codes`` {added, removed,
    changed: [{code, level, changed_m2, hausdorff_m}], and their counts}; ``tolerance``
    {area_m2, hausdorff_m}: a common code within it is not changed.
    """
    d_counts = {lvl: int((draft["level"] == lvl).sum()) for lvl in LEVELS}
    if active is None or active.empty:
        return {
            "against": None,
            "counts": {"draft": {str(k): v for k, v in d_counts.items()}},
            "outline": None,
            "levels_dropped": [],
            "codes": None,
        }
    a_counts = {lvl: int((active["level"] == lvl).sum()) for lvl in LEVELS}
    if draft is active:  # a copy of the active generation, row for row: nothing to compare
        return _same_frame(draft, d_counts, metric_srid, tolerance)
    d_out, a_out = _metric(_outline(draft), metric_srid), _metric(_outline(active), metric_srid)
    a_area = float(a_out.area)
    dropped = float(shapely.difference(a_out, d_out).area) if not d_out.is_empty else a_area
    added = float(shapely.difference(d_out, a_out).area)
    hausdorff = None
    if not d_out.is_empty:
        hausdorff = float(shapely.hausdorff_distance(a_out.boundary, d_out.boundary))
    d_geo = dict(zip(draft["code"], draft.geometry.values, strict=True))
    d_lvl = dict(zip(draft["code"], draft["level"], strict=True))
    a_geo = dict(zip(active["code"], active.geometry.values, strict=True))
    a_lvl = dict(zip(active["code"], active["level"], strict=True))
    added_codes = sorted(set(d_geo) - set(a_geo))
    removed_codes = sorted(set(a_geo) - set(d_geo))
    changed = [
        {"code": code, "level": int(d_lvl[code]), **numbers}
        for code, numbers in reshaped(
            a_geo, d_geo, metric_srid=metric_srid, tolerance=tolerance
        ).items()
    ]
    return {
        "tolerance": tolerance.to_dict(),
        "counts": {
            "draft": {str(k): v for k, v in d_counts.items()},
            "active": {str(k): v for k, v in a_counts.items()},
            "difference": {str(k): d_counts[k] - a_counts[k] for k in LEVELS},
        },
        "outline": {
            "draft_area_m2": round(float(d_out.area), 1),
            "active_area_m2": round(a_area, 1),
            "dropped_m2": round(dropped, 1),
            "added_m2": round(added, 1),
            "dropped_share": round(dropped / a_area, 6) if a_area else 0.0,
            "hausdorff_m": None if hausdorff is None else round(hausdorff, 2),
        },
        "levels_dropped": [lvl for lvl in LEVELS if a_counts[lvl] and not d_counts[lvl]],
        "codes": {
            "added": [{"code": c, "level": int(d_lvl[c])} for c in added_codes],
            "removed": [{"code": c, "level": int(a_lvl[c])} for c in removed_codes],
            "changed": changed,
            "added_count": len(added_codes),
            "removed_count": len(removed_codes),
            "changed_count": len(changed),
        },
    }


def _same_frame(
    frame: gpd.GeoDataFrame, counts: dict[int, int], metric_srid: int, tolerance: ShapeTolerance
) -> dict[str, Any]:
    """:func:`compare_frames`' answer for a frame compared with itself (one outline, no
    per-code work)."""
    area = round(float(_metric(_outline(frame), metric_srid).area), 1)
    return {
        "tolerance": tolerance.to_dict(),
        "counts": {
            "draft": {str(k): v for k, v in counts.items()},
            "active": {str(k): v for k, v in counts.items()},
            "difference": {str(k): 0 for k in LEVELS},
        },
        "outline": {
            "draft_area_m2": area,
            "active_area_m2": area,
            "dropped_m2": 0.0,
            "added_m2": 0.0,
            "dropped_share": 0.0,
            "hausdorff_m": 0.0,
        },
        "levels_dropped": [],
        "codes": {
            "added": [],
            "removed": [],
            "changed": [],
            "added_count": 0,
            "removed_count": 0,
            "changed_count": 0,
        },
    }


_PUBLISHED: dict[tuple[int, int], HierarchyReport] = {}
"""``validate_hierarchy`` reports of published generations by (id, metric SRID): their rows
never change once in force (a rollback publishes a copy), so one validation serves every copy
made from them in this process."""


def published_report(
    source: Generation, frame: gpd.GeoDataFrame, metric_srid: int
) -> HierarchyReport | None:
    """The hierarchy report of ``source``'s grids (``frame``) if ``source`` is active or
    retired (computed once per process), else None."""
    if source.status not in (GenerationStatus.ACTIVE, GenerationStatus.RETIRED):
        return None
    key = (int(source.id), int(metric_srid))
    found = _PUBLISHED.get(key)
    if found is None:
        found = validate_hierarchy(frame, metric_srid=metric_srid)
        if len(_PUBLISHED) >= 8:
            _PUBLISHED.clear()
        _PUBLISHED[key] = found
    return found


def copy_checks(
    *,
    session: Session,
    copy: Generation,
    source: Generation,
    metric_srid: int,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> tuple[HierarchyReport, dict[str, Any]]:
    """The validation and the comparison with the active generation of ``copy``, a fresh copy
    of ``source`` (:func:`copy_generation`: the same rows). Reads the grids once (and the active
    generation's once if it is another); a copy of the active generation is compared with
    itself without any geometric work, and a published source's hierarchy validation is made
    once per process (:func:`published_report`) — what keeps ``POST /api/v1/generations
    {"from": "active"}`` well under 5 s (docs/benchmarks-planning.md)."""
    frame = read_grid_frame(session=session, generation_id=copy.id)
    try:
        active: Generation | None = active_generation(session=session)
    except GenerationNotFound:
        active = None
    if active is None:
        reference = None
    elif active.id == source.id:
        reference = frame
    else:
        reference = read_grid_frame(session=session, generation_id=active.id)
    report = validate_draft(
        frame, metric_srid=metric_srid, reference=reference,
        hierarchy=published_report(source, frame, metric_srid),
    )  # fmt: skip
    comparison = compare_frames(frame, reference, metric_srid=metric_srid, tolerance=tolerance)
    if active is not None:
        comparison["against"] = {"id": active.id, "name": active.name}
    return report, comparison


def compare_with_active(
    *,
    session: Session,
    frame: gpd.GeoDataFrame,
    metric_srid: int,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """:func:`compare_frames` against the generation active now (None if there is none)."""
    try:
        active = active_generation(session=session)
    except GenerationNotFound:
        return compare_frames(frame, None, metric_srid=metric_srid)
    result = compare_frames(
        frame,
        read_grid_frame(session=session, generation_id=active.id),
        metric_srid=metric_srid,
        tolerance=tolerance,
    )
    result["against"] = {"id": active.id, "name": active.name}
    return result


def compare_generations(
    *,
    session: Session,
    generation_id: int,
    against_id: int | None,
    metric_srid: int,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Compare a stored generation with another (default: the active one)."""
    frame = read_grid_frame(session=session, generation_id=generation_id)
    if against_id is None:
        return compare_with_active(
            session=session, frame=frame, metric_srid=metric_srid, tolerance=tolerance
        )
    against = get_generation(session=session, generation_id=against_id)
    result = compare_frames(
        frame,
        read_grid_frame(session=session, generation_id=against.id),
        metric_srid=metric_srid,
        tolerance=tolerance,
    )
    result["against"] = {"id": against.id, "name": against.name}
    return result


def check_drop(comparison: dict[str, Any], *, max_drop_share: float, force: bool) -> None:
    """Raise DraftRefused when the draft drops over ``max_drop_share`` of the city's area or
    a whole level, unless ``force``."""
    if force or comparison.get("outline") is None:
        return
    outline, reasons, reasons_zh = comparison["outline"], [], []
    if outline["dropped_share"] > max_drop_share:
        reasons.append(
            f"it drops {outline['dropped_m2'] / 1e6:,.3f} km² = "
            f"{outline['dropped_share']:.2%} of the city's {outline['active_area_m2'] / 1e6:,.3f}"
            f" km² (the limit is {max_drop_share:.2%}; outlines {outline['hausdorff_m']} m apart)"
        )
        reasons_zh.append(
            f"它丢失了 {outline['dropped_m2'] / 1e6:.3f} 平方公里，占全市 "
            f"{outline['active_area_m2'] / 1e6:.3f} 平方公里的 {outline['dropped_share']:.2%}"
            f"（上限为 {max_drop_share:.2%}；两者轮廓相距 {outline['hausdorff_m']} 米）"
        )
    if comparison["levels_dropped"]:
        have = comparison["counts"]["active"]
        lost = ", ".join(f"L{lvl} ({have[str(lvl)]} grids)" for lvl in comparison["levels_dropped"])
        reasons.append(f"it has no grids of {lost} that the active generation has")
        lost_zh = "、".join(
            f"第 {lvl} 级（{have[str(lvl)]} 个网格）" for lvl in comparison["levels_dropped"]
        )
        reasons_zh.append(f"现行版本中有的{lost_zh}网格，它一个也没有")
    if reasons:
        raise with_zh(
            DraftRefused(
                "the draft is refused: "
                + "; ".join(reasons)
                + ". Check that the file holds the whole city (choose the right layer, or all "
                "layers), or force the import if the city really shrinks",
                field="file",
                extra={"comparison": comparison},
            ),
            "草案被拒绝："
            + "；".join(reasons_zh)
            + "。请检查文件是否包含整个城市（选择正确的图层，或全部图层）；"
            "如果城市范围确实缩小，请强制导入",
        )


def check_crs(gridfile: GridFile, comparison: dict[str, Any], *, metric_srid: int) -> None:
    """Raise DraftRefused (``field`` ``crs``) when the file's coordinates do not fit the CRS it
    was read in: outside its area of use, or an outline nowhere near the city; the message
    names the likely CRS (``layers.planning.crs_hint``). ``extra['crs_hint']`` has the
    numbers."""
    from layers.planning.crs_hint import wrong_crs

    hint = wrong_crs(
        frame=gridfile.frame, source_crs=gridfile.source_crs, comparison=comparison,
        metric_srid=metric_srid,
    )  # fmt: skip
    if hint is not None:
        en, zh, extra = hint
        raise with_zh(DraftRefused(en, field="crs", extra={"crs_hint": extra}), zh)


# -- making drafts ----------------------------------------------------------------------------
def _active_names(session: Session) -> dict[str, str]:
    try:
        active = active_generation(session=session)
    except GenerationNotFound:
        return {}
    rows = session.execute(
        select(Grid.code, Grid.name).where(Grid.generation_id == active.id, Grid.level < 3)
    )
    return {code: name for code, name in rows}


def read_planner_file(
    *, session: Session, path: Path, layer: str | None, crs: str | None, encoding: str | None = None
) -> GridFile:
    """Read a grid file (derived parents named from the active generation; ``encoding`` of a
    Shapefile's attributes, see gis.dbf_encoding); GridFileInvalid."""
    try:
        return read_grid_file(
            path, layer=layer, crs=crs, known_names=_active_names(session), encoding=encoding
        )
    except GridFileError as exc:
        extra: dict[str, Any] = {"problems": exc.problems[:50]}
        if exc.layers is not None:
            extra["layers"] = exc.layers
        refused = GridFileInvalid(exc.detail, field=exc.field, extra=extra)
        raise with_zh(refused, exc.detail_zh or exc.detail) from None


def refuse_unstorable(report: HierarchyReport) -> None:
    """Raise GridFileInvalid if the report has problems the database cannot store."""
    bad = [p for p in report.problems if p.kind in UNSTORABLE]
    if not bad:
        return
    listed = "; ".join(p.detail for p in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    raise with_zh(
        GridFileInvalid(
            f"{len(bad)} grids cannot be stored: {listed}{more}",
            field="file",
            extra={"problems": problems_summary(HierarchyReport(bad, report.counts))["problems"]},
        ),
        f"{len(bad)} 个网格无法保存：{listed}{more}",
    )


@dataclass
class DraftResult:
    """What making a draft produced: the generation (None on a dry run), the comparison with
    the active generation, the validation and, for files, the read's report."""

    generation: Generation | None
    comparison: dict[str, Any]
    validation: HierarchyReport
    file: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "comparison": self.comparison,
            "validation": problems_summary(self.validation),
            "publishable": self.validation.ok,
            "file": self.file,
        }


def import_draft(
    *,
    session: Session,
    gridfile: GridFile,
    name: str,
    note: str | None,
    actor: Actor,
    metric_srid: int,
    max_drop_share: float = DEFAULT_MAX_DROP_SHARE,
    force: bool = False,
    store: bool = True,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> DraftResult:
    """Validate and compare a read grid file, then (if ``store``) store it as a draft.

    Raises GridFileInvalid (unstorable problems) or DraftRefused (drops too much, not forced)
    before anything is stored. A draft with other problems is stored but not publishable.
    """
    frame = gridfile.frame
    report = validate_draft(frame, metric_srid=metric_srid, reference=_active_frame(session))
    refuse_unstorable(report)
    comparison = compare_with_active(
        session=session, frame=frame, metric_srid=metric_srid, tolerance=tolerance
    )
    if not force:
        check_crs(gridfile, comparison, metric_srid=metric_srid)
    check_drop(comparison, max_drop_share=max_drop_share, force=force)
    result = DraftResult(None, comparison, report, gridfile.report())
    if not store:
        return result
    generation = create_generation(session=session, name=name, note=note)
    generation.created_by = actor.label
    load_grids(session=session, generation_id=generation.id, grids=frame, metric_srid=metric_srid)
    from layers.planning.review import record_step

    record_step(
        session=session,
        generation=generation,
        action="create",
        actor=actor,
        reason=note or f"imported from a file ({', '.join(gridfile.layers)})",
        details={
            "file": gridfile.report(),
            "forced": force,
            "problems": len(report.problems),
            "dropped_share": (comparison.get("outline") or {}).get("dropped_share"),
            "base": (comparison.get("against") or {}).get("id"),  # what a rebase compares with
        },
    )
    session.flush()
    result.generation = generation
    return result


def is_editable(generation: Generation) -> bool:
    return generation.status is GenerationStatus.DRAFT


def known_names(*, session: Session) -> Mapping[str, str]:
    return _active_names(session)
