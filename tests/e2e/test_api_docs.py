"""/docs (Swagger UI) and /redoc (ReDoc) work under the Content-Security-Policy: bundles and
start-up script served by the app (api/pages/apidocs.py), nothing from a CDN, no CSP violation,
the operations listed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import assert_offline_and_clean, offline_page, wait_until


def _open(browser: Any, url: str) -> tuple[Any, Any, dict[str, list[str]]]:
    context, page, seen = offline_page(browser)
    page.goto(url)
    return context, page, seen


@pytest.mark.parametrize(
    ("path", "operations"),
    # Swagger UI renders only the operations in view (a virtual list)
    [("/docs", "document.querySelectorAll('.opblock .opblock-summary-method').length >= 5"),
     ("/redoc", "document.querySelectorAll('[data-section-id^=\"operation/\"]').length > 20")],
)  # fmt: skip
def test_api_docs_render_under_the_policy(browser, live_server, path, operations) -> None:
    r = httpx.get(f"{live_server}{path}")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "<script>" not in r.text and "cdn" not in r.text.lower()
    context, page, seen = _open(browser, f"{live_server}{path}")
    try:
        assert wait_until(page, operations, timeout=60_000)
        page.wait_for_load_state("networkidle")
        assert_offline_and_clean(seen)
        assert not [e for e in seen["errors"] if "Content Security Policy" in e]
    finally:
        context.close()
