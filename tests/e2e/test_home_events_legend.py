"""/events/map at 1920×1080 (issue 15, review r15: the legend hid part of the city's events at
the default view): the default view is fitted beside the legend, so no event marker or cluster
lies under it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_logged_in, wait_until
from tests.e2e.test_home_page import SCREEN, _report

pytestmark = pytest.mark.browser
READY = "window.gridgisEvents && window.gridgisEvents.ready"

UNDER = """() => {
  const l = document.querySelector('.gridgis-legend').getBoundingClientRect();
  return [...document.querySelectorAll('.leaflet-marker-icon, .leaflet-interactive')]
    .map(e => e.getBoundingClientRect()).filter(r => r.width && r.height)
    .filter(r => r.left < l.right && r.right > l.left && r.top < l.bottom && r.bottom > l.top)
    .length;
}"""


def test_no_event_under_the_legend(browser, live_server, tokens, demo_grids, artifacts) -> None:  # type: ignore[no-untyped-def]
    for i in (0, 40, 400, 900, 1500):  # events spread over the city
        _report(live_server, tokens["officer"], demo_grids, i)
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], "/events/map?days=3660", READY)
    try:
        page.set_viewport_size(SCREEN)
        page.goto(f"{live_server}/events/map?days=3660")  # opened at this size
        wait_until(page, READY)
        wait_until(page, "window.gridgisEvents.events > 0")
        page.wait_for_timeout(500)
        assert page.evaluate(UNDER) == 0
        page.screenshot(path=str(artifacts / "events_map_legend_fit.png"))
    finally:
        page.context.close()
