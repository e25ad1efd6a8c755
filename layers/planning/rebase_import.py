"""Rebase an *imported* draft (a file: no edit log to replay) onto the generation in force by a
per-grid three-way comparison of its base (the generation in force when it was imported), the
draft, and the generation in force now.

For every code (any level; geometries compared on the unit grids only, villages and towns being
the union of their children) with ``layers.planning.drafts.reshaped``'s shape tolerance:

- changed by the newer publications only → the new draft takes the active generation's version
  (added, removed, reshaped, renamed);
- changed by the draft only, or by neither → the draft's version stays;
- changed by both, the same way → nothing to decide;
- changed by both, differently → a **conflict**: refused (409 :class:`RebaseConflict`, listing
  each with what either side did and its bounding box) unless the caller chooses a side per
  code (``choices``: ``{code: "draft"|"active"}``) or for all (``prefer``).

The result is a new draft (``created_from`` = the generation in force, so publishing it reverts
nothing); its villages and towns are re-derived from their unit grids and it is validated
(``gis.hierarchy``): a mix that does not tile (a gap or overlap where the two versions meet) is
refused with the problems (422 :class:`~layers.planning.drafts.DraftInvalid`) and nothing is
stored. The imported draft stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from layers.errors import DomainError, GenerationNotFound, InvalidState, with_zh
from layers.grids import SUBDIVIDE_MAX_VERTICES, active_generation, read_grid_frame
from layers.models import Generation
from layers.planning.draft_rows import rederive_parents
from layers.planning.drafts import (
    Actor,
    DraftInvalid,
    copy_generation,
    problems_summary,
    reshaped,
    validate_stored,
)
from layers.planning.lineage import DEFAULT_TOLERANCE, ShapeTolerance

Side = Literal["draft", "active"]
SIDES: tuple[str, ...] = ("draft", "active")
MAX_LISTED = 200  # conflicts listed in a refusal (the count is always exact)


class RebaseChoiceInvalid(DomainError):
    """A choice that names no conflict, or a side that is not ``draft``/``active`` (HTTP 422)."""


def imported_base(*, session: Session, draft: Generation) -> int | None:
    """The generation an imported draft was compared with when it was made: the ``base`` its
    ``create`` step recorded, else the generation in force at its creation time (older
    imports); None when it was copied from a generation (``created_from``) or nothing was in
    force."""
    if draft.created_from is not None:
        return None
    from layers.planning.review import GenerationReview

    step = session.scalar(
        select(GenerationReview)
        .where(GenerationReview.generation_id == draft.id, GenerationReview.action == "create")
        .order_by(GenerationReview.id)
        .limit(1)
    )
    recorded = (step.details or {}).get("base") if step is not None else None
    if isinstance(recorded, int):
        return recorded
    try:
        return active_generation(session=session, at=draft.created_at).id
    except GenerationNotFound:
        return None


@dataclass
class _Version:
    """One generation's grids: attributes and unit-grid geometries, by code."""

    attrs: dict[str, tuple[int, str | None, str]]  # code → (level, parent_code, name)
    geoms: dict[str, shapely.Geometry]  # unit grids only (EPSG:4490)
    boxes: dict[str, tuple[float, float, float, float]]

    @classmethod
    def of(cls, frame: gpd.GeoDataFrame) -> _Version:
        attrs, geoms, boxes = {}, {}, {}
        for code, level, parent, name, geom in zip(
            frame["code"], frame["level"], frame["parent_code"], frame["name"],
            frame.geometry.values, strict=True,
        ):  # fmt: skip
            attrs[code] = (int(level), parent if isinstance(parent, str) else None, name)
            boxes[code] = tuple(round(float(v), 7) for v in geom.bounds)
            if int(level) == 3:
                geoms[code] = geom
        return cls(attrs, geoms, boxes)  # type: ignore[arg-type]


def _differs(
    a: _Version,
    b: _Version,
    metric_srid: int,
    tolerance: ShapeTolerance,
    only: set[str] | None = None,
) -> set[str]:
    """Codes (of ``only``, if given) that ``a`` and ``b`` hold differently: in one only, other
    level/parent/name, or a unit grid reshaped beyond ``tolerance``."""
    codes = (set(a.attrs) | set(b.attrs)) if only is None else only
    out = {c for c in codes if a.attrs.get(c) != b.attrs.get(c)}
    a_geoms = {c: g for c, g in a.geoms.items() if c in codes}
    b_geoms = {c: g for c, g in b.geoms.items() if c in codes}
    return out | set(reshaped(a_geoms, b_geoms, metric_srid=metric_srid, tolerance=tolerance))


def _what(base: _Version, other: _Version, code: str) -> str:
    if code not in other.attrs:
        return "removed"
    if code not in base.attrs:
        return "added"
    return "changed"


def three_way(
    *,
    base: gpd.GeoDataFrame,
    draft: gpd.GeoDataFrame,
    active: gpd.GeoDataFrame,
    metric_srid: int,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """The per-grid three-way comparison of grid frames (EPSG:4490). Returns
    ``{from_active: [codes], kept_draft: [codes], same_change: [codes], conflicts: [{code,
    level, draft, active, bbox}]}``: ``draft``/``active`` say what each side did to the base's
    grid (``added``, ``removed``, ``changed``), ``bbox`` is [west, south, east, north] in
    EPSG:4490 (of the draft's version, else the active one's)."""
    b, d, c = _Version.of(base), _Version.of(draft), _Version.of(active)
    by_active = _differs(b, c, metric_srid, tolerance)
    by_draft = _differs(b, d, metric_srid, tolerance)
    both = by_active & by_draft
    apart = _differs(d, c, metric_srid, tolerance, only=both) if both else set()
    level = {**b.attrs, **c.attrs, **d.attrs}
    order = sorted(by_active | by_draft, key=lambda k: (level[k][0], k))
    return {
        "from_active": [k for k in order if k in by_active and k not in by_draft],
        "kept_draft": [k for k in order if k in by_draft and k not in by_active],
        "same_change": [k for k in order if k in both and k not in apart],
        "conflicts": [
            {
                "code": k,
                "level": level[k][0],
                "draft": _what(b, d, k),
                "active": _what(b, c, k),
                "bbox": list(d.boxes.get(k) or c.boxes[k]),
            }
            for k in order
            if k in apart
        ],
    }


def _resolve(
    conflicts: list[dict[str, Any]], choices: dict[str, str], prefer: str | None
) -> dict[str, str]:
    """Each conflict's side (``choices`` first, then ``prefer``); refuses a choice naming no
    conflict or an unknown side, and unresolved conflicts (:class:`RebaseConflict`)."""
    from layers.planning.rebase import RebaseConflict

    codes = {x["code"] for x in conflicts}
    bad_side = sorted(k for k, v in choices.items() if v not in SIDES)
    if prefer is not None and prefer not in SIDES:
        bad_side.insert(0, "prefer")
    if bad_side:
        raise with_zh(
            RebaseChoiceInvalid(
                f"choose 'draft' or 'active' for {', '.join(bad_side[:10])}",
                field="prefer" if bad_side[0] == "prefer" else "choices",
            ),
            f"请为 {'、'.join(bad_side[:10])} 选择 draft（草案）或 active（现行版本）",
        )
    stray = sorted(set(choices) - codes)
    if stray:
        raise with_zh(
            RebaseChoiceInvalid(
                f"choices name grids that are not in conflict: {', '.join(stray[:10])}; choose "
                f"only among the conflicts ({', '.join(sorted(codes)[:10]) or 'none'})",
                field="choices",
                extra={"conflicts": conflicts[:MAX_LISTED]},
            ),
            f"choices 中的网格不是冲突网格：{'、'.join(stray[:10])}；只能为冲突网格选择",
        )
    chosen = {k: choices.get(k) or prefer for k in codes}
    open_ = sorted(k for k, v in chosen.items() if v is None)
    if open_:
        listed = [x for x in conflicts if x["code"] in set(open_)]
        raise with_zh(
            RebaseConflict(
                f"{len(open_)} grids were changed both by the draft and by the newer "
                f"publication(s): {', '.join(open_[:10])}; choose the version to keep for each "
                '(choices: {"CODE": "draft"|"active"}) or for all (prefer=draft|active, '
                "--prefer on the command line); nothing was stored",
                field="choices",
                extra={
                    "grids": open_[:MAX_LISTED],
                    "conflicts": listed[:MAX_LISTED],
                    "conflict_count": len(open_),
                },
            ),
            f"{len(open_)} 个网格既被草案修改、又被之后发布的版本修改：{'、'.join(open_[:10])}；"
            "请逐个选择保留草案（draft）还是现行版本（active），或全部选择（prefer）；未做任何修改",
        )
    return {k: str(v) for k, v in chosen.items()}


def rebase_imported(
    *,
    session: Session,
    draft: Generation,
    current: Generation,
    actor: Actor,
    metric_srid: int,
    choices: dict[str, str] | None = None,
    prefer: str | None = None,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """A new draft from imported draft ``draft``: its grids, with what the generation in force
    ``current`` changed since the draft's base where the draft did not (and the conflicts as
    chosen). Returns ``{generation, rebased_from, base, edits: 0, mode: "three-way",
    from_active, kept_draft, conflicts: [{…, chosen}], validation}``. Raises InvalidState (no
    base known, or already on ``current``), RebaseConflict (409, unresolved conflicts),
    RebaseChoiceInvalid (422), DraftInvalid (422: the mix does not tile); the caller's
    transaction rolls back on any."""
    base_id = imported_base(session=session, draft=draft)
    if base_id is None:
        raise with_zh(
            InvalidState(
                f"draft {draft.id} has no known base generation (nothing was in force when it "
                "was imported); import the file again over the active generation",
                field="generation",
            ),
            f"草案 {draft.id} 没有可比较的基础版本（导入时没有现行版本）；请在现行版本上重新导入",
        )
    if base_id == current.id:
        raise with_zh(
            InvalidState(
                f"draft {draft.id} was imported over the generation in force; nothing to rebase",
                field="generation",
            ),
            f"草案 {draft.id} 导入时即基于现行版本，无需变基",
        )
    frames = {
        k: read_grid_frame(session=session, generation_id=g)
        for k, g in (("base", base_id), ("draft", draft.id), ("active", current.id))
    }
    plan = three_way(**frames, metric_srid=metric_srid, tolerance=tolerance)
    chosen = _resolve(plan["conflicts"], choices or {}, prefer)
    take = set(plan["from_active"]) | {k for k, v in chosen.items() if v == "active"}
    new = copy_generation(
        session=session, source_id=draft.id, name=f"{draft.name} (rebased)"[:200],
        note=f"imported draft {draft.id} rebased from generation {base_id} onto {current.id} "
        f"({len(take)} grids taken from the active generation)",
        actor=actor,
    )  # fmt: skip
    new.created_from = current.id  # its base: publishing it reverts nothing newer
    _take_from(session, new.id, current.id, sorted(take), frames, metric_srid)
    report = validate_stored(session=session, generation_id=new.id, metric_srid=metric_srid)
    missing = session.execute(
        text(
            "SELECT c.code FROM grid c LEFT JOIN grid p ON p.generation_id = c.generation_id "
            "AND p.code = c.parent_code WHERE c.generation_id = :g AND c.parent_code IS NOT NULL "
            "AND p.code IS NULL ORDER BY c.code LIMIT 20"
        ),
        {"g": new.id},
    ).scalars().all()  # fmt: skip
    if missing or not report.ok:
        summary = problems_summary(report)
        where = ", ".join(missing[:10]) or ", ".join(
            str(p.get("detail", "")) for p in summary["problems"][:3]
        )
        raise with_zh(
            DraftInvalid(
                f"the rebased draft would not tile: {where}; nothing was stored — choose the "
                "other version for the conflicting grids next to these (choices/prefer), or fix "
                "the imported draft and rebase again",
                field="generation",
                extra={"problems": summary["problems"], "orphans": list(missing)},
            ),
            f"变基后的草案无法拼合：{where}；未做任何修改——请为相邻的冲突网格改选版本，"
            "或先修正导入的草案再变基",
        )
    conflicts = [{**x, "chosen": chosen[x["code"]]} for x in plan["conflicts"]]
    return {
        "generation": new.id,
        "rebased_from": draft.id,
        "base": current.id,
        "imported_base": base_id,
        "edits": 0,
        "mode": "three-way",
        "from_active": sorted(take - set(chosen)),
        "kept_draft": plan["kept_draft"],
        "conflicts": conflicts,
        "validation": problems_summary(report),
    }


def _take_from(
    session: Session,
    gen: int,
    src: int,
    codes: list[str],
    frames: dict[str, gpd.GeoDataFrame],
    metric_srid: int,
) -> None:
    """Give draft ``gen`` generation ``src``'s version of ``codes`` (a code ``src`` lacks is
    removed), then re-derive the villages and towns around them from their unit grids."""
    if not codes:
        return
    p = {"gen": gen, "src": src, "codes": codes}
    # unit grids: replaced outright (parts too); villages and towns: their attributes
    session.execute(
        text("DELETE FROM grid_part WHERE generation_id = :gen AND code = ANY(:codes)"), p
    )
    session.execute(
        text("DELETE FROM grid WHERE generation_id = :gen AND level = 3 AND code = ANY(:codes)"), p
    )
    session.execute(
        text(
            "UPDATE grid d SET name = s.name FROM grid s WHERE d.generation_id = :gen "
            "AND s.generation_id = :src AND s.code = d.code AND d.level < 3 "
            "AND d.code = ANY(:codes)"
        ),
        p,
    )
    session.execute(  # parents first, then children: the levels in order
        text(
            "INSERT INTO grid (generation_id, level, code, parent_code, name, geom, area_m2) "
            "SELECT :gen, s.level, s.code, s.parent_code, s.name, s.geom, s.area_m2 FROM grid s "
            "WHERE s.generation_id = :src AND (s.code = ANY(:codes) OR s.code IN (SELECT "
            "parent_code FROM grid WHERE generation_id = :src AND code = ANY(:codes))) "
            "AND NOT EXISTS (SELECT 1 FROM grid d WHERE d.generation_id = :gen "
            "AND d.code = s.code) ORDER BY s.level"
        ),
        p,
    )
    session.execute(
        text(
            "INSERT INTO grid_part (generation_id, code, geom) SELECT :gen, code, "
            "ST_Subdivide(geom, :n) FROM grid WHERE generation_id = :gen AND level = 3 "
            "AND code = ANY(:codes)"
        ),
        {**p, "n": SUBDIVIDE_MAX_VERTICES},
    )
    # villages, then towns, the active generation removed and nothing holds any more
    for level in (2, 1):
        session.execute(
            text(
                "DELETE FROM grid d WHERE d.generation_id = :gen AND d.level = :lvl "
                "AND d.code = ANY(:codes) AND NOT EXISTS (SELECT 1 FROM grid k WHERE "
                "k.generation_id = :gen AND k.parent_code = d.code)"
            ),
            {**p, "lvl": level},
        )
    parents = set()
    for frame in (frames["draft"], frames["active"]):
        hit = frame[frame["code"].isin(set(codes))]
        parents |= {x for x in hit["parent_code"] if isinstance(x, str)}
        parents |= {x for x in hit.loc[hit["level"] < 3, "code"]}
    parents |= {x[:9] for x in parents if len(x) == 12}
    have = set(
        session.execute(
            text("SELECT code FROM grid WHERE generation_id = :gen AND code = ANY(:c)"),
            {"gen": gen, "c": sorted(parents)},
        ).scalars()
    )
    childless = sorted(
        session.execute(
            text(
                "SELECT d.code FROM grid d WHERE d.generation_id = :gen AND d.code = ANY(:c) "
                "AND NOT EXISTS (SELECT 1 FROM grid k WHERE k.generation_id = :gen "
                "AND k.parent_code = d.code)"
            ),
            {"gen": gen, "c": sorted(have)},
        ).scalars()
    )
    if childless:
        raise with_zh(
            DraftInvalid(
                f"the rebased draft would leave {', '.join(childless[:10])} without any unit "
                "grid; choose the other version for the conflicting grids there (choices/prefer)",
                field="generation",
                extra={"problems": [], "orphans": childless},
            ),
            f"变基后 {'、'.join(childless[:10])} 将没有任何下级网格；请为该处的冲突网格改选版本",
        )
    rederive_parents(session, gen, have, metric_srid)
