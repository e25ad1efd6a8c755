"""The real app's /map in headless Chromium: log in with a token, see every grid of the demo
city drawn, nothing requested from anywhere but 127.0.0.1. Screenshots in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.maps.browser_support import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOST

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_map(
    browser: Any, live_server: str, token: str, path: str
) -> tuple[Any, dict[str, list[str]]]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    seen: dict[str, list[str]] = {"requests": [], "errors": [], "failed": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("response", lambda r: r.status >= 400 and seen["failed"].append(f"{r.status} {r.url}"))
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname == LOCAL_HOST
            else route.abort()
        ),
    )
    page.goto(f"{live_server}{path}")
    # not logged in: the login page, in the requested language
    assert "/login" in page.url
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_function("window.gridgisReady !== undefined", timeout=60_000)
    page.wait_for_load_state("networkidle")
    return page, seen


@pytest.mark.parametrize(("lang", "path"), [("zh", "/map"), ("en", "/map?lang=en")])
def test_map_page_draws_every_grid_offline(
    browser, live_server, tokens, artifacts, lang, path
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_map(browser, live_server, tokens["viewer"], path)
    try:
        ready = page.evaluate("window.gridgisReady")
        assert ready == {"level1": 17, "level2": 271, "level3": 1558}
        drawn = page.evaluate(
            "[1, 2, 3].map(n => document.querySelectorAll('path.gridgis-l' + n).length)"
        )
        assert drawn == [17, 271, 1558]
        outside = [u for u in seen["requests"] if urlsplit(u).hostname not in (LOCAL_HOST, None)]
        assert outside == [] and all(
            urlsplit(u).scheme in ("http", "data", "blob") for u in seen["requests"]
        )
        assert seen["errors"] == [] and seen["failed"] == []
        body = page.inner_text("body")
        if lang == "zh":
            assert "澄江街道" in body and "一级网格" in body
        else:
            assert "Level" in body or "level" in body
        page.screenshot(path=str(artifacts / f"map_page_{lang}.png"))
    finally:
        page.context.close()
