"""The front page's event lists name the grid (issue 15, review r15: raw 15-digit codes): an
event's line shows its unit grid's name and its town's, the code only in the tooltip; zh and en.
Headless Chromium at 1920×1080."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.test_home_page import _report, open_home

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_event_lines_name_grid_and_town(browser, live_server, tokens, demo_grids, lang) -> None:  # type: ignore[no-untyped-def]
    event_id = _report(live_server, tokens["officer"], demo_grids, 13)
    l3 = demo_grids[demo_grids.level == 3].sort_values("code").iloc[13]
    town = demo_grids[demo_grids.code == l3.code[:9]].iloc[0]
    page, _ = open_home(browser, live_server, tokens["viewer"], f"/?lang={lang}")
    try:
        item = f"#panel-live li[data-id='{event_id}'] .ev-grid"
        wait_until(
            page, f"document.querySelector(\"{item}\")?.textContent.includes('{town['name']}')"
        )
        text = page.inner_text(item)
        assert l3["name"] in text and l3.code not in text, text
        assert page.get_attribute(item, "title") == l3.code
    finally:
        page.context.close()
