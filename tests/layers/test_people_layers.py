"""Roster, zones, households and draws in PostGIS, on the demo city."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from layers.households import Household, counts_by_grid, counts_by_h3
from layers.market import InspectionDraw, run_draw, verify_draw
from layers.people import GridAssignment, Person, StaffRole, Team, TeamKind
from layers.people_demo import DEMO_VALID_FROM
from layers.roster import grids_without, import_roster, responsible_for
from layers.zones import ZoneInvalid, replace_town_zoning, validate_all_towns, zone_features
from tests.people_fixtures import *  # noqa: F403  (session fixtures of issue 3)
from tests.people_fixtures import TEST_HOUSEHOLDS


def test_demo_roster_gives_every_unit_grid_its_yizhang_wuyuan(db_session, people_demo) -> None:  # type: ignore[no-untyped-def]
    missing = grids_without(
        session=db_session, generation_id=people_demo["generation"], roles=tuple(StaffRole)
    )
    assert {role: len(codes) for role, codes in missing.items()} == dict.fromkeys(
        (r.value for r in StaffRole), 0
    )
    # the demo's own people (other tests add people of their own to the shared database)
    people = db_session.scalar(
        select(func.count(func.distinct(GridAssignment.person_id))).where(
            GridAssignment.valid_from == DEMO_VALID_FROM
        )
    )
    assert 2_700 <= people <= 3_300
    kinds = dict(db_session.execute(select(Team.kind, func.count()).group_by(Team.kind)).all())
    assert kinds[TeamKind.CITY_TEAM] == 7
    assert 17 * 3 <= kinds[TeamKind.TOWN_SQUAD] <= 17 * 4


def test_responsible_includes_inherited_roles(db_session, people_demo) -> None:  # type: ignore[no-untyped-def]
    code = db_session.scalar(
        text("SELECT min(grid_code) FROM grid_assignment WHERE role = 'grid_worker'")
    )
    staff = responsible_for(session=db_session, grid_code=code)
    roles = {s["role"] for s in staff}
    assert roles == {r.value for r in StaffRole}
    chief = next(s for s in staff if s["role"] == "grid_chief")
    assert chief["inherited"] and chief["grid_code"] == code[:12]
    assert staff[0]["role"] == "grid_chief"


def test_demo_zones_tile_every_town(db_session, people_demo) -> None:  # type: ignore[no-untyped-def]
    reports = validate_all_towns(session=db_session, generation_id=people_demo["generation"])
    assert len(reports) == 17
    assert all(r.ok for r in reports.values()), {t: r.summary() for t, r in reports.items()}
    assert all(3 <= len(r.zone_grids) <= 4 for r in reports.values())


def test_zone_geometry_is_the_union_of_its_grids(db_session, people_demo) -> None:  # type: ignore[no-untyped-def]
    town = "320281104"
    features = zone_features(
        session=db_session, generation_id=people_demo["generation"], town_code=town
    )
    town_area = db_session.scalar(
        text("SELECT area_m2 FROM grid WHERE generation_id = :g AND code = :c"),
        {"g": people_demo["generation"], "c": town},
    )
    assert sum(f["properties"]["area_m2"] for f in features) == pytest.approx(town_area, rel=1e-6)
    # the union equals the town polygon (zones made of whole grids tile it)
    sym = db_session.scalar(
        text(
            # GeoJSON has no CRS member (RFC 7946): the zone's rings are CGCS2000 lon/lat
            "SELECT ST_Area(ST_SymDifference("
            "ST_Union(ST_SetSRID(ST_GeomFromGeoJSON(j), 4490)), t.geom)::geography) "
            "FROM unnest(CAST(:js AS text[])) j, grid t WHERE t.generation_id = :g AND t.code = :c "
            "GROUP BY t.geom"
        ),
        {
            "js": [__import__("json").dumps(f["geometry"]) for f in features],
            "g": people_demo["generation"],
            "c": town,
        },
    )
    assert sym < 1.0  # m²


def test_replacing_zones_with_a_gap_is_refused_and_changes_nothing(db_session, people_demo) -> None:  # type: ignore[no-untyped-def]
    town = "320281104"
    before = zone_features(
        session=db_session, generation_id=people_demo["generation"], town_code=town
    )
    villages = list(
        db_session.scalars(
            text(
                "SELECT code FROM grid WHERE generation_id = :g AND parent_code = :t ORDER BY code"
            ),
            {"g": people_demo["generation"], "t": town},
        )
    )
    with pytest.raises(ZoneInvalid) as err:
        replace_town_zoning(
            session=db_session,
            generation_id=people_demo["generation"],
            town_code=town,
            zones=[{"code": "X1", "name": "x", "members": villages[:-1]}],
        )
    assert err.value.extra["problems"][0]["kind"] == "gap"
    after = zone_features(
        session=db_session, generation_id=people_demo["generation"], town_code=town
    )
    assert [f["id"] for f in after] == [f["id"] for f in before]


def test_household_counts(db_session, people_demo) -> None:  # type: ignore[no-untyped-def]
    # other tests add households through the API (a few each): count what is stored
    total = db_session.scalar(select(func.count()).select_from(Household))
    assert TEST_HOUSEHOLDS <= total <= TEST_HOUSEHOLDS + 100
    by_grid = counts_by_grid(session=db_session, level=3)
    assert sum(r["households"] for r in by_grid) == total
    assert len(by_grid) > 1500
    by_town = counts_by_grid(session=db_session, level=1)
    assert len(by_town) == 17 and sum(r["households"] for r in by_town) == total
    cells = counts_by_h3(session=db_session, resolution=7)
    assert sum(c["households"] for c in cells) == total
    # each household is in the unit grid PostGIS says covers its point
    wrong = db_session.scalar(
        text(
            "SELECT count(*) FROM (SELECT * FROM household ORDER BY id LIMIT 500) h WHERE NOT "
            "EXISTS (SELECT 1 FROM grid g WHERE g.code = h.grid_code AND g.generation_id = "
            "h.generation_id AND ST_Covers(g.geom, h.geom))"
        )
    )
    assert wrong == 0


def test_import_keep_and_refuse(db_session, people_demo) -> None:  # type: ignore[no-untyped-def]
    # an ID number no other test imports (the API tests commit theirs through the server)
    code = db_session.scalar(text("SELECT min(code) FROM grid WHERE level = 3"))
    rows = [
        {
            "name": "测试甲",
            "id_number": "320281198001011239",
            "phone": "13800000000",
            "role": "网格员",
            "grid_code": code,
        },
        {
            "name": "测试乙",
            "id_number": "110105194912310021",
            "role": "grid_worker",
            "grid_code": code,
        },
        {
            "name": "测试丙",
            "id_number": "320281198001011239",
            "role": "informant",
            "grid_code": code,
        },
        {
            "name": "测试甲",
            "id_number": "320281198001011239",
            "role": "grid_worker",
            "grid_code": code[:9],
        },
    ]
    from layers.roster import RosterInvalid

    with pytest.raises(RosterInvalid) as err:
        import_roster(
            session=db_session,
            generation_id=people_demo["generation"],
            rows=rows,
            on_error="refuse",
        )
    errors = err.value.extra["report"]["errors"]
    assert {(e["row"], e["column"]) for e in errors} == {
        (3, "id_number"),
        (4, "id_number"),
        (5, "grid_code"),
    }
    assert db_session.scalar(select(Person.id).where(Person.name == "测试甲")) is None
    report = import_roster(
        session=db_session, generation_id=people_demo["generation"], rows=rows, on_error="keep"
    )
    assert report.imported_rows == 1 and report.assignments_created == 1
    again = import_roster(
        session=db_session, generation_id=people_demo["generation"], rows=rows[:1]
    )
    assert again.unchanged == 1 and again.assignments_created == 0


def test_draws_are_recorded_immutably(db_session, people_demo) -> None:  # type: ignore[no-untyped-def]
    record = run_draw(
        session=db_session,
        title="t",
        seed="2026-07-01",
        n_targets=5,
        inspectors_per_target=2,
        area_code="320281104",
        category=None,
        created_by="test",
    )
    assert verify_draw(record)
    assert all(
        t_code.startswith("320281104")
        for t_code in db_session.scalars(
            text("SELECT grid_code FROM market_entity WHERE id = ANY(:ids)"),
            {"ids": record.result["targets"]},
        )
    )
    with pytest.raises(DBAPIError, match="immutable"), db_session.begin_nested():
        db_session.execute(
            text("UPDATE inspection_draw SET seed = 'x' WHERE id = :i"), {"i": record.id}
        )
    with pytest.raises(DBAPIError, match="immutable"), db_session.begin_nested():
        db_session.execute(text("DELETE FROM inspection_draw WHERE id = :i"), {"i": record.id})
    assert db_session.get(InspectionDraw, record.id) is not None
