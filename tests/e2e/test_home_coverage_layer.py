"""The front page's coverage layer (issue 15, operator trial F15i: fixed bands on today's partial
run, a whole town one red "<5%", and no day said): it shows the run /coverage opens on
(yesterday's whole day), names its day and "全天" in the legend, and its classes are the ones
/coverage fits to the data (maps/coverage_map.share_breaks over the caller's unit grids): the
legend's rows are exactly those classes, plus "not patrolled" and "no H3 cells". Headless
Chromium at 1920×1080."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from layers.coverage import find_run, grid_rows
from layers.db import make_sessionmaker
from layers.workcal import SHANGHAI
from maps.coverage_map import class_palette, class_rows, share_breaks
from tests.e2e.conftest import wait_until
from tests.e2e.home_support import CONFIG
from tests.e2e.test_home_page import open_home
from tests.tracks_support import CITY_LAT, CITY_LON, make_device, run_coverage, send_fixes

pytestmark = pytest.mark.browser

LEGEND_ROWS = """() => {
  const out = []; let on = false;
  for (const e of document.querySelector('.home-legend').children) {
    if (e.classList.contains('legend-section')) {
      on = e.textContent.startsWith(arguments[0]);
      continue;
    }
    if (on && e.classList.contains('legend-item')) { out.push(e.textContent.trim()); }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def yesterday_run(engine, live_server, tokens) -> str:  # type: ignore[no-untyped-def]
    """Two officers who walked yesterday (Asia/Shanghai) at different lengths, and that day's
    whole-day coverage run."""
    day = datetime.now(SHANGHAI).date() - timedelta(days=1)
    start = datetime.combine(day, time(9, 0), tzinfo=SHANGHAI).astimezone(UTC)
    for k, steps in enumerate((40, 200)):
        device = make_device(engine, name=f"覆盖测试{k}")
        fixes = [
            {"time": (start + timedelta(seconds=5 * i)).isoformat(),
             "lon": CITY_LON + (k * 2000 + i * 4) / 94_500.0, "lat": CITY_LAT + k * 0.01,
             "accuracy_m": 5.0}
            for i in range(steps)
        ]  # fmt: skip
        send_fixes(live_server, device, fixes)
    run_coverage(live_server, tokens["planner"], date=day.isoformat())
    return day.isoformat()


@pytest.mark.parametrize(("lang", "whole_day"), [("zh", "全天"), ("en", "whole day")])
def test_coverage_layer_shows_yesterday_in_fitted_classes(
    browser, live_server, tokens, engine, artifacts, yesterday_run, lang, whole_day
) -> None:  # type: ignore[no-untyped-def]
    with make_sessionmaker(engine)() as session:
        run = find_run(session=session, day=datetime.fromisoformat(yesterday_run).date(),
                       shift=None, resolution=None)  # fmt: skip
        shares = [r["h3_share"] for r in grid_rows(session=session, run=run, level=3)]
    breaks = share_breaks(shares)
    expected = [text for _, text in class_rows(breaks, shares)]
    page, _ = open_home(browser, live_server, tokens["viewer"], f"/?lang={lang}")
    try:
        config = page.evaluate(CONFIG)
        cov = config["coverage"]
        assert cov["date"] == yesterday_run
        assert cov["breaks"] == breaks and cov["colours"] == class_palette(len(breaks))
        title = {"zh": "巡查覆盖率", "en": "Patrol coverage"}[lang]
        page.locator(".leaflet-control-layers-overlays label", has_text=title).click()
        wait_until(page, "document.querySelector('.home-legend .legend-run')")
        run_text = page.inner_text(".home-legend .legend-run")
        assert yesterday_run in run_text and whole_day in run_text, run_text
        rows = page.evaluate(LEGEND_ROWS.replace("arguments[0]", repr(title)))
        assert rows[: len(expected)] == expected, rows
        own = {"zh": ["未巡查（0%）", "无 H3 单元"], "en": ["Not patrolled (0%)", "No H3 cells"]}
        assert rows[len(expected) :] == own[lang]
        # the tiles asked are those of that day
        wait_until(page, "performance.getEntriesByType('resource').some(r => "
                         "r.name.includes('/tiles/coverage/') && "
                         f"r.name.includes('{yesterday_run}'))")  # fmt: skip
        page.screenshot(path=str(artifacts / f"home_coverage_layer_{lang}.png"))
    finally:
        page.context.close()
