"""The working calendar as data: seeded years, an admin's import (JSON, CSV, XLSX, CLI),
unconfirmed deadlines in years without a table, and their recomputation (case 09)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from gis.crs import Datum, from_cgcs2000
from layers.calendar_tables import DayRow, check_year, day_name, parse_table, rows_from_records
from layers.workcal import CalendarTables, WorkCalendar, current_tables, set_tables

SH = ZoneInfo("Asia/Shanghai")
PROJECT_DIR = Path(__file__).resolve().parents[2]
CASES = PROJECT_DIR.parent / "shared" / "cases" / "clients"
# The 2027 notice as an admin would type it (a row per listed day; New Year's Day is Friday).
TABLE_2027 = [
    ("2027-01-01", "holiday", "元旦"),
    ("2027-02-06", "holiday", "春节"), ("2027-02-07", "holiday", "春节"),
    ("2027-02-08", "holiday", "春节"), ("2027-02-09", "holiday", "春节"),
    ("2027-02-10", "holiday", "春节"), ("2027-02-11", "holiday", "春节"),
    ("2027-02-12", "holiday", "春节"), ("2027-02-13", "holiday", "春节"),
    ("2027-02-14", "workday", "春节"), ("2027-02-20", "workday", "春节"),
    ("2027-10-01", "holiday", "国庆节"),
]  # fmt: skip


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {token}"},
                        timeout=60)  # fmt: skip


@pytest.fixture
def admin(live_server, tokens):  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["admin"]) as c:
        yield c


@pytest.fixture
def place(demo_grids):  # type: ignore[no-untyped-def]
    l3 = demo_grids[demo_grids.level == 3].iloc[40]
    p = l3.geometry.representative_point()
    return {"lon": p.x, "lat": p.y}


def _dispatched_case(admin: httpx.Client, place: dict, start_local: str) -> int:  # type: ignore[type-arg]
    """A 1 work-day case (0102) dispatched at ``start_local`` (an admin dates the steps; the
    report is dated now, or an hour before when that is already past)."""
    start = datetime.fromisoformat(start_local).replace(tzinfo=SH)
    reported = min(datetime.now(SH) - timedelta(minutes=1), start - timedelta(hours=1))
    r = admin.post("/api/v1/events", json={
        "lon": place["lon"], "lat": place["lat"], "subclass": "0102",
        "description": "积存渣土 calendar test", "ignore_duplicates": True,
        "reported_at": reported.isoformat(),
    })  # fmt: skip
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    for action, at in (("accept", start - timedelta(minutes=30)), ("dispatch", start)):
        r = admin.post(
            f"/api/v1/events/{eid}/actions", json={"action": action, "at": at.isoformat()}
        )
        assert r.status_code == 200, r.text
    return int(eid)


def test_case_09_new_year_2027_unconfirmed_then_recomputed(admin, client, place) -> None:
    """Case 09: dispatched 2026-12-31 10:00 with 1 work-day is not due on 2027-01-01."""
    assert admin.get("/api/v1/calendar/2027").status_code == 404, "2027 must start unloaded"
    eid = _dispatched_case(admin, place, "2026-12-31 10:00")
    before = admin.get(f"/api/v1/events/{eid}").json()
    assert before["deadline_at"].startswith("2027-01-01T09:30")  # 17:30 +08, Monday-Friday
    assert before["calendar_unconfirmed"] is True
    assert before["calendar_unconfirmed_years"] == [2027]
    assert 2027 in client.get("/health").json()["calendar_unconfirmed_years"]
    assert 2027 in client.get("/api/v1/calendar").json()["unconfirmed_years"]

    body = {"days": [{"date": d, "kind": k, "name": n} for d, k, n in TABLE_2027],
            "source": "国办发明电〔2026〕 test notice"}  # fmt: skip
    assert client.put("/api/v1/calendar/2027", json=body).status_code == 403
    r = admin.put("/api/v1/calendar/2027", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["holidays"] == 10 and r.json()["workdays"] == 2
    assert r.json()["recomputed"] >= 1

    after = admin.get(f"/api/v1/events/{eid}").json()
    due = datetime.fromisoformat(after["deadline_at"]).astimezone(SH)
    assert due.date().isoformat() == "2027-01-04" and due.strftime("%H:%M") == "17:30"
    assert after["calendar_unconfirmed"] is False
    assert any(step["action"] == "recalendar" for step in after["timeline"]), after
    assert 2027 not in client.get("/health").json()["calendar_unconfirmed_years"]
    table = client.get("/api/v1/calendar/2027").json()
    assert {"date": "2027-01-01", "kind": "holiday", "name": "元旦", "weekday": 5} in table["days"]

    # Every row of the case file, on the tables as now loaded (the package's 2026 included).
    if not CASES.joinpath("09-calendar-2027.csv").is_file():
        pytest.skip(f"case file absent: {CASES}/09-calendar-2027.csv")
    saved = current_tables()
    try:
        years = {2026: "package"}
        from chinese_calendar import constants

        days = {d: False for d in constants.holidays if d.year == 2026}
        days |= {d: True for d in constants.workdays if d.year == 2026}
        days |= {datetime.fromisoformat(d).date(): k == "workday" for d, k, _ in TABLE_2027}
        set_tables(CalendarTables(years=frozenset(years) | {2027}, days=days))
        cal = WorkCalendar()
        with CASES.joinpath("09-calendar-2027.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                start = datetime.fromisoformat(row["start_local"]).replace(tzinfo=SH)
                got = cal.deadline(start, int(row["limit"]), row["unit"]).astimezone(SH).date()
                right = row["right_due_at_the_earliest"]
                if right[:4].isdigit():
                    assert got.isoformat() == right[:10], row
                else:  # "after the 2027-01-01 holiday"
                    assert got.isoformat() > "2027-01-01" and cal.is_working_day(got), row
                    wrong = row["wrong_due_today"][:10]
                    assert got.isoformat() != wrong
    finally:
        set_tables(saved)


def test_year_without_table_is_monday_to_friday_and_named() -> None:
    saved = current_tables()
    try:
        set_tables(CalendarTables(years=frozenset({2026}), days={}))
        cal = WorkCalendar()
        start = datetime(2026, 12, 31, 10, tzinfo=SH)
        due = cal.deadline(start, 1, "work_days").astimezone(SH)
        assert due.date().isoformat() == "2027-01-01"
        assert cal.unconfirmed_years(start, due) == [2027]
        assert cal.unconfirmed_years(start, start) == []
    finally:
        set_tables(saved)


def test_import_files_and_bad_tables(admin, tokens, live_server) -> None:
    rows = [("日期", "类型", "名称"), ("2031-01-01", "休", "元旦"), ("2031-01-04", "班", "元旦")]
    text = "\n".join(",".join(r) for r in rows)
    r = admin.put("/api/v1/calendar/2031", content=text.encode("gb18030"),
                  headers={"Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["holidays"], r.json()["workdays"]) == (1, 1)
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["date", "kind", "name"])
    ws.append([datetime(2032, 1, 1), "holiday", "New Year"])
    buf = io.BytesIO()
    book.save(buf)
    r = admin.put(
        "/api/v1/calendar/2032",
        content=buf.getvalue(),
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )
    assert r.status_code == 200, r.text
    assert admin.get("/api/v1/calendar/2032").json()["days"][0]["name"] == "New Year"
    for body, field in [
        ({"days": [{"date": "2033-01-01", "kind": "holiday"}]}, "date"),  # not the path's year
        ({"days": [{"date": "2031-01-01", "kind": "maybe"}]}, "kind"),
        ({"days": [{"date": "someday", "kind": "holiday"}]}, "date"),
        ({"days": "all of them"}, "days"),
        ({"days": [{"date": "2031-01-04", "kind": "workday"}]}, "kind"),  # no holiday at all
    ]:
        r = admin.put("/api/v1/calendar/2031", json=body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == field, r.json()
    assert admin.put("/api/v1/calendar/1800", json={"days": []}).status_code == 422
    assert admin.get("/api/v1/calendar/2199").status_code == 404
    # The failed imports left 2031 as loaded before.
    assert len(admin.get("/api/v1/calendar/2031").json()["days"]) == 2


def test_seeded_years_and_the_page(admin, client, live_server) -> None:
    years = {y["year"] for y in client.get("/api/v1/calendar").json()["data"]}
    assert {2004, 2020, 2026} <= years
    day = client.get("/api/v1/calendar/2026").json()["days"]
    assert {"date": "2026-02-14", "kind": "workday"}.items() <= next(
        d for d in day if d["date"] == "2026-02-14").items()  # fmt: skip
    for lang, words in (("zh", "工作日历"), ("en", "Working calendar")):
        r = client.get("/calendar", params={"year": 2026, "lang": lang})
        assert r.status_code == 200 and words in r.text
        assert "2026-10-01" in r.text and "<script" not in r.text
        assert 'class="gridgis-nav"' in r.text and 'href="/map' in r.text  # the shared bar
    zh = client.get("/calendar", params={"year": 2026}).text
    assert "春节" in zh and "国庆节" in zh and "元旦" in zh
    assert "Spring Festival" not in zh and "National Day" not in zh  # names in Chinese
    en = client.get("/calendar", params={"year": 2026, "lang": "en"}).text
    assert "Spring Festival" in en and "春节" not in en
    with httpx.Client(base_url=live_server) as anon:
        assert anon.get("/calendar", follow_redirects=False).status_code in (302, 303, 307)


def test_cli_import(engine, database_url, tmp_path, monkeypatch) -> None:
    from api.cli import app

    path = tmp_path / "2035.csv"
    path.write_text("date,kind,name\n2035-01-01,holiday,元旦\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["calendar", "import", str(path), "--commit"])
    assert result.exit_code == 0, result.output
    assert "2035" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n2035-01-01,holiday\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["calendar", "import", str(bad)])
    assert result.exit_code == 1 and "date" in result.output


def test_parse_helpers() -> None:
    assert day_name("Spring Festival") == "春节" and day_name("春节", "en") == "Spring Festival"
    assert day_name("Mid-autumn Festival", "zh") == "中秋" and day_name("调休", "en") == "调休"
    rows = parse_table("\ufeffdate,kind,name\n2040-01-01,holiday,元旦\n".encode())
    assert rows == [DayRow(datetime(2040, 1, 1).date(), "holiday", "元旦")]
    assert check_year(rows) == 2040
    assert rows_from_records([["date", "kind"], ["2040/01/02", "放假"]])[0].kind == "holiday"
    _ = Datum, from_cgcs2000


@pytest.mark.browser
def test_events_map_popup_says_the_deadline_is_unconfirmed(
    browser, live_server, tokens, admin, place
) -> None:
    """A case whose deadline runs years ahead (past the loaded tables) says so on the map."""
    from tests.e2e.conftest import open_logged_in

    row = {
        "class_code": "06",
        "name": "长期整改",
        "accept_rule": "a",
        "limit_value": 1000,
        "limit_unit": "work_days",
        "close_rule": "c",
        "department": "市城管局",
    }
    assert admin.put("/api/v1/event-dictionary/subclasses/0699", json=row).status_code == 200
    r = admin.post(
        "/api/v1/events",
        json={
            "lon": place["lon"],
            "lat": place["lat"],
            "subclass": "0699",
            "description": "长期整改",
            "ignore_duplicates": True,
        },
    )
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    for action in ("accept", "dispatch"):
        assert admin.post(f"/api/v1/events/{eid}/actions", json={"action": action}).is_success
    case = admin.get(f"/api/v1/events/{eid}").json()
    assert case["calendar_unconfirmed"] is True and case["calendar_unconfirmed_years"]
    page, _seen = open_logged_in(
        browser,
        live_server,
        tokens["viewer"],
        "/events/map",
        "window.gridgisEventsReady !== undefined",
    )
    try:
        page.evaluate(
            """id => { const m = window.gridgisEventMarkers.find(x => x.gridgisId === id);
                       window.gridgisEventsMap.setView(m.getLatLng(), 18, {animate: false});
                       setTimeout(() => m.openPopup(), 300); }""",
            eid,
        )
        page.wait_for_selector(".gridgis-event-unconfirmed", timeout=30_000)
        text = page.inner_text(".gridgis-event-unconfirmed")
        assert "期限待确认" in text and str(case["calendar_unconfirmed_years"][-1]) in text
    finally:
        page.context.close()
