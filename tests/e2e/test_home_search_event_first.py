"""The front page's search (issue 15, fault 4 of the last trial): an event number as the pages
show it ("#123", or "123") lists the event first, above a staff member or a place whose name or
number holds the same digits, and Enter opens the event (its grid selected, its popup on the
map) without a click; zh and en, headless Chromium at 1920×1080."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.e2e.conftest import wait_until
from tests.e2e.test_home_page import CASE_POPUP, _report, open_home
from tests.e2e.test_home_search_more import RESULTS, _search

pytestmark = pytest.mark.browser


@pytest.fixture
def namesake(engine, live_server, tokens, demo_grids):  # type: ignore[no-untyped-def]
    """An event and a staff member whose name and phone hold the event's number."""
    event_id = _report(live_server, tokens["officer"], demo_grids, 11)
    digits = f"{event_id:04d}"
    with engine.begin() as c:
        person = c.execute(
            text("INSERT INTO person (name, phone, active) VALUES (:n, :p, true) RETURNING id"),
            {"n": f"值班员{event_id}", "p": f"139{digits}0000"},
        ).scalar_one()
    yield event_id
    with engine.begin() as c:
        c.execute(text("DELETE FROM person WHERE id = :id"), {"id": person})


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("form", ["#{}", "{}"])
def test_an_event_number_goes_first_and_enter_opens_it(
    browser, live_server, tokens, namesake, lang, form
) -> None:  # type: ignore[no-untyped-def]
    event_id = namesake
    page, _ = open_home(browser, live_server, tokens["dispatcher"], f"/?lang={lang}")
    try:
        # the staff member is found by the same digits (so both kinds answer)
        people = page.evaluate(f"fetch('/api/v1/people/search?q={event_id}').then(r => r.json())")
        assert any(p["name"] == f"值班员{event_id}" for p in people["people"]), people
        _search(page, form.format(event_id))
        # Enter alone opens the event: no click on the list
        wait_until(page, f"GridGIS.home.state.openedEvent === {event_id}")
        wait_until(page, CASE_POPUP)
        assert f"#{event_id}" in page.inner_text(".leaflet-popup-content")
        assert len(page.evaluate("GridGIS.home.state.sel")) == 15  # the event's unit grid
        first = page.locator(f"{RESULTS} li").first
        assert f"#{event_id}" in first.inner_text()
        assert "exact" in (first.get_attribute("class") or "")
        if not form.startswith("#"):  # the bare number also names the staff member
            rows = page.locator(f"{RESULTS} li").all_inner_texts()
            assert any(f"值班员{event_id}" in r for r in rows[1:]), rows  # after the event
    finally:
        page.context.close()
