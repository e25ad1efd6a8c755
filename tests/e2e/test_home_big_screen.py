"""The front page's big screen (?screen=big) at 1920×1080 (issue 15): every panel's box inside
the viewport without scrolling, with a town selected (its long village list scrolls inside its
panel instead of pushing Patrols and KPIs out of view), zh and en. Screenshots in
test-artifacts/ (home_big_fit_*.png)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import open_logged_in, wait_until
from tests.e2e.test_home_page import PANELS, READY, SCREEN

pytestmark = pytest.mark.browser

BOXES = """() => [...document.querySelectorAll('.panel')].map(p => {
  const r = p.getBoundingClientRect();
  return {id: p.id, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          height: r.height};
})"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_panel_fits_the_big_screen(
    browser, live_server, tokens, demo_grids, artifacts, lang
) -> None:  # type: ignore[no-untyped-def]
    towns = demo_grids[demo_grids.level == 1]
    villages = demo_grids[demo_grids.level == 2]
    # the town with the most villages: the longest list of the selection panel
    town = max(towns.code, key=lambda c: int((villages.parent_code == c).sum()))
    page, _ = open_logged_in(
        browser, live_server, tokens["viewer"], f"/?lang={lang}&screen=big&sel={town}", READY
    )
    try:
        page.set_viewport_size(SCREEN)
        wait_until(page, f"GridGIS.home.state.sel === '{town}'")
        wait_until(page, "document.querySelectorAll('#panel-selection li, "
                         "#panel-selection tr').length > 5")  # fmt: skip
        page.wait_for_timeout(300)  # one layout after the last panel's answer
        boxes = page.evaluate(BOXES)
        assert {b["id"] for b in boxes} >= set(PANELS)
        for b in boxes:
            assert b["top"] >= 0 and b["left"] >= 0, b
            assert b["bottom"] <= SCREEN["height"] and b["right"] <= SCREEN["width"], b
            assert b["height"] >= 60, b  # a panel with room for its title and a line
        scroll = page.evaluate(
            "[document.documentElement.scrollHeight, document.documentElement.clientHeight]"
        )
        assert scroll[0] <= scroll[1], scroll  # the page itself never scrolls
        page.screenshot(path=str(artifacts / f"home_big_fit_{lang}.png"))
    finally:
        page.context.close()
