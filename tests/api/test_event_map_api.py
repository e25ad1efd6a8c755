"""The dispatcher map's API (``/api/v1/event-map/points|rows``: filter, urgency, paging, scope,
bad values) and the event dictionary in English (``name_en``, ``lang=`` / Accept-Language)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.lang import accept_language
from layers.events.dictionary import CLASS_NAMES_EN, CLASSES, SUBCLASS_NAMES_EN, SUBCLASSES
from tests.api.accounts_support import make_token, make_user

PROBLEM = "application/problem+json"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture(scope="module")
def cases(live_server, tokens, demo_grids) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """In two towns, on 2026-03-03 (Shanghai): a hotline report (0405), a patrol report
    (0101) accepted, and a patrol report dispatched in March (4 work-hours: overdue now)."""
    l3 = demo_grids[demo_grids.level == 3]
    towns = l3.code.str[:9].unique()
    out: dict[str, Any] = {"towns": (towns[0], towns[-1])}
    with _as(live_server, tokens["admin"]) as c:
        for key, town, subclass, source in (
            ("hotline", towns[0], "0405", "hotline"),
            ("accepted", towns[0], "0101", "patrol"),
            ("overdue", towns[-1], "0101", "patrol"),
        ):
            p = l3[l3.code.str.startswith(town)].iloc[3].geometry.representative_point()
            r = c.post("/api/v1/events", json={
                "lon": p.x, "lat": p.y, "subclass": subclass, "source": source,
                "description": key, "ignore_duplicates": True,
                "reported_at": "2026-03-03T10:00:00+08:00"})  # fmt: skip
            assert r.status_code == 201, r.text
            out[key] = r.json()["id"]
        c.post(f"/api/v1/events/{out['accepted']}/actions", json={"action": "accept"})
        for n, action in enumerate(("accept", "dispatch")):
            r = c.post(f"/api/v1/events/{out['overdue']}/actions",
                       json={"action": action, "at": f"2026-03-03T10:1{n}:00+08:00"})  # fmt: skip
            assert r.status_code == 200, r.text
    return out


def _ids(answer: dict[str, Any]) -> set[int]:
    return {row[0] for row in answer["data"]}


def test_points_follow_the_filter(client, cases) -> None:  # type: ignore[no-untyped-def]
    day = {"from": "2026-03-03", "to": "2026-03-03"}
    everything = client.get("/api/v1/event-map/points", params=day).json()
    assert everything["columns"] == ["id", "lon", "lat", "status", "urgency", "subclass_code"]
    mine = {cases["hotline"], cases["accepted"], cases["overdue"]}
    assert mine <= _ids(everything)
    rows = {r[0]: r for r in everything["data"]}
    assert rows[cases["overdue"]][4] == 2 and rows[cases["accepted"]][4] == 0
    assert rows[cases["overdue"]][3] == "dispatched"

    def ids(**params: str) -> set[int]:
        r = client.get("/api/v1/event-map/points", params={**day, **params})
        assert r.status_code == 200, r.text
        return _ids(r.json()) & mine

    assert ids(source="hotline") == {cases["hotline"]}
    assert ids(source="hotline,patrol") == mine
    assert ids(status="accepted") == {cases["accepted"]}
    assert ids(status="reported,dispatched") == {cases["hotline"], cases["overdue"]}
    assert ids(**{"class": "04"}) == {cases["hotline"]}
    assert ids(**{"class": "0101"}) == {cases["accepted"], cases["overdue"]}
    assert ids(town=cases["towns"][0]) == {cases["hotline"], cases["accepted"]}
    assert ids(overdue="true") == {cases["overdue"]}
    assert ids(overdue="false") == {cases["hotline"], cases["accepted"]}
    assert ids(to="2026-03-05", **{"from": "2026-03-04"}) == set()
    assert ids(to="2026-03-02", **{"from": "2026-03-01"}) == set()


def test_rows_are_paged_with_names_in_the_request_language(client, cases) -> None:  # type: ignore[no-untyped-def]
    params = {"from": "2026-03-03", "to": "2026-03-03", "town": cases["towns"][0]}
    zh = client.get("/api/v1/event-map/rows", params=params).json()
    en = client.get("/api/v1/event-map/rows", params={**params, "lang": "en"}).json()
    by_id = {r["id"]: r for r in zh["data"]}
    assert by_id[cases["hotline"]]["subclass"] == "机动车违停"
    assert {r["id"]: r["subclass"] for r in en["data"]}[cases["hotline"]] == (
        "Illegally parked vehicle"
    )
    accepted = by_id[cases["accepted"]]
    assert accepted["status"] == "accepted" and accepted["source"] == "patrol"
    assert accepted["urgency"] == 0 and accepted["deadline_at"] is None
    # paging: one row a page, all of them once
    seen = []
    for offset in range(zh["count"]):
        page = client.get("/api/v1/event-map/rows", params={**params, "limit": 1,
                                                              "offset": offset}).json()  # fmt: skip
        assert page["count"] == zh["count"] and len(page["data"]) == 1
        seen.append(page["data"][0]["id"])
    assert sorted(seen) == sorted(by_id)
    header = client.get("/api/v1/event-map/rows", params=params,
                        headers={"Accept-Language": "en-GB,en;q=0.9"}).json()  # fmt: skip
    assert {r["id"]: r["subclass"] for r in header["data"]}[cases["accepted"]] == (
        "Exposed rubbish"
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"source": "radio"}, "source"),
        ({"class": "x1"}, "class"),
        ({"class": "011"}, "class"),
        ({"town": "3202"}, "town"),
        ({"town": "32028100１"}, "town"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-03-04", "to": "2026-03-01"}, "to"),
        ({"days": "0"}, "days"),
        ({"overdue": "maybe"}, "overdue"),
        ({"limit": "500"}, "limit"),
    ],
)
def test_bad_filters_name_their_field(client, params, field) -> None:  # type: ignore[no-untyped-def]
    for path in ("points", "rows"):
        r = client.get(f"/api/v1/event-map/{path}", params=params)
        if field == "limit" and path == "points":
            continue
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["field"] == field


def test_a_town_user_sees_only_its_town(live_server, engine, cases) -> None:  # type: ignore[no-untyped-def]
    town = cases["towns"][0]
    user = make_user(engine, "viewer", scope=f"town:{town}")
    token = make_token(engine, user["id"])["token"]
    with _as(live_server, token) as c:
        points = c.get("/api/v1/event-map/points", params={"from": "2026-03-03"}).json()
        assert cases["hotline"] in _ids(points) and cases["overdue"] not in _ids(points)
        rows = c.get("/api/v1/event-map/rows", params={"from": "2026-03-03", "limit": 200})
        assert all(r["grid_code"].startswith(town) for r in rows.json()["data"])
        # asking for another town gives nothing, never its events
        other = c.get("/api/v1/event-map/points", params={"town": cases["towns"][1]}).json()
        assert other["data"] == []


def test_anonymous_callers_are_refused(anon) -> None:  # type: ignore[no-untyped-def]
    for path in ("points", "rows"):
        assert anon.get(f"/api/v1/event-map/{path}").status_code == 401


def test_due_soon_is_urgency_one(client, engine, cases) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    soon = datetime.now(UTC) + timedelta(minutes=30)
    with engine.begin() as conn:  # a deadline half an hour away
        conn.execute(
            text("UPDATE event SET status = 'in_handling', deadline_at = :d WHERE id = :i"),
            {"d": soon, "i": cases["accepted"]},
        )
    try:
        rows = client.get("/api/v1/event-map/points", params={"from": "2026-03-03"}).json()
        assert {r[0]: r[4] for r in rows["data"]}[cases["accepted"]] == 1
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE event SET status = 'accepted', deadline_at = NULL WHERE id = :i"),
                {"i": cases["accepted"]},
            )


# --- the dictionary in English ----------------------------------------------------------------


def test_every_seed_class_and_subclass_has_an_english_name() -> None:
    assert set(CLASS_NAMES_EN) == {c for c, _ in CLASSES}
    assert set(SUBCLASS_NAMES_EN) == {row[0] for row in SUBCLASSES}
    for name in [*CLASS_NAMES_EN.values(), *SUBCLASS_NAMES_EN.values()]:
        assert name.strip() and not CJK.search(name) and len(name) <= 100


def test_dictionary_names_in_the_request_language(client) -> None:  # type: ignore[no-untyped-def]
    zh = client.get("/api/v1/event-dictionary").json()["data"]
    en = client.get("/api/v1/event-dictionary?lang=en").json()["data"]
    header = client.get(
        "/api/v1/event-dictionary", headers={"Accept-Language": "en-US,en;q=0.8"}
    ).json()["data"]
    assert en == header
    seed = {c for c, _ in CLASSES}
    for c_zh, c_en in zip(zh, en, strict=True):
        if c_zh["code"] not in seed:
            continue  # classes other tests made
        assert c_zh["name"] == c_zh["name_zh"] and CJK.search(c_zh["name"])
        assert c_en["name"] == CLASS_NAMES_EN[c_en["code"]] == c_en["name_en"]
        for s in c_en["subclasses"]:
            if s["code"] in SUBCLASS_NAMES_EN:
                assert s["name"] == SUBCLASS_NAMES_EN[s["code"]] and s["name_zh"]
    one = client.get("/api/v1/event-dictionary/subclasses/0304", params={"lang": "en"}).json()
    assert one["name"] == "Illegal building to demolish" and one["name_zh"] == "违法建设拆除"
    assert (
        client.get(
            "/api/v1/event-dictionary/subclasses/0304",
            headers={"Accept-Language": "zh-CN,en;q=0.5"},
        ).json()["name"]
        == "违法建设拆除"
    )


def test_dispatchers_set_english_names(live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    row = {"class_code": "06", "name": "共享单车乱停", "name_en": "Shared bikes left about",
           "accept_rule": "阻碍通行", "limit_value": 4, "limit_unit": "work_hours",
           "close_rule": "车辆规整", "department": "镇街"}  # fmt: skip
    with _as(live_server, tokens["dispatcher"]) as c:
        r = c.put("/api/v1/event-dictionary/subclasses/0688", json=row, params={"lang": "en"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "Shared bikes left about"
        # a replacement without name_en keeps the English name
        kept = c.put("/api/v1/event-dictionary/subclasses/0688",
                     json={k: v for k, v in row.items() if k != "name_en"})  # fmt: skip
        assert kept.json()["name_en"] == "Shared bikes left about"
        assert kept.json()["name"] == "共享单车乱停"
        too_long = c.put("/api/v1/event-dictionary/subclasses/0688",
                         json={**row, "name_en": "x" * 101})  # fmt: skip
        assert too_long.status_code == 422 and too_long.json()["field"] == "name_en"
        klass = c.put("/api/v1/event-dictionary/classes/06",
                      json={"name": "其他", "name_en": "Other"}, params={"lang": "en"})  # fmt: skip
        assert klass.status_code == 200 and klass.json()["name"] == "Other"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-GB,en;q=0.9,zh;q=0.8", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR,en;q=0.5,zh;q=0.7", "zh"),
        ("fr-FR", None),
        ("", None),
        ("en;q=0", None),
        ("en;q=abc,zh", "zh"),
    ],
)
def test_accept_language(header: str, lang: str | None) -> None:
    assert accept_language(header) == lang
