"""Issue 14 (calendar, trial findings): the ``calendar_unconfirmed`` flag follows the tables at
once in every server process (a year loaded by another process is used on the very next
request), the event list carries the flag as the case does, ``gridgis calendar import`` is a
dry run without ``--commit``, and a bad table is refused with every bad row listed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from layers.workcal import CalendarTables

SH = ZoneInfo("Asia/Shanghai")
EMPTY = CalendarTables(frozenset(), {})


@pytest.fixture
def admin(live_server, tokens):  # type: ignore[no-untyped-def]
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=60
    ) as c:
        yield c


@pytest.fixture
def place(demo_grids):  # type: ignore[no-untyped-def]
    p = demo_grids[demo_grids.level == 3].iloc[41].geometry.representative_point()
    return {"lon": p.x, "lat": p.y}


def _case_dispatched_at(admin: httpx.Client, place: dict, start_local: str) -> int:  # type: ignore[type-arg]
    start = datetime.fromisoformat(start_local).replace(tzinfo=SH)
    r = admin.post("/api/v1/events", json={
        "lon": place["lon"], "lat": place["lat"], "subclass": "0102",
        "description": "积存渣土 calendar follow test", "ignore_duplicates": True,
        "reported_at": (datetime.now(SH) - timedelta(minutes=1)).isoformat(),
    })  # fmt: skip
    assert r.status_code == 201, r.text
    eid = int(r.json()["id"])
    for action, at in (("accept", start - timedelta(minutes=30)), ("dispatch", start)):
        r = admin.post(
            f"/api/v1/events/{eid}/actions", json={"action": action, "at": at.isoformat()}
        )
        assert r.status_code == 200, r.text
    return eid


def _years_by_sql(engine: Engine, years: list[int], *, drop: bool = False) -> None:
    """As another server process would (its commit NOTIFYs; the answer must not wait for it)."""
    with engine.begin() as conn:
        for y in years:
            conn.execute(text("DELETE FROM calendar_year WHERE year = :y"), {"y": y})
            if not drop:
                conn.execute(text("INSERT INTO calendar_year (year, source, loaded_by) "
                                  "VALUES (:y, 'other process', 'test')"), {"y": y})  # fmt: skip
                conn.execute(text("INSERT INTO calendar_day (day, year, kind, name) "
                                  "VALUES (:d, :y, 'holiday', '元旦')"),
                             {"d": f"{y}-01-01", "y": y})  # fmt: skip


def _row(admin: httpx.Client, eid: int) -> dict:  # type: ignore[type-arg]
    rows = admin.get("/api/v1/event-map/rows", params={"limit": 200, "days": 3660}).json()["data"]
    return next(r for r in rows if r["id"] == eid)


def test_flag_follows_a_year_loaded_elsewhere_at_once_case_and_list(admin, engine, place) -> None:
    years = [2093, 2094]
    _years_by_sql(engine, years, drop=True)
    eid = _case_dispatched_at(admin, place, "2093-12-31 10:00")
    try:
        case = admin.get(f"/api/v1/events/{eid}").json()
        assert case["calendar_unconfirmed"] is True and case["calendar_unconfirmed_years"] == years
        row = _row(admin, eid)
        assert row["calendar_unconfirmed"] is True and row["calendar_unconfirmed_years"] == years
        assert row["deadline_at"] == case["deadline_at"]

        _years_by_sql(engine, years)  # loaded by another process: no wait for its NOTIFY
        assert admin.get(f"/api/v1/events/{eid}").json()["calendar_unconfirmed"] is False
        row = _row(admin, eid)
        assert row["calendar_unconfirmed"] is False and row["calendar_unconfirmed_years"] == []

        _years_by_sql(engine, [2094], drop=True)  # and removed again: unconfirmed at once
        assert admin.get(f"/api/v1/events/{eid}").json()["calendar_unconfirmed_years"] == [2094]
        assert _row(admin, eid)["calendar_unconfirmed_years"] == [2094]
    finally:
        _years_by_sql(engine, years, drop=True)


def test_list_row_without_deadline_is_not_unconfirmed(admin, place) -> None:
    r = admin.post("/api/v1/events", json={
        "lon": place["lon"], "lat": place["lat"], "subclass": "0102",
        "description": "no deadline yet", "ignore_duplicates": True,
    })  # fmt: skip
    assert r.status_code == 201, r.text
    row = _row(admin, int(r.json()["id"]))
    assert row["deadline_at"] is None
    assert row["calendar_unconfirmed"] is False and row["calendar_unconfirmed_years"] == []


def test_cli_import_is_a_dry_run_without_commit(
    engine, database_url, tmp_path, monkeypatch
) -> None:
    from api.cli import app
    from layers.workcal import current_tables

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM calendar_year WHERE year = 2037"))
    path = tmp_path / "2037.csv"
    path.write_text(
        "date,kind,name\n2037-01-01,holiday,元旦\n2037-01-04,workday,元旦\n", encoding="utf-8"
    )
    monkeypatch.setenv("DATABASE_URL", database_url)
    before = current_tables()
    result = CliRunner().invoke(app, ["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "--commit" in result.output
    assert "2037-01-01" in result.output and "holiday" in result.output  # what would change
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM calendar_year WHERE year = 2037")) == 0
    assert 2037 not in (current_tables() or before or EMPTY).years  # nor in this process

    result = CliRunner().invoke(app, ["calendar", "import", str(path), "--commit"])
    assert result.exit_code == 0, result.output
    assert "dry run" not in result.output and "stored" in result.output
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM calendar_day WHERE year = 2037")) == 2
    # the same file again: a dry run shows no change
    result = CliRunner().invoke(app, ["calendar", "import", str(path)])
    assert result.exit_code == 0 and "no day changes" in result.output
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM calendar_year WHERE year = 2037"))


def test_cli_lists_every_bad_row(database_url, tmp_path, monkeypatch) -> None:
    from api.cli import app

    bad = tmp_path / "bad.csv"
    lines = ["date,kind,name"] + [f"2038-02-{d:02d},maybe,x" for d in range(1, 9)]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["calendar", "import", str(bad)])
    assert result.exit_code == 1
    assert "8 bad row(s)" in result.output
    for row in range(2, 10):
        assert f"row {row}:" in result.output, result.output


def test_api_refusal_lists_every_bad_row_bounded(admin) -> None:
    days = [{"date": f"2039-01-{d:02d}", "kind": "maybe"} for d in range(1, 4)]
    days += [{"date": "someday", "kind": "holiday"}, {"date": "2040-01-01", "kind": "holiday"}]
    r = admin.put("/api/v1/calendar/2039", json={"days": days})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "kind" and body["problem_count"] == 4  # the rows' own errors first
    assert [p["row"] for p in body["problems"]] == [2, 3, 4, 5]
    assert "4 bad row(s)" in body["detail"]
    many = [{"date": f"2039-{1 + d // 28:02d}-{1 + d % 28:02d}", "kind": "x"} for d in range(80)]
    r = admin.put("/api/v1/calendar/2039", json={"days": many})
    assert r.status_code == 422
    assert r.json()["problem_count"] == 80 and len(r.json()["problems"]) == 50
    assert "(and 75 more)" in r.json()["detail"]
    # rows all good but two outside the year and a twice-listed day: all three named
    days = [{"date": d, "kind": "holiday"} for d in ("2039-01-01", "2039-01-01", "2040-01-01",
                                                     "2041-01-01")]  # fmt: skip
    r = admin.put("/api/v1/calendar/2039", json={"days": days})
    assert r.status_code == 422 and r.json()["problem_count"] == 3, r.text
    assert admin.get("/api/v1/calendar/2039").status_code == 404  # nothing stored


@pytest.mark.browser
def test_event_list_says_the_deadline_is_unconfirmed(
    browser, live_server, tokens, admin, place
) -> None:
    """The list beside the events map marks the row as the popup does."""
    from tests.e2e.conftest import open_logged_in

    row = {"class_code": "06", "name": "长期整改", "accept_rule": "a", "limit_value": 1000,
           "limit_unit": "work_days", "close_rule": "c", "department": "市城管局"}  # fmt: skip
    assert admin.put("/api/v1/event-dictionary/subclasses/0699", json=row).status_code == 200
    r = admin.post("/api/v1/events", json={
        "lon": place["lon"], "lat": place["lat"], "subclass": "0699",
        "description": "长期整改 list test", "ignore_duplicates": True,
    })  # fmt: skip
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    for action in ("accept", "dispatch"):
        assert admin.post(f"/api/v1/events/{eid}/actions", json={"action": action}).is_success
    years = admin.get(f"/api/v1/events/{eid}").json()["calendar_unconfirmed_years"]
    assert years
    page, _seen = open_logged_in(
        browser,
        live_server,
        tokens["viewer"],
        "/events/map",
        "window.gridgisEventsReady !== undefined",
    )
    try:
        item = f'#events-list li[data-id="{eid}"] .gridgis-event-unconfirmed'
        page.wait_for_selector(item, timeout=30_000)
        text = page.inner_text(item)
        assert "期限待确认" in text and str(years[-1]) in text
    finally:
        page.context.close()
