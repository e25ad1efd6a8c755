"""The map pages after the operator's trial (issue 15), headless Chromium at 1920×1080:

- /coverage, /map, /zones: the city opens beside the legend, panels, form and title, none of
  which covers any of the city's box (their DOMRects against the city's projected bounds), in
  zh and en (the west tip of 璜土镇 was under the /coverage legend);
- two fills that cannot be read together (coverage and household density) are one-at-a-time
  switches (GridGIS.tiles.exclusive), their layer-control boxes following;
- the generation in the header of /map, /live and /playback is labelled and in the page's
  language only ("网格版本：…（第 n 版，生效于 …）" / "Grid generation: … (no. n, …)");
- English pages show dates and times ISO-like in Beijing time whatever the browser's locale
  and zone (an en-GB browser in London showed dd/mm/yyyy and London times);
- /events/map: after the session cookie is gone, the expired-session bar shows on the very
  next request the page makes (tiles of a drag, a click on a dot), before any poll.
Screenshots in test-artifacts/trial_*.png."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.test_coverage_api import DAY, SHIFT, covered  # noqa: F401  (module fixture)
from tests.api.test_patrol_people import walker  # noqa: F401  (module fixture)
from tests.e2e.conftest import open_logged_in, wait_until

pytestmark = pytest.mark.browser

FULL_HD = {"width": 1920, "height": 1080}
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")

# page -> (the map in the page, ready expression, the controls that may not cover the city)
PAGES = {
    "coverage": (
        "window.gridgisCoverageMap",
        "window.gridgisCoverage !== undefined && window.gridgisCoverageMap",
        [
            ".gridgis-cov-legend",
            ".gridgis-cov-form-box",
            ".gridgis-cov-panel",
            ".gridgis-cov-compliance",
            ".gridgis-title",
        ],
    ),
    "map": (
        "window.gridgisMap",
        "window.gridgisReady !== undefined && window.gridgisSelection !== undefined",
        [
            ".gridgis-legend",
            ".gridgis-drill",
            ".leaflet-control-layers",
            ".gridgis-title",
            ".gridgis-generation",
        ],
    ),
    "live": (
        "window.gridgisMap",
        "window.gridgisLive !== undefined && window.gridgisMap",
        [
            ".gridgis-live-counts",
            ".gridgis-picker",
            ".gridgis-legend",
            ".leaflet-control-layers",
            ".gridgis-title",
            ".gridgis-generation",
        ],
    ),
    "zones": (
        "GridGIS.zonesMap",
        "window.gridgisZonesReady !== undefined",
        [".gridgis-zones-legend", ".leaflet-control-layers", ".gridgis-title"],
    ),
}

CITY_BOX = """([mapExpr, selectors, [w, s, e, n]]) => {
  const map = eval(mapExpr);
  const m = map.getContainer().getBoundingClientRect();
  const sw = map.latLngToContainerPoint([s, w]), ne = map.latLngToContainerPoint([n, e]);
  const controls = {};
  selectors.forEach((sel) => {
    document.querySelectorAll(sel).forEach((el, i) => {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) {
        controls[sel + ' ' + i] = [r.left, r.top, r.right, r.bottom];
      }
    });
  });
  return {city: [m.left + sw.x, m.top + ne.y, m.left + ne.x, m.top + sw.y],
          map: [m.left, m.top, m.right, m.bottom], controls};
}"""


def meets(a: list[float], b: list[float]) -> bool:
    """Whether two [left, top, right, bottom] boxes overlap (touching edges do not)."""
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


def city_beside_controls(page: Any, map_expr: str, selectors: list[str], bounds: Any) -> dict:
    # eval is not allowed inside the page (CSP); the map is read through its global instead
    box = page.evaluate(CITY_BOX.replace("eval(mapExpr)", map_expr), [map_expr, selectors,
                                                                      list(bounds)])  # fmt: skip
    assert box["controls"], box  # the controls are there to be avoided
    for name, rect in box["controls"].items():
        assert not meets(box["city"], rect), (name, box)
    city, frame = box["city"], box["map"]
    assert city[0] >= frame[0] - 1 and city[2] <= frame[2] + 1, box
    assert city[1] >= frame[1] - 1 and city[3] <= frame[3] + 1, box
    return dict(box)


@pytest.mark.usefixtures("covered")
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", ["coverage", "map", "live", "zones"])
def test_the_city_opens_clear_of_every_control(
    browser,
    live_server,
    tokens,
    artifacts,
    demo_grids,
    name,
    lang,
) -> None:  # type: ignore[no-untyped-def]
    map_expr, ready, selectors = PAGES[name]
    query = f"?date={DAY}&shift={SHIFT}" if name == "coverage" else "?"
    path = f"/{name}{query}" + ("&lang=en" if lang == "en" else "")
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], path, ready)
    try:
        page.set_viewport_size(FULL_HD)
        page.wait_for_timeout(300)  # the fit follows the new size (ResizeObserver)
        wait_until(page, f"{map_expr}.getSize().x === {map_expr}.getContainer().clientWidth")
        page.wait_for_timeout(300)
        box = city_beside_controls(page, map_expr, selectors, demo_grids.total_bounds)
        # the city is not shrunk to a stamp: it takes a good part of the room left
        width = box["city"][2] - box["city"][0]
        assert width > 0.3 * (box["map"][2] - box["map"][0]), box
        page.screenshot(path=str(artifacts / f"trial_fit_{name}_{lang}.png"))
    finally:
        page.context.close()


@pytest.mark.usefixtures("covered")
def test_coverage_keeps_the_city_clear_when_the_window_changes(
    browser, live_server, tokens, demo_grids
) -> None:  # type: ignore[no-untyped-def]
    """The fit is redone from the controls' sizes after a resize (smaller window, a wall
    screen), not computed once from fixed widths."""
    map_expr, ready, selectors = PAGES["coverage"]
    path = f"/coverage?date={DAY}&shift={SHIFT}"
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], path, ready)
    try:
        for size in ({"width": 1500, "height": 900}, FULL_HD, {"width": 2560, "height": 1440}):
            page.set_viewport_size(size)
            page.wait_for_timeout(400)
            city_beside_controls(page, map_expr, selectors, demo_grids.total_bounds)
    finally:
        page.context.close()


EXCLUSIVE = """() => {
  const map = window.gridgisMap;
  const a = L.layerGroup(), b = L.layerGroup(), free = L.layerGroup();
  const control = L.control.layers(null, {'fill-a': a, 'fill-b': b, 'free': free},
                                   {collapsed: false, position: 'bottomright'}).addTo(map);
  control.getContainer().id = 'trial-layers';
  GridGIS.tiles.exclusive(map, [a, b]);
  window.trialLayers = {map, a, b, free};
}"""
ON_MAP = "['a', 'b', 'free'].map((k) => trialLayers.map.hasLayer(trialLayers[k]))"
BOXES = "[...document.querySelectorAll('#trial-layers input')].map((i) => i.checked)"


def test_two_fills_are_shown_one_at_a_time(browser, live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    """GridGIS.tiles.exclusive: the rule for the coverage and household fills (the front page
    offers both): switching one on switches the other off, its box unticked; other layers are
    left alone; switching the shown one off leaves none."""
    page, _ = open_logged_in(
        browser, live_server, tokens["viewer"], "/map", "window.gridgisReady !== undefined"
    )
    try:
        page.set_viewport_size(FULL_HD)
        page.evaluate(EXCLUSIVE)
        label = page.locator("#trial-layers label")
        label.filter(has_text="fill-a").click()
        label.filter(has_text="free").click()
        wait_until(page, f"JSON.stringify({ON_MAP}) === '[true,false,true]'")
        label.filter(has_text="fill-b").click()  # a real click on the other fill's box
        wait_until(page, f"JSON.stringify({ON_MAP}) === '[false,true,true]'")
        assert page.evaluate(BOXES) == [False, True, True]
        label.filter(has_text="fill-a").click()
        wait_until(page, f"JSON.stringify({ON_MAP}) === '[true,false,true]'")
        assert page.evaluate(BOXES) == [True, False, True]
        label.filter(has_text="fill-a").click()  # off: no fill at all
        wait_until(page, f"JSON.stringify({ON_MAP}) === '[false,false,true]'")
        assert page.evaluate(BOXES) == [False, False, True]
        page.evaluate(
            "() => { [trialLayers.b, trialLayers.a].forEach((l) => trialLayers.map.addLayer(l)); }"
        )
        wait_until(page, f"JSON.stringify({ON_MAP}) === '[true,false,true]'")
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", ["/map", "/live", "/playback"])
def test_the_generation_label_is_in_the_page_language_only(
    browser, live_server, tokens, demo_generation, path, lang
) -> None:  # type: ignore[no-untyped-def]
    url = path + ("?lang=en" if lang == "en" else "")
    page, _ = open_logged_in(
        browser, live_server, tokens["admin"], url, "document.querySelector('.gridgis-generation')"
    )
    try:
        page.set_viewport_size(FULL_HD)
        text = page.inner_text(".gridgis-generation").strip()
        if lang == "zh":
            assert re.fullmatch(r"网格版本：.+（第 \d+ 版，生效于 \d{4}-\d{2}-\d{2}）", text), text
            assert not LATIN.search(text), text
        else:
            full = r"Grid generation: .+ \(no\. \d+, in force since \d{4}-\d{2}-\d{2}\)"
            assert re.fullmatch(full, text), text
            assert not CJK.search(text), text
    finally:
        page.context.close()


def test_demo_generation_names_one_language_each() -> None:
    from layers.demo import demo_generation_name, generation_names, legacy_demo_generation_name

    want = {"zh": "演示城市 · 种子 320281", "en": "Demo city · seed 320281"}
    assert demo_generation_name(320281) == want["zh"]
    assert generation_names(demo_generation_name(320281)) == want
    assert generation_names(legacy_demo_generation_name(320281)) == want  # stored before
    assert generation_names("江阴 2026 版") == {"zh": "江阴 2026 版", "en": "江阴 2026 版"}
    assert generation_names("演示城市 demo city (seed 7) copy")["en"].endswith("copy")


def open_as(browser: Any, live_server: str, token: str, path: str, ready: str, **context: Any):  # type: ignore[no-untyped-def]
    """open_logged_in in a browser context of its own (``locale``, ``timezone_id``, ...)."""
    base = browser.new_context  # offline_page's context, with the options given

    def new_context(**kwargs: Any) -> Any:
        return base(**{**kwargs, **context})

    class Browser:
        def __getattr__(self, name: str) -> Any:
            return new_context if name == "new_context" else getattr(browser, name)

    return open_logged_in(Browser(), live_server, token, path, ready)


@pytest.fixture(scope="module")
def morning_event(live_server, tokens, demo_grids) -> int:  # type: ignore[no-untyped-def]
    """An event reported on 2026-02-03 at 08:30 Beijing time (00:30 UTC)."""
    p = demo_grids[demo_grids.level == 3].iloc[321].geometry.representative_point()
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as c:
        r = c.post("/api/v1/events", json={
            "lon": p.x, "lat": p.y, "subclass": "0101", "description": "trial 0830",
            "source": "patrol", "ignore_duplicates": True,
            "reported_at": "2026-02-03T08:30:00+08:00"})  # fmt: skip
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


EVENTS = "/events/map?lang=en&from=2026-02-03&to=2026-02-04&source=patrol"
EVENTS_READY = "window.gridgisEvents && window.gridgisEvents.ready"


def test_english_dates_are_iso_like_in_beijing_time(
    browser, live_server, tokens, artifacts, morning_event
) -> None:  # type: ignore[no-untyped-def]
    """A London en-GB browser: the list and the popup say 2026-02-03 08:30 (Beijing time), never
    03/02/2026 or 00:30."""
    page, seen = open_as(browser, live_server, tokens["dispatcher"], EVENTS, EVENTS_READY,
                         locale="en-GB", timezone_id="Europe/London")  # fmt: skip
    try:
        page.set_viewport_size(FULL_HD)
        row = page.locator(f'#events-list li[data-id="{morning_event}"]')
        row.wait_for(timeout=30_000)
        meta = row.locator(".row-meta").first.inner_text()
        assert meta.startswith("2026-02-03 08:30 · "), meta
        assert "Beijing time" in page.inner_text("#events-count")
        page.evaluate("id => window.gridgisEvents.select(id)", morning_event)
        page.wait_for_selector(f'.gridgis-event-popup[data-id="{morning_event}"]')
        popup = page.inner_text(".gridgis-event-popup")
        assert "Reported 2026-02-03 08:30" in popup and "Beijing time" in popup, popup
        body = page.inner_text("body")
        assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b", body), body
        # the helper itself, whatever the browser: one format, Beijing time
        helper = page.evaluate("""() => [
          GridGIS.dateTime('2026-12-01T00:30:05Z'),
          GridGIS.dateTime(Date.UTC(2026, 11, 1, 0, 30, 5), {seconds: true}),
          GridGIS.dateTime(new Date('2026-12-01T16:00:00Z'), {zone: true}),
          GridGIS.dateOnly('2026-12-01T16:30:00Z'), GridGIS.dateOnly('2026-12-01'),
          GridGIS.timeOnly('2026-12-01T00:30:00Z'), GridGIS.dateTime(null),
          GridGIS.dateTime('not a time'),
          GridGIS.dateTime('2026-12-01T00:30:00Z', {year: false}),
          GridGIS.dateOnly('2026-12-01T00:30:00Z', {year: false})]""")
        assert helper == [
            "2026-12-01 08:30", "2026-12-01 08:30:05", "2026-12-02 00:00 Beijing time",
            "2026-12-02", "2026-12-01", "08:30", "—", "—", "12-01 08:30", "12-01",
        ]  # fmt: skip
        page.screenshot(path=str(artifacts / "trial_dates_en.png"))
        assert not seen["errors"], seen["errors"]
    finally:
        page.context.close()


def test_chinese_page_labels_beijing_time(browser, live_server, tokens, morning_event) -> None:  # type: ignore[no-untyped-def]
    path = EVENTS.replace("lang=en&", "")
    page, _ = open_as(browser, live_server, tokens["dispatcher"], path, EVENTS_READY,
                      locale="en-US", timezone_id="America/New_York")  # fmt: skip
    try:
        row = page.locator(f'#events-list li[data-id="{morning_event}"]')
        row.wait_for(timeout=30_000)
        assert row.locator(".row-meta").first.inner_text().startswith("2026-02-03 08:30 · ")
        assert "北京时间" in page.inner_text("#events-count")
        assert page.evaluate("GridGIS.dateTime('2026-12-01T00:30:00Z', {zone: true})") == (
            "2026-12-01 08:30 北京时间"
        )
    finally:
        page.context.close()


EXPIRED = "document.querySelector('#gridgis-notice.gridgis-notice-expired') !== null"


@pytest.mark.parametrize("how", ["drag", "click"])
def test_events_map_says_the_session_expired_on_the_next_request(
    browser, live_server, tokens, artifacts, morning_event, how
) -> None:  # type: ignore[no-untyped-def]
    """The cookie deleted (the session ended): a drag that loads tiles, or a click on a dot,
    shows the expired-session bar from its own request's 401, before the page's next poll."""
    path = "/events/map?from=2026-02-03&to=2026-02-04&source=patrol"
    page, seen = open_logged_in(browser, live_server, tokens["dispatcher"], path, EVENTS_READY)
    try:
        page.set_viewport_size(FULL_HD)
        wait_until(page, f"window.gridgisEvents.markers[{morning_event}] !== undefined")
        page.wait_for_load_state("networkidle")
        assert page.evaluate(EXPIRED) is False
        polls = page.evaluate("window.gridgisEvents.polls")
        asked_before = len(seen["requests"])
        page.context.clear_cookies()
        if how == "drag":
            box = page.locator(".folium-map").first.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            for step in range(1, 11):
                page.mouse.move(x - 90 * step, y - 40 * step)
            page.mouse.up()
        else:
            page.locator(f'#events-list li[data-id="{morning_event}"]').click()  # selects its dot
        wait_until(page, EXPIRED, timeout=20_000)
        # the bar came from the drag's or the click's own requests, not from a poll
        assert page.evaluate("window.gridgisEvents.polls") == polls
        asked = seen["requests"][asked_before:]
        assert any("/tiles/" in u or "/api/v1/events/" in u for u in asked), asked
        assert any(f.startswith("401 ") for f in seen["failed"]), seen["failed"]
        assert "/login?next=" in page.get_attribute(".gridgis-notice-login", "href")
        page.screenshot(path=str(artifacts / f"trial_expired_{how}.png"))
    finally:
        page.context.close()


PLAYBACK_CONTROLS = [
    ".gridgis-playback", ".gridgis-picker", ".gridgis-playback-head", ".gridgis-legend",
    ".leaflet-control-layers", ".gridgis-title", ".gridgis-generation",
]  # fmt: skip
TRACK_BOX = """(selectors) => {
  const boxes = [...document.querySelectorAll('path.gridgis-track')]
    .map((p) => p.getBoundingClientRect()).filter((r) => r.width > 0 || r.height > 0);
  const track = [Math.min(...boxes.map((r) => r.left)), Math.min(...boxes.map((r) => r.top)),
                 Math.max(...boxes.map((r) => r.right)), Math.max(...boxes.map((r) => r.bottom))];
  const controls = {};
  selectors.forEach((sel) => document.querySelectorAll(sel).forEach((el, i) => {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) {
      controls[sel + ' ' + i] = [r.left, r.top, r.right, r.bottom];
    }
  }));
  return {track, controls, n: boxes.length};
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_playback_shows_the_track_clear_of_its_panels(
    browser,
    live_server,
    tokens,
    artifacts,
    walker,  # noqa: F811
    lang,
) -> None:  # type: ignore[no-untyped-def]
    from tests.api.test_tracks_api import DAY as TRACK_DAY

    path = f"/playback?device={walker['device'].id}&date={TRACK_DAY.date().isoformat()}"
    path += "&lang=en" if lang == "en" else ""
    ready = "window.gridgisPlayback && window.gridgisPlayback.ready"
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], path, ready)
    try:
        page.set_viewport_size(FULL_HD)
        page.wait_for_timeout(500)  # refitted to the new size
        box = page.evaluate(TRACK_BOX, PLAYBACK_CONTROLS)
        assert box["n"] > 0 and box["controls"], box
        for name, rect in box["controls"].items():
            assert not meets(box["track"], rect), (name, box)
        page.screenshot(path=str(artifacts / f"trial_playback_{lang}.png"))
    finally:
        page.context.close()


DAY_FIELDS = """() => [...document.querySelectorAll('input.gridgis-iso-day')].map((i) => ({
  name: i.name || i.id, type: i.type, value: i.value,
  shown: i.getBoundingClientRect().width > 0}))"""


@pytest.mark.usefixtures("covered")
def test_day_fields_are_iso_in_an_en_gb_browser(
    browser, live_server, tokens, artifacts, morning_event
) -> None:  # type: ignore[no-untyped-def]
    """The day fields of /coverage, /events/map and /playback's picker show and take
    2026-03-03 in an en-GB browser (a native date input showed 03/03/2026); the calendar button
    opens the browser's calendar and a day picked there lands in the field as YYYY-MM-DD."""
    gb = {"locale": "en-GB", "timezone_id": "Europe/London"}
    cov, _ = open_as(browser, live_server, tokens["viewer"], f"/coverage?date={DAY}&lang=en",
                     PAGES["coverage"][1], **gb)  # fmt: skip
    try:
        fields = cov.evaluate(DAY_FIELDS)
        assert fields == [{"name": "date", "type": "text", "value": DAY, "shown": True}], fields
        assert cov.get_attribute("input[name=date]", "placeholder") == "YYYY-MM-DD"
    finally:
        cov.context.close()
    page, _ = open_as(browser, live_server, tokens["dispatcher"], EVENTS, EVENTS_READY, **gb)
    try:
        page.set_viewport_size(FULL_HD)
        fields = page.evaluate(DAY_FIELDS)
        assert [(f["name"], f["type"], f["value"]) for f in fields] == [
            ("from", "text", "2026-02-03"), ("to", "text", "2026-02-04"),
        ], fields  # fmt: skip
        # the calendar: a day picked in the browser's own picker is written ISO in the field
        page.click("input[name=from] ~ .gridgis-iso-day-button")
        page.evaluate("""() => { const n = document.querySelector(
            'input[name=from] ~ .gridgis-iso-day-native');
          n.value = '2026-02-01'; n.dispatchEvent(new Event('change', {bubbles: true})); }""")
        assert page.input_value("input[name=from]") == "2026-02-01"
        page.fill("input[name=to]", "2026-02-05")
        page.click("#events-filter button[type=submit]")
        wait_until(page, "location.search.includes('from=2026-02-01')")
        assert "to=2026-02-05" in page.url
        page.fill("input[name=to]", "05/02/2026")  # not a day: the form says so, nothing asked
        page.click("#events-filter button[type=submit]")
        assert page.evaluate("document.querySelector('input[name=to]').validity.valid") is False
        assert "to=2026-02-05" in page.url
        page.screenshot(path=str(artifacts / "trial_day_fields_en.png"))
    finally:
        page.context.close()
