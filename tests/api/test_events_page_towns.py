"""/events/map's town filter lists only the towns of the caller's scope (layers.accounts
scope_codes): every town for the city, one for a town or a village, the towns of the grids a
"grids" user's person is assigned to."""

from __future__ import annotations

import re

from api.pages.events import scope_towns
from layers.db import make_sessionmaker, transaction
from layers.people import StaffRole
from layers.roster import person_grid_codes
from tests.api.accounts_support import login, make_user
from tests.people_fixtures import *  # noqa: F403  (people_demo, worker_token)

TOWN_SELECT = re.compile(r'<select name="town">(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="(\d*)">')


def _towns(live_server: str, name: str) -> list[str]:
    with login(live_server, name) as page:
        r = page.get("/events/map")
        assert r.status_code == 200, r.text
    select = TOWN_SELECT.search(r.text)
    assert select, "the page has a town filter"
    codes = OPTION.findall(select.group(1))
    assert codes[0] == ""  # "any" first
    return codes[1:]


def test_town_filter_lists_the_towns_of_the_callers_scope(  # type: ignore[no-untyped-def]
    live_server, engine, demo_grids, worker_token
) -> None:
    towns = sorted(demo_grids[demo_grids.level == 1].code)
    villages = sorted(demo_grids[demo_grids.level == 2].code)
    assert len(towns) > 1
    city = make_user(engine, "dispatcher")
    assert _towns(live_server, city["name"]) == towns
    one = make_user(engine, "dispatcher", scope=f"town:{towns[1]}")
    assert _towns(live_server, one["name"]) == [towns[1]]
    village = villages[-1]
    in_village = make_user(engine, "viewer", scope=f"village:{village}")
    assert _towns(live_server, in_village["name"]) == [village[:9]]
    grids = make_user(engine, "officer", scope="grids", person_id=worker_token["person_id"])
    with transaction(make_sessionmaker(engine)) as session:
        codes = person_grid_codes(session=session, person_id=worker_token["person_id"],
                                  roles=tuple(StaffRole))  # fmt: skip
    assert worker_token["grid"] in codes
    assert _towns(live_server, grids["name"]) == sorted({c[:9] for c in codes})


def test_no_scope_no_town_and_unknown_codes_none(engine, demo_grids) -> None:  # type: ignore[no-untyped-def]
    towns = sorted(demo_grids[demo_grids.level == 1].code)
    with transaction(make_sessionmaker(engine)) as session:
        assert scope_towns(session, ()) == []  # a "grids" user assigned nowhere
        assert scope_towns(session, ("999999999",)) == []
        assert [t["code"] for t in scope_towns(session, None)] == towns
        both = scope_towns(session, (towns[0] + "001001", towns[-1]))
        assert [t["code"] for t in both] == [towns[0], towns[-1]]
        assert all(t["name"] for t in both)
