"""Rows a front-page panel leaves out can be seen (issue 15, operator trial F15i: a town listed
2 of its 19 villages, "下级 另有 17 项未列出", with no way to see the rest): "另有 N 项未列出 ·
查看全部" of a list no other page lists opens a native <dialog> over the map (modal, scrolling
inside, closed by Esc, in the page's language) listing every row; a row does what it does in the
panel (a village selects it). The big screen shows the true count without a link. Headless
Chromium at 1920×1080; screenshots test-artifacts/home_all_rows_*.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.home_support import ALL_OPEN, open_home_at, settle

pytestmark = pytest.mark.browser

# the note under the list of villages (the grid staff's list above it may have its own)
MORE = "#panel-selection ul.children + .fit-more"


def _busiest_town(demo_grids) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    towns = demo_grids[demo_grids.level == 1]
    villages = demo_grids[demo_grids.level == 2]
    town = max(towns.code, key=lambda c: int((villages.parent_code == c).sum()))
    return town, sorted(villages[villages.parent_code == town].code)


@pytest.mark.parametrize(("lang", "title"), [("zh", "下级 · 共"), ("en", "Below · ")])
def test_see_all_opens_a_dialog_of_every_row(
    browser, live_server, tokens, demo_grids, artifacts, lang, title
) -> None:  # type: ignore[no-untyped-def]
    town, villages = _busiest_town(demo_grids)
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=False)
    try:
        page.evaluate(f"GridGIS.home.select('{town}', true)")
        wait_until(page, f"document.querySelector('#panel-selection .sel-code')?.textContent"
                         f" === '{town}'")  # fmt: skip
        settle(page)
        shown = page.evaluate("[...document.querySelectorAll('#panel-selection ul.children > li')]"
                              ".filter(li => li.offsetHeight > 0).length")  # fmt: skip
        assert shown < len(villages), "the panel was expected to leave villages out"
        note = page.inner_text(MORE)
        assert str(len(villages) - shown) in note, note
        page.click(f"{MORE} button.fit-more-all")
        wait_until(page, ALL_OPEN)
        assert page.evaluate("document.getElementById('home-all').matches(':modal')")
        page.screenshot(path=str(artifacts / f"home_all_rows_{lang}.png"))
        heading = page.inner_text("#home-all-title")
        assert heading.startswith(title) and str(len(villages)) in heading, heading
        codes = page.evaluate("[...document.querySelectorAll('#home-all-body li')]"
                              ".map(li => li.getAttribute('data-code'))")  # fmt: skip
        assert codes == villages
        # every row visible in the dialog (none hidden), the dialog scrolls rather than grows
        assert page.evaluate("[...document.querySelectorAll('#home-all-body li')]"
                             ".every(li => li.offsetHeight > 0)")  # fmt: skip
        box = page.locator("#home-all").bounding_box()
        assert box and box["height"] <= 1080 * 0.8 + 1
        assert page.evaluate("getComputedStyle(document.getElementById('home-all-body'))"
                             ".overflowY") == "auto"  # fmt: skip
        page.keyboard.press("Escape")
        wait_until(page, f"!{ALL_OPEN}")
        # a left-out village chosen in the dialog is selected, as in the panel
        page.click(f"{MORE} button.fit-more-all")
        wait_until(page, ALL_OPEN)
        last = villages[-1]
        page.click(f"#home-all-body li[data-code='{last}']")
        wait_until(page, f"GridGIS.home.state.sel === '{last}'")
        assert not page.evaluate(ALL_OPEN)
        wait_until(page, f"document.querySelector('#panel-selection .sel-code')?.textContent"
                         f" === '{last}'")  # fmt: skip
    finally:
        page.context.close()


def test_big_screen_counts_without_a_dialog(browser, live_server, tokens, demo_grids) -> None:  # type: ignore[no-untyped-def]
    town, villages = _busiest_town(demo_grids)
    page = open_home_at(browser, live_server, tokens["viewer"], lang="zh", big=True)
    try:
        page.evaluate(f"GridGIS.home.select('{town}', true)")
        wait_until(page, f"document.querySelector('#panel-selection .sel-code')?.textContent"
                         f" === '{town}'")  # fmt: skip
        settle(page)
        shown = page.evaluate("[...document.querySelectorAll('#panel-selection ul.children > li')]"
                              ".filter(li => li.offsetHeight > 0).length")  # fmt: skip
        if shown < len(villages):
            note = page.inner_text(MORE)
            assert f"另有 {len(villages) - shown} 项未列出" in note, note
        assert page.locator("button.fit-more-all").count() == 0
    finally:
        page.context.close()
