"""The front page at 1920×1080 with every map layer on (issue 15, review r15): in the normal
layout and in big-screen mode (?screen=big), zh and en, city and a town with many villages,
every panel's content is on the screen: no element of a panel lies outside its panel or the
viewport, no panel body is cut (scrollHeight <= clientHeight: a long list loses its last rows and
says how many it left out, it never scrolls or cuts a row), the coverage figures, mileage and
patrol time are shown, and the KPI ranking shows rows. Screenshots test-artifacts/home_fit_*.png."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from layers.workcal import SHANGHAI
from tests.e2e.conftest import wait_until
from tests.e2e.home_support import PROBLEMS, open_home_at, settle
from tests.e2e.test_home_page import PANELS
from tests.tracks_support import CITY_LAT, CITY_LON, make_device, run_coverage, send_fixes

pytestmark = pytest.mark.browser

NAMES = ("欧阳晓明", "司马长风", "诸葛明亮", "上官婉儿", "慕容复", "东方红日", "令狐冲")


@pytest.fixture(scope="module")
def patrolled_today(engine, demo_grids, live_server, tokens) -> str:  # type: ignore[no-untyped-def]
    """Seven officers who walked 10 minutes each early today (yesterday before 01:00) and are
    silent since (the offline list), and the whole-day coverage run of that day (the coverage,
    mileage, patrol time and worst grids of the patrols panel)."""
    now = datetime.now(SHANGHAI)
    day = now.date() if now.time() >= time(1, 0) else now.date() - timedelta(days=1)
    start = datetime.combine(day, time(0, 5), tzinfo=SHANGHAI).astimezone(UTC)
    for k, name in enumerate(NAMES):
        device = make_device(engine, name=name)
        fixes = [
            {"time": (start + timedelta(seconds=5 * i)).isoformat(),
             "lon": CITY_LON + (k * 300 + i * 4) / 94_500.0, "lat": CITY_LAT, "accuracy_m": 5.0}
            for i in range(120)
        ]  # fmt: skip
        send_fixes(live_server, device, fixes)
    run_coverage(live_server, tokens["planner"], date=day.isoformat())
    return day.isoformat()


@pytest.mark.parametrize("big", [True, False], ids=["big", "normal"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_panel_fits_with_every_layer_on(
    browser, live_server, tokens, demo_grids, artifacts, patrolled_today, lang, big
) -> None:  # type: ignore[no-untyped-def]
    towns = demo_grids[demo_grids.level == 1]
    villages = demo_grids[demo_grids.level == 2]
    town = max(towns.code, key=lambda c: int((villages.parent_code == c).sum()))
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=big, layers=True)
    try:
        wait_until(
            page, "document.querySelectorAll('.home-legend .legend-section').length >= 4"
        )  # one fill at a time
        settle(page)
        problems = page.evaluate(PROBLEMS)
        page.screenshot(path=str(artifacts / f"home_fit_{'big' if big else 'normal'}_{lang}.png"))
        assert problems == [], problems
        patrols = page.inner_text("#panel-patrols")
        for word in {"zh": ("覆盖率", "巡查里程", "巡查时长", "%"),
                     "en": ("Coverage", "Mileage", "Patrol time", "%")}[lang]:  # fmt: skip
            assert word in patrols, (word, patrols)
        rows = page.evaluate("[...document.querySelectorAll('#panel-kpis table.ranking tr')]"
                             ".map(r => r.offsetHeight > 0)")  # fmt: skip
        # the head and 3 rows at least (whole rows: the rest is counted as "N more")
        assert sum(rows) >= min(len(rows), 4), rows
        assert page.locator("#panel-kpis .kpi").count() == 7
        # a town with many villages: its list is cut to whole rows with a note, nothing else
        page.evaluate(f"GridGIS.home.select('{town}', true)")
        wait_until(page, f"document.querySelector('#panel-selection .sel-code')?.textContent"
                         f" === '{town}'")  # fmt: skip
        settle(page)
        problems = page.evaluate(PROBLEMS)
        page.screenshot(
            path=str(artifacts / f"home_fit_{'big' if big else 'normal'}_{lang}_town.png")
        )
        assert problems == [], problems
        for panel in PANELS:
            assert page.get_attribute(f"#{panel} .panel-body", "data-state") == "loaded"
    finally:
        page.context.close()
