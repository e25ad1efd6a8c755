"""Everything a publication left for a person to decide, in one list and one way to decide
(issue 10): staff assignments on retired codes (``layers.planning.decisions``), grids left
without a role (``layers.planning.staffing``) and enforcement-zone members on retired codes
(here).

A publication rebuilds each zone from its member grids by the code mapping (lineage:
``layers.planning.impact.reanchor`` replaces a retired member by its successors in the zone's
town). A member whose successors lie in another town (a village re-parented across a town
boundary) or that has none is left on its retired code -- the zone then silently loses that
ground -- so it is listed here until someone decides: ``replace`` it by grids of the active
generation in the zone's town (``grid_codes``; the candidates are its lineage successors) or
``drop`` it. Each decision is an ``edit`` step of the generation's review log
(``details.step = "decide_zone_member"``: who, when, why, what).

:func:`to_decide` answers ``{generation, status: "active", count, assignments,
grids_to_staff, zone_members}``; :func:`decide_item` takes ``{"kind": "assignment" |
"grid_role" | "zone_member", …}`` and calls the decision of that kind. A generation no longer
in force: GenerationSuperseded (410).

Zone member item: ``{kind: "zone_member", zone_id, zone, zone_name, town_code, grid_code,
candidates: [code …]}`` (candidates: lineage successors that are grids of the generation).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import InvalidState, with_zh
from layers.grids import get_generation
from layers.planning.decision_check import successors_sql
from layers.planning.drafts import Actor
from layers.planning.staffing import require_active

KINDS = ("assignment", "grid_role", "zone_member")
ZONE_DECISIONS = ("replace", "drop")

_ZONE_SQL = (
    """
SELECT z.id, z.code, z.name, z.town_code, m.grid_code,
       """
    + successors_sql("m.grid_code")
    + """ AS candidates
FROM zone_member m JOIN enforcement_zone z ON z.id = m.zone_id
WHERE NOT EXISTS (SELECT 1 FROM grid g WHERE g.generation_id = :g AND g.code = m.grid_code)
  {extra}
ORDER BY z.code, m.grid_code
"""
)


def zone_members_to_decide(
    *, session: Session, generation_id: int, zone_id: int | None = None, code: str | None = None
) -> list[dict[str, Any]]:
    """Zone members on codes that are not grids of the active ``generation_id`` (see the module
    docstring for the item shape). GenerationSuperseded (410) for a retired generation."""
    require_active(get_generation(session=session, generation_id=generation_id))
    extra = "AND z.id = :z AND m.grid_code = :c" if zone_id is not None else ""
    rows = session.execute(
        text(_ZONE_SQL.format(extra=extra)), {"g": generation_id, "z": zone_id, "c": code}
    ).all()
    return [
        {"kind": "zone_member", "zone_id": r.id, "zone": r.code, "zone_name": r.name,
         "town_code": r.town_code, "grid_code": r.grid_code, "candidates": list(r.candidates)}
        for r in rows
    ]  # fmt: skip


def decide_zone_member(
    *,
    session: Session,
    generation_id: int,
    zone_id: int,
    grid_code: str,
    decision: str,
    actor: Actor,
    reason: str | None,
    grid_codes: list[str] | None = None,
) -> dict[str, Any]:
    """``replace`` the retired member ``grid_code`` of zone ``zone_id`` by ``grid_codes`` (grids
    of the active generation in the zone's town) or ``drop`` it. Returns ``{step, item,
    decision, grid_codes (replace), remaining}``."""
    from layers.planning.decision_check import close_decision, open_decision
    from layers.planning.review import ReviewInputInvalid

    generation, why = open_decision(
        session=session, generation_id=generation_id, actor=actor, reason=reason,
        decision=decision, decisions=ZONE_DECISIONS, what="decide a zone member",
        send_en="'replace' (with grid_codes) or 'drop'",
        send_zh="请选择 replace（并给出 grid_codes）或 drop",
    )  # fmt: skip
    found = zone_members_to_decide(
        session=session, generation_id=generation_id, zone_id=zone_id, code=grid_code
    )
    if not found:
        raise with_zh(
            InvalidState(
                f"zone {zone_id} has no member {grid_code} to decide in generation "
                f"{generation_id}; list them at /api/v1/generations/{generation_id}/to-decide",
                field="grid_code",
            ),
            f"片区 {zone_id} 没有需要在第 {generation_id} 代网格中确定的成员 {grid_code}",
        )
    item = found[0]
    details: dict[str, Any] = {"step": "decide_zone_member", "item": item, "decision": decision}
    if decision == "replace":
        codes = sorted(set(grid_codes or []))
        known = set(
            session.execute(
                text(
                    "SELECT code FROM grid WHERE generation_id = :g AND code = ANY(:c) "
                    "AND left(code, 9) = :t"
                ),
                {"g": generation_id, "c": codes, "t": item["town_code"]},
            ).scalars()
        )
        wrong = [c for c in codes if c not in known]
        if not codes or wrong:
            choices = ", ".join(item["candidates"]) or "grids of the zone's town"
            raise with_zh(
                ReviewInputInvalid(
                    f"grid_codes {', '.join(wrong) or '(none)'}: give grids of generation "
                    f"{generation_id} in town {item['town_code']} (candidates: {choices}), "
                    "or drop the member",
                    field="grid_codes",
                ),
                f"grid_codes {'、'.join(wrong) or '（未填）'}：请给出第 {generation_id} 代网格中"
                f"镇 {item['town_code']} 的网格（候选：{choices}），或删除该成员",
            )
        session.execute(
            text(
                "INSERT INTO zone_member (zone_id, grid_code) SELECT :z, c FROM "
                "unnest(CAST(:codes AS text[])) c ON CONFLICT DO NOTHING"
            ),
            {"z": zone_id, "codes": codes},
        )
        details["grid_codes"] = codes
    session.execute(
        text("DELETE FROM zone_member WHERE zone_id = :z AND grid_code = :c"),
        {"z": zone_id, "c": grid_code},
    )
    return close_decision(
        session=session, generation=generation, actor=actor, why=why, details=details,
        remaining=lambda: zone_members_to_decide(session=session, generation_id=generation_id),
    )  # fmt: skip


def to_decide(*, session: Session, generation_id: int) -> dict[str, Any]:
    """Every open decision of the active ``generation_id`` (module docstring)."""
    from layers.planning.decisions import assignments_to_decide
    from layers.planning.staffing import grids_to_staff

    require_active(get_generation(session=session, generation_id=generation_id))
    assignments = [
        {"kind": "assignment", **a}
        for a in assignments_to_decide(session=session, generation_id=generation_id)
    ]
    staff = grids_to_staff(session=session, generation_id=generation_id)
    zones = zone_members_to_decide(session=session, generation_id=generation_id)
    return {
        "generation": generation_id,
        "status": "active",
        "count": len(assignments) + len(staff) + len(zones),
        "assignments": assignments,
        "grids_to_staff": staff,
        "zone_members": zones,
    }


def decide_item(
    *, session: Session, generation_id: int, item: dict[str, Any], actor: Actor
) -> dict[str, Any]:
    """Decide one item of :func:`to_decide`: ``item`` = ``{"kind", "reason", …}`` with, by
    kind, ``assignment``: ``id``, ``decision`` (move/end), ``grid_code``; ``grid_role``:
    ``grid_code``, ``role``, ``decision`` (move/add/vacant), ``person_id``; ``zone_member``:
    ``zone_id``, ``grid_code``, ``decision`` (replace/drop), ``grid_codes``."""
    from layers.planning.decisions import decide
    from layers.planning.review import ReviewInputInvalid
    from layers.planning.staffing import staff_grid

    kind = item.get("kind")
    reason = item.get("reason")
    decision = str(item.get("decision") or "")
    try:
        if kind == "assignment":
            return decide(
                session=session, generation_id=generation_id, actor=actor, reason=reason,
                decision=decision, assignment_id=int(item["id"]), grid_code=item.get("grid_code"),
            )  # fmt: skip
        if kind == "grid_role":
            person = item.get("person_id")
            return staff_grid(
                session=session, generation_id=generation_id, actor=actor, reason=reason,
                decision=decision, grid_code=str(item["grid_code"]), role=str(item["role"]),
                person_id=None if person is None else int(person),
            )  # fmt: skip
        if kind == "zone_member":
            codes = item.get("grid_codes") or []
            return decide_zone_member(
                session=session, generation_id=generation_id, actor=actor, reason=reason,
                decision=decision, zone_id=int(item["zone_id"]), grid_code=str(item["grid_code"]),
                grid_codes=[str(c) for c in codes] if isinstance(codes, list) else [str(codes)],
            )  # fmt: skip
    except KeyError as missing:
        raise with_zh(
            ReviewInputInvalid(
                f"a {kind} decision needs {missing.args[0]!r}", field=missing.args[0]
            ),
            f"{kind} 的决定需要填写 {missing.args[0]!r}",
        ) from None
    except (TypeError, ValueError):
        raise with_zh(
            ReviewInputInvalid(f"a {kind} decision has a value of the wrong type", field="body"),
            f"{kind} 的决定中有类型错误的值",
        ) from None
    raise with_zh(
        ReviewInputInvalid(
            f"kind {kind!r} is unknown; send one of {', '.join(KINDS)}", field="kind"
        ),
        f"种类 {kind!r} 不存在：请选择 {'、'.join(KINDS)}",
    )


__all__ = ["KINDS", "decide_item", "decide_zone_member", "to_decide", "zone_members_to_decide"]
