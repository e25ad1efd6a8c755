"""Page tests in headless Chromium (the ``browser`` fixture is in tests/conftest.py): pages
opened logged in, with every request recorded and anything not for 127.0.0.1 refused."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from tests.maps.browser_support import LOCAL_HOST

VIEWPORT = {"width": 1600, "height": 1000}


def offline_page(browser: Any) -> tuple[Any, Any, dict[str, list[str]]]:
    """A new 1920×1080 page that records what it requests, logs as errors and fails (``seen``),
    and may not reach anything but our server: other hosts are refused (and recorded)."""
    context = browser.new_context(viewport=VIEWPORT)
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
    return context, page, seen


def open_logged_in(
    browser: Any, live_server: str, token: str, path: str, ready: str
) -> tuple[Any, dict[str, list[str]]]:
    """Open ``path`` as a user would: land on the login page, paste the token, and wait until
    the JS expression ``ready`` holds. Returns the page and what it requested or reported."""
    _, page, seen = offline_page(browser)
    page.goto(f"{live_server}{path}")
    assert "/login" in page.url  # not logged in yet: the login page comes first
    token_login = page.locator("details.token-login > summary")
    if token_login.count():  # the token form folded under the password form
        token_login.click()
    page.fill("#token", token)
    page.click("#token ~ button[type=submit]")
    wait_until(page, ready, timeout=60_000)
    page.wait_for_load_state("networkidle")
    return page, seen


def wait_until(page: Any, expression: str, timeout: float = 30_000) -> Any:
    """Poll the JS ``expression`` until it is truthy; its value. Playwright's
    ``wait_for_function`` evaluates its predicate with ``eval`` inside the page, which the
    pages' Content-Security-Policy (no 'unsafe-eval') forbids; ``page.evaluate`` runs through
    the DevTools protocol and is not subject to it."""
    deadline = time.monotonic() + timeout / 1000
    # a promise is awaited; a class instance (a map, an element) answers true: its reference
    # chain cannot be sent back; plain objects, arrays and values come back as they are
    probe = (
        f"async () => {{ try {{ const v = await ({expression}); "
        "return v && typeof v === 'object' && !Array.isArray(v) "
        "&& Object.getPrototypeOf(v) !== Object.prototype ? true : v; "
        "} catch (e) { return null; } }"
    )
    while True:
        value = page.evaluate(probe)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} did not hold within {timeout / 1000:.0f} s")
        page.wait_for_timeout(100)


def assert_offline_and_clean(seen: dict[str, list[str]]) -> None:
    """Only 127.0.0.1 (or data:/blob:) was asked for; no console error, no failed response."""
    outside = [u for u in seen["requests"] if urlsplit(u).hostname not in (LOCAL_HOST, None)]
    assert outside == []
    assert all(urlsplit(u).scheme in ("http", "data", "blob") for u in seen["requests"])
    assert seen["errors"] == [] and seen["failed"] == [], seen["failed"]
