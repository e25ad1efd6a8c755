"""City-wide data is changed only by an admin or a city-scoped role (issue 11, third trial):
a town-scoped dispatcher changed and retired entries of the event dictionary, a town's planner
started a city-wide coverage run. The rule: api/city_wide.py."""

from __future__ import annotations

import secrets

from tests.api.accounts_support import problem
from tests.api.test_scope_reads import RUN_DAY, _bearer, _client

TOWN = "320281104"
VILLAGE = "320281104001"
SUBCLASS = {
    "class_code": "01",
    "name": "城市公共设施 test",
    "accept_rule": "测试",
    "limit_value": 2,
    "limit_unit": "work_days",
    "close_rule": "测试",
    "department": "测试",
}


def _fresh_code() -> str:
    """A subclass code of class 01 the demo does not use (01 80..99)."""
    return f"01{80 + secrets.randbelow(20)}"


def test_town_dispatcher_may_not_change_the_event_dictionary(live_server, engine, tokens) -> None:  # type: ignore[no-untyped-def]
    before = None
    with _bearer(live_server, tokens["viewer"]) as v:
        before = v.get("/api/v1/event-dictionary/subclasses/0101").json()
    for scope in (f"town:{TOWN}", f"village:{VILLAGE}"):
        with _client(live_server, engine, "dispatcher", scope) as d:
            body = problem(
                d.put("/api/v1/event-dictionary/subclasses/0101", json=SUBCLASS),
                403,
                "scope",
            )
            assert "city-wide" in body["detail"] and "admin" in body["detail"], body
            problem(d.delete("/api/v1/event-dictionary/subclasses/0101"), 403, "scope")
            problem(d.put("/api/v1/event-dictionary/classes/01", json={"name": "x"}), 403, "scope")
            csv = "code,class_code,name,deadline_value,deadline_unit\n0101,01,x,1,work_days\n"
            r = d.post(
                "/api/v1/event-dictionary/import",
                content=csv.encode(),
                headers={"Content-Type": "text/csv"},
            )
            problem(r, 403, "scope")
        zh = _client(live_server, engine, "dispatcher", scope)
        with zh:
            r = zh.delete("/api/v1/event-dictionary/subclasses/0101", params={"lang": "zh"})
            assert r.status_code == 403 and "全市" in r.json()["detail"], r.text
    with _bearer(live_server, tokens["viewer"]) as v:
        after = v.get("/api/v1/event-dictionary/subclasses/0101").json()
    assert after == before  # nothing changed, nothing retired
    # other roles still get the role refusal, not the scope one
    with _client(live_server, engine, "officer", "city") as o:
        problem(o.delete("/api/v1/event-dictionary/subclasses/0101"), 403, "Authorization")


def test_city_dispatcher_and_admin_change_the_dictionary(live_server, engine, tokens) -> None:  # type: ignore[no-untyped-def]
    code = _fresh_code()
    with _client(live_server, engine, "dispatcher", "city") as d:
        r = d.put(f"/api/v1/event-dictionary/subclasses/{code}", json=SUBCLASS)
        assert r.status_code == 200, r.text
    with _bearer(live_server, tokens["admin"]) as a:
        r = a.put(f"/api/v1/event-dictionary/subclasses/{code}", json=SUBCLASS)
        assert r.status_code == 200, r.text
        # DELETE is a soft retire: no longer offered (422 for new use), a PUT brings it back
        assert a.delete(f"/api/v1/event-dictionary/subclasses/{code}").status_code == 204
        problem(a.get(f"/api/v1/event-dictionary/subclasses/{code}"), 422, "code")
        r = a.put(f"/api/v1/event-dictionary/subclasses/{code}", json=SUBCLASS)
        assert r.status_code == 200 and r.json()["active"] is True, r.text


def test_town_planner_may_not_start_a_city_wide_coverage_run(live_server, engine, tokens) -> None:  # type: ignore[no-untyped-def]
    params = {"date": RUN_DAY, "resolution": 10}
    for scope in (f"town:{TOWN}", f"village:{VILLAGE}"):
        with _client(live_server, engine, "planner", scope) as p:
            body = problem(p.post("/api/v1/coverage/runs", params=params), 403, "scope")
            assert "coverage run" in body["detail"], body
    with _client(live_server, engine, "dispatcher", "city") as d:  # not a planner at all
        problem(d.post("/api/v1/coverage/runs", params=params), 403, "Authorization")
    with _client(live_server, engine, "planner", "city") as p:
        r = p.post("/api/v1/coverage/runs", params=params)
        assert r.status_code == 200, r.text
