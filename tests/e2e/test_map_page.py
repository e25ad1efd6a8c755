"""The real app's /map in headless Chromium: log in with a token, see every grid of the demo
city drawn from the vector tiles (no page or script carries the city's polygons), drill down
town → village → unit grid with the selection in the address (Back and reload work), unit-grid
names from zoom 15, text readable at 1920×1080; nothing requested from anywhere but 127.0.0.1.
Screenshots in test-artifacts/."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import assert_offline_and_clean, open_logged_in, wait_until

pytestmark = pytest.mark.browser

DEMO_COUNTS = {"level1": 17, "level2": 271, "level3": 1558}
SCRIPT_SRC = re.compile(r'<script src="(/page-scripts/[0-9a-f]{64}\.js)"')


def open_map(
    browser: Any, live_server: str, token: str, path: str
) -> tuple[Any, dict[str, list[str]]]:
    return open_logged_in(browser, live_server, token, path, "window.gridgisReady !== undefined")


def on_screen(page: Any, lon: float, lat: float) -> list[float] | None:
    """Where the map shows (lon, lat) in the window, if the grids are what is there."""
    point = page.evaluate(
        "([lon, lat]) => { const m = window.gridgisLayers.level1._map;"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect();"
        " const x = r.left + p.x, y = r.top + p.y, e = document.elementFromPoint(x, y);"
        " return e && e.closest('.gridgis-l3') ? [x, y] : null; }",
        [lon, lat],
    )
    return list(point) if point else None


def click_first_visible(page: Any, places: list[dict[str, Any]]) -> dict[str, Any]:
    """A real mouse click on the first of ``places`` (label points) not under a panel, once
    the tiles of the view are drawn."""
    page.wait_for_load_state("networkidle")
    for _ in range(50):
        for place in places:
            point = on_screen(page, place["lon"], place["lat"])
            if point:
                page.mouse.click(point[0], point[1])
                return place
        page.wait_for_timeout(200)
    raise AssertionError("none of the places is visible on the map")


def labels(client: httpx.Client, query: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/grid-labels?{query}")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def selection(page: Any, code: str) -> dict[str, Any]:
    wait_until(
        page, f"window.gridgisSelection && window.gridgisSelection.code === {code!r}", 30_000
    )
    return dict(page.evaluate("window.gridgisSelection"))


@pytest.mark.parametrize(("lang", "path"), [("zh", "/map"), ("en", "/map?lang=en")])
def test_map_page_draws_every_grid_from_tiles_offline(
    browser, live_server, tokens, artifacts, lang, path
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_map(browser, live_server, tokens["viewer"], path)
    try:
        assert page.evaluate("window.gridgisReady") == DEMO_COUNTS
        # drawn from tiles, the three levels on one canvas per tile and from one request per
        # tile (the server's "grids" tile): unit grids drawn first, then villages, towns last
        tiles = [u for u in seen["requests"] if "/tiles/" in u and ".mvt" in u]
        assert any("/tiles/grids/" in u for u in tiles), tiles
        assert not any("/tiles/grids-l" in u for u in tiles), "one request per tile, not three"
        orders = page.evaluate(
            "Object.values(window.gridgisLayers.level1._vectorTiles).map(t => {"
            " const out = []; for (let d = t._drawFirst; d; d = d.next) {"
            " out.push(Number(d.layer.properties.level)); } return out; })"
        )
        drawn = [levels for levels in orders if len(set(levels)) > 1]
        assert drawn, orders
        assert all(levels == sorted(levels, reverse=True) for levels in drawn)
        assert page.locator(".gridgis-l3 canvas").count() > 0
        assert_offline_and_clean(seen)
        body = page.inner_text("body")
        generation = page.inner_text(".gridgis-generation")
        if lang == "zh":
            assert "澄江街道" in body and "一级网格" in body
            assert re.search(r"^网格版本：.+（第 \d+ 版，生效于 \d{4}-\d{2}-\d{2}）$", generation)
            assert not re.search("[A-Za-z]", generation), generation  # one language
        else:
            assert "Level 1" in body
            since = r"^Grid generation: .+ \(no\. \d+, in force since \d{4}-\d{2}-\d{2}\)$"
            assert re.search(since, generation)
            assert not re.search("[\u4e00-\u9fff]", generation), generation  # the demo's en name
        page.screenshot(path=str(artifacts / f"map_page_{lang}.png"))
    finally:
        page.context.close()


def test_map_page_and_its_scripts_carry_no_geometry(client: httpx.Client) -> None:
    page = client.get("/map")
    assert page.status_code == 200
    scripts = [client.get(src) for src in SCRIPT_SRC.findall(page.text)]
    assert scripts and all(s.status_code == 200 for s in scripts)
    total = len(page.content) + sum(len(s.content) for s in scripts)
    # the town and village names with their points, no polygon: tens of KB, not megabytes
    assert total < 150_000, total
    for text in [page.text, *(s.text for s in scripts)]:
        assert '"coordinates"' not in text and "Polygon" not in text


def test_drill_down_town_village_grid_with_back_and_reload(
    browser, live_server, tokens, client, artifacts
) -> None:  # type: ignore[no-untyped-def]
    towns = labels(client, "level=1")
    town = next(t for t in towns if t["code"] == "320281001")
    page, seen = open_map(browser, live_server, tokens["viewer"], "/map")
    try:
        city = selection(page, "")
        assert city["children"] == 17
        assert page.locator(".gridgis-drill-child").count() == 17

        click_first_visible(page, [town])
        chosen = selection(page, town["code"])
        assert chosen["level"] == 1 and chosen["name"] == town["name"]
        assert f"sel={town['code']}" in page.url
        villages = labels(client, f"parent={town['code']}")
        assert chosen["children"] == len(villages) > 0
        assert page.locator(".gridgis-drill-child").count() == len(villages)
        # the villages are named on the map whatever the zoom
        shown = page.locator(".gridgis-label-child").all_inner_texts()
        assert sorted(shown) == sorted(v["name"] for v in villages)
        assert page.locator(".gridgis-selected").count() == 1

        village = click_first_visible(page, villages)
        chosen = selection(page, village["code"])
        assert chosen["level"] == 2
        units = labels(client, f"parent={village['code']}")
        assert chosen["children"] == len(units) > 0
        assert page.locator(".gridgis-drill-child").count() == len(units)
        crumbs = page.inner_text(".gridgis-drill-crumbs")
        assert "全市" in crumbs and town["name"] in crumbs and village["name"] in crumbs

        unit = click_first_visible(page, units)
        chosen = selection(page, unit["code"])
        assert chosen["level"] == 3 and chosen["name"] == unit["name"]
        assert "平方公里" in page.inner_text(".gridgis-drill-meta")
        page.screenshot(path=str(artifacts / "map_drill_down.png"))

        page.go_back()
        assert selection(page, village["code"])["level"] == 2
        page.reload()
        wait_until(page, "window.gridgisReady !== undefined", 60_000)
        assert selection(page, village["code"])["children"] == len(units)
        # a crumb goes back up to the town, and "全市" to the city
        page.locator(".gridgis-drill-crumb", has_text=town["name"]).click()
        assert selection(page, town["code"])["level"] == 1
        page.locator(".gridgis-drill-crumb", has_text="全市").click()
        assert selection(page, "")["children"] == 17
        assert "sel=" not in page.url
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


@pytest.mark.parametrize("bad", ["320281", "999999999", "abc"])
def test_a_bad_selection_in_the_address_shows_the_city_and_says_so(
    browser, live_server, tokens, bad
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_map(browser, live_server, tokens["viewer"], f"/map?sel={bad}")
    try:
        wait_until(page, "document.querySelector('.gridgis-drill-warning')", 30_000)
        assert bad in page.inner_text(".gridgis-drill-warning")
        assert page.evaluate("window.gridgisSelection.code") == ""
        assert "sel=" not in page.url
        assert [e for e in seen["errors"] if "404" not in e and "422" not in e] == []
    finally:
        page.context.close()


def test_unit_grid_names_from_zoom_15_readable_at_1920(
    browser, live_server, tokens, client, artifacts
) -> None:  # type: ignore[no-untyped-def]
    village = labels(client, "parent=320281001")[0]
    page, seen = open_map(browser, live_server, tokens["viewer"], "/map")
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        assert page.evaluate("window.gridgisL3Labels") == 0
        page.evaluate(
            f"window.gridgisLayers.level1._map.setView([{village['lat']}, {village['lon']}], 15,"
            " {animate: false})"
        )
        wait_until(page, "window.gridgisL3Labels > 0", 30_000)
        names = page.locator(".gridgis-label-l3")
        assert names.count() == page.evaluate("window.gridgisL3Labels")
        expected = {u["name"] for u in labels(client, f"parent={village['code']}")}
        assert expected & set(names.all_inner_texts())
        # every text of the page's furniture at 14 px or more on a 1920×1080 screen
        sizes = page.evaluate(
            "['.gridgis-label-l3', '.gridgis-legend', '.gridgis-legend-hint',"
            " '.leaflet-control-layers', '.gridgis-drill', '.gridgis-drill-hint',"
            " '.gridgis-generation', '.gridgis-label-l2']"
            ".map(s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize))"
        )
        assert min(sizes) >= 14, sizes
        page.screenshot(path=str(artifacts / "map_unit_grid_names.png"))
        page.evaluate("window.gridgisLayers.level1._map.setZoom(13, {animate: false})")
        wait_until(page, "window.gridgisL3Labels === 0", 30_000)
        assert page.locator(".gridgis-label-l3").count() == 0
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_hovering_a_unit_grid_shows_its_name_and_code(browser, live_server, tokens, client) -> None:  # type: ignore[no-untyped-def]
    unit = labels(client, "parent=320281001001")[0]
    page, seen = open_map(browser, live_server, tokens["viewer"], "/map?lang=en")
    try:
        page.evaluate(
            f"window.gridgisLayers.level1._map.setView([{unit['lat']}, {unit['lon']}], 16,"
            " {animate: false})"
        )
        page.wait_for_load_state("networkidle")
        box = page.locator(".leaflet-container").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2 - 3, box["y"] + box["height"] / 2 - 3)
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tooltip = page.locator(".leaflet-tooltip.gridgis-grid-tooltip")
        tooltip.wait_for(state="visible", timeout=10_000)
        text = tooltip.inner_text()
        assert "Level 3" in text and unit["code"] in text and unit["name"] in text
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_the_city_opens_beside_the_drill_panel(browser, live_server, tokens, client) -> None:  # type: ignore[no-untyped-def]
    """At 1920×1080 the first view shows the whole city to the right of the drill-down panel:
    no town lies under the panel (review r15: the panel hid the west of the city)."""
    towns = client.get("/api/v1/grids", params={"level": 1}).json()["features"]
    west = min(c[0] for f in towns for ring in _rings(f["geometry"]) for c in ring)
    page, _ = open_map(browser, live_server, tokens["viewer"], "/map")
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.reload()
        wait_until(page, "window.gridgisReady !== undefined", 60_000)
        edge = page.evaluate(
            "(lon) => { const m = window.gridgisLayers.level1._map;"
            " const box = document.querySelector('.gridgis-drill').getBoundingClientRect();"
            " const r = m.getContainer().getBoundingClientRect();"
            " const lat = m.getCenter().lat;"
            " return [r.left + m.latLngToContainerPoint([lat, lon]).x, box.right]; }",
            west,
        )
        assert edge[0] > edge[1], f"the city's west edge at x={edge[0]:.0f}, panel to {edge[1]:.0f}"
    finally:
        page.context.close()


def _rings(geometry: dict[str, Any]) -> list[Any]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    return [ring for polygon in geometry["coordinates"] for ring in polygon]
