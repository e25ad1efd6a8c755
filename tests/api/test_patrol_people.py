"""The pickers' API (/api/v1/patrol/officers, /visits) over real HTTP on fixes sent through ingest.

Proves: an officer with a device is found by part of his name, his grid code, his device's id
or external id, with role and grid names in the asked language; ``device=`` names one; a grid
answers the officers whose fixes fell in it that Beijing day (not the day before or after); a
town-scoped user sees only the officers and grids of his town (403 naming scope elsewhere);
bad grid codes and days are 422 naming the field.
"""

from __future__ import annotations

import secrets
from datetime import UTC, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.api.accounts_support import make_token, make_user, problem
from tests.api.test_tracks_api import DAY, patrol
from tests.tracks_support import CITY_LAT, CITY_LON, make_device


@pytest.fixture(scope="module")
def walker(engine: Engine, demo_generation: int, live_server: str) -> dict[str, Any]:
    """A grid worker with a unique name whose device patrolled the city point on DAY."""
    from api.locators import LocatorCache
    from layers.db import make_sessionmaker, transaction
    from layers.grids import active_generation

    with transaction(make_sessionmaker(engine)) as session:
        gen = active_generation(session=session)
        city = LocatorCache().get(session=session, generation_id=gen.id)
        code = city.locator.locate([CITY_LON], [CITY_LAT]).l3[0]
    name = f"巡查{secrets.token_hex(3)}"
    device = make_device(engine, grid_code=code, name=name)
    body = {"device": device.external_id, "fixes": patrol(DAY.astimezone(UTC))}
    r = httpx.post(f"{live_server}/api/v1/ingest/batch", json=body,
                   headers={"Authorization": f"Bearer {device.secret}"}, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text
    return {"code": code, "device": device, "name": name}


def ids(answer: httpx.Response) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [o["device_id"] for o in answer.json()["officers"]]


def test_officers_are_found_by_name_grid_and_device(client, walker) -> None:
    device = walker["device"]
    url = "/api/v1/patrol/officers"
    assert device.id in ids(client.get(url, params={"q": walker["name"][2:]}))
    assert device.id in ids(client.get(url, params={"q": walker["code"], "limit": 200}))
    assert device.id in ids(client.get(url, params={"q": device.external_id}))
    assert ids(client.get(url, params={"device": device.id})) == [device.id]
    zh = client.get(url, params={"q": walker["name"]}).json()["officers"][0]
    assert zh["name"] == walker["name"] and zh["role_name"] == "网格员"
    assert zh["grid"] == walker["code"] and zh["grid_name"]
    en = client.get(url, params={"q": walker["name"], "lang": "en"}).json()["officers"][0]
    assert en["role_name"] == "Grid worker"
    assert ids(client.get(url, params={"q": "无此人" + secrets.token_hex(4)})) == []


def test_visits_name_who_patrolled_a_grid_that_day(client, walker) -> None:
    day = DAY.date()
    for grid in (walker["code"], walker["code"][:12], walker["code"][:9]):
        found = client.get("/api/v1/patrol/visits", params={"grid": grid, "date": day.isoformat()})
        assert walker["device"].id in ids(found)
    row = next(o for o in found.json()["officers"] if o["device_id"] == walker["device"].id)
    assert 0 < row["fixes"] <= 540 and row["name"] == walker["name"]  # the part in the town
    for other in (day - timedelta(days=1), day + timedelta(days=1)):
        answer = client.get(
            "/api/v1/patrol/visits", params={"grid": walker["code"], "date": other.isoformat()}
        )
        assert walker["device"].id not in ids(answer)


def test_bad_input_names_the_field(client) -> None:
    problem(client.get("/api/v1/patrol/visits", params={"grid": "12ab", "date": "2026-03-02"}),
            422, "grid")  # fmt: skip
    problem(client.get("/api/v1/patrol/visits", params={"grid": "320281001", "date": "03/02"}),
            422, "date")  # fmt: skip
    problem(client.get("/api/v1/patrol/officers", params={"device": "abc"}), 422, "device")


def test_a_town_user_sees_only_his_town(engine, live_server, walker) -> None:
    from layers.db import make_sessionmaker, transaction
    from layers.grids import active_generation
    from layers.models import Grid

    with transaction(make_sessionmaker(engine)) as session:
        gen = active_generation(session=session)
        towns = session.query(Grid.code).filter_by(generation_id=gen.id, level=1).all()
    other = next(c for (c,) in towns if c != walker["code"][:9])
    user = make_user(engine, "viewer", scope=f"town:{other}")
    token = make_token(engine, user["id"])["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as town:
        assert ids(town.get("/api/v1/patrol/officers", params={"q": walker["name"]})) == []
        answer = town.get(
            "/api/v1/patrol/visits", params={"grid": walker["code"], "date": "2026-03-02"}
        )
        problem(answer, 403, "scope")
    mine = make_user(engine, "viewer", scope=f"town:{walker['code'][:9]}")
    token = make_token(engine, mine["id"])["token"]
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as town:  # fmt: skip
        found = town.get("/api/v1/patrol/officers", params={"q": walker["name"]})
        assert ids(found) == [walker["device"].id]
