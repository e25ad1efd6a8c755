"""The front page's search when a lookup fails (issue 15, operator trial: an expired session
answered "未找到：澄江街道"). A 401 shows the session bar ("登录已过期…") and no "not found";
any other failure says which lookup failed and why, never "not found". Headless Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.test_home_page import open_home

pytestmark = pytest.mark.browser

RESULTS = "#home-search-results"


def _search(page: Any, q: str) -> None:
    page.evaluate("document.getElementById('home-search-results').hidden = true")
    page.fill("#home-search-input", q)
    page.press("#home-search-input", "Enter")


def test_expired_session_shows_the_session_bar_not_not_found(browser, live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_home(browser, live_server, tokens["viewer"], "/?lang=zh")
    try:
        page.context.clear_cookies()  # the session is gone
        _search(page, "澄江街道")
        wait_until(page, "document.querySelector('.gridgis-notice-expired')")
        assert "登录已过期" in page.inner_text(".gridgis-notice-expired")
        page.wait_for_timeout(500)
        shown = page.evaluate(f"document.querySelector('{RESULTS}').hidden")
        assert shown or "未找到" not in page.inner_text(RESULTS)
    finally:
        page.context.close()


@pytest.mark.parametrize(("lang", "words"), [("zh", "查询地名失败"), ("en", "Could not search")])
def test_a_failed_lookup_says_what_failed(browser, live_server, tokens, lang, words) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_home(browser, live_server, tokens["viewer"], f"/?lang={lang}")
    try:
        page.route(
            "**/api/v1/places?**",
            lambda route: route.fulfill(
                status=503,
                content_type="application/problem+json",
                body='{"title": "Service Unavailable", "status": 503, "detail": "down"}',
            ),
        )
        _search(page, "澄江街道")
        wait_until(page, f"!document.querySelector('{RESULTS}').hidden")
        wait_until(page, f"document.querySelector('{RESULTS} .search-failed')")
        text = page.inner_text(RESULTS)
        assert words in text, text
        assert "未找到" not in text and "Nothing found" not in text, text
    finally:
        page.context.close()
