"""GET /api/v1/people/search (the front page's person search, issue 15): staff found by name
whether or not they carry a device (a grid's 网格长 included), only inside the caller's scope;
bad input is problem+json naming the field."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.api.accounts_support import PROBLEM, make_token, make_user
from tests.people_fixtures import *  # noqa: F403  (people_demo)


def _chief_without_device(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.id, p.name, a.grid_code FROM person p "
                "JOIN grid_assignment a ON a.person_id = p.id AND a.role = 'grid_chief' "
                "AND (a.valid_to IS NULL OR a.valid_to >= current_date) "
                "WHERE p.active AND NOT EXISTS (SELECT 1 FROM device d WHERE d.person_id = p.id) "
                "ORDER BY p.id LIMIT 1"
            )
        ).one()
    return {"id": row.id, "name": row.name, "grid": row.grid_code}


def test_a_grid_chief_without_a_device_is_found(client, engine, people_demo) -> None:  # type: ignore[no-untyped-def]
    chief = _chief_without_device(engine)
    r = client.get("/api/v1/people/search", params={"q": chief["name"], "limit": 50})
    assert r.status_code == 200, r.text
    found = {p["person_id"]: p for p in r.json()["people"]}
    assert chief["id"] in found, r.json()
    assert found[chief["id"]]["role_name"] == "网格长"
    assert r.json()["count"] == len(r.json()["people"]) <= 50
    en = client.get("/api/v1/people/search", params={"q": chief["name"], "lang": "en"})
    assert any(p["role_name"] and p["role_name"] != "网格长" for p in en.json()["people"])


def test_only_people_in_scope(live_server, engine, people_demo) -> None:  # type: ignore[no-untyped-def]
    chief = _chief_without_device(engine)
    with engine.connect() as conn:
        other = conn.execute(
            text("SELECT code FROM grid g JOIN generation n ON n.id = g.generation_id "
                 "WHERE n.status = 'active' AND g.level = 1 AND g.code <> :t "
                 "ORDER BY code LIMIT 1"),
            {"t": chief["grid"][:9]},
        ).scalar_one()  # fmt: skip
    for town, seen in ((chief["grid"][:9], True), (other, False)):
        user = make_user(engine, "viewer", scope=f"town:{town}")
        token = make_token(engine, user["id"])["token"]
        with httpx.Client(base_url=live_server, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as c:  # fmt: skip
            r = c.get("/api/v1/people/search", params={"q": chief["name"], "limit": 50})
        assert r.status_code == 200, r.text
        ids = {p["person_id"] for p in r.json()["people"]}
        assert (chief["id"] in ids) is seen, (town, r.json())


def test_bad_input_names_the_field(client, anon) -> None:  # type: ignore[no-untyped-def]
    for params, field in (({}, "q"), ({"q": ""}, "q"), ({"q": "x", "limit": 0}, "limit"),
                          ({"q": "x" * 101}, "q")):  # fmt: skip
        r = client.get("/api/v1/people/search", params=params)
        assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), r.text
        assert r.json()["field"] == field, r.json()
    assert client.get("/api/v1/people/search", params={"q": "  "}).json()["count"] == 0
    assert anon.get("/api/v1/people/search", params={"q": "x"}).status_code == 401


def test_a_phone_number_finds_the_person_for_roles_that_see_phones(  # type: ignore[no-untyped-def]
    live_server, engine, people_demo
) -> None:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.id, p.phone FROM person p WHERE p.active AND length(p.phone) = 11 "
                "AND (SELECT count(*) FROM person o WHERE o.phone = p.phone) = 1 "
                "ORDER BY p.id LIMIT 1"
            )
        ).one()
    phone = row.phone
    for role, seen in (("dispatcher", True), ("admin", True), ("viewer", False)):
        user = make_user(engine, role)
        token = make_token(engine, user["id"])["token"]
        with httpx.Client(base_url=live_server, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as c:  # fmt: skip
            for q in (phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"+86-{phone}", phone[-6:]):
                r = c.get("/api/v1/people/search", params={"q": q, "limit": 50})
                assert r.status_code == 200, r.text
                ids = {p["person_id"] for p in r.json()["people"]}
                assert (row.id in ids) is seen, (role, q, r.json())
            # three digits are not a phone search
            r = c.get("/api/v1/people/search", params={"q": phone[-3:], "limit": 50})
            assert row.id not in {p["person_id"] for p in r.json()["people"]} or not seen
