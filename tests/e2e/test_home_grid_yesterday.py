"""The front page's grid panel links to the officers who patrolled the grid yesterday, beside
today's link (issue 15, fault 5 of the last trial): the link names yesterday's day in its
address, counts the officers the panel's coverage counts (the day's whole-day coverage run) and
/playback lists exactly those officers (GET /api/v1/patrol/visits, layers/patrol_visits.py);
zh and en, headless Chromium at 1920×1080."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from layers.workcal import SHANGHAI
from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_home_page import _wait_selected, open_home
from tests.tracks_support import CITY_LAT, CITY_LON, make_device, run_coverage, send_fixes

pytestmark = pytest.mark.browser

NAME = "昨日巡查员"
LON = CITY_LON + 0.004


@pytest.fixture(scope="module")
def walked_yesterday(engine, live_server, tokens) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An officer who walked 10 minutes yesterday at 10:00 (Asia/Shanghai) in one unit grid,
    and yesterday's whole-day coverage run."""
    day = datetime.now(SHANGHAI).date() - timedelta(days=1)
    start = datetime.combine(day, time(10, 0), tzinfo=SHANGHAI).astimezone(UTC)
    device = make_device(engine, name=NAME)
    fixes = [
        {"time": (start + timedelta(seconds=5 * i)).isoformat(),
         "lon": LON + i / 200_000.0, "lat": CITY_LAT, "accuracy_m": 5.0}
        for i in range(120)
    ]  # fmt: skip
    send_fixes(live_server, device, fixes)
    run_coverage(live_server, tokens["planner"], date=day.isoformat())
    auth = {"Authorization": f"Bearer {tokens['planner']}"}
    located = httpx.get(
        f"{live_server}/api/v1/locate", params={"lon": LON, "lat": CITY_LAT},
        headers=auth, timeout=60,
    ).json()  # fmt: skip
    return {"day": day.isoformat(), "code": located["l3"]["code"]}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_grid_panel_links_to_who_patrolled_it_yesterday(
    browser, live_server, tokens, walked_yesterday, lang
) -> None:  # type: ignore[no-untyped-def]
    code, day = walked_yesterday["code"], walked_yesterday["day"]
    suffix = "&lang=en" if lang == "en" else ""
    page, seen = open_home(browser, live_server, tokens["viewer"], f"/?sel={code}{suffix}")
    try:
        _wait_selected(page, code)
        links = page.locator("#panel-selection a.gridgis-patrolled-link")
        assert links.count() == 2  # today's and yesterday's
        link = page.locator("#panel-selection a.gridgis-patrolled-yesterday")
        assert link.get_attribute("href") == f"/playback?grid={code}&date={day}" + suffix
        text = link.inner_text()
        assert ("yesterday" in text) if lang == "en" else ("昨天" in text), text
        counted = int(re.search(r"(\d+) (?:人|officers)", text).group(1))  # type: ignore[union-attr]
        assert counted >= 1
        link.click()
        wait_until(page, "document.querySelectorAll('#gg-who-list button').length > 0", 60_000)
        listed = page.locator("#gg-who-list button").all_inner_texts()
        assert any(NAME in t for t in listed), listed
        assert len(listed) == counted, (listed, text)  # the officers the panel counts
        assert day in page.inner_text("#gg-who-list")
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
