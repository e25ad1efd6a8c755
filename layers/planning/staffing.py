"""Grids a publication would leave (or left) without their people: listed to decide, never
guessed silently (issue 10).

The assignments of a retired grid follow its clear successor (``gis.lineage``: the new grid
holding at least two thirds of its area). The other new grids of that old grid -- the third
of a 2:1 split, the smaller half of a rolled-back merge, both halves of a 1:1 split -- would
get nobody in the roles the old grid had. This module lists each such (new grid, role) as
*to staff*, with the candidates: the people who held that role on the new grid's lineage
sources (the retired codes it took area from, ``grid_lineage``).

- :func:`planned_grids_to_staff` (dry run, impact report, publish answer): from the lineage
  rows and the planned assignment moves of ``layers.planning.impact``.
- :func:`grids_to_staff` (after the publication, generation active): from the stored lineage
  of the generation and the assignments in force on ``on``; a grid/role someone decided to
  leave vacant (a ``staff_grid`` step of the review log) is not listed again.
- :func:`staff_grid`: decide one: ``move`` a candidate here (their assignment in that role
  ends the day before ``on``, the same role starts here on ``on``), ``add`` the candidate here
  as well (their other assignment stays), or leave the role ``vacant``. Recorded as an
  ``edit`` step of the generation's review log (``details.step = "staff_grid"``: who, when,
  why, what), as ``layers.planning.decisions.decide`` does for assignments.

Item shape: ``{kind: "grid_role", grid_code, role, sources: [old code …],
candidates: [{person_id, name, from_grid, grid_now}]}`` (``grid_now``: where the person is
assigned in that role on ``on``, None if nowhere).

Errors: GenerationNotFound (404), GenerationSuperseded (410: not the active generation),
InvalidState (409: the grid/role is not one to staff), ReviewInputInvalid (422: bad decision,
person not a candidate, no reason), ReviewRefused (403: not a planner or admin).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import InvalidState, with_zh
from layers.grids import get_generation
from layers.models import Generation, GenerationStatus
from layers.people import assignment_in_force_sql
from layers.planning.drafts import Actor
from layers.planning.lineage import LINK_KINDS

STAFF_DECISIONS = ("move", "add", "vacant")


class GenerationSuperseded(InvalidState):
    """A to-decide list asked of a generation that is no longer (or not yet) in force (410):
    its rows would name candidates not in force."""


def _sources(lineage: list[dict[str, Any]]) -> dict[str, list[str]]:
    """new code -> the retired codes it took area from (lineage links only)."""
    out: dict[str, set[str]] = {}
    for r in lineage:
        if r.get("old_code") and r.get("new_code") and r["kind"] in LINK_KINDS:
            out.setdefault(str(r["new_code"]), set()).add(str(r["old_code"]))
    return {k: sorted(v) for k, v in out.items()}


def _roles_on(session: Session, codes: list[str], on: date) -> dict[str, set[str]]:
    rows = session.execute(
        text(
            "SELECT DISTINCT a.grid_code, a.role::text AS role FROM grid_assignment a "
            f"WHERE a.grid_code = ANY(:c) AND {assignment_in_force_sql('a', ':on')}"
        ),
        {"c": codes, "on": on},
    ).all()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r.grid_code, set()).add(r.role)
    return out


def _source_people(session: Session, codes: list[str], on: date) -> list[Any]:
    """Assignments in force on ``on`` on ``codes`` with the person's name and where that person
    holds the same role today (``grid_now``)."""
    return list(
        session.execute(
            text(
                "SELECT a.person_id, p.name, a.role::text AS role, a.grid_code, "
                "(SELECT b.grid_code FROM grid_assignment b WHERE b.person_id = a.person_id "
                f"AND b.role = a.role AND {assignment_in_force_sql('b', ':today')} "
                "ORDER BY b.valid_from DESC, b.id DESC LIMIT 1) AS grid_now "
                "FROM grid_assignment a JOIN person p ON p.id = a.person_id "
                f"WHERE a.grid_code = ANY(:c) AND {assignment_in_force_sql('a', ':on')} "
                "ORDER BY a.grid_code, a.role, a.person_id"
            ),
            {"c": codes, "on": on, "today": date.today()},
        )
    )


def _items(
    sources: dict[str, list[str]],
    people: list[Any],
    roles_after: dict[str, set[str]],
    skip: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    grid_now: dict[int, str | None] | None = None,
) -> list[dict[str, Any]]:
    by_source: dict[str, list[Any]] = {}
    for p in people:
        by_source.setdefault(p.grid_code, []).append(p)
    out = []
    for code in sorted(sources):
        wanted: dict[str, list[dict[str, Any]]] = {}
        for old in sources[code]:
            for p in by_source.get(old, []):
                now = grid_now.get(p.person_id, p.grid_now) if grid_now else p.grid_now
                wanted.setdefault(p.role, []).append(
                    {"person_id": p.person_id, "name": p.name, "from_grid": old, "grid_now": now}
                )
        for role in sorted(set(wanted) - roles_after.get(code, set())):
            if (code, role) in skip:
                continue
            candidates = list({c["person_id"]: c for c in reversed(wanted[role])}.values())
            candidates.reverse()
            out.append({"kind": "grid_role", "grid_code": code, "role": role,
                        "sources": sources[code], "candidates": candidates})  # fmt: skip
    return out


def planned_grids_to_staff(
    *,
    session: Session,
    lineage: list[dict[str, Any]],
    assignments: list[dict[str, Any]],
    on: date,
) -> list[dict[str, Any]]:
    """Before a publication: the new grids that would have no assignment in force for a role
    their lineage sources have on ``on``, given ``assignments`` (the planned actions of
    ``layers.planning.impact._assignments``: ``move`` to ``new_grid``, ``decide``, ``keep``)."""
    sources = _sources(lineage)
    if not sources:
        return []
    old_codes = sorted({c for v in sources.values() for c in v})
    people = _source_people(session, old_codes, on)
    roles_after = _roles_on(session, sorted(sources), on)
    grid_now: dict[int, str | None] = {}
    for a in assignments:
        if a["action"] == "move" and a.get("new_grid"):
            roles_after.setdefault(a["new_grid"], set()).add(a["role"])
            grid_now[a["person_id"]] = a["new_grid"]
    return _items(sources, people, roles_after, grid_now=grid_now)


def _local_day(at: datetime | None) -> date:
    return at.astimezone().date() if at is not None else date.today()


def require_active(generation: Generation, what: str = "to-decide list") -> None:
    """Nothing unless ``generation`` is the active one: GenerationSuperseded (410) for a
    retired one, InvalidState (409) for one not yet published."""
    if generation.status is GenerationStatus.ACTIVE:
        return
    status = generation.status.value
    error = GenerationSuperseded if generation.status is GenerationStatus.RETIRED else InvalidState
    raise with_zh(
        error(
            f"generation {generation.id} is {status}, not in force: its {what} is no longer "
            "meaningful; ask the active generation's (GET /api/v1/generations?status=active)",
            field="generation",
        ),
        f"第 {generation.id} 代网格的状态是 {status}，已不在使用：请查看现行网格的待确定事项",
    )


def grids_to_staff(
    *, session: Session, generation_id: int, on: date | None = None
) -> list[dict[str, Any]]:
    """After a publication (``generation_id`` active, else GenerationSuperseded): its new grids
    with no assignment in force on ``on`` (default today) for a role their lineage sources had
    the day before the publication, less those decided ``vacant``."""
    generation = get_generation(session=session, generation_id=generation_id)
    require_active(generation)
    day = on or date.today()
    lineage = [
        dict(r._mapping)
        for r in session.execute(
            text(
                "SELECT old_code, new_code, kind FROM grid_lineage l "
                "WHERE l.new_generation_id = :g AND l.old_generation_id = ("
                "  SELECT o.id FROM generation o WHERE o.retired_at IS NOT NULL "
                "  AND o.id <> :g AND o.retired_at <= coalesce(:at, now()) "
                "  AND EXISTS (SELECT 1 FROM grid_lineage x WHERE x.new_generation_id = :g "
                "              AND x.old_generation_id = o.id) "
                "  ORDER BY o.retired_at DESC, o.id DESC LIMIT 1) "
                "AND EXISTS (SELECT 1 FROM grid n WHERE n.generation_id = :g "
                "            AND n.code = l.new_code)"
            ),
            {"g": generation_id, "at": generation.activated_at},
        )
    ]
    sources = _sources(lineage)
    if not sources:
        return []
    before = _local_day(generation.activated_at)
    before = date.fromordinal(before.toordinal() - 1)
    old_codes = sorted({c for v in sources.values() for c in v})
    people = _source_people(session, old_codes, before)
    # people of the sources: in force the day before, or still on the retired code today
    people += [p for p in _source_people(session, old_codes, day) if p not in people]
    vacant = {
        (str(d["grid_code"]), str(d["role"]))
        for (d,) in session.execute(
            text(
                "SELECT details FROM generation_review WHERE generation_id = :g "
                "AND details->>'step' = 'staff_grid' AND details->>'decision' = 'vacant'"
            ),
            {"g": generation_id},
        )
    }
    roles_after = _roles_on(session, sorted(sources), day)
    items = _items(sources, people, roles_after, vacant)
    return _with_published(session, generation_id, items, day)


_MAX_CARRY = 50  # publications walked back along ``details.replaces`` for undecided items

_MAP_SQL = """
SELECT o.code, array_agg(DISTINCT n.code ORDER BY n.code) AS codes
FROM unnest(CAST(:c AS text[])) AS o(code)
JOIN grid n ON n.generation_id = :g AND (n.code = o.code OR (
  NOT EXISTS (SELECT 1 FROM grid x WHERE x.generation_id = :g AND x.code = o.code)
  AND EXISTS (SELECT 1 FROM grid_lineage l WHERE l.old_code = o.code AND l.new_code = n.code
              AND l.kind = ANY(:k) AND l.new_generation_id = ANY(:chain))))
GROUP BY o.code
"""


def _published_items(session: Session, generation_id: int) -> tuple[list[Any], set[Any], list[int]]:
    """The ``grid_role`` items the publish answers listed for ``generation_id`` and for the
    publications it replaced (walking ``details.replaces``; undecided items carry over), and
    the (grid, role) pairs decided along that chain (any ``staff_grid`` step), and the chain's
    generation ids."""
    stored: list[dict[str, Any]] = []
    decided: set[tuple[str, str]] = set()
    seen: set[int] = set()
    g: int | None = generation_id
    while g is not None and g not in seen and len(seen) < _MAX_CARRY:
        seen.add(g)
        for (d,) in session.execute(
            text(
                "SELECT details FROM generation_review WHERE generation_id = :g "
                "AND details->>'step' = 'staff_grid'"
            ),
            {"g": g},
        ):
            decided.add((str(d.get("grid_code")), str(d.get("role"))))
        details = session.execute(
            text(
                "SELECT details FROM generation_review WHERE generation_id = :g "
                "AND action = 'publish' ORDER BY at DESC, id DESC LIMIT 1"
            ),
            {"g": g},
        ).scalar()
        if not isinstance(details, dict):
            break
        summary = details.get("reanchor")
        if isinstance(summary, dict):
            stored += [
                i
                for i in summary.get("ambiguous") or []
                if isinstance(i, dict) and i.get("kind") == "grid_role"
            ]
        nxt = details.get("replaces")
        g = int(nxt) if isinstance(nxt, int) else None
    return stored, decided, sorted(seen)


def _with_published(
    session: Session, generation_id: int, items: list[dict[str, Any]], day: date
) -> list[dict[str, Any]]:
    """``items`` plus what the publish answers of ``generation_id`` and of the publications
    before it listed (codes mapped to grids of ``generation_id`` through the lineage), while the
    role is still unheld on ``day`` and nobody decided it. Rows re-pointed in place (moved the
    day they started) leave no history to derive the sources from: the stored answer is the
    record (issue 10, a same-day rollback of a merge)."""
    stored, decided, chain = _published_items(session, generation_id)
    if not stored:
        return items
    codes = sorted({str(i["grid_code"]) for i in stored})
    mapped = {
        r.code: list(r.codes)
        for r in session.execute(
            text(_MAP_SQL),
            {"c": codes, "g": generation_id, "k": list(LINK_KINDS), "chain": chain},
        )
    }
    have = {(i["grid_code"], i["role"]) for i in items}
    extra: dict[tuple[str, str], dict[str, Any]] = {}
    for i in stored:
        old_code, role = str(i["grid_code"]), str(i["role"])
        if (old_code, role) in decided:
            continue
        for code in mapped.get(old_code, []):
            key = (code, role)
            if key in have or key in decided:
                continue
            found = extra.setdefault(
                key, {"kind": "grid_role", "grid_code": code, "role": role,
                      "sources": [], "candidates": []},
            )  # fmt: skip
            found["sources"] = sorted(set(found["sources"]) | set(i.get("sources") or []))
            known = {c["person_id"] for c in found["candidates"]}
            found["candidates"] += [
                dict(c) for c in i.get("candidates") or [] if c.get("person_id") not in known
            ]
    if not extra:
        return items
    held = _roles_on(session, sorted({k[0] for k in extra}), day)
    extra = {k: v for k, v in extra.items() if k[1] not in held.get(k[0], set())}
    people = sorted({c["person_id"] for v in extra.values() for c in v["candidates"]})
    now: dict[tuple[int, str], str] = {
        (r.person_id, r.role): r.grid_code
        for r in session.execute(
            text(
                "SELECT DISTINCT ON (a.person_id, a.role) a.person_id, a.role::text AS role, "
                "a.grid_code FROM grid_assignment a WHERE a.person_id = ANY(:p) AND "
                f"{assignment_in_force_sql('a', ':on')} "
                "ORDER BY a.person_id, a.role, a.valid_from DESC, a.id DESC"
            ),
            {"p": people, "on": day},
        )
    }
    for (_code, role), v in extra.items():
        for c in v["candidates"]:
            c["grid_now"] = now.get((c["person_id"], role))
    return sorted(items + list(extra.values()), key=lambda i: (i["grid_code"], i["role"]))


def staff_grid(
    *,
    session: Session,
    generation_id: int,
    grid_code: str,
    role: str,
    decision: str,
    actor: Actor,
    reason: str | None,
    person_id: int | None = None,
    on: date | None = None,
) -> dict[str, Any]:
    """Decide one grid/role of :func:`grids_to_staff` (see the module docstring). Returns
    ``{step, item, decision, person_id (move/add), remaining}``."""
    from layers.planning.decision_check import close_decision, open_decision
    from layers.planning.impact import _move_assignment
    from layers.planning.review import ReviewInputInvalid

    generation, why = open_decision(
        session=session, generation_id=generation_id, actor=actor, reason=reason,
        decision=decision, decisions=STAFF_DECISIONS, what="decide who staffs a grid",
        send_en="'move' or 'add' (with person_id) or 'vacant'",
        send_zh="请选择 move、add（并给出 person_id）或 vacant",
    )  # fmt: skip
    day = on or date.today()
    found = [
        i
        for i in grids_to_staff(session=session, generation_id=generation_id, on=day)
        if i["grid_code"] == grid_code and i["role"] == role
    ]
    if not found:
        raise with_zh(
            InvalidState(
                f"grid {grid_code} role {role} is not one to staff in generation "
                f"{generation_id}; list them at /api/v1/generations/{generation_id}/"
                "grids-to-staff",
                field="grid_code",
            ),
            f"网格 {grid_code} 的 {role} 不是第 {generation_id} 代网格中需要确定人员的岗位",
        )
    item = found[0]
    details: dict[str, Any] = {"step": "staff_grid", "item": item, "decision": decision,
                               "grid_code": grid_code, "role": role}  # fmt: skip
    if decision != "vacant":
        chosen = [c for c in item["candidates"] if c["person_id"] == person_id]
        if not chosen:
            names = ", ".join(f"{c['person_id']} ({c['name']})" for c in item["candidates"])
            raise with_zh(
                ReviewInputInvalid(
                    f"person {person_id} is not a candidate for {grid_code} ({role}); choose "
                    f"person_id among: {names or 'none: send vacant'}",
                    field="person_id",
                ),
                f"人员 {person_id} 不是网格 {grid_code}（{role}）的候选人；请从中选择：{names}",
            )
        details["person_id"] = person_id
        current = session.execute(
            text(
                "SELECT id FROM grid_assignment a WHERE a.person_id = :p AND a.role = :r "
                f"AND {assignment_in_force_sql('a', ':on')} AND a.grid_code = :c"
            ),
            {"p": person_id, "r": role, "on": day, "c": chosen[0]["grid_now"]},
        ).scalar()
        if decision == "move" and current is not None:
            _move_assignment(session, current, grid_code, day)
        else:
            session.execute(
                text(
                    "INSERT INTO grid_assignment (person_id, grid_code, role, valid_from) "
                    "VALUES (:p, :c, :r, :on) ON CONFLICT DO NOTHING"
                ),
                {"p": person_id, "c": grid_code, "r": role, "on": day},
            )
    return close_decision(
        session=session, generation=generation, actor=actor, why=why, details=details,
        remaining=lambda: grids_to_staff(session=session, generation_id=generation_id, on=day),
    )  # fmt: skip


__all__ = [
    "STAFF_DECISIONS",
    "GenerationSuperseded",
    "grids_to_staff",
    "planned_grids_to_staff",
    "require_active",
    "staff_grid",
]
