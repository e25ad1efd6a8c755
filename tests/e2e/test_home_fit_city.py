"""The city fills the free part of the front page's map (issue 15, operator trial F15i: it took
about a third of the map, also on the big screen): fitted by GridGIS.fitBeside beside the legend
and zoom buttons (left) and the layer switches (right), with quarter-level zoom snapping, the
city's box lies inside the free area and fills it along one side to within a quarter zoom level
(2^-0.25 ≈ 0.84). 1920×1080, normal and big screen. Screenshots
test-artifacts/home_fit_city_*.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.home_support import open_home_at, settle

pytestmark = pytest.mark.browser

BOXES = """() => {
  const h = GridGIS.home, b = JSON.parse(document.getElementById('home').dataset.config).bounds;
  const sw = h.map.latLngToContainerPoint(b[0]), ne = h.map.latLngToContainerPoint(b[1]);
  const pad = h.fitter.padding(L.latLngBounds(b)), size = h.map.getSize();
  return {city: {left: sw.x, right: ne.x, top: ne.y, bottom: sw.y},
          free: {left: pad.paddingTopLeft[0], top: pad.paddingTopLeft[1],
                 right: size.x - pad.paddingBottomRight[0],
                 bottom: size.y - pad.paddingBottomRight[1]},
          zoom: h.map.getZoom(), size: {x: size.x, y: size.y},
          controls: [...h.map.getContainer().querySelectorAll('.leaflet-control')]
            .filter(c => c.offsetWidth > 0 && c.offsetHeight > 0).map(c => {
              const r = c.getBoundingClientRect(), m = h.map.getContainer().getBoundingClientRect();
              return {left: r.left - m.left, right: r.right - m.left, top: r.top - m.top,
                      bottom: r.bottom - m.top, name: c.className};
            })};
}"""


@pytest.mark.parametrize("big", [False, True], ids=["normal", "big"])
def test_city_fills_the_free_area(browser, live_server, tokens, artifacts, big) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang="zh", big=big)
    try:
        wait_until(page, "document.querySelector('.home-legend .legend-section')")
        settle(page)
        page.wait_for_timeout(500)
        boxes = page.evaluate(BOXES)
        page.screenshot(path=str(artifacts / f"home_fit_city_{'big' if big else 'normal'}.png"))
        city, free = boxes["city"], boxes["free"]
        for side in ("left", "top"):
            assert city[side] >= free[side] - 2, boxes
        for side in ("right", "bottom"):
            assert city[side] <= free[side] + 2, boxes
        fill = max((city["right"] - city["left"]) / (free["right"] - free["left"]),
                   (city["bottom"] - city["top"]) / (free["bottom"] - free["top"]))  # fmt: skip
        assert fill >= 0.84, boxes
        # no control covers any of the city (each is stepped around on its side, or above or
        # below it when that leaves the city bigger: re-trial R15f, the big screen drew the
        # city at 315×184 px of a 968×662 map, a short legend taking a whole column)
        for c in boxes["controls"]:
            apart = (
                c["right"] <= city["left"] + 2
                or c["left"] >= city["right"] - 2
                or c["bottom"] <= city["top"] + 2
                or c["top"] >= city["bottom"] - 2
            )
            assert apart, (c, city)
        size = boxes["size"]
        assert max((city["right"] - city["left"]) / size["x"],
                   (city["bottom"] - city["top"]) / size["y"]) >= 0.5, boxes  # fmt: skip
    finally:
        page.context.close()
