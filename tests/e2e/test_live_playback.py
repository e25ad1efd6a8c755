"""/live and /playback of the real app in headless Chromium: officers drawn from the latest
positions API, a track replayed with play/pause, speed, slider and its stop; nothing requested
from anywhere but 127.0.0.1. Screenshots in test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.test_tracks_api import DAY, patrolled  # noqa: F401  (module fixture)
from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_map_page import open_map

pytestmark = pytest.mark.browser


def test_live_page_shows_officers(browser, live_server, tokens, artifacts, patrolled) -> None:  # noqa: F811
    page, seen = open_map(browser, live_server, tokens["viewer"], "/live")
    try:
        # the script defines a function of that name first; the hook is the state object
        wait_until(page, "typeof window.gridgisLive === 'object'", timeout=30_000)
        live = page.evaluate("window.gridgisLive")
        assert live["count"] >= 1
        assert page.locator("path.gridgis-officer").count() == live["count"]
        assert page.evaluate("window.gridgisReady.level3") == 1558
        page.locator("path.gridgis-officer").first.click(force=True)
        link = page.locator("a.gridgis-playback-link").first
        assert "/playback?device=" in link.get_attribute("href")
        assert_offline_and_clean(seen)
        page.screenshot(path=str(artifacts / "live_page.png"))
    finally:
        page.context.close()


def test_playback_page_plays_the_track(browser, live_server, tokens, artifacts, patrolled) -> None:  # noqa: F811
    path = (
        f"/playback?device={patrolled.id}&from={DAY.date().isoformat()}"
        f"&to={(DAY + timedelta(days=1)).date().isoformat()}&lang=en"
    )
    page, seen = open_map(browser, live_server, tokens["viewer"], path)
    try:
        wait_until(page, "window.gridgisPlayback && window.gridgisPlayback.ready", timeout=30_000)
        state = page.evaluate("window.gridgisPlayback")
        assert state["vertices"] == 540 and state["stops"] == 1
        assert page.locator("path.gridgis-track").count() == 2
        assert "Stop" in page.inner_text(".leaflet-tooltip-pane")
        t_start = state["t"]
        page.select_option("#gg-speed", "1200")
        page.click("#gg-play")
        wait_until(page, f"window.gridgisPlayback.t > {t_start} + 60000", timeout=20_000)
        page.click("#gg-play")  # pause
        paused = page.evaluate("window.gridgisPlayback")
        assert paused["playing"] is False and paused["speed"] == 1200
        page.fill("#gg-slider", "1000")
        page.dispatch_event("#gg-slider", "input")
        end = page.evaluate("window.gridgisPlayback.t")
        assert end > paused["t"]
        assert_offline_and_clean(seen)
        page.screenshot(path=str(artifacts / "playback_page.png"))
    finally:
        page.context.close()
