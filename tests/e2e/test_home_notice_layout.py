"""The message bar (session expired, a failed request) pushes the page down instead of covering
it (issue 15, review r15: the expired-session banner covered the navigation bar and the map
page's title). On /, /map and /events/map at 1920×1080, with the session-expired bar shown: the
bar lies under the navigation bar, the page's title and map below the bar, nothing of the page
pushed past the window's bottom; closing the bar gives the room back."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_logged_in, wait_until
from tests.e2e.test_home_page import READY as HOME_READY
from tests.e2e.test_home_page import SCREEN

pytestmark = pytest.mark.browser

BOX = """(sel) => { const e = document.querySelector(sel); if (!e) return null;
  const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; }"""


@pytest.mark.parametrize(
    ("path", "ready", "below"),
    [
        ("/", HOME_READY, [".home-bar", "#home-map"]),
        ("/map", "document.querySelector('.leaflet-container')", [".gridgis-title", ".folium-map"]),
        ("/events/map", "window.gridgisEvents && window.gridgisEvents.ready",
         [".gridgis-events-panel", ".folium-map"]),
    ],
)  # fmt: skip
def test_the_message_bar_pushes_the_page_down(
    browser, live_server, tokens, artifacts, path, ready, below
) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], path, ready)
    try:
        page.set_viewport_size(SCREEN)
        page.evaluate("GridGIS.notice('登录已过期，请重新登录。', {login: true})")
        wait_until(page, "document.documentElement.classList.contains('gridgis-has-notice')")
        page.wait_for_timeout(300)
        bar = page.evaluate(BOX, "#gridgis-notice")
        nav = page.evaluate(BOX, ".gridgis-nav")
        assert bar is not None and bar["bottom"] > bar["top"]
        if nav is not None:
            assert bar["top"] >= nav["bottom"] - 0.5, (bar, nav)
        for sel in below:
            box = page.evaluate(BOX, sel)
            assert box is not None, sel
            assert box["top"] >= bar["bottom"] - 0.5, (sel, box, bar)
        bottom = page.evaluate("document.documentElement.scrollHeight")
        assert bottom <= SCREEN["height"] + 1, bottom
        name = path.strip("/").replace("/", "_") or "home"
        page.screenshot(path=str(artifacts / f"notice_layout_{name}.png"))
        page.click(".gridgis-notice-close")
        wait_until(page, "!document.documentElement.classList.contains('gridgis-has-notice')")
    finally:
        page.context.close()
