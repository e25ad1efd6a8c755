"""The front page's panels (/api/v1/dashboard/…) over real HTTP: every figure equals a direct
SQL count on the test database, the scope filter narrows every panel, bad input is problem+json."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from layers.dashboard import period_starts, previous_period_start
from layers.workcal import SHANGHAI

PROBLEM = "application/problem+json"
OPEN = "('dispatched','in_handling','extension_requested','rework')"


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture(scope="module")
def seeded(live_server, tokens, demo_grids, engine: Engine) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Three events reported in one unit grid (one of them made overdue, one accepted and in
    handling) and one in a grid of another town."""
    l3 = demo_grids[demo_grids.level == 3].sort_values("code")
    here, there = l3.iloc[40], l3.iloc[-40]
    assert here.code[:9] != there.code[:9]
    ids = []
    with _as(live_server, tokens["officer"]) as officer:
        for grid, text_ in ((here, "占道经营"), (here, "乱堆物料"), (here, "小广告"), (there, "x")):
            p = grid.geometry.representative_point()
            r = officer.post(
                "/api/v1/events",
                json={"lon": p.x, "lat": p.y, "subclass": "0401", "description": text_,
                      "ignore_duplicates": True},
            )  # fmt: skip
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE event SET status = 'in_handling', accepted_at = :a, dispatched_at = :a, "
                "deadline_at = :d WHERE id = :id"
            ),
            {"a": now - timedelta(days=2), "d": now - timedelta(hours=3), "id": ids[0]},
        )
        conn.execute(
            text(
                "UPDATE event SET status = 'dispatched', accepted_at = :a, dispatched_at = :a, "
                "deadline_at = :d WHERE id = :id"
            ),
            {"a": now - timedelta(minutes=5), "d": now + timedelta(days=3), "id": ids[1]},
        )
    # an earlier test's page may have asked the same panels (the city) within the dashboard's
    # answer cache (GRIDGIS_DASHBOARD_CACHE_S, 5 s) before these cases existed: wait it out
    time.sleep(5.5)
    return {"grid": here.code, "village": here.code[:12], "town": here.code[:9],
            "other_town": there.code[:9], "ids": ids}  # fmt: skip


def _sql(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


@pytest.mark.parametrize("level", ["city", "town", "village", "grid"])
def test_event_counts_equal_sql(client, seeded, engine, level) -> None:  # type: ignore[no-untyped-def]
    scope = {"city": "", "town": seeded["town"], "village": seeded["village"],
             "grid": seeded["grid"]}[level]  # fmt: skip
    r = client.get("/api/v1/dashboard/events", params={"scope": scope})
    assert r.status_code == 200, r.text
    body = r.json()
    now = datetime.fromisoformat(body["now"])
    starts = period_starts(now)
    where = "starts_with(grid_code, :s)"
    c = body["counts"]
    for p in ("day", "week"):
        t0 = starts[p]
        assert c[f"reported_{p}"] == _sql(
            engine, f"SELECT count(*) FROM event WHERE {where} AND reported_at >= :t", s=scope, t=t0
        )
        assert c[f"accepted_{p}"] == _sql(
            engine, f"SELECT count(*) FROM event WHERE {where} AND accepted_at >= :t", s=scope, t=t0
        )
        assert c[f"in_handling_{p}"] == _sql(
            engine,
            f"SELECT count(*) FROM event WHERE {where} AND status IN {OPEN} "
            "AND dispatched_at >= :t",
            s=scope,
            t=t0,
        )
        assert c[f"overdue_{p}"] == _sql(
            engine,
            f"SELECT count(*) FROM event WHERE {where} AND status IN {OPEN} "
            "AND deadline_at < :now AND deadline_at >= :t",
            s=scope,
            t=t0,
            now=now,
        )
    overdue = _sql(
        engine,
        f"SELECT count(*) FROM event WHERE {where} AND status IN {OPEN} AND deadline_at < :now",
        s=scope,
        now=now,
    )
    assert c["overdue_now"] == overdue >= 1
    assert c["total"] == _sql(engine, f"SELECT count(*) FROM event WHERE {where}", s=scope)
    assert seeded["ids"][0] in [e["id"] for e in body["overdue"]]
    deadlines = [e["deadline_at"] for e in body["overdue"]]
    assert deadlines == sorted(deadlines)
    reported = [e["reported_at"] for e in body["latest"]]
    assert reported == sorted(reported, reverse=True)
    assert all(e["grid_code"].startswith(scope) for e in body["latest"] + body["overdue"])


def test_event_lists_name_the_subclass_in_the_request_language(client, seeded, engine) -> None:  # type: ignore[no-untyped-def]
    zh, en = (
        _sql(engine, f"SELECT {col} FROM event_subclass WHERE code = '0401'")
        for col in ("name", "name_en")
    )
    assert zh and en and zh != en  # the seed names 0401 in both languages
    scope = {"scope": seeded["grid"]}
    for params, headers, name in (
        ({}, {}, zh),
        ({"lang": "en"}, {}, en),
        ({}, {"Accept-Language": "en-GB,en;q=0.9"}, en),
        ({"lang": "zh"}, {"Accept-Language": "en"}, zh),
    ):
        r = client.get("/api/v1/dashboard/events", params={**scope, **params}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        mine = [e for e in body["latest"] + body["overdue"] if e["id"] in seeded["ids"]]
        assert len(mine) >= 3, (params, headers)
        assert {e["subclass_name"] for e in mine} == {name}, (params, headers)
        assert all(e["subclass_code"] == "0401" for e in mine)
        assert not any("subclass_name_en" in e for e in mine)


def test_scope_narrows_every_panel(client, seeded) -> None:  # type: ignore[no-untyped-def]
    city = client.get("/api/v1/dashboard/events").json()["counts"]
    town = client.get("/api/v1/dashboard/events", params={"scope": seeded["town"]}).json()
    other = client.get("/api/v1/dashboard/events", params={"scope": seeded["other_town"]}).json()
    assert town["counts"]["total"] >= 3 and other["counts"]["total"] >= 1
    assert town["counts"]["total"] + other["counts"]["total"] <= city["total"]
    assert seeded["ids"][3] not in [e["id"] for e in town["latest"]]
    # today's cases: period=day (a month on its 1st shows last month, layers.dashboard.shown_period)
    kpi_city = client.get("/api/v1/dashboard/kpis", params={"period": "day"}).json()
    kpi_town = client.get(
        "/api/v1/dashboard/kpis", params={"scope": seeded["town"], "period": "day"}
    ).json()
    assert kpi_town["kpis"]["reported"] <= kpi_city["kpis"]["reported"]
    assert kpi_city["ranking_level"] == 1 and kpi_town["ranking_level"] == 2
    assert all(r["key"].startswith(seeded["town"]) for r in kpi_town["ranking"])
    assert len(next(iter(kpi_town["ranking"]))["key"]) == 12
    patrols = client.get("/api/v1/dashboard/patrols", params={"scope": seeded["village"]})
    assert patrols.status_code == 200, patrols.text


@pytest.mark.parametrize("period", ["day", "week", "month", "year"])
def test_kpis_equal_sql(client, seeded, engine, period) -> None:  # type: ignore[no-untyped-def]
    body = client.get(
        "/api/v1/dashboard/kpis", params={"scope": seeded["town"], "period": period}
    ).json()
    start, end = datetime.fromisoformat(body["from"]), datetime.fromisoformat(body["to"])
    # the first day of a week, month or year shows the whole period before it (shown_period)
    previous = body["shown"] == "previous"
    if previous:
        assert end == datetime.fromisoformat(body["current_from"]) == period_starts(end)[period]
        assert start == previous_period_start(end, period)
    else:
        assert start == period_starts(end)[period]
    cohort = "starts_with(grid_code, :s) AND reported_at >= :a AND reported_at < :b"
    args = {"s": seeded["town"], "a": start, "b": end}
    k = body["kpis"]
    assert k["reported"] == _sql(engine, f"SELECT count(*) FROM event WHERE {cohort}", **args)
    assert k["accepted"] == _sql(
        engine, f"SELECT count(*) FROM event WHERE {cohort} AND accepted_at IS NOT NULL", **args
    )
    assert k["overdue_unhandled"] == _sql(
        engine,
        f"SELECT count(*) FROM event WHERE {cohort} AND accepted_at IS NOT NULL "
        f"AND status IN {OPEN} AND deadline_at <= :b",
        **args,
    )
    assert k["reported"] >= (0 if previous else 3)  # the seeded cases are today's
    if k["reported"]:
        assert k["acceptance_rate"] == round(k["accepted"] / k["reported"], 6)
    # The children's figures add up to the scope's own, and the ranking is kpis.rank's.
    assert sum(r["reported"] for r in body["ranking"]) == k["reported"]
    ranks = [r["rank"] for r in body["ranking"] if r["rank"] is not None]
    assert ranks == sorted(ranks)
    # The same figures as GET /api/v1/kpis?by=village for the villages of the town.
    plain = client.get(
        "/api/v1/kpis", params={"by": "village", "from": body["from"], "to": body["to"]}
    )
    if plain.status_code == 200:
        rows = {r["key"]: r for r in plain.json()["data"] if r["key"].startswith(seeded["town"])}
        for r in body["ranking"]:
            assert rows[r["key"]]["reported"] == r["reported"]


def test_patrols_equal_sql(client, engine, seeded) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/dashboard/patrols", params={"offline_min": 5}).json()
    now = datetime.fromisoformat(body["now"])
    last = (
        "SELECT d.id, (SELECT max(fix_time) FROM position p WHERE p.device_id = d.id "
        "AND p.flags & :bad = 0) AS t FROM device d WHERE d.active"
    )
    from gis.tracks import UNUSABLE

    devices = _sql(engine, f"SELECT count(t) FROM ({last}) x", bad=UNUSABLE)
    online = _sql(
        engine, f"SELECT count(*) FROM ({last}) x WHERE t >= :t", bad=UNUSABLE,
        t=now - timedelta(seconds=300),
    )  # fmt: skip
    # the city's figures count the devices whose last fix lies in a grid (the sums of its
    # towns, tests/api/test_dashboard_totals.py); the others are counted apart
    placed = (
        "SELECT f.fix_time AS t, f.grid_code FROM device d JOIN device_latest f "
        "ON f.device_id = d.id AND f.flags & :bad = 0 WHERE d.active"
    )
    outside = _sql(
        engine, f"SELECT count(*) FROM ({placed}) x WHERE grid_code IS NULL", bad=UNUSABLE
    )
    online_outside = _sql(
        engine, f"SELECT count(*) FROM ({placed}) x WHERE grid_code IS NULL AND t >= :t",
        bad=UNUSABLE, t=now - timedelta(seconds=300),
    )  # fmt: skip
    assert body["devices"] + body["outside"] == devices
    assert body["outside"] == outside
    assert body["online"] == online - online_outside
    assert body["offline_threshold_min"] == 5
    today = period_starts(now)["day"].astimezone(SHANGHAI).date()
    assert list(body["coverage"]) == [today.isoformat(), (today - timedelta(days=1)).isoformat()]


def test_grid_panel(client, seeded, engine) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/dashboard/grid/{seeded['grid']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grid"]["code"] == seeded["grid"] and body["grid"]["level"] == 3
    assert body["households"] == _sql(
        engine, "SELECT count(*) FROM household WHERE grid_code = :g", g=seeded["grid"]
    )
    by_status = _sql(
        engine,
        "SELECT json_object_agg(status, n) FROM (SELECT status, count(*) n FROM event "
        "WHERE grid_code = :g GROUP BY 1) x",
        g=seeded["grid"],
    )
    assert body["events"]["by_status"] == by_status
    assert {"staff", "by_role", "zone", "squad", "coverage"} <= set(body)
    # the town's panel may have been asked (and kept for GRIDGIS_DASHBOARD_CACHE_S) by an
    # earlier test before this module seeded its events: ask again once that has expired
    deadline = time.monotonic() + 30
    while True:
        town = client.get(f"/api/v1/dashboard/grid/{seeded['town']}").json()
        if town["events"]["total"] >= body["events"]["total"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert town["grid"]["level"] == 1
    assert town["events"]["total"] >= body["events"]["total"] == sum(by_status.values())
    assert body["events"]["overdue_now"] == _sql(
        engine,
        f"SELECT count(*) FROM event WHERE grid_code = :g AND status IN {OPEN} "
        "AND deadline_at < :now",
        g=seeded["grid"],
        now=datetime.fromisoformat(body["now"]),
    )
    assert body["events"]["overdue_now"] >= 1
    assert body["bbox"][0] < body["bbox"][2] and body["bbox"][1] < body["bbox"][3]
    assert {c["code"] for c in town["children"]} == set(
        _sql(
            engine,
            "SELECT array_agg(code) FROM grid WHERE parent_code = :t AND generation_id = "
            "(SELECT id FROM generation WHERE status = 'active')",
            t=seeded["town"],
        )
    )


def test_grid_panel_phones_only_for_entitled_roles(
    live_server, tokens, seeded, people_demo
) -> None:  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["viewer"]) as viewer, _as(live_server, tokens["dispatcher"]) as d:
        a = viewer.get(f"/api/v1/dashboard/grid/{seeded['grid']}").json()
        b = d.get(f"/api/v1/dashboard/grid/{seeded['grid']}").json()
        plain = viewer.get(f"/api/v1/grids/{seeded['grid']}/responsible").json()
    assert a["staff"] == plain["staff"]  # the same answer (and masking) as /responsible
    assert a["staff"] and any(t.get("phone") for t in b["staff"])
    for s, t in zip(a["staff"], b["staff"], strict=True):
        if t.get("phone"):
            assert s["phone"] != t["phone"] and "*" in s["phone"]


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/dashboard/events", {"scope": "3202"}, 422, "scope"),
        ("/api/v1/dashboard/events", {"scope": "32028110x"}, 422, "scope"),
        ("/api/v1/dashboard/events", {"scope": "%"}, 422, "scope"),
        ("/api/v1/dashboard/patrols", {"scope": "１２３４５６７８９"}, 422, "scope"),
        ("/api/v1/dashboard/patrols", {"online_s": "0"}, 422, "online_s"),
        ("/api/v1/dashboard/patrols", {"offline_min": "x"}, 422, "offline_min"),
        ("/api/v1/dashboard/kpis", {"period": "decade"}, 422, "period"),
        ("/api/v1/dashboard/kpis", {"scope": "3" * 16}, 422, "scope"),
        ("/api/v1/dashboard/grid/320281", {}, 422, "code"),
        ("/api/v1/dashboard/grid/999999999", {}, 404, None),
    ],
)
def test_bad_parameters_are_problems(client, path, params, status, field) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    if field:
        assert r.json()["field"] == field


def test_needs_a_token(anon) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/dashboard/events", "/api/v1/dashboard/kpis"):
        r = anon.get(path)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith(PROBLEM)


def test_panel_cache_reuses_answers_per_key_and_is_bounded() -> None:
    from api.routes.dashboard import PanelCache

    calls: list[str] = []

    def compute(name: str) -> Any:
        return lambda: calls.append(name) or {"n": len(calls)}

    off = PanelCache(0)
    assert off.get(("a",), compute("a")) != off.get(("a",), compute("a"))  # 0 s: never reused
    cache = PanelCache(3600, max_entries=2)
    first = cache.get(("events", ""), compute("city"))
    assert cache.get(("events", ""), compute("city")) is first
    town = cache.get(("events", "320281001"), compute("town"))
    assert town is not first
    cache.get(("kpis", ""), compute("kpis"))  # a third key: the oldest goes
    assert cache.get(("events", ""), compute("city")) is not first
    assert calls == ["a", "a", "city", "town", "kpis", "city"]
