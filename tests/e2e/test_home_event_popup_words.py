"""The front page's event popup (issue 15, operator trial: "0401" and English "overdue" on a
zh page): an event opened by its number names its subclass by the dictionary's name in the
page's language and says "超时"/"Overdue" in the page's words; the popup of a previous search
closes when a new search selects something else. Headless Chromium at 1920×1080."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.e2e.conftest import wait_until
from tests.e2e.test_home_page import _report, open_home

pytestmark = pytest.mark.browser

RESULTS = "#home-search-results"
POPUP = ".leaflet-popup-content .gridgis-event-popup[data-id]"


def _search(page: Any, q: str) -> None:
    page.evaluate("document.getElementById('home-search-results').hidden = true")
    page.fill("#home-search-input", q)
    page.press("#home-search-input", "Enter")


@pytest.fixture(scope="module")
def overdue_case(engine, live_server, tokens, demo_grids) -> Any:  # type: ignore[no-untyped-def]
    event_id = _report(live_server, tokens["officer"], demo_grids, 95)
    with engine.begin() as c:
        c.execute(
            text("UPDATE event SET status = 'in_handling',"
                 " accepted_at = now() - interval '2 days',"
                 " dispatched_at = now() - interval '2 days',"
                 " deadline_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": event_id},
        )  # fmt: skip
        names = c.execute(
            text("SELECT s.name, coalesce(s.name_en, k.name_en) FROM event_subclass s"
                 " JOIN event_class k ON k.code = s.class_code WHERE s.code = '0401'")
        ).one()  # fmt: skip
    yield event_id, names
    with engine.begin() as c:
        c.execute(
            text("UPDATE event SET deadline_at = now() + interval '30 days' WHERE id = :id"),
            {"id": event_id},
        )


@pytest.mark.parametrize(("lang", "overdue"), [("zh", "超时"), ("en", "Overdue")])
def test_popup_speaks_the_page_language_and_closes_on_a_new_search(
    browser, live_server, tokens, demo_grids, overdue_case, lang, overdue
) -> None:  # type: ignore[no-untyped-def]
    event_id, (name_zh, name_en) = overdue_case
    page, _ = open_home(browser, live_server, tokens["dispatcher"], f"/?lang={lang}")
    try:
        _search(page, f"#{event_id}")
        wait_until(page, f"GridGIS.home.state.openedEvent === {event_id}")
        wait_until(page, f"document.querySelector('{POPUP}')")
        popup = page.inner_text(POPUP)
        assert "0401" not in popup, popup
        assert (name_zh if lang == "zh" else name_en) in popup, popup
        assert overdue in popup, popup
        if lang == "zh":
            assert "overdue" not in popup.lower(), popup
        # a new search that selects a grid closes the event's popup
        code = demo_grids[demo_grids.level == 3].sort_values("code").iloc[5]["code"]
        _search(page, code)
        wait_until(page, f"GridGIS.home.state.sel === '{code}'")
        wait_until(page, f"!document.querySelector('{POPUP}')")
    finally:
        page.context.close()
