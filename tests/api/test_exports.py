"""Reports people read: Chinese headers with units by default (English with lang=en), durations
in hours, distances in km, shares in percent; formula-like text never becomes a formula in
CSV or XLSX (every export); the demo's households are plausible families."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date

import httpx
import openpyxl
import pytest

from api.exports import csv_bytes, csv_safe, xlsx_bytes
from tests.api.test_tracks_api import patrolled  # noqa: F401  (module fixture)

EVIL = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def test_csv_and_xlsx_writers_escape_formulas_and_keep_numbers() -> None:
    rows = [
        {"name": v, "mileage_m": 1234.0, "patrol_time_s": 5400, "own_grid_share": 0.5} for v in EVIL
    ] + [{"name": "王五", "mileage_m": -10.0, "patrol_time_s": None, "own_grid_share": None}]
    cols = ["name", "mileage_m", "patrol_time_s", "own_grid_share"]
    text = csv_bytes(rows, cols).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["名称", "里程(km)", "巡查时长(小时)", "责任网格内占比(%)"]
    assert [r[0] for r in table[1:-1]] == ["'" + v for v in EVIL]
    assert table[1][1:] == ["1.234", "1.5", "50.0"]
    assert table[-1] == ["王五", "-0.01", "", ""]  # a negative number stays a number
    en = list(csv.reader(io.StringIO(csv_bytes(rows, cols, lang="en").decode("utf-8-sig"))))
    assert en[0] == ["Name", "Mileage (km)", "Patrol time (h)", "Share in own grids (%)"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(rows, cols))).active
    for r, value in enumerate(EVIL, start=2):
        cell = sheet.cell(r, 1)
        # (XML stores a carriage return as a line feed)
        # the CSV rule in XLSX too: a leading ' (task S part 7), and a string cell
        assert cell.value == "'" + value.replace("\r", "\n") and cell.data_type == "s", value
    assert sheet.cell(2, 2).value == 1.234 and sheet.cell(len(EVIL) + 2, 2).value == -0.01
    assert csv_safe(-5) == -5 and csv_safe("a=b") == "a=b"


def test_booleans_read_as_words_in_every_column_and_format() -> None:
    """低于标准 and 缺岗 (and any other boolean column of any export) say 是/否 (yes/no in en),
    never True/False; a 0 or 1 stays a number."""
    rows = [
        {"name": "张三", "below": True, "absent": False, "extra_flag": True, "silences": 0},
        {"name": "李四", "below": False, "absent": True, "extra_flag": None, "silences": 1},
    ]
    zh = list(csv.reader(io.StringIO(csv_bytes(rows).decode("utf-8-sig"))))
    assert zh[0][:3] == ["名称", "低于标准", "缺岗"]
    assert zh[1] == ["张三", "是", "否", "是", "0"] and zh[2] == ["李四", "否", "是", "", "1"]
    en = list(csv.reader(io.StringIO(csv_bytes(rows, lang="en").decode("utf-8-sig"))))
    assert en[1][1:4] == ["yes", "no", "yes"] and en[2][1:3] == ["no", "yes"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(rows))).active
    assert [c.value for c in sheet[2]] == ["张三", "是", "否", "是", 0]
    assert "True" not in str([[c.value for c in r] for r in sheet.iter_rows()])


def test_what_a_row_is_about_comes_first() -> None:
    """Without explicit columns a download starts with the unit's code and name (then the
    period), whatever order the row's keys were built in."""
    rows = [
        {"reported": 3, "closed": 1, "key": "320281001", "bucket": "2026-11", "name": "澄江街道"}
    ]
    zh = list(csv.reader(io.StringIO(csv_bytes(rows).decode("utf-8-sig"))))
    assert zh[0] == ["单位", "名称", "时段", "上报数", "结案数"]
    assert zh[1] == ["320281001", "澄江街道", "2026-11", "3", "1"]


def test_patrol_export_headers_in_chinese_or_english(client) -> None:
    day = date.today().isoformat()
    zh = client.get("/api/v1/patrol/daily", params={"date": day, "format": "csv"})
    assert zh.status_code == 200, zh.text
    header = next(csv.reader(io.StringIO(zh.text.lstrip("\ufeff"))))
    assert {"日期", "里程(km)", "巡查时长(小时)", "停留时长(小时)", "责任网格内占比(%)"} <= set(
        header
    )
    en = client.get("/api/v1/patrol/daily", params={"date": day, "format": "xlsx", "lang": "en"})
    sheet = openpyxl.load_workbook(io.BytesIO(en.content)).active
    names = [c.value for c in sheet[1]]
    assert "Mileage (km)" in names and "Patrol time (h)" in names


def test_kpi_export_of_a_formula_like_department(live_server, tokens, demo_grids) -> None:
    """A department named like a formula, through the dictionary, a case and the KPI export."""
    evil = f'=HYPERLINK("http://evil.example/{secrets.token_hex(2)}","点我")'
    code = "06" + str(50 + secrets.randbelow(40))
    row = {
        "class_code": "06",
        "name": "公式测试",
        "accept_rule": "a",
        "limit_value": 4,
        "limit_unit": "work_hours",
        "close_rule": "c",
        "department": evil,
    }
    l3 = demo_grids[demo_grids.level == 3].iloc[300]
    p = l3.geometry.representative_point()
    with _as(live_server, tokens["dispatcher"]) as dispatcher:
        r = dispatcher.put(f"/api/v1/event-dictionary/subclasses/{code}", json=row)
        assert r.status_code == 200, r.text
        r = dispatcher.post(
            "/api/v1/events",
            json={
                "lon": p.x,
                "lat": p.y,
                "subclass": code,
                "description": "formula test",
                "ignore_duplicates": True,
            },
        )
        assert r.status_code == 201, r.text
        params = {"by": "department", "from": "2020-01-01", "to": "2100-01-01"}
        text = dispatcher.get("/api/v1/kpis", params=params | {"format": "csv"}).text
        assert "'" + evil.replace('"', '""') in text
        assert "\n" + evil not in text and "," + evil not in text
        book = dispatcher.get("/api/v1/kpis", params=params | {"format": "xlsx", "lang": "en"})
        sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
        assert sheet.cell(1, 1).value == "Unit" and sheet.cell(1, 2).value == "Name"
        header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert header[:2] == ["单位", "名称"], header  # the unit's code and name first
        found = [c for c in sheet["A"] if c.value == "'" + evil]  # escaped as in CSV
        assert found and found[0].data_type == "s"
        r = dispatcher.post(
            "/api/v1/locate",
            content="id,lon,lat\n=cmd|' /C calc'!A0,120.28,31.9\n",
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert "\n'=cmd|" in r.text.replace("\r\n", "\n")


def test_demo_households_are_plausible(demo_grids) -> None:
    from gis.demohouseholds import RELATION_AGE, synthesize_households

    units = demo_grids[demo_grids.level == 3]
    frame = synthesize_households(units.geometry.values, list(units["name"]), 5000, 7)
    assert (frame.members_count == frame.members.map(len) + 1).all()
    alone = frame[frame.elderly_alone]
    assert len(alone) > 50
    assert (alone.members_count == 1).all()
    head_year = frame.head_id_number.str[6:10].astype(int)
    assert (2026 - head_year[frame.elderly_alone] >= 65).all()
    assert (2026 - head_year).between(25, 90).all()
    for year, members in zip(head_year, frame.members, strict=True):
        relations = [m["relation"] for m in members]
        assert relations.count("配偶") <= 1 and relations.count("父亲") <= 1
        for m in members:
            lo, hi = RELATION_AGE[m["relation"]]
            assert year + lo <= m["birth_year"] <= min(year + hi, 2026), (year, m)
            assert 2026 - m["birth_year"] <= 100


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_format_is_refused_whatever_the_lang(client, lang) -> None:
    r = client.get(
        "/api/v1/patrol/daily", params={"date": "2026-03-02", "format": "pdf", "lang": lang}
    )
    assert r.status_code == 422 and r.json()["field"] == "format"


@pytest.mark.browser
def test_playback_times_are_shanghai_whatever_the_browser_zone(
    browser,
    live_server,
    tokens,
    patrolled,  # noqa: F811
) -> None:
    """A browser in New York shows the replay clock in Asia/Shanghai (the fixes' own day)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from tests.api.test_tracks_api import DAY
    from tests.e2e.conftest import wait_until

    context = browser.new_context(timezone_id="America/New_York")
    page = context.new_page()
    try:
        path = (
            f"/playback?device={patrolled.id}&from={DAY.date().isoformat()}"
            f"&to={(DAY + timedelta(days=1)).date().isoformat()}"
        )
        page.goto(f"{live_server}{path}")
        token_login = page.locator("details.token-login > summary")
        if token_login.count():
            token_login.click()
        page.fill("#token", tokens["viewer"])
        page.click("#token ~ button[type=submit]")
        wait_until(page, "window.gridgisPlayback && window.gridgisPlayback.ready", timeout=60_000)
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == (
            "America/New_York"
        )
        t_ms = page.evaluate("window.gridgisPlayback.t")
        shown = page.inner_text("#gg-clock")
        local = datetime.fromtimestamp(t_ms / 1000, ZoneInfo("Asia/Shanghai"))
        assert shown == local.strftime("%Y-%m-%d %H:%M:%S"), shown  # GridGIS.dateTime's form
        assert local.date() == DAY.date()
    finally:
        context.close()
