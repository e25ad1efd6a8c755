"""What publishing a draft would change for the living data, and the re-anchoring itself.

``impact_report`` lists, per changed unit grid, the households, open events, staff assignments
(一长五员), enforcement zones and devices whose grid changes; ``reanchor`` (called by the
publish step inside its transaction) moves households and assignments to their new grids and
rewrites zone members; coverage, KPIs and events keep the grid of their time.

Exactness: a household's new grid is the unit grid of the new generation that covers its point
(``ST_Covers``, the smallest code on a shared edge, the locator's rule). Speed: only the changed
grids' objects are examined -- households inside an added or reshaped grid (GiST index on
``household.geom``, probed with each changed polygon) and households filed under a removed or
reshaped code (B-tree index on ``household.grid_code``); never a scan of every household.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.crs import SRID_METRIC_DEFAULT
from layers.grids import active_generation, get_generation
from layers.people import assignment_in_force_sql
from layers.planning.lineage import (
    DEFAULT_TOLERANCE,
    ChangeSet,
    ShapeTolerance,
    changed_codes,
    clear_successor,
    compute_lineage,
    lineage_pairs,
    successors,
)
from layers.planning.staffing import planned_grids_to_staff

# The objects of a point table whose unit grid changes: candidates are the points inside a
# changed new grid (each changed polygon probes the GiST index of the points) or filed under a
# changed old code (B-tree on grid_code); each candidate is located in the new generation
# (smallest covering code) and kept if that differs from its stored code. The candidates carry
# their columns (no join back to the whole table).
_MOVED_SQL = """
WITH cand AS (
    SELECT t.id, t.grid_code, t.geom {columns}
    FROM grid n JOIN {table} t ON ST_Covers(n.geom, t.geom)
    WHERE n.generation_id = :new AND n.level = 3 AND n.code = ANY(:new_codes) {filter}
    UNION ALL
    SELECT t.id, t.grid_code, t.geom {columns}
    FROM {table} t WHERE t.grid_code = ANY(:old_codes) {filter}
), u AS (SELECT DISTINCT ON (id) * FROM cand ORDER BY id)
SELECT u.*, u.grid_code AS old_code, loc.code AS new_code
FROM u
LEFT JOIN LATERAL (
    SELECT g.code FROM grid g WHERE g.generation_id = :new AND g.level = 3
    AND g.geom && u.geom AND ST_Covers(g.geom, u.geom) ORDER BY g.code LIMIT 1
) loc ON true
WHERE loc.code IS DISTINCT FROM u.grid_code
ORDER BY u.id
"""


def _moved(
    session: Session, table: str, new_id: int, cs: ChangeSet, *, columns: str = "",
    filter_sql: str = "",
) -> list[Any]:  # fmt: skip
    # Short indexed queries: JIT compilation would cost more (~0.5 s) than it saves.
    session.execute(text("SET LOCAL jit = off"))
    sql = _MOVED_SQL.format(table=table, columns=columns, filter=filter_sql)
    params = {"new": new_id, "new_codes": cs.new_codes, "old_codes": cs.old_codes}
    return list(session.execute(text(sql), params))


def _households(session: Session, new_id: int, cs: ChangeSet) -> list[dict[str, Any]]:
    rows = _moved(session, "household", new_id, cs, columns=", t.code AS household_code")
    return [
        {"id": r.id, "code": r.household_code, "old_grid": r.old_code, "new_grid": r.new_code}
        for r in rows
    ]


def _events(session: Session, new_id: int, cs: ChangeSet) -> list[dict[str, Any]]:
    rows = _moved(
        session, "event", new_id, cs,
        columns=", t.status::text AS status, t.reported_at, t.subclass_code",
        filter_sql="AND t.status::text NOT IN ('closed', 'rejected')",
    )  # fmt: skip
    return [
        {"id": r.id, "status": r.status, "reported_at": r.reported_at.isoformat(),
         "subclass": r.subclass_code, "grid_at_report": r.old_code, "new_grid": r.new_code}
        for r in rows
    ]  # fmt: skip


def _changes(
    session: Session, old_id: int, new_id: int, metric_srid: int, tolerance: ShapeTolerance
) -> dict[int, ChangeSet]:
    return {
        level: changed_codes(
            session=session,
            old_generation_id=old_id,
            new_generation_id=new_id,
            level=level,
            metric_srid=metric_srid,
            tolerance=tolerance,
        )
        for level in (1, 2, 3)
    }


def _assignments(
    session: Session, changes: dict[int, ChangeSet], succ: dict[str, list[dict[str, Any]]],
    on: date,
) -> list[dict[str, Any]]:  # fmt: skip
    """Active assignments on a removed code (any level) or a reshaped unit grid (``keep``:
    its area changes). One on a removed code ``move``s to the grid's clear successor (the new
    grid holding at least two thirds of its area, slivers ignored: ``gis.lineage``), else it
    is left to ``decide`` (a real split, a grid removed) with the successors as candidates."""
    removed = sorted({c for cs in changes.values() for c in cs.removed})
    reshaped = changes[3].reshaped
    rows = session.execute(
        text(
            "SELECT a.id, a.person_id, p.name, a.role::text AS role, a.grid_code "
            "FROM grid_assignment a JOIN person p ON p.id = a.person_id "
            f"WHERE a.grid_code = ANY(:codes) AND {assignment_in_force_sql('a', ':on')} "
            "ORDER BY a.grid_code, a.id"
        ),
        {"codes": removed + reshaped, "on": on},
    ).all()
    out = []
    for r in rows:
        item = {"id": r.id, "person_id": r.person_id, "name": r.name, "role": r.role,
                "grid_code": r.grid_code}  # fmt: skip
        if r.grid_code in reshaped:
            out.append({**item, "action": "keep", "new_grid": r.grid_code, "candidates": []})
            continue
        links = succ.get(r.grid_code, [])
        follows = clear_successor(links)  # the rule and its reasons: gis/lineage.py
        out.append({**item, "action": "move" if follows else "decide", "new_grid": follows,
                    "candidates": _targets(links)})  # fmt: skip
    return out


def _targets(links: list[dict[str, Any]]) -> list[str]:
    return sorted({r["new_code"] for r in links if r["new_code"]})


def _zone_targets(succ: dict[str, list[dict[str, Any]]], code: str) -> list[str]:
    """The new codes that take a retired zone member's place: those it gave the largest share
    of their area to (a split's parts, a recode or re-parent), not a grid that only got a
    piece of it by a moved edge and continues another grid; if it gave none the largest
    share (the smaller of two merged grids), every successor, as before."""
    best: dict[str, tuple[float, str]] = {}
    for links in succ.values():
        for r in links:
            if r["new_code"] and (r["share_of_new"], r["old_code"]) > best.get(
                r["new_code"], (-1.0, "")
            ):
                best[r["new_code"]] = (r["share_of_new"], r["old_code"])
    links = succ.get(code, [])
    owned = sorted(
        {r["new_code"] for r in links if r["new_code"] and best[r["new_code"]][1] == code}
    )
    return owned or _targets(links)


def _zones(
    session: Session, changes: dict[int, ChangeSet], succ: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Zones with a member code removed (to rewrite) or a member unit grid reshaped (geometry
    re-derived)."""
    removed = sorted({c for cs in changes.values() for c in cs.removed})
    reshaped = changes[3].reshaped
    rows = session.execute(
        text(
            "SELECT z.id, z.code, z.name, z.town_code, m.grid_code FROM zone_member m "
            "JOIN enforcement_zone z ON z.id = m.zone_id "
            "WHERE m.grid_code = ANY(:removed) OR EXISTS (SELECT 1 FROM unnest("
            "CAST(:reshaped AS text[])) c WHERE left(c, length(m.grid_code)) = m.grid_code) "
            "ORDER BY z.code, m.grid_code"
        ),
        {"removed": removed, "reshaped": reshaped},
    ).all()
    zones: dict[int, dict[str, Any]] = {}
    for r in rows:
        z = zones.setdefault(
            r.id,
            {"id": r.id, "code": r.code, "name": r.name, "town_code": r.town_code,
             "members_removed": [], "members_reshaped": []},
        )  # fmt: skip
        if r.grid_code in removed:
            targets = _zone_targets(succ, r.grid_code)
            in_town = all(t.startswith(r.town_code) for t in targets) and targets
            z["members_removed"].append(
                {"code": r.grid_code, "replaced_by": targets, "ambiguous": not in_town}
            )
        else:
            z["members_reshaped"].append(r.grid_code)
    return list(zones.values())


def _devices(session: Session, person_ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT id, external_id, person_id, label FROM device "
            "WHERE person_id = ANY(:p) AND active ORDER BY id"
        ),
        {"p": person_ids},
    ).all()
    return [
        {"id": r.id, "external_id": r.external_id, "person_id": r.person_id, "label": r.label}
        for r in rows
    ]


def impact_report(
    *,
    session: Session,
    draft_id: int,
    against_id: int | None = None,
    metric_srid: int = SRID_METRIC_DEFAULT,
    on: date | None = None,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """What publishing ``draft_id`` over ``against_id`` (default: the active generation)
    changes: JSON-able dict with ``changed_grids`` (per changed unit grid: change, areas m²,
    counts) and the lists ``households``, ``events`` (open ones; they keep the grid of their
    report time), ``assignments`` (action keep / move / decide with candidates), ``zones``,
    ``devices`` (of the people whose assignment changes), ``lineage`` and ``totals`` (with
    ``to_decide``: every item a person must decide -- ``to_decide_assignments`` (no clear
    successor), ``to_decide_grid_roles`` (grids left without a role), ``to_decide_zone_members``
    (members without a successor in the zone's town) and ``to_decide_earlier`` (left by earlier
    publications)); and,
    while earlier publications left some undecided, ``assignments_to_decide`` (the list of
    ``layers.planning.decisions.assignments_to_decide`` for ``against_id``)."""
    from layers.planning.decisions import assignments_to_decide

    get_generation(session=session, generation_id=draft_id)
    against = against_id or active_generation(session=session).id
    on = on or date.today()
    changes = _changes(session, against, draft_id, metric_srid, tolerance)
    cs = changes[3]
    lineage = lineage_pairs(
        session=session, old_generation_id=against, new_generation_id=draft_id,
        metric_srid=metric_srid, tolerance=tolerance,
    )  # fmt: skip
    succ = successors(lineage)
    households = _households(session, draft_id, cs)
    events = _events(session, draft_id, cs)
    assignments = _assignments(session, changes, succ, on)
    to_staff = planned_grids_to_staff(
        session=session, lineage=lineage, assignments=assignments, on=on
    )
    zones = _zones(session, changes, succ)
    devices = _devices(session, sorted({a["person_id"] for a in assignments}))
    areas = {
        (r.gen, r.code): r.area_m2
        for r in session.execute(
            text(
                "SELECT generation_id AS gen, code, area_m2 FROM grid WHERE level = 3 AND "
                "((generation_id = :old AND code = ANY(:o)) OR "
                "(generation_id = :new AND code = ANY(:n)))"
            ),
            {"old": against, "new": draft_id, "o": cs.old_codes, "n": cs.new_codes},
        )
    }
    h_out = Counter(h["old_grid"] for h in households)
    h_in = Counter(h["new_grid"] for h in households)
    e_at = Counter(c for e in events for c in {e["grid_at_report"], e["new_grid"]})
    a_at = Counter(a["grid_code"] for a in assignments)
    per_grid: list[dict[str, Any]] = []
    for change, codes in (("added", cs.added), ("removed", cs.removed), ("reshaped", cs.reshaped)):
        for code in codes:
            before, after = areas.get((against, code)), areas.get((draft_id, code))
            per_grid.append(
                {
                    "code": code,
                    "change": change,
                    "area_before_m2": None if before is None else round(before, 1),
                    "area_after_m2": None if after is None else round(after, 1),
                    "households_out": h_out[code],
                    "households_in": h_in[code],
                    "open_events": e_at[code],
                    "assignments": a_at[code],
                    "lineage": [
                        {k: r[k] for k in ("old_code", "new_code", "kind")}
                        for r in lineage
                        if r["level"] == 3 and code in (r["old_code"], r["new_code"])
                    ],
                }
            )
    per_grid.sort(key=lambda g: str(g["code"]))
    pending = assignments_to_decide(
        session=session, generation_id=against, on=on, superseded_ok=True
    )
    n_assign = sum(1 for a in assignments if a["action"] == "decide")
    n_zone = sum(1 for z in zones for m in z["members_removed"] if m["ambiguous"])
    return {
        **({"assignments_to_decide": pending} if pending else {}),
        "draft": draft_id,
        "against": against,
        "changed_grids": per_grid,
        "households": {"count": len(households), "items": households},
        "events": {"count": len(events), "items": events},
        "assignments": {"count": len(assignments), "items": assignments},
        "grids_to_staff": {"count": len(to_staff), "items": to_staff},
        "zones": {"count": len(zones), "items": zones},
        "devices": {"count": len(devices), "items": devices},
        "lineage": lineage,
        "totals": {
            "changed_grids": len(per_grid),
            "households": len(households),
            "open_events": len(events),
            "assignments": len(assignments),
            # assignments without a clear successor + grids left without a role (staffing)
            "assignments_to_decide": n_assign + len(to_staff),
            "grids_to_staff": len(to_staff),
            # every kind a person must decide after this publication, in one total and by kind
            "to_decide": n_assign + len(to_staff) + n_zone + len(pending),
            "to_decide_assignments": n_assign,
            "to_decide_grid_roles": len(to_staff),
            "to_decide_zone_members": n_zone,
            "to_decide_earlier": len(pending),
            "zones": len(zones),
            "devices": len(devices),
        },
    }


def reanchor(
    *,
    session: Session,
    from_generation_id: int,
    to_generation_id: int,
    metric_srid: int = SRID_METRIC_DEFAULT,
    on: date | None = None,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Move the living data from one generation's grids to the next (inside the caller's
    transaction, before or after the status switch): the lineage is stored
    (``grid_lineage``); households whose covering unit grid changes get the new code;
    assignments on a retired code move to its clear successor (``gis.lineage``: at least two
    thirds of its area; the old row ends the day before ``on``, a new one starts on ``on``),
    one without (a real split) is left in place and listed under ``ambiguous``; zone members
    on retired codes are replaced by their successors in the same town (else listed).
    Events, coverage and KPIs are not touched.

    Returns counts (``households_moved``, ``households_outside``, ``assignments_moved``,
    ``zones_changed``, ``zone_members_replaced``), ``ambiguous`` (assignments and zone members
    a person must decide) and ``lineage`` counts by kind."""
    on = on or date.today()
    lineage = compute_lineage(
        session=session, old_generation_id=from_generation_id,
        new_generation_id=to_generation_id, metric_srid=metric_srid, tolerance=tolerance,
    )  # fmt: skip
    succ = successors(lineage)
    changes = _changes(session, from_generation_id, to_generation_id, metric_srid, tolerance)
    cs = changes[3]
    households = _households(session, to_generation_id, cs)
    moved = [h for h in households if h["new_grid"] is not None]
    if moved:
        session.execute(
            text(
                "UPDATE household h SET grid_code = m.new_grid, generation_id = :g "
                "FROM unnest(CAST(:ids AS int[]), CAST(:codes AS text[])) AS m(id, new_grid) "
                "WHERE h.id = m.id"
            ),
            {"g": to_generation_id, "ids": [h["id"] for h in moved],
             "codes": [h["new_grid"] for h in moved]},
        )  # fmt: skip
    ambiguous: list[dict[str, Any]] = []
    n_assign = 0
    planned = _assignments(session, changes, succ, on)
    # grids left without a role their sources had (before the moves end the old rows)
    to_staff = planned_grids_to_staff(session=session, lineage=lineage, assignments=planned, on=on)
    for a in planned:
        if a["action"] == "keep":
            continue
        if a["action"] == "decide":
            ambiguous.append({"kind": "assignment", **a})
            continue
        _move_assignment(session, a["id"], a["new_grid"], on)
        n_assign += 1
    zones = _zones(session, changes, succ)
    replaced = 0
    for z in zones:
        for m in z["members_removed"]:
            if m["ambiguous"]:
                ambiguous.append({"kind": "zone_member", "zone": z["code"], **m})
                continue
            session.execute(
                text("DELETE FROM zone_member WHERE zone_id = :z AND grid_code = :c"),
                {"z": z["id"], "c": m["code"]},
            )
            session.execute(
                text(
                    "INSERT INTO zone_member (zone_id, grid_code) SELECT :z, c FROM "
                    "unnest(CAST(:codes AS text[])) c ON CONFLICT DO NOTHING"
                ),
                {"z": z["id"], "codes": m["replaced_by"]},
            )
            replaced += 1
    ambiguous += to_staff
    kinds: dict[str, int] = {}
    for r in lineage:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    return {
        "from": from_generation_id,
        "to": to_generation_id,
        "households_moved": len(moved),
        "households_outside": len(households) - len(moved),
        "assignments_moved": n_assign,
        "zones_changed": len(zones),
        "zone_members_replaced": replaced,
        "grids_to_staff": len(to_staff),
        "ambiguous": ambiguous,
        "lineage": kinds,
    }


def _move_assignment(session: Session, assignment_id: int, new_code: str, on: date) -> None:
    """End an assignment the day before ``on`` and start the same role on ``new_code`` on
    ``on``; an assignment that starts on or after ``on`` is simply re-pointed. Never collides
    with ``assignment_unique`` nor doubles a row: when the person already holds that role on
    ``new_code`` on the day the moved part starts (an ``add`` decision on both halves of a
    split, then a rollback), that row absorbs it (the later end of the two, open-ended if
    either is)."""
    row = session.execute(
        text("SELECT person_id, role, valid_from, valid_to FROM grid_assignment WHERE id = :i"),
        {"i": assignment_id},
    ).one()
    start = max(row.valid_from, on)
    twin = session.execute(
        text(
            "SELECT id FROM grid_assignment a WHERE a.person_id = :p AND a.grid_code = :c "
            f"AND a.role = :r AND a.id <> :i AND {assignment_in_force_sql('a', ':f')} "
            "ORDER BY a.valid_from, a.id LIMIT 1 FOR UPDATE"
        ),
        {"p": row.person_id, "c": new_code, "r": row.role, "f": start, "i": assignment_id},
    ).scalar()
    if row.valid_from >= on:
        if twin is None:
            session.execute(
                text("UPDATE grid_assignment SET grid_code = :c WHERE id = :i"),
                {"c": new_code, "i": assignment_id},
            )
        else:
            _merge_into(session, twin, row.valid_to, assignment_id)
        return
    session.execute(
        text("UPDATE grid_assignment SET valid_to = :d WHERE id = :i"),
        {"d": on - timedelta(days=1), "i": assignment_id},
    )
    if twin is not None:
        _merge_into(session, twin, row.valid_to, None)
        return
    session.execute(
        text(
            "INSERT INTO grid_assignment (person_id, grid_code, role, valid_from, valid_to) "
            "VALUES (:p, :c, :r, :on, :to) ON CONFLICT DO NOTHING"
        ),
        {"p": row.person_id, "c": new_code, "r": row.role, "on": on, "to": row.valid_to},
    )


def _merge_into(session: Session, keep_id: int, valid_to: date | None, drop_id: int | None) -> None:
    """Row ``keep_id`` absorbs an assignment ending ``valid_to`` (None: open-ended); row
    ``drop_id`` (if any) is deleted."""
    if drop_id is not None:
        session.execute(text("DELETE FROM grid_assignment WHERE id = :i"), {"i": drop_id})
    session.execute(
        text(
            "UPDATE grid_assignment SET valid_to = CASE WHEN valid_to IS NULL OR "
            "CAST(:to AS date) IS NULL THEN NULL ELSE greatest(valid_to, CAST(:to AS date)) END "
            "WHERE id = :i"
        ),
        {"i": keep_id, "to": valid_to},
    )
