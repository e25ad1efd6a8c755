"""The real app's /map in headless Chromium: log in with a token, see every grid of the demo
city drawn, nothing requested from anywhere but 127.0.0.1. Screenshots in test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import assert_offline_and_clean, open_logged_in

pytestmark = pytest.mark.browser


def open_map(
    browser: Any, live_server: str, token: str, path: str
) -> tuple[Any, dict[str, list[str]]]:
    return open_logged_in(browser, live_server, token, path, "window.gridgisReady !== undefined")


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
        assert_offline_and_clean(seen)
        body = page.inner_text("body")
        if lang == "zh":
            assert "澄江街道" in body and "一级网格" in body
        else:
            assert "Level" in body or "level" in body
        page.screenshot(path=str(artifacts / f"map_page_{lang}.png"))
    finally:
        page.context.close()
