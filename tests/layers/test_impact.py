"""Draft edits, lineage, the impact report and re-anchoring against PostGIS, on a copy of the
demo city (each test works on its own draft, rolled back; the active generation is never
touched)."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import CodeConflict, InvalidState
from layers.grids import create_generation
from layers.planning.edits import (
    DraftVersionConflict,
    InvalidEdit,
    apply_edit,
    redo_edit,
    undo_edit,
)
from layers.planning.impact import impact_report, reanchor
from layers.planning.lineage import compute_lineage, diff_features

WHO = "test planner"


def copy_draft(session: Session, source: int) -> int:
    draft = create_generation(session=session, name="impact test draft")
    for table, cols in (
        ("grid", "level, code, parent_code, name, geom, area_m2"),
        ("grid_part", "code, geom"),
    ):
        session.execute(
            text(
                f"INSERT INTO {table} (generation_id, {cols}) SELECT :d, {cols} FROM {table} "
                "WHERE generation_id = :s"
            ),
            {"d": draft.id, "s": source},
        )
    return draft.id


@pytest.fixture
def draft(db_session: Session, people_demo: dict[str, Any]) -> int:
    return copy_draft(db_session, people_demo["generation"])


def neighbours(
    session: Session, gen: int, *, same_village: bool, avoid: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Two edge-sharing unit grids (same or different village), both holding households."""
    op = "=" if same_village else "<>"
    row = session.execute(
        text(
            "SELECT a.code AS a, b.code AS b FROM grid a JOIN grid b ON b.generation_id = "
            "a.generation_id AND b.level = 3 AND a.code < b.code AND a.geom && b.geom "
            f"AND b.parent_code {op} a.parent_code AND ST_Relate(a.geom, b.geom, 'F***1****') "
            "WHERE a.generation_id = :g AND a.level = 3 "
            "AND a.code <> ALL(:avoid) AND b.code <> ALL(:avoid) "
            "AND EXISTS (SELECT 1 FROM household h WHERE h.grid_code = a.code) "
            "AND EXISTS (SELECT 1 FROM household h WHERE h.grid_code = b.code) "
            "ORDER BY a.area_m2 + b.area_m2 DESC, a.code, b.code LIMIT 1"
        ),
        {"g": gen, "avoid": list(avoid)},
    ).one()
    return row.a, row.b


def rows_of(session: Session, gen: int, town: str) -> dict[str, tuple[Any, ...]]:
    return {
        r.code: (r.level, r.parent_code, r.name, bytes(r.wkb), round(r.area_m2, 3))
        for r in session.execute(
            text(
                "SELECT code, level, parent_code, name, ST_AsEWKB(geom) AS wkb, area_m2 FROM grid "
                "WHERE generation_id = :g AND left(code, 9) = :t"
            ),
            {"g": gen, "t": town},
        )
    }


def geom(session: Session, gen: int, code: str) -> shapely.Geometry:
    wkb = session.execute(
        text("SELECT ST_AsBinary(geom) FROM grid WHERE generation_id = :g AND code = :c"),
        {"g": gen, "c": code},
    ).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def area_m2(session: Session, g: shapely.Geometry) -> float:
    return float(
        session.execute(
            text("SELECT ST_Area(ST_Transform(ST_GeomFromWKB(:w, 4490), 4549))"),
            {"w": shapely.to_wkb(g)},
        ).scalar_one()
    )


def move_edge(session: Session, draft: int, a: str, b: str, dx: float = 50.0) -> dict[str, Any]:
    return apply_edit(
        session=session, draft_id=draft, op="move_edge",
        params={"codes": [a, b], "offset_m": [dx, 0.0]}, reason="road moved", actor=WHO,
    )  # fmt: skip


def test_move_edge_between_villages_parents_follow(db_session: Session, draft: int) -> None:
    a, b = neighbours(db_session, draft, same_village=False)
    before_a, before_b = geom(db_session, draft, a), geom(db_session, draft, b)
    answer = move_edge(db_session, draft, a, b)
    assert answer["validation"]["ok"], answer["validation"]["problems"][:3]
    changed = {f["id"] for f in answer["changed"]["features"]}
    assert {a, b, a[:12], b[:12]} <= changed
    after_a, after_b = geom(db_session, draft, a), geom(db_session, draft, b)
    assert not after_a.equals(before_a) and not after_b.equals(before_b)
    assert area_m2(db_session, shapely.intersection(after_a, after_b)) < 0.01  # no overlap
    assert after_a.relate_pattern(after_b, "F***1****")  # still neighbours along a line
    for village in (a[:12], b[:12]):  # the parents are the union of their children
        kids = db_session.execute(
            text(
                "SELECT ST_AsBinary(geom) FROM grid WHERE generation_id = :g AND parent_code = :p"
            ),
            {"g": draft, "p": village},
        ).scalars()
        union = shapely.union_all([shapely.from_wkb(bytes(k)) for k in kids])
        assert (
            area_m2(db_session, union.symmetric_difference(geom(db_session, draft, village))) < 0.01
        )


def test_undo_redo_restore_exactly(db_session: Session, draft: int) -> None:
    a, b = neighbours(db_session, draft, same_village=False)
    town = a[:9]
    original = rows_of(db_session, draft, town)
    first = move_edge(db_session, draft, a, b)
    moved = rows_of(db_session, draft, town)
    assert moved != original
    undone = undo_edit(session=db_session, draft_id=draft, actor=WHO,
                       expected_version=first["version"])  # fmt: skip
    assert rows_of(db_session, draft, town) == original
    assert undone["version"] == first["version"] + 1
    redo_edit(session=db_session, draft_id=draft, actor=WHO)
    assert rows_of(db_session, draft, town) == moved
    undo_edit(session=db_session, draft_id=draft, actor=WHO)
    with pytest.raises(InvalidState, match="no edit to undo"):
        undo_edit(session=db_session, draft_id=draft, actor=WHO)
    with pytest.raises(DraftVersionConflict) as err:
        apply_edit(
            session=db_session, draft_id=draft, op="rename", params={"code": a, "name": "x"},
            reason="r", actor=WHO, expected_version=first["version"],
        )  # fmt: skip
    assert err.value.extra["current_version"] == first["version"] + 3


def test_split_merge_reparent_codes(db_session: Session, draft: int) -> None:
    a, b = neighbours(db_session, draft, same_village=True)
    village = a[:12]
    existing = set(rows_of(db_session, draft, a[:9]))
    g = geom(db_session, draft, a)
    minx, miny, maxx, maxy = g.bounds
    mid = (minx + maxx) / 2
    split = apply_edit(
        session=db_session, draft_id=draft, op="split",
        params={"code": a, "line": [[mid, miny - 0.01], [mid, maxy + 0.01]]},
        reason="new estate", actor=WHO,
    )  # fmt: skip
    assert split["validation"]["ok"], [p["detail"] for p in split["validation"]["problems"]]
    assert split["removed"] == [a]
    top = db_session.execute(
        text("SELECT max(code) FROM grid WHERE level = 3 AND parent_code = :v"), {"v": village}
    ).scalar_one()
    new_codes = sorted(f["id"] for f in split["changed"]["features"] if f["id"] not in existing)
    assert len(new_codes) >= 2 and new_codes[-1] == top
    assert all(c.startswith(village) and c > a for c in new_codes)
    # the retired code is never given again
    merged = apply_edit(
        session=db_session, draft_id=draft, op="merge", params={"codes": new_codes[:2]},
        reason="undo the estate", actor=WHO,
    )  # fmt: skip
    (m,) = [f["id"] for f in merged["changed"]["features"]]
    assert m > new_codes[-1] and m != a
    assert merged["validation"]["ok"]
    # move b to a neighbouring village: a new code there, the old one gone
    other = db_session.execute(
        text(
            "SELECT v.code FROM grid v, grid g WHERE v.generation_id = :d AND g.generation_id = :d "
            "AND g.code = :b AND v.level = 2 AND v.code <> g.parent_code AND v.geom && g.geom "
            "AND ST_Relate(v.geom, g.geom, 'F***1****') LIMIT 1"
        ),
        {"d": draft, "b": b},
    ).scalar()
    if other is not None:
        moved = apply_edit(
            session=db_session, draft_id=draft, op="reparent",
            params={"code": b, "to_parent": other}, reason="school district", actor=WHO,
        )  # fmt: skip
        assert b in moved["removed"]
        assert any(f["id"].startswith(other) and len(f["id"]) == 15
                   for f in moved["changed"]["features"])  # fmt: skip
        assert moved["validation"]["ok"], moved["validation"]["problems"][:3]


def test_rename_recode_and_refusals(db_session: Session, draft: int) -> None:
    a, b = neighbours(db_session, draft, same_village=True)
    apply_edit(session=db_session, draft_id=draft, op="rename",
               params={"code": a, "name": "新名字"}, reason="r", actor=WHO)  # fmt: skip
    with pytest.raises(CodeConflict, match="already used"):
        apply_edit(session=db_session, draft_id=draft, op="recode",
                   params={"code": a, "new_code": b}, reason="r", actor=WHO)  # fmt: skip
    with pytest.raises(InvalidEdit, match="digits"):
        apply_edit(session=db_session, draft_id=draft, op="recode",
                   params={"code": a, "new_code": a[:12] + "12"}, reason="r",
                   actor=WHO)  # fmt: skip
    with pytest.raises(InvalidEdit, match="reason"):
        apply_edit(session=db_session, draft_id=draft, op="rename",
                   params={"code": a, "name": "x"}, reason=" ", actor=WHO)  # fmt: skip
    fresh = a[:12] + "998"
    done = apply_edit(session=db_session, draft_id=draft, op="recode",
                      params={"code": a, "new_code": fresh}, reason="r", actor=WHO)  # fmt: skip
    assert done["removed"] == [a]


def test_editing_a_published_generation_is_refused(
    db_session: Session, people_demo: dict[str, Any]
) -> None:
    with pytest.raises(InvalidState, match="only a draft"):
        apply_edit(session=db_session, draft_id=people_demo["generation"], op="rename",
                   params={"code": "320281001", "name": "x"}, reason="r", actor=WHO)  # fmt: skip


def direct_moved_households(session: Session, old: int, new: int) -> set[tuple[int, str | None]]:
    """Every household located consistently in ``old`` whose covering unit grid in ``new``
    differs: a naive ST_Covers over all rows, the reference for the impact report."""
    rows = session.execute(
        text(
            "WITH h AS (SELECT h.id, h.grid_code, h.geom FROM household h WHERE h.grid_code = "
            " (SELECT code FROM grid WHERE generation_id = :old AND level = 3 "
            "  AND ST_Covers(geom, h.geom) ORDER BY code LIMIT 1)) "
            "SELECT h.id, (SELECT code FROM grid WHERE generation_id = :new AND level = 3 "
            " AND ST_Covers(geom, h.geom) ORDER BY code LIMIT 1) AS new_code, h.grid_code FROM h"
        ),
        {"old": old, "new": new},
    ).all()
    return {(r.id, r.new_code) for r in rows if r.new_code != r.grid_code}


def test_impact_equals_postgis_and_reanchor_moves(
    db_session: Session, draft: int, people_demo: dict[str, Any]
) -> None:
    old = people_demo["generation"]
    a, b = neighbours(db_session, draft, same_village=False)
    move_edge(db_session, draft, a, b, dx=80.0)
    c, _ = neighbours(db_session, draft, same_village=True, avoid=(a, b))
    g = geom(db_session, draft, c)
    minx, miny, maxx, maxy = g.bounds
    apply_edit(
        session=db_session, draft_id=draft, op="split",
        params={"code": c, "line": [[minx - 0.01, (miny + maxy) / 2],
                                    [maxx + 0.01, (miny + maxy) / 2]]},
        reason="split", actor=WHO,
    )  # fmt: skip
    # an assignment on the split grid must be left for a person to decide
    person = db_session.execute(text("SELECT id FROM person LIMIT 1")).scalar_one()
    db_session.execute(
        text("INSERT INTO grid_assignment (person_id, grid_code, role, valid_from) "
             "VALUES (:p, :c, 'grid_worker', DATE '2020-01-01')"),
        {"p": person, "c": c},
    )  # fmt: skip
    report = impact_report(session=db_session, draft_id=draft, against_id=old)
    got = {(h["id"], h["new_grid"]) for h in report["households"]["items"]}
    want = direct_moved_households(db_session, old, draft)
    consistent = {i for i, _ in want} | {
        r for (r,) in db_session.execute(
            text("SELECT h.id FROM household h WHERE h.id = ANY(:ids) AND h.grid_code = "
                 "(SELECT code FROM grid WHERE generation_id = :old AND level = 3 "
                 "AND ST_Covers(geom, h.geom) ORDER BY code LIMIT 1)"),
            {"ids": [i for i, _ in got], "old": old},
        )
    }  # fmt: skip
    assert {x for x in got if x[0] in consistent} == want
    assert report["households"]["count"] > 0
    codes = {x["code"] for x in report["changed_grids"]}
    assert {a, b, c} <= codes
    decide = [x for x in report["assignments"]["items"] if x["grid_code"] == c]
    assert decide and all(x["action"] == "decide" and len(x["candidates"]) == 2 for x in decide)
    assert report["totals"]["households"] == len(report["households"]["items"])

    diff = diff_features(session=db_session, old_generation_id=old, new_generation_id=draft)
    kinds = {f["properties"]["code"]: f["properties"]["change"] for f in diff["features"]}
    assert kinds[c] == "removed" and kinds[a] == "reshaped" and kinds[b] == "reshaped"
    lineage = compute_lineage(session=db_session, old_generation_id=old, new_generation_id=draft)
    splits = [r for r in lineage if r["old_code"] == c]
    assert len(splits) == 2 and {r["kind"] for r in splits} == {"split_from"}

    summary = reanchor(session=db_session, from_generation_id=old, to_generation_id=draft)
    assert summary["households_moved"] == sum(1 for _, n in got if n is not None)
    assert any(x["kind"] == "assignment" and x["grid_code"] == c for x in summary["ambiguous"])
    left = db_session.execute(
        text("SELECT count(*) FROM household WHERE id = ANY(:ids) AND grid_code <> "
             "(SELECT code FROM grid WHERE generation_id = :new AND level = 3 "
             "AND ST_Covers(geom, household.geom) ORDER BY code LIMIT 1)"),
        {"ids": [i for i, _ in got], "new": draft},
    ).scalar_one()  # fmt: skip
    assert left == 0
    still = db_session.execute(
        text("SELECT count(*) FROM grid_assignment WHERE grid_code = :c AND valid_to IS NULL"),
        {"c": c},
    ).scalar_one()
    assert still >= 1  # never guessed silently


def test_village_moves_to_a_neighbouring_town_with_its_grids(
    db_session: Session, draft: int
) -> None:
    row = db_session.execute(
        text(
            "SELECT v.code AS village, t.code AS town FROM grid v JOIN grid t ON t.generation_id "
            "= v.generation_id AND t.level = 1 AND t.code <> v.parent_code AND t.geom && v.geom "
            "AND ST_Relate(v.geom, t.geom, 'F***1****') WHERE v.generation_id = :g "
            "AND v.level = 2 ORDER BY v.code LIMIT 1"
        ),
        {"g": draft},
    ).one()
    kids = {c for c in rows_of(db_session, draft, row.village[:9]) if c.startswith(row.village)}
    answer = apply_edit(
        session=db_session, draft_id=draft, op="reparent",
        params={"code": row.village, "to_parent": row.town}, reason="town boundary", actor=WHO,
    )  # fmt: skip
    assert answer["validation"]["ok"], answer["validation"]["problems"][:3]
    assert set(answer["removed"]) == kids  # the village and its unit grids get new codes
    (new_village,) = [
        f["id"] for f in answer["changed"]["features"] if f["properties"]["level"] == 2
        and f["id"].startswith(row.town)
    ]  # fmt: skip
    assert new_village[-3] == row.village[-3]  # community stays community, village village
    moved = rows_of(db_session, draft, row.town)
    assert sum(1 for c in moved if c.startswith(new_village)) == len(kids)


def test_move_a_shared_vertex_every_grid_follows(db_session: Session, draft: int) -> None:
    a, b = neighbours(db_session, draft, same_village=True)
    ga, gb = geom(db_session, draft, a), geom(db_session, draft, b)
    shared = sorted(
        set(map(tuple, shapely.get_coordinates(ga))) & set(map(tuple, shapely.get_coordinates(gb)))
    )
    vertex = shared[len(shared) // 2]
    having = (
        db_session.execute(
            text(
                "SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                "AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4490), 1e-9)"
            ),
            {"g": draft, "x": vertex[0], "y": vertex[1]},
        )
        .scalars()
        .all()
    )
    to = (vertex[0] + 0.0001, vertex[1] + 0.00005)  # about 10 m east, 5 m north
    answer = apply_edit(
        session=db_session, draft_id=draft, op="move_vertex",
        params={"at": [vertex[0] + 1e-6, vertex[1]], "to": list(to), "snap_m": 2},
        reason="survey", actor=WHO,
    )  # fmt: skip
    assert answer["validation"]["ok"], answer["validation"]["problems"][:3]
    changed = {f["id"] for f in answer["changed"]["features"]}
    assert len(having) >= 2 and set(having) <= changed
    for code in having:
        coords = set(map(tuple, shapely.get_coordinates(geom(db_session, draft, code))))
        assert to in coords and vertex not in coords
    with pytest.raises(InvalidEdit, match="no grid vertex"):
        apply_edit(
            session=db_session, draft_id=draft, op="move_vertex",
            params={"at": [100.0, 10.0], "to": [100.0, 10.0]}, reason="r", actor=WHO,
        )  # fmt: skip


def test_reanchor_moves_a_merged_grids_assignment_and_zone_member(
    db_session: Session, draft: int, people_demo: dict[str, Any]
) -> None:
    old = people_demo["generation"]
    a, b = neighbours(db_session, draft, same_village=True)
    person = db_session.execute(text("SELECT id FROM person ORDER BY id LIMIT 1")).scalar_one()
    assignment = db_session.execute(
        text(
            "INSERT INTO grid_assignment (person_id, grid_code, role, valid_from) "
            "VALUES (:p, :c, 'grid_worker', DATE '2020-01-01') RETURNING id"
        ),
        {"p": person, "c": a},
    ).scalar_one()
    zone = db_session.execute(
        text(
            "INSERT INTO enforcement_zone (code, name, town_code) "
            "VALUES ('TEST-Z-MERGE', 'test', :t) RETURNING id"
        ),
        {"t": a[:9]},
    ).scalar_one()
    db_session.execute(
        text("INSERT INTO zone_member (zone_id, grid_code) VALUES (:z, :a), (:z, :b)"),
        {"z": zone, "a": a, "b": b},
    )
    merged = apply_edit(
        session=db_session, draft_id=draft, op="merge", params={"codes": [a, b]},
        reason="merge", actor=WHO,
    )  # fmt: skip
    (m,) = [f["id"] for f in merged["changed"]["features"]]
    report = impact_report(session=db_session, draft_id=draft, against_id=old)
    (item,) = [x for x in report["assignments"]["items"] if x["id"] == assignment]
    assert item["action"] == "move" and item["new_grid"] == m
    summary = reanchor(session=db_session, from_generation_id=old, to_generation_id=draft)
    assert summary["assignments_moved"] >= 1
    rows = db_session.execute(
        text(
            "SELECT grid_code, valid_to FROM grid_assignment WHERE person_id = :p "
            "AND grid_code IN (:a, :m) ORDER BY valid_from"
        ),
        {"p": person, "a": a, "m": m},
    ).all()
    assert [r.grid_code for r in rows] == [a, m]
    assert rows[0].valid_to is not None and rows[1].valid_to is None  # history kept
    members = db_session.execute(
        text("SELECT grid_code FROM zone_member WHERE zone_id = :z"), {"z": zone}
    ).scalars()
    assert list(members) == [m]
    households = db_session.execute(
        text("SELECT count(*) FROM household WHERE grid_code IN (:a, :b)"), {"a": a, "b": b}
    ).scalar_one()
    assert households == 0
