"""/zones (issue 15, review r15): an expired session is said (the bar with the login link) as on
the other pages, and zone labels never overlap one another (a label meeting one already shown is
hidden until zooming in makes room). Headless Chromium at 1920×1080."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_logged_in, wait_until
from tests.e2e.test_home_page import SCREEN

pytestmark = pytest.mark.browser
READY = "window.gridgisZonesReady !== undefined && window.gridgisZonesLabels !== undefined"

OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('.gridgis-label-zone')]
    .filter(n => getComputedStyle(n).visibility !== 'hidden')
    .map(n => n.getBoundingClientRect()).filter(r => r.width && r.height);
  let n = 0;
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top) n++;
  }
  return [n, boxes.length];
}"""


def test_zone_labels_never_overlap(browser, live_server, tokens, artifacts, people_demo) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], "/zones", READY)
    try:
        page.set_viewport_size(SCREEN)
        seen_shown = []
        for step in range(4):  # the default view, then zoomed in until labels are drawn
            if step:
                page.evaluate("window.gridgisZonesLabels = undefined; "
                              "GridGIS.zonesMap.zoomIn(1, {animate: false})")  # fmt: skip
            wait_until(page, "window.gridgisZonesLabels !== undefined")
            page.wait_for_timeout(200)
            overlaps, shown = page.evaluate(OVERLAPS)
            assert overlaps == 0, (step, overlaps, shown)
            seen_shown.append(shown)
        assert max(seen_shown) > 0, seen_shown
        page.screenshot(path=str(artifacts / "zones_labels.png"))
    finally:
        page.context.close()


def test_an_expired_session_is_said(browser, live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], "/zones", READY)
    try:
        page.context.clear_cookies()  # the session is gone
        page.wait_for_timeout(5200)  # the probe asks at most every 5 s
        page.evaluate("GridGIS.zonesMap.panBy([60, 0], {animate: false})")
        wait_until(page, "document.querySelector('.gridgis-notice-expired')")
        assert "/login" in page.get_attribute(".gridgis-notice-login", "href")
    finally:
        page.context.close()
