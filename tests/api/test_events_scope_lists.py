"""Every list of cases follows the one rule of layers/events/access.py (issue 11): a case a
dispatcher reroutes to an officer's person appears in /events, /events/overdue,
/events/duplicates (and the duplicate suggestion of a report), /event-map and /me/grid of that
officer; a case rerouted out of the officer's grid to another town's grid disappears from all of
them. A caller who neither holds the grid nor is the routed person never sees it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from tests.api.test_rerouted_cases import _grid_outside
from tests.api.test_scope_reads import _bearer, _client
from tests.api.test_scope_reads import setting as setting  # the module fixture
from tests.api.test_trust_scope2 import _case_in
from tests.people_fixtures import *  # noqa: F403  (people_demo)

SUBCLASS = "0401"  # the subclass _case_in files


def _point(engine: Any, case: int) -> dict[str, Any]:
    with engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM event WHERE id = :i"), {"i": case}
        ).one()
    return {"lon": lon, "lat": lat, "subclass": SUBCLASS}


def _make_overdue(engine: Any, case: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE event SET status = 'in_handling', accepted_at = now() - interval '2 h', "
                 "deadline_at = now() - interval '1 h' WHERE id = :i"), {"i": case},
        )  # fmt: skip


def _ids(r: httpx.Response) -> set[int]:
    assert r.status_code == 200, r.text
    return {e["id"] for e in r.json()["data"]}


def _listed_everywhere(c: httpx.Client, engine: Any, case: int) -> dict[str, bool]:
    """Where ``case`` is listed for the caller ``c``: one flag per list."""
    grid = c.get("/api/v1/me/grid")
    assert grid.status_code == 200, grid.text
    points = c.get("/api/v1/event-map/points", params={"days": 3660})
    assert points.status_code == 200, points.text
    report = {**_point(engine, case), "description": "again, scope lists"}
    held = c.post("/api/v1/events", json=report)
    assert held.status_code in (201, 409), held.text
    if held.status_code == 201:  # filed: take it away again so that it holds no later check
        with engine.begin() as conn:
            conn.execute(text("UPDATE event SET status = 'rejected' WHERE id = :i"),
                         {"i": held.json()["id"]})  # fmt: skip
    suggested = held.status_code == 409 and case in {
        d["id"] for d in held.json().get("duplicates", [])
    }
    dups = c.get("/api/v1/events/duplicates", params=_point(engine, case))
    rows = c.get("/api/v1/event-map/rows", params={"days": 3660, "limit": 200})
    return {
        "events": case in _ids(c.get("/api/v1/events", params={"limit": 10_000})),
        "overdue": case in _ids(c.get("/api/v1/events/overdue")),
        "duplicates": case in _ids(dups),
        "report_suggestion": suggested,
        "map": case in {row[0] for row in points.json()["data"]},
        "map_rows": case in _ids(rows),
        "me_grid": case in {f["properties"]["id"] for f in grid.json()["events"]["features"]},
    }


def test_a_case_rerouted_to_an_officer_is_in_every_list_of_theirs(
    live_server, engine, tokens, setting
) -> None:  # type: ignore[no-untyped-def]
    town, officer = setting["other"], setting["other_person"]
    case = _case_in(live_server, tokens, engine, _grid_outside(engine, town, officer))
    _make_overdue(engine, case)
    everywhere = dict.fromkeys(
        ("events", "overdue", "duplicates", "report_suggestion", "map", "map_rows", "me_grid"),
        True,
    )
    nowhere = dict.fromkeys(everywhere, False)
    with _client(live_server, engine, "officer", "grids", person_id=officer) as phone:
        assert _listed_everywhere(phone, engine, case) == nowhere  # not theirs yet
        with _bearer(live_server, tokens["dispatcher"]) as city:
            body = {"changes": {"worker_person_id": officer}, "reason": "his case now"}
            r = city.post(f"/api/v1/events/{case}/routing", json=body)
            assert r.status_code == 200, r.text
        assert _listed_everywhere(phone, engine, case) == everywhere
    # an officer of another town, neither the routed person nor assigned there: nowhere
    with _client(live_server, engine, "officer", "grids", person_id=setting["person"]) as other:
        assert _listed_everywhere(other, engine, case) == nowhere
    # a user of another town without a person: nowhere; of the case's town: everywhere
    with _client(live_server, engine, "dispatcher", f"town:{setting['town']}") as town_a:
        assert _listed_everywhere(town_a, engine, case) == nowhere
    with _client(live_server, engine, "dispatcher", f"town:{town}") as town_b:
        assert _listed_everywhere(town_b, engine, case) == everywhere | {"me_grid": False}


def test_a_case_rerouted_out_of_the_officers_grid_leaves_every_list(
    live_server, engine, tokens, setting
) -> None:  # type: ignore[no-untyped-def]
    officer = setting["other_person"]
    case = _case_in(live_server, tokens, engine, setting["other_grid"])  # the officer's grid
    _make_overdue(engine, case)
    with _client(live_server, engine, "officer", "grids", person_id=officer) as phone:
        before = _listed_everywhere(phone, engine, case)
        assert all(before.values()), before
        with _bearer(live_server, tokens["dispatcher"]) as city:  # to town A's grid and people
            changes = {"grid_code": setting["grid"], "worker_person_id": setting["person"],
                       "chief_person_id": setting["person"], "squad_team_id": None}  # fmt: skip
            body = {"changes": changes, "reason": "not his area"}
            r = city.post(f"/api/v1/events/{case}/routing", json=body)
            assert r.status_code == 200, r.text
        after = _listed_everywhere(phone, engine, case)
        assert not any(after.values()), after
    with _client(live_server, engine, "dispatcher", f"town:{setting['town']}") as town_a:
        flags = _listed_everywhere(town_a, engine, case)  # now town A's case
        assert all(v for k, v in flags.items() if k != "me_grid"), flags


def test_overdue_and_duplicates_of_another_town_stay_out(
    live_server, engine, tokens, setting
) -> None:  # type: ignore[no-untyped-def]
    case = _case_in(live_server, tokens, engine, setting["grid"])
    _make_overdue(engine, case)
    with _client(live_server, engine, "dispatcher", f"town:{setting['other']}") as b:
        assert case not in _ids(b.get("/api/v1/events/overdue"))
        assert case not in _ids(b.get("/api/v1/events/duplicates", params=_point(engine, case)))
    with _client(live_server, engine, "dispatcher", f"town:{setting['town']}") as a:
        assert case in _ids(a.get("/api/v1/events/overdue"))
        assert case in _ids(a.get("/api/v1/events/duplicates", params=_point(engine, case)))
    with _bearer(live_server, tokens["viewer"]) as city:
        assert case in _ids(city.get("/api/v1/events/overdue"))


def test_one_rule_no_second_copy() -> None:
    """The lists filter with layers.events.access, not a copy of the scope test."""
    import inspect

    from api.routes import events, mobile, open311
    from layers.events import intake, listing, workflow

    for module in (events, mobile, open311, intake, listing, workflow):
        source = inspect.getsource(module)
        assert "in_codes(e.grid_code" not in source and "in_codes(event.grid_code" not in source
        assert "prefix_clause(Event.grid_code" not in source, module.__name__
