"""Page tests in headless Chromium (the ``browser`` fixture is in tests/conftest.py): pages
opened logged in, with every request recorded and anything not for 127.0.0.1 refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.maps.browser_support import LOCAL_HOST

VIEWPORT = {"width": 1600, "height": 1000}


def open_logged_in(
    browser: Any, live_server: str, token: str, path: str, ready: str
) -> tuple[Any, dict[str, list[str]]]:
    """Open ``path`` as a user would: land on the login page, paste the token, and wait until
    the JS expression ``ready`` holds. Returns the page and what it requested or reported."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    seen: dict[str, list[str]] = {"requests": [], "errors": [], "failed": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("response", lambda r: r.status >= 400 and seen["failed"].append(f"{r.status} {r.url}"))
    # Nothing may leave the machine: anything not for our server is refused (and recorded).
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname == LOCAL_HOST
            else route.abort()
        ),
    )
    page.goto(f"{live_server}{path}")
    assert "/login" in page.url  # not logged in yet: the login page comes first
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_function(ready, timeout=60_000)
    page.wait_for_load_state("networkidle")
    return page, seen


def assert_offline_and_clean(seen: dict[str, list[str]]) -> None:
    """Only 127.0.0.1 (or data:/blob:) was asked for; no console error, no failed response."""
    outside = [u for u in seen["requests"] if urlsplit(u).hostname not in (LOCAL_HOST, None)]
    assert outside == []
    assert all(urlsplit(u).scheme in ("http", "data", "blob") for u in seen["requests"])
    assert seen["errors"] == [] and seen["failed"] == []
