"""The front page's legend never covers the city (issue 15, fault 1 of the last trial): with
every map layer on, on / and /?screen=big, zh and en at 1920×1080, the city's bounding box in
screen pixels does not meet the legend's box (the city is fitted beside the legend, or the
legend is folded). Screenshots test-artifacts/home_legend_room_*.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.home_support import open_home_at, settle

pytestmark = pytest.mark.browser

# the city's box (config bounds, through the map's projection) and the legend's, in page pixels
BOXES = """() => {
  const map = GridGIS.home.map;
  const b = JSON.parse(document.getElementById("home").dataset.config).bounds;
  const m = map.getContainer().getBoundingClientRect();
  const sw = map.latLngToContainerPoint(b[0]), ne = map.latLngToContainerPoint(b[1]);
  const city = {left: m.left + sw.x, right: m.left + ne.x, top: m.top + ne.y, bottom: m.top + sw.y};
  const l = document.querySelector('.home-legend').getBoundingClientRect();
  return {city: city, legend: {left: l.left, right: l.right, top: l.top, bottom: l.bottom},
          map: {left: m.left, right: m.right, top: m.top, bottom: m.bottom}};
}"""


def _meet(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


@pytest.mark.parametrize("big", [False, True], ids=["normal", "big"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_legend_never_covers_the_city(
    browser, live_server, tokens, demo_grids, artifacts, lang, big
) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=big, layers=True)
    try:
        wait_until(page, "document.querySelectorAll('.home-legend .legend-section').length >= 4"
                   " || document.querySelector('.home-legend.folded')")  # fmt: skip
        settle(page)
        page.wait_for_timeout(500)  # a refit's animation
        boxes = page.evaluate(BOXES)
        name = f"home_legend_room_{'big' if big else 'normal'}_{lang}.png"
        page.screenshot(path=str(artifacts / name))
        assert not _meet(boxes["city"], boxes["legend"]), boxes
        # the whole city is on the map (not pushed out of it to make room)
        city, m = boxes["city"], boxes["map"]
        assert city["left"] >= m["left"] - 1 and city["right"] <= m["right"] + 1, boxes
        assert city["top"] >= m["top"] - 1 and city["bottom"] <= m["bottom"] + 1, boxes
        # the legend can still be opened by its title (folded or not, it is there)
        assert page.locator(".home-legend .legend-title").is_visible()
    finally:
        page.context.close()
