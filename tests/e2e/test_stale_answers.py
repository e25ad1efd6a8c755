"""Only the latest answer is drawn (GridGIS.latest in maps/static/gridgis-common.js): on the
front page, town A is selected and then town B while A's answers are held back (Playwright
routes them and lets them through only after B is drawn); A's answers, arriving last, must
not be drawn over B's. A's events answer is replaced by a marked one, so that drawing it
would show. Headless Chromium, real app, real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import open_logged_in, wait_until
from tests.e2e.test_home_page import SCREEN, _sel, _wait_selected

pytestmark = pytest.mark.browser

# The map and the two panels this test reads (not every panel: the test is about these).
READY = (
    "GridGIS.home && GridGIS.home.state.tiles > 0"
    " && GridGIS.home.state.loaded['panel-events'] && GridGIS.home.state.loaded['panel-selection']"
)
MARK_COUNT = 987_654
MARK_NAME = "STALE-ANSWER-OF-A"


def _marked(live_server: str, token: str, town: str) -> dict[str, Any]:
    """A's real events answer, with counts and an event no real answer holds."""
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as c:  # fmt: skip
        body = c.get("/api/v1/dashboard/events", params={"scope": town, "lang": "zh"}).json()
    body["counts"] = {k: MARK_COUNT for k in body["counts"]}
    fake = {"id": 99_999_999, "status": "reported", "subclass_code": "0101",
            "subclass_name": MARK_NAME, "grid_code": town + "001001", "address": MARK_NAME,
            "reported_at": "2026-03-02T00:00:00+00:00", "deadline_at": "2026-03-02T02:00:00+00:00",
            "overdue_h": 1, "lon": 120.3, "lat": 31.9}  # fmt: skip
    body["latest"] = [fake]
    body["overdue"] = [fake]
    return body


def test_front_page_draws_only_the_latest_selection(
    browser, live_server, tokens, demo_grids, artifacts
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_logged_in(browser, live_server, tokens["viewer"], "/", READY)
    page.set_viewport_size(SCREEN)
    try:
        towns = demo_grids[demo_grids.level == 1].sort_values("code")
        a, b = str(towns.code.iloc[0]), str(towns.code.iloc[1])
        b_name = str(towns.name.iloc[1])
        marked = _marked(live_server, tokens["viewer"], a)
        held: list[Any] = []

        def of_a(url: str) -> bool:
            return "/api/v1/" in url and (f"scope={a}" in url or f"/grid/{a}" in url
                                          or f"/grids/{a}" in url)  # fmt: skip

        page.route(of_a, lambda route: held.append(route))
        page.click(f"#panel-selection .children li[data-code='{a}']")
        wait_until(page, f"GridGIS.home.state.sel === '{a}'")
        for _ in range(600):  # A's selection and events panels asked, answers held
            urls = [r.request.url for r in held]
            if any("/dashboard/events?" in u for u in urls) and any("/grid/" in u for u in urls):
                break
            page.wait_for_timeout(50)
        else:
            raise AssertionError(f"A's requests never came: {[r.request.url for r in held]}")
        loads = page.evaluate("GridGIS.home.state.loaded['panel-events'] || 0")
        # B while A is still loading: the city's list is still there to click
        page.click(f"#panel-selection .children li[data-code='{b}']")
        _wait_selected(page, b)
        wait_until(page, f"(GridGIS.home.state.loaded['panel-events'] || 0) > {loads}")
        # now A's answers arrive, last
        finished: list[str] = []
        page.on("requestfinished", lambda r: of_a(r.url) and finished.append(r.url))
        page.on("requestfailed", lambda r: of_a(r.url) and finished.append(r.url))
        for route in held:
            if "/dashboard/events?" in route.request.url:
                route.fulfill(json=marked)
            else:
                route.continue_()
        page.unroute(of_a)
        for _ in range(600):
            if len(finished) >= len(held):
                break
            page.wait_for_timeout(50)
        page.wait_for_timeout(300)  # let the page's handlers of those answers run
        text = page.inner_text("body")
        assert MARK_NAME not in text and f"{MARK_COUNT:,}" not in text
        assert str(MARK_COUNT) not in text
        assert page.evaluate("GridGIS.home.state.sel") == b and _sel(page) == b
        assert page.inner_text("#panel-selection .sel-code") == b
        assert page.locator("#home-crumbs .crumb").all_inner_texts()[-1] == b_name
        page.screenshot(path=str(artifacts / "home_stale_answers.png"))
        assert [u for u in seen["requests"] if not u.startswith(live_server)] == []
    finally:
        page.context.close()
