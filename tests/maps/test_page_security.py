"""Every HTML page of the real app under its Content-Security-Policy (issue 11.3, issue 15):

- the CSP header is sent with every page, and no page holds an inline script or an inline event
  handler (so the policy can forbid them);
- extracted page scripts are cached for good, pages and JSON are gzipped, static files carry
  caching headers;
- in headless Chromium no page reports a CSP violation or a console error;
- a staff name and a device label ``<img src=x onerror=window.__xss=1>`` are shown as text on
  /live (tooltip, popup, list of officers), in an event's popup on /events/map, and run
  nowhere (/live, /playback, /events/map, /coverage, /zones).

Screenshots in test-artifacts/.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from api.csp import content_security_policy
from layers.db import make_sessionmaker, transaction
from layers.devices import create_device
from tests.api.test_tracks_api import patrol
from tests.e2e.conftest import open_logged_in, wait_until
from tests.tracks_support import CITY_LAT, CITY_LON, make_device

XSS = "<img src=x onerror=window.__xss=1>"
XSS_LABEL = "<img src=x onerror=window.__xss=2>"
XSS_EVENT = "<img src=x onerror=window.__xss=3> 井盖缺失"

# Every page, with the JS expression that holds once its script has done its work.
PAGES = {
    "map": ("/map", "window.gridgisReady !== undefined"),
    "map_en": ("/map?lang=en", "window.gridgisReady !== undefined"),
    "live": ("/live", "typeof window.gridgisLive === 'object'"),
    "playback": ("/playback?device={device}", "window.gridgisPlayback !== undefined"),
    "coverage": ("/coverage", "window.gridgisCoverage !== undefined"),
    "zones": ("/zones", "window.gridgisZonesReady !== undefined"),
    "events": ("/events/map?days=3660", "window.gridgisEventsReady !== undefined"),
}
HTML_ONLY = ["/login", "/login?lang=en", "/", "/?lang=en", "/calendar", "/m/"]
MAX_PAGE_HTML_BYTES = 300_000  # issue 15: every page's first HTML; the data is in its scripts
REQUIRED_DIRECTIVES = (
    "default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'",
    "connect-src 'self'",
)  # fmt: skip

UNUSED_VENDOR = re.compile(r"jquery|bootstrap|fontawesome|awesome-markers", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
RECORD_VIOLATIONS = (Path(__file__).parent / "js" / "record-csp-violations.js").read_text()


@pytest.fixture(scope="module")
def hostile(engine: Engine, live_server: str, tokens: dict[str, str]) -> dict[str, Any]:
    """An officer named like a script, a device labelled like one (no person), both sending
    fixes right now, and an event whose description is one."""
    from api.locators import LocatorCache
    from layers.grids import active_generation

    with transaction(make_sessionmaker(engine)) as session:
        gen = active_generation(session=session)
        city = LocatorCache().get(session=session, generation_id=gen.id)
        code = city.locator.locate([CITY_LON], [CITY_LAT]).l3[0]
    officer = make_device(engine, grid_code=code[:12], name=XSS)
    with transaction(make_sessionmaker(engine)) as session:
        labelled, label_secret = create_device(
            session=session, external_id=f"test-{secrets.token_hex(4)}", label=XSS_LABEL
        )
        labelled_id, labelled_ext = labelled.id, labelled.external_id
    start = datetime.now(UTC) - timedelta(minutes=80)
    # apart from each other and from other tests' officers (who patrol from the same point)
    moved = [
        [{**fix, "lat": fix["lat"] + shift_deg} for fix in patrol(start)]
        for shift_deg in (0.006, 0.009)
    ]
    sending = (
        (officer.external_id, officer.secret, moved[0]),
        (labelled_ext, label_secret, moved[1]),
    )
    for external_id, secret, fixes in sending:
        r = httpx.post(
            f"{live_server}/api/v1/ingest/batch",
            json={"device": external_id, "fixes": fixes},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["stored"] == 540, r.text
    r = httpx.post(
        f"{live_server}/api/v1/events",
        json={"lon": CITY_LON, "lat": CITY_LAT, "subclass": "0101", "description": XSS_EVENT,
              "ignore_duplicates": True},
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        timeout=60,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return {"officer": officer, "labelled": labelled_id, "event": r.json()["id"]}


def _path(name: str, hostile: dict[str, Any]) -> str:
    return PAGES[name][0].format(device=hostile["officer"].id)


def test_every_page_sends_the_policy_and_no_inline_script(
    live_server: str, tokens: dict[str, str], hostile: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    planner = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, headers=planner, timeout=120) as c:
        plan = c.get("/plan")  # the planners' page (a viewer gets its 403 page)
        assert (
            plan.status_code == 200
            and "script-src 'self'" in plan.headers["content-security-policy"]
        )
        assert INLINE_SCRIPT.findall(plan.text) == [] and not INLINE_HANDLER.findall(plan.text)
    with httpx.Client(base_url=live_server, headers=headers, timeout=120) as c:
        for path in [_path(n, hostile) for n in PAGES] + HTML_ONLY:
            r = c.get(path)
            assert r.status_code == 200, (path, r.text[:300])
            assert r.headers["content-type"].startswith("text/html")
            policy = r.headers.get("content-security-policy", "")
            assert (
                "script-src 'self'" in policy
                and "'unsafe-inline'" not in policy.split("style-src")[0]
            ), (path, policy)
            for directive in REQUIRED_DIRECTIVES:
                assert directive in policy, (path, directive)
            assert INLINE_SCRIPT.findall(r.text) == [], path
            assert len(r.content) <= MAX_PAGE_HTML_BYTES, (path, len(r.content))  # data: scripts
            assert UNUSED_VENDOR.findall(r.text) == [], path  # no page script uses them
            assert INLINE_HANDLER.findall(r.text) == [], path
            assert XSS not in r.text and XSS_LABEL not in r.text, path


def test_policy_names_the_configured_tile_hosts() -> None:
    policy = content_security_policy(["https://t0.tianditu.gov.cn"])
    img = next(d for d in policy.split("; ") if d.startswith("img-src"))
    assert img == "img-src 'self' data: blob: https://t0.tianditu.gov.cn"
    assert "script-src 'self';" in policy


def test_page_scripts_are_cached_and_pages_gzipped(
    live_server: str, tokens: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens['viewer']}", "Accept-Encoding": "gzip"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=120) as c:
        page = c.get("/map")
        assert page.headers.get("content-encoding") == "gzip"
        scripts = re.findall(r'<script src="(/page-scripts/[0-9a-f]{64}\.js)"', page.text)
        assert scripts
        for url in scripts:
            r = c.get(url)
            assert r.status_code == 200 and "javascript" in r.headers["content-type"]
            assert "immutable" in r.headers["cache-control"]
        assert c.get("/page-scripts/" + "0" * 64 + ".js").status_code == 404
        assert c.get("/page-scripts/..%2f..%2fetc%2fpasswd").status_code == 404
        assert httpx.get(live_server + scripts[0], timeout=60).status_code == 401  # no login
        vendor = c.get("/static/vendor/leaflet/dist/leaflet.js")
        assert "max-age" in vendor.headers["cache-control"] and vendor.headers.get("etag")
        own = c.get("/static/gridgis/gridgis-common.js")
        assert "max-age" in own.headers["cache-control"] and own.headers.get("etag")
        latest = c.get("/api/v1/positions/latest")
        if len(latest.content) > 1024:
            assert latest.headers.get("content-encoding") == "gzip"


def test_no_page_reports_a_violation_or_an_error(
    browser: Any, live_server: str, tokens: dict[str, str], hostile: dict[str, Any], artifacts
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_logged_in(browser, live_server, tokens["viewer"], *PAGES["map"])
    page.add_init_script(RECORD_VIOLATIONS)
    try:
        for name in PAGES:
            seen["errors"].clear()
            seen["failed"].clear()
            page.goto(live_server + _path(name, hostile))
            wait_until(page, PAGES[name][1], timeout=60_000)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("window.__csp") == [], name
            assert seen["errors"] == [] and seen["failed"] == [], (name, seen)
            assert page.evaluate("window.__xss") is None, name
            page.screenshot(path=str(artifacts / f"security_{name}.png"))
    finally:
        page.context.close()


def test_hostile_names_are_text_on_live(
    browser: Any, live_server: str, tokens: dict[str, str], hostile: dict[str, Any], artifacts
) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], *PAGES["live"])
    try:
        wait_until(page, "window.gridgisLive && window.gridgisLive.count >= 2")
        tips = page.evaluate(
            """() => { const out = [];
                 document.querySelectorAll("path.gridgis-officer").forEach(p =>
                   p.dispatchEvent(new MouseEvent("mouseover", {bubbles: true})));
                 document.querySelectorAll(".leaflet-tooltip").forEach(t =>
                   out.push(t.textContent));
                 return out; }"""
        )
        assert XSS in tips and XSS_LABEL in tips
        names = page.locator(".gridgis-live-list .gridgis-live-item-name").all_inner_texts()
        assert XSS in names and XSS_LABEL in names  # the list of officers
        # the officer's popup, opened from the list: the name as text, nothing executed
        page.locator(".gridgis-live-list li", has_text=XSS).first.click()
        page.wait_for_selector(".leaflet-popup-content .gridgis-officer-name")
        assert page.locator(".leaflet-popup-content .gridgis-officer-name").inner_text() == XSS
        assert page.locator(".leaflet-popup-content img").count() == 0
        assert page.evaluate("window.__xss") is None
        page.screenshot(path=str(artifacts / "security_live_popup.png"))
    finally:
        page.context.close()


def test_hostile_description_is_text_on_events_map(
    browser: Any, live_server: str, tokens: dict[str, str], hostile: dict[str, Any], artifacts
) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], *PAGES["events"])
    try:
        page.evaluate(
            """id => { const m = window.gridgisEventMarkers.find(x => x.gridgisId === id);
                       window.gridgisEventsMap.setView(m.getLatLng(), 18, {animate: false});
                       setTimeout(() => m.openPopup(), 300); }""",
            hostile["event"],
        )
        page.wait_for_selector(".gridgis-timeline", timeout=30_000)
        popup = page.locator(".leaflet-popup-content")
        assert XSS_EVENT in popup.inner_text()
        assert popup.locator("img").count() == 0
        assert page.evaluate("window.__xss") is None
        page.screenshot(path=str(artifacts / "security_events_popup.png"))
    finally:
        page.context.close()


def test_externalize_moves_inline_scripts_out_in_place() -> None:
    from api.pages.scripts import URL_PREFIX, externalize

    page = externalize(
        '<head><script src="/a.js"></script><script>var a = 1;</script>'
        '<script type="application/json">{"x": 1}</script></head>'
        "<body><div></div></body><script>\n  a += 1;\n</script><script> </script>"
    )
    first, second = "var a = 1;", "\n  a += 1;\n"
    digests = list(page.scripts)
    assert [page.scripts[d] for d in digests] == [first, second]
    assert page.html == (
        f'<head><script src="/a.js"></script><script src="{URL_PREFIX}/{digests[0]}.js">'
        '</script><script type="application/json">{"x": 1}</script></head>'
        f'<body><div></div></body><script src="{URL_PREFIX}/{digests[1]}.js"></script>'
    )
