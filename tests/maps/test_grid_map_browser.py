"""The grid map in headless Chromium: offline, no errors, every grid drawn, looks right.

Screenshots go to ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from maps.assets import check_installed
from maps.grid_map import build_grid_map, path_class
from tests.maps.browser_support import LOCAL_HOST, PageServer, serve
from tests.maps.grid_samples import sample_levels

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1400, "height": 900}

sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class PageVisit:
    """What one page load did: every request, console errors, failures."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(url).hostname != LOCAL_HOST
        ]


@pytest.fixture(scope="module")
def levels() -> dict[int, dict[str, Any]]:
    return sample_levels()


@pytest.fixture(scope="module")
def server(levels: dict[int, dict[str, Any]]) -> Iterator[PageServer]:
    problems = check_installed()
    assert not problems, "\n".join(problems)
    pages = {
        "/grid_map.html": build_grid_map(levels).get_root().render().encode(),
        "/grid_map_en.html": build_grid_map(levels, lang="en").get_root().render().encode(),
        "/grid_map_empty.html": build_grid_map({}).get_root().render().encode(),
    }
    with serve(PageServer(pages=pages)) as running:
        yield running


def visit(browser: Any, url: str) -> Iterator[PageVisit]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    seen = PageVisit(page)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("requestfailed", lambda request: seen.failed.append(request.url))
    page.on("response", lambda r: r.status >= 400 and seen.failed.append(f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and seen.errors.append(m.text))
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))

    # Nothing may leave the machine: anything not for our server is refused (and recorded).
    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_local)
    page.goto(url, wait_until="networkidle")
    page.wait_for_function("window.gridgisReady !== undefined", timeout=15_000)
    try:
        yield seen
    finally:
        context.close()


@pytest.fixture
def zh_page(browser: Any, server: PageServer) -> Iterator[PageVisit]:
    yield from visit(browser, server.url("/grid_map.html"))


@pytest.fixture
def en_page(browser: Any, server: PageServer) -> Iterator[PageVisit]:
    yield from visit(browser, server.url("/grid_map_en.html"))


@pytest.fixture
def empty_page(browser: Any, server: PageServer) -> Iterator[PageVisit]:
    yield from visit(browser, server.url("/grid_map_empty.html"))


def feature_counts(levels: dict[int, dict[str, Any]]) -> dict[str, int]:
    return {f"level{lvl}": len(fc["features"]) for lvl, fc in levels.items()}


def test_grid_map_draws_every_grid_offline(
    zh_page: PageVisit, server: PageServer, levels: dict[int, dict[str, Any]]
) -> None:
    page = zh_page.page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid_map.png"))

    assert zh_page.outside_requests() == []
    assert zh_page.failed == [], f"failed requests: {zh_page.failed}"
    assert server.not_found == [], f"asset paths the server does not have: {server.not_found}"
    assert zh_page.errors == [], f"console errors: {zh_page.errors}"

    expected = feature_counts(levels)
    assert page.evaluate("window.gridgisReady") == expected
    paths = page.locator(".leaflet-overlay-pane svg path")
    assert paths.count() == sum(expected.values())
    for level in (1, 2, 3):
        drawn = page.locator(f".leaflet-overlay-pane svg path.{path_class(level)}").count()
        assert drawn == expected[f"level{level}"]
    # Town boundaries are drawn on top of village and unit-grid lines.
    order = page.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-overlay-pane svg path'))"
        ".map(p => p.getAttribute('class').match(/gridgis-l(\\d)/)[1])"
    )
    assert order == sorted(order, reverse=True)


def test_grid_map_speaks_chinese_with_labels_legend_and_tooltips(zh_page: PageVisit) -> None:
    page = zh_page.page
    assert page.title() == "网格通 · 网格地图"
    assert page.locator(".gridgis-title").inner_text() == "网格通 · 网格地图"
    legend = page.locator(".gridgis-legend").inner_text()
    for text in ("图例", "一级网格（镇街）", "二级网格（村社区）", "三级网格（单元网格）"):
        assert text in legend
    town_labels = page.locator(".gridgis-label-l1")
    assert sorted(town_labels.all_inner_texts()) == ["澄江街道", "璜土镇"]
    assert town_labels.first.is_visible()
    assert page.locator(".leaflet-control-layers-overlays input:checked").count() == 3

    # Hovering inside a unit grid shows its tooltip: the L3 polygon is reachable under L1/L2.
    box = page.locator(f"path.{path_class(3)}").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(".leaflet-tooltip.foliumtooltip")
    tooltip.wait_for(state="visible", timeout=5_000)
    text = tooltip.inner_text()
    assert "三级网格" in text and "网格" in text and "平方公里" in text
    assert zh_page.errors == []


def test_grid_map_in_english(en_page: PageVisit, levels: dict[int, dict[str, Any]]) -> None:
    page = en_page.page
    page.screenshot(path=str(ARTIFACTS / "grid_map_en.png"))
    assert page.evaluate("window.gridgisReady") == feature_counts(levels)
    assert page.locator(".gridgis-title").inner_text() == "GridGIS · Grid map"
    assert "Legend" in page.locator(".gridgis-legend").inner_text()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert en_page.outside_requests() == [] and en_page.errors == []


def test_level_2_names_appear_when_zoomed_in(zh_page: PageVisit) -> None:
    page = zh_page.page
    village_label = page.locator(".gridgis-label-l2").first
    page.evaluate("Object.values(window.gridgisLayers)[0]._map.setZoom(16, {animate: false})")
    page.wait_for_function(
        "!document.querySelector('.leaflet-container').classList.contains('gridgis-hide-l2-labels')"
    )
    assert village_label.count() == 1
    page.evaluate("Object.values(window.gridgisLayers)[0]._map.setZoom(8, {animate: false})")
    page.wait_for_function(
        "document.querySelector('.leaflet-container').classList.contains('gridgis-hide-l2-labels')"
    )
    assert not village_label.is_visible()


def test_map_without_grids_still_loads(empty_page: PageVisit) -> None:
    page = empty_page.page
    assert page.evaluate("window.gridgisReady") == {"level1": 0, "level2": 0, "level3": 0}
    assert "没有网格数据" in page.locator(".gridgis-legend").inner_text()
    assert empty_page.errors == [] and empty_page.outside_requests() == []
