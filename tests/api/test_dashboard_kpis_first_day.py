"""The KPI panel on the first day of a month (issue 15, fault 3 of the last trial): on the
first day of the period GET /api/v1/dashboard/kpis answers the whole previous period, labelled
(``shown: previous``, ``current_from``), at every level; from the 2nd day on, the current
period (zeros when it has no case). A frozen day through ``date`` (Asia/Shanghai), no waiting for a
real 1st: one case of the demo moved to 15 January 2000 (a month no other test writes)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text

from tests.e2e.test_home_page import _report

JAN_15 = "2000-01-15T10:00:00+08:00"


@pytest.fixture
def january_case(engine, live_server, tokens, demo_grids):  # type: ignore[no-untyped-def]
    event_id = _report(live_server, tokens["officer"], demo_grids, 17)
    with engine.begin() as c:
        c.execute(text("UPDATE event SET reported_at = :t WHERE id = :i"),
                  {"t": JAN_15, "i": event_id})  # fmt: skip
    yield event_id
    with engine.begin() as c:  # back to a day of its own week, out of the frozen months
        c.execute(text("UPDATE event SET reported_at = now() WHERE id = :i"), {"i": event_id})


def _count(engine, start: str, end: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return int(
            c.execute(
                text("SELECT count(*) FROM event WHERE reported_at >= :a AND reported_at < :b"),
                {"a": start, "b": end},
            ).scalar_one()
        )


def test_first_of_the_month_shows_last_month(client, engine, january_case) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/dashboard/kpis", params={"date": "2000-02-01"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shown"] == "previous"
    assert datetime.fromisoformat(body["from"]) == datetime.fromisoformat("2000-01-01T00:00+08:00")
    assert datetime.fromisoformat(body["to"]) == datetime.fromisoformat("2000-02-01T00:00+08:00")
    assert datetime.fromisoformat(body["current_from"]) == datetime.fromisoformat(body["to"])
    assert body["kpis"]["reported"] == _count(engine, body["from"], body["to"]) >= 1
    assert body["ranking"] and sum(r["reported"] for r in body["ranking"]) >= 1


def test_a_month_with_cases_shows_itself(client, engine, january_case) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/dashboard/kpis", params={"date": "2000-01-20"}).json()
    assert body["shown"] == "current"
    assert datetime.fromisoformat(body["from"]) == datetime.fromisoformat("2000-01-01T00:00+08:00")
    assert datetime.fromisoformat(body["to"]) == datetime.fromisoformat("2000-01-21T00:00+08:00")
    assert body["kpis"]["reported"] == _count(engine, body["from"], body["to"]) >= 1


def test_no_case_in_either_period_shows_zeros(client) -> None:  # type: ignore[no-untyped-def]
    # the 1st: last month, by the one calendar rule (layers.dashboard.shown_period), with zeros
    body = client.get("/api/v1/dashboard/kpis", params={"date": "1990-03-01"}).json()
    assert body["shown"] == "previous" and body["current_reported"] == 0
    assert body["kpis"]["reported"] == 0 and body["kpis"]["patrol"] == 0
    assert body["kpis"]["proper_handling_rate"] is None  # no denominator: no rate, not 0
    body = client.get("/api/v1/dashboard/kpis", params={"date": "1990-03-02"}).json()
    assert body["shown"] == "current"
    assert body["kpis"]["reported"] == 0 and body["kpis"]["patrol"] == 0


@pytest.mark.parametrize("value", ["2000-02-30", "yesterday", "2000/02/01"])
def test_a_bad_date_is_a_problem(client, value) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/dashboard/kpis", params={"date": value})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "date"
