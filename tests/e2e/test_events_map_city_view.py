"""/events/map with no event to show (issue 15, re-check of the pages at 1920×1080): the map
opens on the whole city beside the legend (bottom right), so that the legend covers none of it
(it used to open at zoom 11 on a centre point, the east towns under the legend); zh and en.
Screenshots test-artifacts/events_map_city_*.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_logged_in, wait_until

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_event_shows_the_whole_city_beside_the_legend(
    browser, live_server, tokens, artifacts, demo_grids, lang
) -> None:  # type: ignore[no-untyped-def]
    path = f"/events/map?lang={lang}&from=1990-01-01&to=1990-01-02"
    page, _ = open_logged_in(
        browser, live_server, tokens["dispatcher"], path,
        "window.gridgisEvents && window.gridgisEvents.ready",
    )  # fmt: skip
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.evaluate("window.gridgisEvents.refresh(true)")
        wait_until(page, "window.gridgisEvents.events === 0")
        page.wait_for_timeout(300)
        w, s, e, n = demo_grids.total_bounds  # EPSG:4490 degrees
        box = page.evaluate(
            """([w, s, e, n]) => {
              const map = window.gridgisEventsMap, m = map.getContainer().getBoundingClientRect();
              const sw = map.latLngToContainerPoint([s, w]);
              const ne = map.latLngToContainerPoint([n, e]);
              const l = document.querySelector('.gridgis-legend').getBoundingClientRect();
              return {city: [m.left + sw.x, m.top + ne.y, m.left + ne.x, m.top + sw.y],
                      legend: [l.left, l.top, l.right, l.bottom],
                      map: [m.left, m.top, m.right, m.bottom]};
            }""",
            [w, s, e, n],
        )
        page.screenshot(path=str(artifacts / f"events_map_city_{lang}.png"))
        city, legend, frame = box["city"], box["legend"], box["map"]
        # the city's box ends left of the legend (or the two never meet) and is on the map
        meets = not (city[2] <= legend[0] or legend[2] <= city[0] or city[3] <= legend[1]
                     or legend[3] <= city[1])  # fmt: skip
        assert not meets, box
        assert city[0] >= frame[0] - 1 and city[2] <= frame[2] + 1, box
        assert city[1] >= frame[1] - 1 and city[3] <= frame[3] + 1, box
    finally:
        page.context.close()
