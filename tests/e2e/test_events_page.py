"""/events/map in headless Chromium: dots coloured by status, red when overdue, clustered, and a
popup with the case's timeline; nothing requested outside 127.0.0.1. Screenshot in
test-artifacts/events_map.png."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import assert_offline_and_clean, open_logged_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def some_events(live_server, tokens, demo_grids) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A closed case, an overdue one and ten fresh reports spread over the city."""
    l3 = demo_grids[demo_grids.level == 3]
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    ids: dict[str, int] = {}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as c:
        for i in range(12):
            p = l3.iloc[i * 97].geometry.representative_point()
            r = c.post(
                "/api/v1/events",
                json={
                    "lon": p.x,
                    "lat": p.y,
                    "subclass": "0101",
                    "description": f"暴露垃圾 {i}",
                    "ignore_duplicates": True,
                    "reported_at": "2026-02-02T09:00:00+08:00",
                },
            )
            assert r.status_code == 201, r.text
            ids[f"e{i}"] = r.json()["id"]
        steps = ["accept", "dispatch", "start", "handle", "verify", "close"]
        for n, action in enumerate(steps):
            at = f"2026-02-02T09:{10 + n:02d}:00+08:00"
            c.post(f"/api/v1/events/{ids['e0']}/actions", json={"action": action, "at": at})
        for action in ("accept", "dispatch"):  # dispatched now: not overdue yet
            c.post(f"/api/v1/events/{ids['e1']}/actions", json={"action": action})
        # dispatched in February with a 4 work-hour limit: overdue
        for n, action in enumerate(("accept", "dispatch")):
            r = c.post(
                f"/api/v1/events/{ids['e2']}/actions",
                json={"action": action, "at": f"2026-02-02T09:3{n}:00+08:00"},
            )
            assert r.status_code == 200, r.text
    return ids


def test_events_map_offline_with_overdue_and_timeline(
    browser, live_server, tokens, artifacts, some_events
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_logged_in(
        browser,
        live_server,
        tokens["viewer"],
        "/events/map?days=3660",
        "window.gridgisEventsReady !== undefined",
    )
    try:
        ready = page.evaluate("window.gridgisEventsReady")
        assert ready["events"] >= 12 and ready["overdue"] >= 1
        # zoomed out, the dots are clustered
        assert page.locator(".marker-cluster").count() >= 1
        page.screenshot(path=str(artifacts / "events_map.png"))
        # open the closed case: its popup lists the whole timeline
        page.evaluate(
            # zoom past the clustering limit without animation, then open the dot's popup
            """id => { const m = window.gridgisEventMarkers.find(x => x.gridgisId === id);
                       window.gridgisEventsMap.setView(m.getLatLng(), 18, {animate: false});
                       setTimeout(() => m.openPopup(), 300); }""",
            some_events["e0"],
        )
        page.wait_for_selector(".gridgis-timeline li", timeout=30_000)
        items = page.locator(".gridgis-timeline li").all_inner_texts()
        assert len(items) == 7 and "已结案" in items[-1]
        assert items[0].startswith("2026-02-02 09:00")  # Shanghai time
        red = page.evaluate(
            "window.gridgisEventMarkers.filter(m => m.options.className.includes('overdue'))"
            ".map(m => m.options.fillColor)"
        )
        assert red and set(red) == {"#d7191c"}
        page.screenshot(path=str(artifacts / "events_map_popup.png"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
