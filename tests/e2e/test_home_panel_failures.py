"""The front page's panels say what failed (issue 15, operator trial F15i): with one of the
dashboard's requests answered 500 or aborted (Playwright's page.route), the panel it fills shows
"加载巡查失败：…（HTTP 500）" / "…：无法连接服务器" (GridGIS.failedText, the words of the page
bar) with a retry button, never "加载中…" forever; once the request works again the retry fills
the panel. For every panel: events (with the overdue and newest lists), patrols, KPIs, the
selection (the city's towns, a grid's detail). Headless Chromium at 1920×1080."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.test_home_page import open_home

pytestmark = pytest.mark.browser

FAILED = ".panel-failed"


def _path_is(path: str) -> Any:
    return lambda url: urlsplit(url).path == path


CASES = {
    # id: (url predicate, how it fails, panels it fills, what the panel says failed (zh))
    "events-500": (_path_is("/api/v1/dashboard/events"), 500,
                   ("panel-events", "panel-overdue", "panel-live"), "事件"),
    "patrols-500": (_path_is("/api/v1/dashboard/patrols"), 500, ("panel-patrols",), "巡查"),
    "kpis-abort": (_path_is("/api/v1/dashboard/kpis"), "abort", ("panel-kpis",), "考核指标"),
    "towns-abort": (_path_is("/api/v1/grids"), "abort", ("panel-selection",), "当前范围"),
    "grid-500": (lambda url: urlsplit(url).path.startswith("/api/v1/dashboard/grid/"), 500,
                 ("panel-selection",), "网格详情"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_failed_panel_request_says_what_failed_and_retries(
    browser, live_server, tokens, demo_grids, artifacts, case
) -> None:  # type: ignore[no-untyped-def]
    match, how, panels, what = CASES[case]
    code = demo_grids[demo_grids.level == 3].sort_values("code").iloc[2]["code"]
    path = f"/?sel={code}" if case == "grid-500" else "/"
    page, _ = open_home(browser, live_server, tokens["viewer"], path)
    asked: list[str] = []

    def fail(route: Any) -> None:
        asked.append(route.request.url)
        if how == "abort":
            route.abort()
        else:
            route.fulfill(status=500, content_type="application/problem+json",
                          body='{"title": "Internal Server Error", "detail": "boom"}')  # fmt: skip

    try:
        page.route(match, fail)
        page.reload()
        for panel in panels:
            wait_until(page, f"document.querySelector('#{panel} {FAILED}')")
        page.screenshot(path=str(artifacts / f"home_failed_{case}.png"))
        assert asked
        for panel in panels:
            text = page.inner_text(f"#{panel} {FAILED}")
            assert f"加载{what}失败" in text, (panel, text)
            if how == "abort":
                assert "无法连接服务器" in text, text
            else:
                # the answer's English words are not shown on a Chinese page: the kind of
                # failure is (GridGIS.problemText)
                assert "服务器内部错误（HTTP 500）" in text and "boom" not in text, text
            assert "加载中" not in page.inner_text(f"#{panel} .panel-body"), panel
            assert page.locator(f"#{panel} {FAILED} button.panel-retry").is_visible()
        # the request works again: the retry fills the panel and the failure line goes
        page.unroute(match, fail)
        page.click(f"#{panels[0]} {FAILED} button.panel-retry")
        for panel in panels:
            wait_until(page, f"document.querySelector('#{panel} .panel-body')"
                             ".getAttribute('data-state') === 'loaded'")  # fmt: skip
            assert not page.locator(f"#{panel} {FAILED}").count(), panel
    finally:
        page.context.close()


def test_a_failed_poll_keeps_the_panel_and_says_so_in_english(
    browser, live_server, tokens, demo_grids
) -> None:  # type: ignore[no-untyped-def]
    """A poll that fails after the panel was filled keeps what it showed under the line, in the
    page's language."""
    page, _ = open_home(browser, live_server, tokens["viewer"], "/?lang=en")
    try:

        def down(route: Any) -> None:
            route.fulfill(status=503, body="", content_type="text/plain")

        page.route(_path_is("/api/v1/dashboard/patrols"), down)
        page.evaluate("GridGIS.home.select(GridGIS.home.state.sel, false)")
        wait_until(page, f"document.querySelector('#panel-patrols {FAILED}')")
        text = page.inner_text(f"#panel-patrols {FAILED}")
        assert "Could not load patrols" in text and "503" in text, text
        assert page.locator("#panel-patrols .now-figures").count() == 1  # still shown
        assert page.inner_text(f"#panel-patrols {FAILED} button") == "Retry"
    finally:
        page.context.close()
