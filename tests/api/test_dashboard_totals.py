"""The front page's panels say how many rows they leave out (issue 15, the operator's re-trial):
over real HTTP, the events panel's ``overdue_total`` / ``latest_total`` are the true totals
(the lists hold at most 30) and equal the count of the event list page they link to
(``/api/v1/event-map/rows`` with ``overdue=true&town=…`` / ``town=…&from=<today>``); the
patrols panel's figures are one count query whose city figures are the sums of its towns'; the
KPI panel shows last month on the 1st at the city level too, even with cases on the 1st."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from layers.dashboard import patrol_panel, shown_period
from layers.db import make_sessionmaker
from layers.workcal import SHANGHAI
from tests.api.test_dashboard_kpis_first_day import january_case  # noqa: F401 (fixture)
from tests.e2e.test_home_page import _report
from tests.tracks_support import make_device, send_fixes

LIST_LIMIT = 30  # rows per list of GET /api/v1/dashboard/events
OVERDUE = 34  # more than the list holds


@pytest.fixture(scope="module")
def many_overdue(live_server, tokens, demo_grids, engine: Engine) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """``OVERDUE`` cases reported today in one town, all overdue (in handling, deadline an
    hour ago), in grids of one village."""
    l3 = demo_grids[demo_grids.level == 3].sort_values("code")
    start = 200
    town = l3.iloc[start].code[:9]
    ids = [
        _report(live_server, tokens["officer"], demo_grids, start + i % 3) for i in range(OVERDUE)
    ]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE event SET status = 'in_handling', accepted_at = :a, dispatched_at = :a, "
                "deadline_at = :d WHERE id = ANY(:ids)"
            ),
            {"a": now - timedelta(minutes=30), "d": now - timedelta(hours=1), "ids": ids},
        )
    time.sleep(5.5)  # past the dashboard's answer cache (GRIDGIS_DASHBOARD_CACHE_S)
    return {"town": town, "ids": ids}


def _rows_count(client: httpx.Client, **params: str) -> int:
    r = client.get("/api/v1/event-map/rows", params={**params, "limit": 200})
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


def test_overdue_total_is_the_true_count_and_the_linked_list_holds_all(
    client, many_overdue
) -> None:  # type: ignore[no-untyped-def]
    town = many_overdue["town"]
    body = client.get("/api/v1/dashboard/events", params={"scope": town}).json()
    assert body["overdue_total"] == body["counts"]["overdue_now"] >= OVERDUE
    assert len(body["overdue"]) == LIST_LIMIT < body["overdue_total"]
    # the page behind "查看全部": /events/map?overdue=true&town=<scope>
    assert _rows_count(client, overdue="true", town=town) == body["overdue_total"]
    listed = client.get(
        "/api/v1/event-map/rows", params={"overdue": "true", "town": town, "limit": 200}
    ).json()["data"]
    assert set(many_overdue["ids"]) <= {e["id"] for e in listed}
    assert {e["id"] for e in body["overdue"]} <= {e["id"] for e in listed}


def test_newest_list_is_today_and_its_total_is_the_linked_list(client, many_overdue) -> None:  # type: ignore[no-untyped-def]
    town = many_overdue["town"]
    body = client.get("/api/v1/dashboard/events", params={"scope": town}).json()
    today = datetime.fromisoformat(body["now"]).astimezone(SHANGHAI).date().isoformat()
    assert body["today"] == today
    assert body["latest_total"] == body["counts"]["reported_day"] >= OVERDUE
    assert len(body["latest"]) == LIST_LIMIT
    start = datetime.fromisoformat(body["today_start"])
    assert all(datetime.fromisoformat(e["reported_at"]) >= start for e in body["latest"])
    assert _rows_count(client, town=town, **{"from": today}) == body["latest_total"]


def test_city_event_totals_are_true_counts(client, many_overdue, engine) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/dashboard/events").json()
    with engine.connect() as conn:
        overdue = conn.execute(
            text(
                "SELECT count(*) FROM event WHERE status IN "
                "('dispatched','in_handling','extension_requested','rework') AND deadline_at < :n"
            ),
            {"n": datetime.fromisoformat(body["now"])},
        ).scalar_one()
    assert body["overdue_total"] == overdue > len(body["overdue"])


@pytest.fixture(scope="module")
def officers(engine, live_server, demo_grids) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Devices whose last fix is in two towns (just now, 40 min ago, 3 h ago) and one whose
    last fix lies outside every grid."""
    l3 = demo_grids[demo_grids.level == 3].sort_values("code")
    here, there = l3.iloc[60], l3.iloc[-60]
    now = datetime.now(UTC)
    placed = [(here, 1), (here, 40), (here, 180), (there, 45), (there, 2)]
    for grid, minutes in placed:
        p = grid.geometry.representative_point()
        device = make_device(engine, name=f"离线{minutes}")
        fix = {"time": (now - timedelta(minutes=minutes)).isoformat(), "lon": p.x, "lat": p.y,
               "accuracy_m": 5.0}  # fmt: skip
        assert send_fixes(live_server, device, [fix])["stored"] == 1
    away = make_device(engine, name="外地")
    fix = {"time": (now - timedelta(minutes=50)).isoformat(), "lon": 121.9, "lat": 30.2,
           "accuracy_m": 5.0}  # fmt: skip
    send_fixes(live_server, away, [fix])
    return {"towns": (here.code[:9], there.code[:9])}


def test_patrol_figures_of_the_city_are_the_sums_of_its_towns(
    engine, demo_generation, officers
) -> None:  # type: ignore[no-untyped-def]
    """One instant for every scope (no device crosses a threshold between two requests)."""
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as session:
        city = patrol_panel(session=session, scope="", now=now, offline_min=30)
        towns = [
            c
            for (c,) in session.execute(
                text("SELECT code FROM grid WHERE generation_id = :g AND level = 1"),
                {"g": demo_generation},
            )
        ]
        per_town = {
            t: patrol_panel(session=session, scope=t, now=now, offline_min=30) for t in towns
        }
    assert city["devices"] >= 5 and city["offline_long"] >= 3
    for key in ("devices", "online", "offline_long"):
        assert city[key] == sum(p[key] for p in per_town.values()), key
        assert city[key] == sum(t[key] for t in city["towns"]), key
    by_code = {t["code"]: t for t in city["towns"]}
    for code, panel in per_town.items():
        assert panel["outside"] == 0
        row = by_code.get(code, {"devices": 0, "online": 0, "offline_long": 0})
        assert (panel["devices"], panel["online"], panel["offline_long"]) == (
            row["devices"], row["online"], row["offline_long"]
        )  # fmt: skip
        # the list of the silent: as many as the count, up to the list's limit
        assert len(panel["silent"]) == min(30, panel["offline_long"])
        assert all(s["age_s"] > 30 * 60 for s in panel["silent"])
    assert len(city["silent"]) == min(30, city["offline_long"])


def test_patrols_answer_carries_the_total_of_the_offline(client, officers) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/dashboard/patrols", params={"offline_min": 1}).json()
    assert body["offline_long"] == sum(t["offline_long"] for t in body["towns"])
    assert len(body["silent"]) == min(30, body["offline_long"])
    assert body["outside"] >= 0


@pytest.mark.parametrize(
    ("now", "shown", "start"),
    [
        ("2000-02-01T09:00:00+08:00", "previous", "2000-01-01T00:00:00+08:00"),
        ("2000-02-02T00:00:00+08:00", "previous", "2000-01-01T00:00:00+08:00"),  # end of the 1st
        ("2000-02-02T00:00:01+08:00", "current", "2000-02-01T00:00:00+08:00"),
        ("2000-01-20T10:00:00+08:00", "current", "2000-01-01T00:00:00+08:00"),
    ],
)
def test_the_one_rule_of_the_period_shown(now, shown, start) -> None:  # type: ignore[no-untyped-def]
    got = shown_period(datetime.fromisoformat(now), "month")
    assert got["shown"] == shown
    assert got["start"] == datetime.fromisoformat(start)
    if shown == "previous":
        assert got["end"] == got["current_from"] == datetime.fromisoformat("2000-02-01T00:00+08:00")


@pytest.fixture
def february_first_case(engine, live_server, tokens, demo_grids):  # type: ignore[no-untyped-def]
    """A case reported on 1 February 2000 (the city has a case on the 1st)."""
    event_id = _report(live_server, tokens["officer"], demo_grids, 23)
    with engine.begin() as c:
        c.execute(text("UPDATE event SET reported_at = :t WHERE id = :i"),
                  {"t": "2000-02-01T09:00:00+08:00", "i": event_id})  # fmt: skip
    yield event_id
    with engine.begin() as c:
        c.execute(text("UPDATE event SET reported_at = now() WHERE id = :i"), {"i": event_id})


def test_first_of_the_month_city_falls_back_like_a_village(  # type: ignore[no-untyped-def]
    client,
    january_case,  # noqa: F811
    february_first_case,
    demo_grids,
) -> None:
    """The bug: a city with a case on the 1st showed the 1st alone (0 / 0.0% / —) while its
    villages showed last month. Now every level shows January, labelled."""
    l3 = demo_grids[demo_grids.level == 3].sort_values("code")
    quiet_village = l3.iloc[-5].code[:12]
    answers = {}
    for scope in ("", l3.iloc[17].code[:9], l3.iloc[17].code[:12], quiet_village):
        r = client.get("/api/v1/dashboard/kpis", params={"scope": scope, "date": "2000-02-01"})
        assert r.status_code == 200, r.text
        answers[scope] = r.json()
    for scope, body in answers.items():
        assert body["shown"] == "previous", scope
        assert datetime.fromisoformat(body["from"]) == datetime.fromisoformat(
            "2000-01-01T00:00+08:00"
        )
        assert datetime.fromisoformat(body["to"]) == datetime.fromisoformat(
            "2000-02-01T00:00+08:00"
        )
    city = answers[""]
    assert city["current_reported"] >= 1  # the case of the 1st: still last month shown
    assert city["kpis"]["reported"] >= 1  # January's case
    assert answers[quiet_village]["current_reported"] == 0
    later = client.get("/api/v1/dashboard/kpis", params={"date": "2000-02-02"}).json()
    assert later["shown"] == "current" and later["kpis"]["reported"] >= 1


def test_ranking_see_all_is_the_whole_ranking(client, many_overdue) -> None:  # type: ignore[no-untyped-def]
    """The ranking's "see all" (the page builds it from the KPI answer) lists every unit the
    panel ranked: GET /api/v1/kpis/ranking over the same period and level (JSON here, xlsx on
    the page)."""
    body = client.get("/api/v1/dashboard/kpis", params={"period": "week"}).json()
    assert body["ranking_level"] == 1
    params = {"by": "town", "from": body["from"], "to": body["to"]}
    whole = client.get("/api/v1/kpis/ranking", params=params)
    assert whole.status_code == 200, whole.text
    assert {r["key"] for r in whole.json()["data"]} == {r["key"] for r in body["ranking"]}
    sheet = client.get("/api/v1/kpis/ranking", params={**params, "format": "xlsx"})
    assert sheet.status_code == 200, sheet.text
    assert sheet.content[:2] == b"PK"  # an xlsx (zip) file
