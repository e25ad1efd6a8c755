"""The working calendar is never stale: a year's table loaded or removed by this process, by
another server process or by SQL (``gridgis calendar import``, psql) is used at once by every
process, through ``NOTIFY gridgis_calendar`` (migration 0025) and the change listener, and by
``/health`` on the very request after the commit."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, text

from layers.calendar_tables import ensure_loaded, invalidate
from layers.db import make_sessionmaker
from layers.workcal import current_tables

LONG = {
    "class_code": "06", "name": "长期整改", "accept_rule": "a", "limit_value": 1000,
    "limit_unit": "work_days", "close_rule": "c", "department": "市城管局",
}  # fmt: skip


@pytest.fixture
def admin(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=60
    ) as c:
        yield c


def _conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _load_year_by_sql(engine: Engine, year: int) -> None:
    """As another server process or a DBA would: straight into the tables."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO calendar_year (year, source, loaded_by) VALUES (:y, 'sql', 'test')"),
            {"y": year},
        )
        conn.execute(
            text(
                "INSERT INTO calendar_day (day, year, kind, name) "
                "VALUES (:d, :y, 'holiday', '元旦')"
            ),
            {"d": f"{year}-01-01", "y": year},
        )


def _drop_year(engine: Engine, year: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM calendar_year WHERE year = :y"), {"y": year})


def test_any_change_of_the_tables_is_notified(engine: Engine) -> None:
    year = 2091
    _drop_year(engine, year)
    with psycopg.connect(_conninfo(engine), autocommit=True) as listener:
        listener.execute('LISTEN "gridgis_calendar"')
        try:
            _load_year_by_sql(engine, year)
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE calendar_day SET name = '新年' WHERE year = :y"), {"y": year}
                )
        finally:
            _drop_year(engine, year)  # the CASCADE deletes its days: both tables notify
        got = set()
        for note in listener.notifies(timeout=10, stop_after=5):
            got.add((note.channel, note.payload))
            if len(got) == 2:
                break
    assert got == {("gridgis_calendar", "calendar_year"), ("gridgis_calendar", "calendar_day")}


def test_the_listener_drops_this_process_copy(engine: Engine) -> None:
    """What a notification does in a server process: the next use reads the tables again,
    however recently they were read (never the 60 s re-check)."""
    year = 2092
    _drop_year(engine, year)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        assert year not in ensure_loaded(session).years
        _load_year_by_sql(engine, year)
        try:
            invalidate("calendar_year")  # the handler of NOTIFY gridgis_calendar
            assert year in ensure_loaded(session).years
        finally:
            _drop_year(engine, year)
        invalidate("calendar_year")
        assert year not in ensure_loaded(session).years
        assert current_tables() is not None


def test_a_year_loaded_elsewhere_is_used_at_once(
    engine: Engine, admin, live_server, demo_grids
) -> None:  # type: ignore[no-untyped-def]
    """A case whose deadline runs into years without a table; another process loads the last
    of them: /health stops listing it on the very next request, and the case's
    ``calendar_unconfirmed_years`` drops it as soon as the notification arrives."""
    l3 = demo_grids[demo_grids.level == 3].iloc[41]
    p = l3.geometry.representative_point()
    assert admin.put("/api/v1/event-dictionary/subclasses/0699", json=LONG).status_code == 200
    r = admin.post("/api/v1/events", json={"lon": p.x, "lat": p.y, "subclass": "0699",
                   "description": "日历通知", "ignore_duplicates": True})  # fmt: skip
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    for action in ("accept", "dispatch"):
        assert admin.post(f"/api/v1/events/{eid}/actions", json={"action": action}).is_success
    years = admin.get(f"/api/v1/events/{eid}").json()["calendar_unconfirmed_years"]
    assert years, "the case must run into a year without a table"
    year = years[-1]
    assert year in admin.get("/health").json()["calendar_unconfirmed_years"]
    _load_year_by_sql(engine, year)
    try:
        assert year not in admin.get("/health").json()["calendar_unconfirmed_years"]
        # NOTIFY is delivered on commit; heard within milliseconds (generous bound for a busy
        # machine), never the 60 s re-check
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            case = admin.get(f"/api/v1/events/{eid}").json()
            if year not in case["calendar_unconfirmed_years"]:
                break
            time.sleep(0.05)
        assert year not in case["calendar_unconfirmed_years"], case
    finally:
        _drop_year(engine, year)
    assert year in admin.get("/health").json()["calendar_unconfirmed_years"]
    admin.post(f"/api/v1/events/{eid}/actions", json={"action": "cancel"})
