"""``event_town_guest``: a town lists the other towns its cases were filed in, so that its KPI
panel names them (on Citus: their shards only; tests/layers/test_citus_cases.py shows the
plans). Here, on single-node PostGIS: when the rows are written and what the condition is."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from layers.events import intake
from layers.events.models import EventSource
from layers.events.town_guests import EventTownGuest, filed_town_sql, filed_towns
from layers.events.workflow import Actor
from layers.models import Role

ADMIN = Actor(None, None, Role.ADMIN, "test admin")


def _guests(session: Session, town: str) -> set[str]:
    return set(
        session.scalars(
            select(EventTownGuest.filed_town_code).where(EventTownGuest.town_code == town)
        )
    )


def test_a_case_rerouted_into_another_town_is_listed_there(
    db_session: Session, demo_generation: int, demo_grids
) -> None:  # type: ignore[no-untyped-def]
    units = demo_grids[demo_grids.level == 3]
    first = units.iloc[0]
    other = units[units.code.str[:9] != first.code[:9]].iloc[0]
    home, away = first.code[:9], other.code[:9]
    p = first.geometry.representative_point()
    event = intake.create_event(
        session=db_session, actor=ADMIN, lon=p.x, lat=p.y, subclass_code="0101",
        description="暴露垃圾", source=EventSource.PATROL, ignore_duplicates=True,
    )  # fmt: skip
    assert event.filed_town_code == home
    assert home not in _guests(db_session, home)  # a case in its own town: no row
    before = filed_towns(db_session, away)
    intake.reroute(session=db_session, event=event, actor=ADMIN,
                   changes={"grid_code": other.code}, reason="错派")  # fmt: skip
    assert event.town_code == away and event.filed_town_code == home
    assert home in _guests(db_session, away)
    assert filed_towns(db_session, away) == sorted({away, home, *(before or [])})
    # rerouted back: the row stays (harmless: the grid condition still applies)
    intake.reroute(session=db_session, event=event, actor=ADMIN,
                   changes={"grid_code": first.code}, reason="改回")  # fmt: skip
    assert home in _guests(db_session, away)
    # the panel of the town it went to names both filed towns
    sql, params = filed_town_sql(db_session, other.code)
    assert home in params.values() and away in params.values()
    assert sql.startswith("e.filed_town_code IN (")
    found = db_session.execute(
        text(f"SELECT count(*) FROM event e WHERE e.id = :id AND {sql}"), {"id": event.id, **params}
    ).scalar_one()
    assert found == 1


def test_the_condition_for_each_scope(db_session: Session) -> None:
    town = "999996001"  # no case ever filed or rerouted here
    assert filed_towns(db_session, "") is None and filed_towns(db_session, "3202") is None
    assert filed_town_sql(db_session, "") == ("true", {})
    assert filed_towns(db_session, town) == [town]
    for scope in (town, town + "001", town + "001001"):
        assert filed_town_sql(db_session, scope) == (
            "e.filed_town_code = :filed_town_0",
            {"filed_town_0": town},
        )
    db_session.add(EventTownGuest(town_code=town, filed_town_code="999996002"))
    db_session.flush()
    sql, params = filed_town_sql(db_session, town + "001", column="x.filed_town_code")
    assert sql == "x.filed_town_code IN (:filed_town_0, :filed_town_1)"
    assert params == {"filed_town_0": town, "filed_town_1": "999996002"}


def test_the_filed_towns_of_cases_read_by_id(
    db_session: Session, demo_generation: int, demo_grids
) -> None:  # type: ignore[no-untyped-def]
    from layers.events.town_guests import filed_towns_of

    units = demo_grids[demo_grids.level == 3]
    firsts = units.groupby(units.code.str[:9]).head(1).iloc[:2]
    ids = []
    for _, unit in firsts.iterrows():
        p = unit.geometry.representative_point()
        ids.append(
            intake.create_event(
                session=db_session, actor=ADMIN, lon=p.x, lat=p.y, subclass_code="0101",
                description="暴露垃圾", source=EventSource.PATROL, ignore_duplicates=True,
            ).id
        )  # fmt: skip
    towns = sorted(firsts.code.str[:9])
    assert filed_towns_of(db_session, ids) == towns
    assert filed_towns_of(db_session, ids[:1]) == towns[:1]
    assert filed_towns_of(db_session, [*ids, 2**31 - 1]) is None  # an unknown id: no town named
    assert filed_towns_of(db_session, []) is None


def test_the_condition_for_several_prefixes(db_session: Session) -> None:
    a, b = "999995001", "999995002"
    sql, params = filed_town_sql(db_session, (a + "001", b))
    assert sql == "e.filed_town_code IN (:filed_town_0, :filed_town_1)"
    assert params == {"filed_town_0": a, "filed_town_1": b}
    assert filed_town_sql(db_session, (a, "3202")) == ("true", {})  # one prefix wider: all
    assert filed_town_sql(db_session, ()) == ("true", {})
